package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// TestSlotCommand runs the built binary, as users and scripts do.
func TestSlotCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "clusterbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	// slot runs the binary with args and stdin; it returns stdout, stderr
	// and the exit code.
	slot := func(t *testing.T, stdin string, args ...string) (string, string, int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, append([]string{"slot"}, args...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var ee *exec.ExitError
		code := 0
		switch {
		case errors.As(err, &ee):
			code = ee.ExitCode()
		case err != nil:
			t.Fatalf("run slot %q: %v", args, err)
		}
		return out.String(), errOut.String(), code
	}

	// CLUSTER KEYSLOT's answers for the specification's examples.
	const spec = "somekey\t11058\nfoo{hash_tag}\t2515\nfoo\t12182\n{}foo\t9500\n{user1000}.following\t3443\n"

	t.Run("keys as arguments", func(t *testing.T) {
		out, errOut, code := slot(t, "", "somekey", "foo{hash_tag}", "foo", "{}foo", "{user1000}.following")
		if code != 0 || out != spec || errOut != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and %q", code, out, errOut, spec)
		}
	})

	t.Run("keys starting with a dash", func(t *testing.T) {
		out, _, code := slot(t, "", "--", "-x", "--{a}")
		want := fmt.Sprintf("-x\t%d\n--{a}\t%d\n", router.SlotString("-x"), router.SlotString("a"))
		if code != 0 || out != want {
			t.Fatalf("exit %d, stdout %q; want exit 0 and %q", code, out, want)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		// CRLF and LF line ends, an empty line (the empty key, slot 0), and
		// a last line without a newline.
		in := "somekey\r\nfoo{hash_tag}\nfoo\n{}foo\r\n{user1000}.following\n\nlast"
		want := spec + "\t0\n" + fmt.Sprintf("last\t%d\n", router.SlotString("last"))
		out, errOut, code := slot(t, in, "-")
		if code != 0 || out != want || errOut != "" {
			t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and %q", code, out, errOut, want)
		}
	})

	t.Run("stdin large and long lines", func(t *testing.T) {
		// Lines far longer than the read buffer, one ending exactly at a
		// buffer boundary, among many ordinary keys.
		var in, want strings.Builder
		add := func(key string) {
			in.WriteString(key + "\n")
			fmt.Fprintf(&want, "%s\t%d\n", key, router.SlotString(key))
		}
		for i := range 100000 {
			add(fmt.Sprintf("user:%d", i))
			switch i {
			case 10:
				add(strings.Repeat("k", 300<<10) + "{tag}")
			case 20:
				add(strings.Repeat("j", slotIOBuffer-1)) // with its "\n", fills the buffer exactly
			case 30:
				add("{" + strings.Repeat("t", slotIOBuffer*2) + "}")
			}
		}
		out, errOut, code := slot(t, in.String(), "-")
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		if out != want.String() {
			got, exp := strings.Split(out, "\n"), strings.Split(want.String(), "\n")
			for i := range min(len(got), len(exp)) {
				if got[i] != exp[i] {
					t.Fatalf("line %d: got %.80q, want %.80q", i+1, got[i], exp[i])
				}
			}
			t.Fatalf("got %d lines, want %d", len(got), len(exp))
		}
	})

	t.Run("bad input", func(t *testing.T) {
		for _, args := range [][]string{
			{},               // no key at all
			{"a", "-"},       // stdin mixed with arguments
			{"--nosuchflag"}, // unknown flag
		} {
			out, errOut, code := slot(t, "", args...)
			if code != exitBadInput || out != "" || !strings.HasPrefix(errOut, "clusterbench: ") {
				t.Errorf("slot %q: exit %d, stdout %q, stderr %q; want exit %d, a one-line error",
					args, code, out, errOut, exitBadInput)
			}
		}
	})

	t.Run("help", func(t *testing.T) {
		out, _, code := slot(t, "", "--help")
		if code != 0 {
			t.Fatalf("exit %d", code)
		}
		// The example's output must be what the command really prints.
		example, _, _ := slot(t, "", "somekey", "foo{hash_tag}", "{user1000}.following", "user:1", "user:2")
		for _, line := range strings.Split(strings.TrimSpace(example), "\n") {
			if !strings.Contains(out, "\n  "+line+"\n") && !strings.HasSuffix(out, "\n  "+line) {
				t.Errorf("--help lacks the example line %q:\n%s", line, out)
			}
		}
	})
}
