package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
)

// testBin is the clusterbench binary TestMain builds once for the tests
// that run it as a user would.
var testBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "clusterbench-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testBin = filepath.Join(dir, "clusterbench")
	if out, err := exec.Command("go", "build", "-o", testBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cliResult is what one run of the binary printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
	took           time.Duration
}

// runBinary runs the test binary with args; env replaces the environment
// when it is not nil. A run that outlives limit is killed and fails t.
func runBinary(t *testing.T, env []string, limit time.Duration, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, testBin, args...)
	cmd.Env = env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err := cmd.Run()
	r := cliResult{stdout: out.String(), stderr: errOut.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%v: still running after %v\nstderr: %s", args, limit, r.stderr)
	case err == nil:
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return r
}

// badInputCase is one command line that must be refused as bad input.
type badInputCase struct {
	name string
	args []string // after the base `run` arguments (or the whole command line when cmd is set)
	cmd  bool     // args is the whole command line (not a run)
	env  []string // added to the environment
	// want are substrings of the one stderr line: the thing at fault and
	// the fix.
	want []string
	// secret must not appear anywhere in the output.
	secret string
}

// baseRunArgs keep a case that wrongly passes short (and local).
var baseRunArgs = []string{"run", "--duration", "2s", "--warmup", "0s", "--keys", "1000"}

// checkBadInput runs tc and asserts the bad-input contract: exit 2, one
// non-empty stderr line naming the problem and the fix, nothing on
// stdout, no panic or stack trace, no output directory.
func checkBadInput(t *testing.T, tc badInputCase) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	args := tc.args
	if !tc.cmd {
		args = append(append(slices.Clone(baseRunArgs), "--out", out), tc.args...)
	}
	env := append(os.Environ(), "CLUSTERBENCH_PASSWORD=")
	env = append(env, tc.env...)
	r := runBinary(t, env, 60*time.Second, args...)
	if r.code != exitBadInput {
		t.Errorf("exit %d, want %d (bad input)\nstderr: %s", r.code, exitBadInput, r.stderr)
	}
	var lines []string
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("stderr has %d lines, want exactly 1:\n%s", len(lines), r.stderr)
	}
	line := lines[0]
	if !strings.HasPrefix(line, "clusterbench: ") {
		t.Errorf("stderr line %q does not start with \"clusterbench: \"", line)
	}
	for _, w := range tc.want {
		if !strings.Contains(line, w) {
			t.Errorf("stderr line %q does not mention %q", line, w)
		}
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(r.stdout+r.stderr, bad) {
			t.Errorf("output contains %q (a crash or stack trace):\n%s%s", bad, r.stdout, r.stderr)
		}
	}
	if r.stdout != "" {
		t.Errorf("stdout not empty: %q", r.stdout)
	}
	if tc.secret != "" && strings.Contains(r.stdout+r.stderr, tc.secret) {
		t.Errorf("the password appears in the output: %q", line)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("--out %s exists after bad input (err %v)", out, err)
	}
	t.Logf("%v: %s", r.took.Round(time.Millisecond), line)
}

