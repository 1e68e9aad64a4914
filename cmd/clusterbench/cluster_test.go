package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
)

// clusterBinary builds the clusterbench binary into the test's temporary
// directory (the go build cache makes the second build a link).
func clusterBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "clusterbench")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// clusterCLI runs the binary with args (env adds to the environment) and
// returns stdout, stderr and the exit code.
func clusterCLI(t *testing.T, bin string, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

// pidRunning reports whether pid is a live process (a zombie is not: the
// servers of `cluster up` are reaped by init, whenever it gets to it).
func pidRunning(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}

func readTestState(t *testing.T, path string) *clusterState {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st clusterState
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestClusterUpStatusDownIntegration(t *testing.T) {
	redistest.RequireServer(t)
	t.Parallel()
	bin := clusterBinary(t)
	state := filepath.Join(t.TempDir(), "state", "cluster.json")
	var pids []int
	t.Cleanup(func() {
		clusterCLI(t, bin, nil, "cluster", "down", "--state", state)
		for _, pid := range pids { // backstop: nothing may outlive the test
			if pidRunning(pid) {
				t.Errorf("pid %d still running after down; killing it", pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	out, errOut, code := clusterCLI(t, bin, nil, "cluster", "up", "--masters", "3", "--replicas", "1", "--state", state)
	if code != 0 {
		t.Fatalf("up: exit %d: %s", code, errOut)
	}
	st := readTestState(t, state)
	for _, n := range st.Nodes {
		pids = append(pids, n.Pid)
	}
	lines := strings.Fields(out)
	if len(lines) != 6 || len(st.Nodes) != 6 {
		t.Fatalf("up printed %q; state has %d nodes", out, len(st.Nodes))
	}
	for i, line := range lines {
		if line != st.Nodes[i].Addr || !strings.HasPrefix(line, "127.0.0.1:") {
			t.Errorf("line %d = %q, state says %s", i, line, st.Nodes[i].Addr)
		}
		if wantRole := map[bool]string{true: "master", false: "replica"}[i < 3]; st.Nodes[i].Role != wantRole {
			t.Errorf("node %d is a %s, want %s (masters first)", i, st.Nodes[i].Role, wantRole)
		}
	}
	if !strings.Contains(errOut, "cluster down") {
		t.Errorf("up should say how to stop it; stderr %q", errOut)
	}

	// A second up while the first runs is refused.
	_, errOut, code = clusterCLI(t, bin, nil, "cluster", "up", "--masters", "1", "--state", state)
	if code != exitBadInput || !strings.Contains(errOut, "cluster down") {
		t.Errorf("second up: exit %d, stderr %q; want 2 and a hint to run cluster down", code, errOut)
	}

	// status of the local cluster, and of a cluster found from one address.
	for _, args := range [][]string{
		{"cluster", "status", "--state", state},
		{"cluster", "status", "--addrs", lines[4]},
	} {
		out, errOut, code = clusterCLI(t, bin, nil, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
		rows := strings.Split(strings.TrimSpace(out), "\n")
		if len(rows) != 7 || !regexp.MustCompile(`^NODE\s+ROLE\s+SLOTS\s+KEYS\s+STATE\s+VERSION$`).MatchString(rows[0]) {
			t.Fatalf("%v printed:\n%s", args, out)
		}
		master := regexp.MustCompile(`^` + regexp.QuoteMeta(lines[0]) + `\s+master\s+5462 \(0-5461\)\s+0\s+ok\s+\d+\.\d+\.\d+$`)
		if !master.MatchString(rows[1]) {
			t.Errorf("first row %q, want %s as master of 5462 slots", rows[1], lines[0])
		}
		if !strings.Contains(rows[2], "replica of "+lines[0]) {
			t.Errorf("second row %q, want the first master's replica", rows[2])
		}
	}

	_, errOut, code = clusterCLI(t, bin, nil, "cluster", "down", "--state", state)
	if code != 0 {
		t.Fatalf("down: exit %d: %s", code, errOut)
	}
	for _, pid := range pids {
		if pidRunning(pid) {
			t.Errorf("pid %d still running after down", pid)
		}
	}
	if _, err := os.Stat(st.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster dir %s still there: %v", st.Dir, err)
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state file still there: %v", err)
	}

	// With nothing up: down says so and succeeds, status is bad input.
	_, errOut, code = clusterCLI(t, bin, nil, "cluster", "down", "--state", state)
	if code != 0 || !strings.Contains(errOut, "no local cluster") {
		t.Errorf("down again: exit %d, stderr %q", code, errOut)
	}
	_, errOut, code = clusterCLI(t, bin, nil, "cluster", "status", "--state", state)
	if code != exitBadInput || !strings.Contains(errOut, "cluster up") {
		t.Errorf("status with nothing up: exit %d, stderr %q", code, errOut)
	}
}

func TestClusterStatusPasswordIntegration(t *testing.T) {
	redistest.RequireServer(t)
	t.Parallel()
	bin := clusterBinary(t)
	const pw = "very-secret-pw"
	l, err := cluster.StartLocal(context.Background(), cluster.LocalConfig{Masters: 1, Password: pw, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop() })
	addr := l.Addrs()[0]

	out, errOut, code := clusterCLI(t, bin, []string{passwordEnv + "=" + pw}, "cluster", "status", "--addrs", addr)
	if code != 0 || !regexp.MustCompile(regexp.QuoteMeta(addr)+`\s+master\s+16384 \(0-16383\)\s+0\s+ok`).MatchString(out) {
		t.Errorf("status with the password from the environment: exit %d\n%s%s", code, out, errOut)
	}
	out, errOut, code = clusterCLI(t, bin, nil, "cluster", "status", "--addrs", addr, "--password", "wrong-"+pw)
	if code != exitBadInput {
		t.Errorf("status with a wrong password: exit %d, want 2 (bad input)", code)
	}
	if strings.Contains(out+errOut, pw) {
		t.Errorf("the password was printed:\n%s%s", out, errOut)
	}
}

func TestClusterStatusNotClusterIntegration(t *testing.T) {
	t.Parallel()
	addr := redistest.StartNode(t, "--cluster-enabled", "no")
	bin := clusterBinary(t)
	_, errOut, code := clusterCLI(t, bin, nil, "cluster", "status", "--addrs", addr)
	if code != exitBadInput || !strings.Contains(errOut, "not a cluster node") || strings.Count(errOut, "\n") != 1 {
		t.Errorf("status of a plain server: exit %d, stderr %q; want 2 and one line", code, errOut)
	}
}

// TestClusterBadInput also covers a missing redis-server: every case must
// exit 2 with one line that names the fix.
func TestClusterBadInput(t *testing.T) {
	t.Parallel()
	bin := clusterBinary(t)
	state := filepath.Join(t.TempDir(), "cluster.json")
	tests := []struct {
		args []string
		want string // in the one-line message
	}{
		{[]string{"up", "--masters", "0"}, "--masters 0"},
		{[]string{"up", "--replicas", "-1"}, "--replicas -1"},
		{[]string{"up", "--port", "70000"}, "--port 70000"},
		{[]string{"up", "--port", "60000", "--masters", "3"}, "--port 60000"}, // bus ports past 65535
		{[]string{"up", "--node-timeout", "0s"}, "--node-timeout"},
		{[]string{"up", "--masters", "many"}, "--masters"},
		{[]string{"status", "--addrs", "localhost"}, "host:port"},
		{[]string{"frobnicate"}, "up, down or status"},
		{[]string{}, "up, down or status"},
	}
	for _, tt := range tests {
		args := append([]string{"cluster"}, tt.args...)
		args = append(args, "--state", state)
		if len(tt.args) < 2 { // the cluster command itself has no --state
			args = append([]string{"cluster"}, tt.args...)
		}
		out, errOut, code := clusterCLI(t, bin, nil, args...)
		if code != exitBadInput || !strings.Contains(errOut, tt.want) || strings.Count(errOut, "\n") != 1 || out != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit 2 and one line about %q", args, code, out, errOut, tt.want)
		}
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bad input wrote a state file")
	}

	// No redis-server on PATH.
	cmd := exec.Command(bin, "cluster", "up", "--state", state)
	cmd.Env = []string{"PATH=" + t.TempDir(), "HOME=" + t.TempDir()}
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitBadInput {
		t.Fatalf("up without redis-server: %v, want exit %d", err, exitBadInput)
	}
	if msg := errOut.String(); !strings.Contains(msg, "Debian's redis-server package") || strings.Count(msg, "\n") != 1 {
		t.Errorf("stderr %q: want one line naming Debian's redis-server package", msg)
	}
}

func TestSlotSummary(t *testing.T) {
	tests := []struct {
		name string
		line string // a CLUSTER NODES line
		want string
	}{
		{"one range", "a 127.0.0.1:1@2 master - 0 0 1 connected 0-5460", "5461 (0-5460)"},
		{"no slots", "a 127.0.0.1:1@2 master - 0 0 1 connected", "0"},
		{"many ranges, unsorted", "a 127.0.0.1:1@2 master - 0 0 1 connected 30-39 7 1-2 50 60-61", "16 (1-2, 7, 30-39 …+2)"},
		{"in migration", "a 127.0.0.1:1@2 master - 0 0 1 connected 0-9 [5->-b] [20-<-c]", "10 (0-9) 1 migrating 1 importing"},
	}
	for _, tt := range tests {
		nodes, err := cluster.ParseClusterNodes(tt.line)
		if err != nil {
			t.Fatal(err)
		}
		if got := slotSummary(nodes[0]); got != tt.want {
			t.Errorf("%s: slotSummary = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOrderNodes(t *testing.T) {
	view, err := cluster.ParseClusterNodes(`r2 127.0.0.1:5@1 slave m2 0 0 1 connected
m0 127.0.0.1:9@1 master - 0 0 3 connected
m2 127.0.0.1:2@1 master - 0 0 2 connected 100-200
r1 127.0.0.1:4@1 slave m1 0 0 1 connected
m1 127.0.0.1:1@1 master - 0 0 1 connected 0-99
rx 127.0.0.1:7@1 slave gone 0 0 1 connected
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range orderNodes(view) {
		got = append(got, n.ID)
	}
	// Masters by first slot, each followed by its replicas; the empty
	// master after those with slots; orphans last.
	if want := "m1 r1 m2 r2 m0 rx"; strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
}
