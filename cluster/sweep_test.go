package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// A directory left by a process that died without cleaning up (SIGKILL)
// is removed by the next start; a live owner's, and a detached cluster's
// (no owner file), are kept.
func TestSweepAbandoned(t *testing.T) {
	parent := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(name, owner string) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(filepath.Join(dir, "7000"), 0o755); err != nil {
			t.Fatal(err)
		}
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(owner), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	abandoned := mk(dirPrefix+"1", strconv.Itoa(dead.Process.Pid))
	live := mk(dirPrefix+"2", strconv.Itoa(os.Getpid()))
	detached := mk(dirPrefix+"3", "")
	other := mk("not-ours", strconv.Itoa(dead.Process.Pid))

	sweepAbandoned(parent)

	if _, err := os.Stat(abandoned); !os.IsNotExist(err) {
		t.Errorf("the abandoned directory is still there (%v)", err)
	}
	for _, dir := range []string{live, detached, other} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
}