// TestRunBadInput refuses command lines that are wrong on their face,
// without any server.
func TestRunBadInput(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	done := filepath.Join(t.TempDir(), "done")
	if err := os.MkdirAll(done, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(done, "summary.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	profile := func(name, text string) string {
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	syntax := profile("syntax.yaml", "dist: zipf\nmix: get:80\n  oops: x\n")
	unknown := profile("unknown.yaml", "dist: zipf\nturbo: yes\n")
	badValue := profile("value.yaml", "description: d\ndist: pareto\n")
	cases := []badInputCase{
		{name: "unknown profile", args: []string{"--profile", "nope"}, want: []string{`profile "nope" is unknown`, "compare"}},
		{name: "profile YAML syntax error", args: []string{"--profile", syntax}, want: []string{syntax, "line 3", "mapping values"}},
		{name: "profile unknown field", args: []string{"--profile", unknown}, want: []string{unknown + ":2", `unknown field "turbo"`, "run --help"}},
		{name: "profile bad value", args: []string{"--profile", badValue}, want: []string{badValue + ":2", "dist", `"pareto"`}},
		{name: "unknown distribution", args: []string{"--dist", "pareto"}, want: []string{`"pareto"`, "uniform, zipf"}},
		{name: "zipf theta above 1", args: []string{"--dist", "zipf", "--zipf-theta", "1.5"}, want: []string{"zipf-theta 1.5", "(0,1)"}},
		{name: "zipf theta 0", args: []string{"--dist", "zipf", "--zipf-theta", "0"}, want: []string{"zipf-theta 0", "(0,1)"}},
		{name: "negative rate", args: []string{"--rate", "-5"}, want: []string{`rate "-5"`, "0 for closed loop"}},
		{name: "malformed rate steps", args: []string{"--rate", "1000:soon"}, want: []string{`"1000:soon"`, "e.g. 10s"}},
		{name: "no workers", args: []string{"--workers", "0"}, want: []string{"--workers 0", "e.g. 16"}},
		{name: "too many workers", args: []string{"--workers", "100000000"}, want: []string{"--workers 100000000", "1..10000"}},
		{name: "no pipeline", args: []string{"--pipeline", "0"}, want: []string{"--pipeline 0", "at least 1"}},
		{name: "verify with pipelining", args: []string{"--pipeline", "8", "--verify"}, want: []string{"--verify with --pipeline 8", "drop --pipeline"}},
		{name: "no keys", args: []string{"--keys", "0"}, want: []string{"keys 0", "use 1 to"}},
		{name: "negative keys", args: []string{"--keys", "-3"}, want: []string{"keys -3", "use 1 to"}},
		{name: "malformed duration", args: []string{"--duration", "ten"}, want: []string{`"ten"`, "--duration", "--help"}},
		{name: "zero duration", args: []string{"--duration", "0s"}, want: []string{"--duration 0s", "e.g. 60s"}},
		{name: "negative op timeout", args: []string{"--op-timeout", "-1s"}, want: []string{"--op-timeout -1s", "e.g. 1s"}},
		{name: "negative warmup", args: []string{"--warmup", "-1s"}, want: []string{"--warmup -1s", "e.g. 5s"}},
		{name: "mix without weight", args: []string{"--mix", "get"}, want: []string{`"get"`, "get:80,set:20"}},
		{name: "mix with an unknown op", args: []string{"--mix", "get:80,scan:20"}, want: []string{`"scan"`, "get, set, del"}},
		{name: "multi-key op without tag groups", args: []string{"--mix", "mget:10", "--tag-group", "0"}, want: []string{"tag-group is 0", "N ≥ 1"}},
		{name: "duplicate strategy", args: []string{"--strategy", "router,stale,router"}, want: []string{`"router" twice`, "once"}},
		{name: "unknown strategy", args: []string{"--strategy", "jedi"}, want: []string{`"jedi"`, "choose from", "rueidis"}},
		{name: "unknown scenario", args: []string{"--migrate", "teleport"}, want: []string{`"teleport"`, "move:K"}},
		{name: "move of no slot", args: []string{"--migrate", "move:0"}, want: []string{`"move:0"`, "1..16384"}},
		{name: "migration after the run", args: []string{"--migrate", "move:10", "--migrate-at", "5s"}, want: []string{"--migrate-at 5s", "inside --duration 2s"}},
		{name: "migration on one master", args: []string{"--migrate", "move:10", "--migrate-at", "1s", "--masters", "1"}, want: []string{"--migrate move:10", "--masters 2"}},
		{name: "failover without replicas", args: []string{"--migrate", "failover", "--migrate-at", "1s"}, want: []string{"--migrate failover", "--replicas 1"}},
		{name: "too many slots in flight", args: []string{"--migrate", "move:10", "--migrate-at", "1s", "--migrate-slots-in-flight", "500"}, want: []string{"--migrate-slots-in-flight 500", "0..64"}},
		{name: "failover:kill of an external cluster", args: []string{"--migrate", "failover:kill", "--migrate-at", "1s", "--addrs", "127.0.0.1:7000"}, want: []string{"failover:kill", "drop --addrs"}},
		{name: "address without port", args: []string{"--addrs", "localhost"}, want: []string{`"localhost"`, "host:port"}},
		{name: "address with a bad port", args: []string{"--addrs", "127.0.0.1:99999"}, want: []string{`"127.0.0.1:99999"`, "1..65535"}},
		{name: "reversed value sizes", args: []string{"--value-size", "512-32"}, want: []string{"value-size 512-32", "smaller size first"}},
		{name: "empty key prefix", args: []string{"--key-prefix", ""}, want: []string{"key-prefix is empty", "e.g. cb"}},
		{name: "malformed hotspot", args: []string{"--dist", "hotspot", "--hot", "0.2"}, want: []string{`"0.2"`, "0.2:0.8"}},
		{name: "no masters", args: []string{"--masters", "0"}, want: []string{"--masters 0", "at least 1"}},
		{name: "negative seed", args: []string{"--seed", "-1"}, want: []string{"--seed", "--help"}},
		{name: "unknown flag", args: []string{"--turbo"}, want: []string{"--turbo", "--help"}},
		{name: "stray argument", args: []string{"now"}, want: []string{`"now"`, "--help"}},
		{name: "unwritable out", args: []string{"--out", "/proc/clusterbench-test/out"}, want: []string{"--out /proc/clusterbench-test/out", "not writable"}},
		{name: "out under a file", args: []string{"--out", filepath.Join(file, "out")}, want: []string{"is not a directory", "another path"}},
		{name: "unwritable cpu profile", args: []string{"--cpuprofile", "/proc/clusterbench-test/cpu.pprof"}, want: []string{"--cpuprofile", "writable file"}},
		{name: "redis-server missing", env: []string{"PATH=" + t.TempDir()}, want: []string{"redis-server not found", "apt-get install redis-server"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkBadInput(t, tc)
		})
	}
	t.Run("out holds a run", func(t *testing.T) {
		t.Parallel()
		r := runBinary(t, os.Environ(), 30*time.Second, append(slices.Clone(baseRunArgs), "--out", done)...)
		if r.code != exitBadInput || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "already holds a run") {
			t.Errorf("exit %d, stderr %q: want 2 and one line saying the directory holds a run", r.code, r.stderr)
		}
		if entries, _ := os.ReadDir(done); len(entries) != 1 {
			t.Errorf("the earlier run's directory now has %d entries, want its summary.json only", len(entries))
		}
	})
}

// TestRunBadInputIntegration refuses runs that only a server can show to be
// wrong: each is caught before anything starts or is written.
func TestRunBadInputIntegration(t *testing.T) {
	redistest.RequireServer(t)
	t.Parallel()
	const pw = "hunter2-not-for-logs"
	plain := startPlainServer(t)
	failing := redistest.StartNode(t) // a cluster node serving slots 0..100 only
	if _, err := redistest.Command(failing, "CLUSTER", "ADDSLOTSRANGE", "0", "100"); err != nil {
		t.Fatal(err)
	}
	one := startOneMaster(t, "")
	locked := startOneMaster(t, pw)
	down := "127.0.0.1:" + strconv.Itoa(redistest.FreePort(t))
	held, port := holdPort(t)
	defer held.Close()
	state := filepath.Join(t.TempDir(), "state.json")
	t.Cleanup(func() { // should `up` wrongly succeed, stop what it started
		runBinary(t, os.Environ(), 30*time.Second, "cluster", "down", "--state", state)
	})

	cases := []badInputCase{
		{name: "unreachable address", args: []string{"--addrs", down}, want: []string{down, "connection refused", "is a Redis Cluster node listening"}},
		{name: "standalone server", args: []string{"--addrs", plain}, want: []string{plain, "not a cluster node", "point --addrs at a Redis Cluster node"}},
		{name: "cluster_state fail", args: []string{"--addrs", failing}, want: []string{"cluster_state:fail", "redis-cli --cluster"}},
		{name: "no password", args: []string{"--addrs", locked}, want: []string{"requires a password", "--password"}},
		{name: "wrong password", args: []string{"--addrs", locked, "--password", "wrong-" + pw}, want: []string{"WRONGPASS", "check --user and --password"}, secret: pw},
		{name: "wrong password from the environment", args: []string{"--addrs", locked}, env: []string{"CLUSTERBENCH_PASSWORD=wrong-" + pw}, want: []string{"WRONGPASS", "--password"}, secret: pw},
		{name: "unknown user", args: []string{"--addrs", locked, "--user", "mallory", "--password", pw}, want: []string{"WRONGPASS", "--user"}, secret: pw},
		{name: "password for a cluster without one", args: []string{"--addrs", one, "--password", pw}, want: []string{"no password set", "drop --password"}, secret: pw},
		{name: "move on one master", args: []string{"--addrs", one, "--migrate", "move:10", "--migrate-at", "1s"}, want: []string{"--migrate move:10", "2 masters", "has 1"}},
		{name: "hot-slot on one master", args: []string{"--addrs", one, "--migrate", "hot-slot", "--migrate-at", "1s"}, want: []string{"hot-slot", "2 masters"}},
		{name: "failover without replicas", args: []string{"--addrs", one, "--migrate", "failover", "--migrate-at", "1s"}, want: []string{"--migrate failover", "replica"}},
		{name: "scale-out without an empty master", args: []string{"--addrs", one, "--migrate", "scale-out", "--migrate-at", "1s"}, want: []string{"scale-out", "without slots", "add-node"}},
		{name: "port range in use", cmd: true, args: []string{"cluster", "up", "--masters", "1", "--port", strconv.Itoa(port), "--state", state},
			want: []string{"port " + strconv.Itoa(port), "already in use", "--port"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { checkBadInput(t, tc) })
	}
}

// startPlainServer starts a redis-server without cluster mode and returns
// its address; it is stopped when the test ends.
func startPlainServer(t *testing.T) string {
	t.Helper()
	bin := redistest.RequireServer(t)
	dir := t.TempDir()
	port := redistest.FreePort(t)
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", filepath.Join(dir, "redis.log"))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if r, err := redistest.Command(addr, "PING"); err == nil && r == "PONG" {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("plain redis-server on %s did not answer", addr)
		}
	}
}

// startOneMaster starts a local one-master cluster (with a password if pw
// is set) and returns its address; it is stopped when the test ends.
func startOneMaster(t *testing.T, pw string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 1, Password: pw, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Stop() })
	return l.Addrs()[0]
}

// holdPort listens on a loopback port whose bus port (+10000) is valid,
// for `cluster up --port` to find taken.
func holdPort(t *testing.T) (net.Listener, int) {
	t.Helper()
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		if p := ln.Addr().(*net.TCPAddr).Port; p+10000 <= 65535 {
			return ln, p
		}
		ln.Close()
	}
	t.Fatal("no free loopback port below 55536")
	return nil, 0
}
