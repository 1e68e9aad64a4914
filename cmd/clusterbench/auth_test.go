package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
)

// checkNoSecret asserts that secret appears in none of the texts and in no
// file under dir.
func checkNoSecret(t *testing.T, secret, dir string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, secret) {
			t.Errorf("the password appears in the output:\n%s", s)
		}
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err == nil && bytes.Contains(b, []byte(secret)) {
			t.Errorf("the password appears in %s", path)
		}
		return err
	})
	if err != nil || files == 0 {
		t.Errorf("walk of the outputs in %s: %v, %d files", dir, err, files)
	}
}

// runWithPassword runs `run` and, while it runs, reads the command lines
// of its children (the local cluster's servers); it returns those with the
// result.
func runWithPassword(t *testing.T, env []string, args ...string) (cliResult, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testBin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var cmdlines []string
	seen := map[int]bool{}
	self, _ := os.Readlink("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/exe")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var err error
poll:
	for {
		select {
		case err = <-done:
			break poll
		case <-tick.C:
			for _, pid := range childPids(cmd.Process.Pid) {
				proc := "/proc/" + strconv.Itoa(pid)
				// A child forked but not yet exec'd still shows our own
				// command line; look again once it is redis-server.
				if exe, _ := os.Readlink(proc + "/exe"); seen[pid] || exe == self {
					continue
				}
				if b, rerr := os.ReadFile(proc + "/cmdline"); rerr == nil {
					seen[pid] = true
					cmdlines = append(cmdlines, string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
				}
			}
		}
	}
	r := cliResult{stdout: out.String(), stderr: errOut.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r, cmdlines
}

// TestPasswordIntegration runs with a password given three ways — the
// flag on a local cluster, CLUSTERBENCH_PASSWORD against an external one,
// and an ACL user with its own password — through a migration (MIGRATE
// logs in to the target with the same credentials): every run succeeds
// and the password shows nowhere: not on stdout or stderr, not in any
// output file, not on a server's command line.
func TestPasswordIntegration(t *testing.T) {
	redistest.RequireServer(t)
	const pw, aclPw = "s3cret-default-pw-6171", "s3cret-acl-pw-9274"
	base := []string{"run", "--duration", "1500ms", "--warmup", "200ms", "--workers", "4", "--keys", "3000",
		"--mix", "get:50,set:30,incr:10,del:10", "--migrate", "move:50", "--migrate-at", "300ms"}
	env := append(os.Environ(), "CLUSTERBENCH_PASSWORD=")

	t.Run("flag on a local cluster", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r, cmdlines := runWithPassword(t, env, append(base, "--masters", "2", "--password", pw, "--out", out)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if len(cmdlines) == 0 {
			t.Fatal("saw no redis-server child: the local cluster was not started")
		}
		checkNoSecret(t, pw, out, append(cmdlines, r.stdout, r.stderr)...)
	})

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 2, Password: pw, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	addrs := strings.Join(l.MasterAddrs(), ",")

	t.Run("environment", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "out")
		r := runBinary(t, append(env, "CLUSTERBENCH_PASSWORD="+pw), 90*time.Second,
			append(base, "--addrs", addrs, "--strategy", "router,goredis", "--out", out)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		checkNoSecret(t, pw, out, r.stdout, r.stderr)
	})

	t.Run("ACL user", func(t *testing.T) {
		for _, a := range l.Addrs() {
			c, err := cluster.Dial(a, cluster.ConnOptions{Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			err = cluster.Do(ctx, c, "ACL", "SETUSER", "bench", "on", ">"+aclPw, "~*", "&*", "+@all").Error()
			c.Close()
			if err != nil {
				t.Fatalf("ACL SETUSER on %s: %v", a, err)
			}
		}
		out := filepath.Join(t.TempDir(), "out")
		// The default user's password is another: only the ACL user can
		// have logged in.
		r := runBinary(t, env, 90*time.Second, append(base, "--addrs", addrs, "--user", "bench", "--password", aclPw,
			"--strategy", "router,rueidis,goredis,radix", "--out", out)...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		checkNoSecret(t, aclPw, out, r.stdout, r.stderr)
	})
}
