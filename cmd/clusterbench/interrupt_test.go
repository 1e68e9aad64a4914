package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/metrics"
)

// interruptBound is how soon after the signal the run must have written
// its outputs, stopped its servers and exited.
const interruptBound = 2 * time.Second

// childPids lists the live processes whose parent is pid.
func childPids(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
		i := strings.LastIndexByte(string(stat), ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// interruptCase is a run interrupted once its stderr shows trigger.
type interruptCase struct {
	name    string
	args    []string
	trigger string        // a stderr substring marking the moment
	delay   time.Duration // then wait this long before signalling
	sig     syscall.Signal
	twice   bool // a second signal right after the first: quit at once
	// external runs against a cluster the test starts (to inspect it
	// afterwards); otherwise run starts and must stop a local one.
	external    bool
	wantSummary bool // something was measured: summary.json must exist
}

// TestInterruptIntegration sends SIGINT or SIGTERM to `run` during the
// preload, the warmup and a migration: the run exits 130/143 within
// interruptBound, with its outputs when it had measured anything, no
// redis-server of its own left, and no slot left importing or migrating.
func TestInterruptIntegration(t *testing.T) {
	redistest.RequireServer(t)
	base := []string{"--duration", "20s", "--workers", "4", "--key-prefix", "intr"}
	cases := []interruptCase{
		{name: "SIGINT during the preload", args: []string{"--keys", "3000000"},
			trigger: "] preload ", delay: 200 * time.Millisecond, sig: syscall.SIGINT},
		{name: "SIGINT twice during the preload", args: []string{"--keys", "3000000"},
			trigger: "] preload ", delay: 200 * time.Millisecond, sig: syscall.SIGINT, twice: true},
		{name: "SIGTERM during the warmup", args: []string{"--keys", "10000", "--warmup", "5s"},
			trigger: "] preloaded ", delay: time.Second, sig: syscall.SIGTERM, wantSummary: true},
		{name: "SIGINT mid-migration of a local cluster", args: []string{"--keys", "20000", "--warmup", "500ms",
			"--migrate", "move:2000", "--migrate-at", "500ms", "--migrate-duration", "10s"},
			trigger: "migration_started", delay: 500 * time.Millisecond, sig: syscall.SIGINT, wantSummary: true},
		{name: "SIGTERM mid-migration of an external cluster", args: []string{"--keys", "20000", "--warmup", "500ms",
			"--migrate", "move:2000", "--migrate-at", "500ms", "--migrate-duration", "10s"},
			trigger: "migration_started", delay: 500 * time.Millisecond, sig: syscall.SIGTERM, external: true, wantSummary: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { interruptRun(t, tc, base) })
	}
}

func interruptRun(t *testing.T, tc interruptCase, base []string) {
	var ext *cluster.Local
	args := append([]string{"run", "--out", filepath.Join(t.TempDir(), "out")}, base...)
	args = append(args, tc.args...)
	if tc.external {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var err error
		if ext, err = cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, Dir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ext.Stop() })
		args = append(args, "--addrs", strings.Join(ext.MasterAddrs(), ","))
	}
	out := args[2]

	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(testBin, args...)
	cmd.Stderr = w
	cmd.Env = append(os.Environ(), "CLUSTERBENCH_PASSWORD=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var children []int
	t.Cleanup(func() { // backstop: nothing may outlive the test
		_ = cmd.Process.Kill()
		for _, pid := range children {
			if pidRunning(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var stderr []string
	timeout := time.After(60 * time.Second)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("run ended before %q:\n%s", tc.trigger, strings.Join(stderr, "\n"))
			}
			stderr = append(stderr, l)
			if strings.Contains(l, tc.trigger) {
				break wait
			}
		case <-timeout:
			t.Fatalf("no %q on stderr within 60s:\n%s", tc.trigger, strings.Join(stderr, "\n"))
		}
	}
	time.Sleep(tc.delay)
	children = childPids(cmd.Process.Pid)
	sent := time.Now()
	if err := cmd.Process.Signal(tc.sig); err != nil {
		t.Fatal(err)
	}
	if tc.twice {
		time.Sleep(20 * time.Millisecond)
		_ = cmd.Process.Signal(tc.sig)
	}
	err = cmd.Wait()
	took := time.Since(sent)
	for l := range lines {
		stderr = append(stderr, l)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	t.Logf("exit %d %v after the signal; %d redis-server children before it", code, took.Round(time.Millisecond), len(children))
	if want := exitCode(tc.sig); code != want {
		t.Errorf("exit %d, want %d\nstderr:\n%s", code, want, strings.Join(stderr, "\n"))
	}
	if took > interruptBound {
		t.Errorf("exited %v after the signal, want within %v", took, interruptBound)
	}
	for _, l := range stderr {
		if strings.Contains(l, "panic") || strings.HasPrefix(l, "goroutine ") {
			t.Errorf("stderr shows a crash:\n%s", strings.Join(stderr, "\n"))
			break
		}
	}
	if !tc.external && len(children) == 0 {
		t.Errorf("no redis-server child before the signal: the local cluster was not running")
	}
	for _, pid := range children {
		if pidRunning(pid) {
			t.Errorf("redis-server pid %d still runs after the exit", pid)
		}
	}

	_, statErr := os.Stat(filepath.Join(out, "summary.json"))
	switch {
	case tc.wantSummary && statErr != nil:
		t.Errorf("no summary.json after an interrupted measurement: %v", statErr)
	case tc.wantSummary:
		b, err := os.ReadFile(filepath.Join(out, "summary.json"))
		var sum metrics.Summary
		if err == nil {
			err = json.Unmarshal(b, &sum)
		}
		if err != nil || len(sum.Strategies) != 1 {
			t.Errorf("summary.json: %v, %d strategies; want it to parse with the one strategy", err, len(sum.Strategies))
		}
	default:
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("--out exists though nothing was measured (err %v)", err)
		}
	}
	if ext != nil {
		checkSettled(t, ext)
	}
}

// checkSettled asserts that no node of l has a slot importing or migrating
// (CLUSTER NODES markers [slot->-id] / [slot-<-id]) and that the run's keys
// are gone.
func checkSettled(t *testing.T, l *cluster.Local) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, a := range l.Addrs() {
		c, err := cluster.Dial(a, cluster.ConnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		nodes, err := cluster.DoText(ctx, c, a, "CLUSTER", "NODES")
		if err == nil && (strings.Contains(nodes, "->-") || strings.Contains(nodes, "-<-")) {
			t.Errorf("%s has a slot left open:\n%s", a, nodes)
		}
		keys, kerr := c.Do(ctx, c.B().Scan().Cursor(0).Match("intr:*").Count(100000).Build()).AsScanEntry()
		c.Close()
		if err != nil || kerr != nil {
			t.Fatalf("%s: %v %v", a, err, kerr)
		}
		if len(keys.Elements) > 0 {
			t.Errorf("%s still holds %d keys of the interrupted run, e.g. %s", a, len(keys.Elements), keys.Elements[0])
		}
	}
}
