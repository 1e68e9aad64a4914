package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/router"
)

// TestMain fails the package when a redis-server started by a test is still
// around (alive or unreaped) after all tests ran, and kills it.
func TestMain(m *testing.M) {
	code := m.Run()
	if left := childServers(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "redis-server processes left behind by the tests: %v\n", left)
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		code = 1
	}
	os.Exit(code)
}

// childServers lists the redis-server processes whose parent is this test
// binary, from /proc.
func childServers() []int {
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(stat)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < open {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 || !strings.HasPrefix(s[open+1:close], "redis-server") {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == os.Getpid() {
			pids = append(pids, pid)
		}
	}
	return pids
}

// startLocal starts a local cluster for a test and always stops it.
func startLocal(t *testing.T, cfg LocalConfig) *Local {
	t.Helper()
	redistest.RequireServer(t)
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l, err := StartLocal(ctx, cfg)
	if err != nil {
		t.Fatalf("StartLocal(%+v): %v", cfg, err)
	}
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
	return l
}

// requireGone fails unless every pid has exited and been reaped.
func requireGone(t *testing.T, pids []int) {
	t.Helper()
	for _, pid := range pids {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("pid %d still exists after Stop (kill 0: %v)", pid, err)
		}
	}
}

func pidsOf(nodes []*LocalNode) []int {
	var pids []int
	for _, n := range nodes {
		pids = append(pids, n.Pid)
	}
	return pids
}

// command runs one admin command on addr and returns its text reply.
func command(t *testing.T, addr string, opt ConnOptions, args ...string) string {
	t.Helper()
	c, err := Dial(addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := DoText(context.Background(), c, addr, args...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func viewOf(t *testing.T, addr string, opt ConnOptions) []ClusterNode {
	t.Helper()
	view, err := ParseClusterNodes(command(t, addr, opt, "CLUSTER", "NODES"))
	if err != nil {
		t.Fatal(err)
	}
	return view
}

// freeBase finds a base port below the kernel's ephemeral range (so free
// ports picked by parallel tests cannot collide with it) whose n client
// ports and n bus ports are free now.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := 12000 + rand.IntN(8000)
		ok := true
		for i := range n {
			for _, p := range []int{base + i, base + busPortOffset + i} {
				ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
				if err != nil {
					ok = false
					break
				}
				ln.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free base port")
	return 0
}

func TestStartLocalIntegration(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	l := startLocal(t, LocalConfig{Masters: 3, Dir: parent})

	nodes := l.Nodes()
	if len(nodes) != 3 || !slices.Equal(l.Addrs(), l.MasterAddrs()) {
		t.Fatalf("Addrs %v MasterAddrs %v, want 3 masters", l.Addrs(), l.MasterAddrs())
	}
	want := SplitSlots(3)
	for i, n := range nodes {
		if n.Role != "master" || len(n.ID) != 40 || n.Pid <= 0 {
			t.Errorf("node %d = %+v", i, n)
		}
		if st := ParseInfo(command(t, n.Addr, ConnOptions{}, "CLUSTER", "INFO"))["cluster_state"]; st != "ok" {
			t.Errorf("%s: cluster_state:%s", n.Addr, st)
		}
		// Each master serves its even share, as every node sees it.
		for _, v := range viewOf(t, nodes[0].Addr, ConnOptions{}) {
			if v.ID == n.ID && !slices.Equal(v.Slots, want[i:i+1]) {
				t.Errorf("%s serves %v, want %v", n.Addr, v.Slots, want[i])
			}
		}
	}
	if !strings.HasPrefix(l.Dir(), parent) {
		t.Errorf("Dir %s is not under %s", l.Dir(), parent)
	}

	pids := pidsOf(nodes)
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	requireGone(t, pids)
	if _, err := os.Stat(l.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir %s still there after Stop (stat: %v)", l.Dir(), err)
	}
	if err := l.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if len(l.Addrs()) != 0 {
		t.Errorf("Addrs after Stop = %v", l.Addrs())
	}
	if err := l.KillNode(nodes[0].Addr); !errors.Is(err, ErrStopped) {
		t.Errorf("KillNode after Stop = %v, want ErrStopped", err)
	}
}

func TestStartLocalReplicasIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 3, Replicas: 1})

	nodes := l.Nodes()
	if len(nodes) != 6 || len(l.MasterAddrs()) != 3 {
		t.Fatalf("%d nodes, masters %v; want 6 and 3", len(nodes), l.MasterAddrs())
	}
	ports := map[string]string{} // master port -> master addr
	ids := map[string]string{}
	for _, n := range nodes[:3] {
		ports[strconv.Itoa(n.Port)] = n.Addr
		ids[n.ID] = n.Addr
	}
	served := map[string]int{}
	var want string
	for _, n := range nodes {
		fp, problem := fingerprint(viewOf(t, n.Addr, ConnOptions{}))
		if problem != "" {
			t.Errorf("%s sees %s", n.Addr, problem)
		}
		if want == "" {
			want = fp
		} else if fp != want {
			t.Errorf("%s disagrees:\n%s\nvs\n%s", n.Addr, fp, want)
		}
		if n.Role != "replica" {
			continue
		}
		// ROLE on a replica: slave, master ip, master port, state, offset.
		c, err := Dial(n.Addr, ConnOptions{})
		if err != nil {
			t.Fatal(err)
		}
		role, err := Do(context.Background(), c, "ROLE").ToArray()
		c.Close()
		if err != nil || len(role) < 4 {
			t.Fatalf("ROLE on %s: %v %v", n.Addr, role, err)
		}
		kind, _ := role[0].ToString()
		port, _ := role[2].AsInt64()
		state, _ := role[3].ToString()
		master, ok := ports[strconv.FormatInt(port, 10)]
		if kind != "slave" || !ok || state != "connected" {
			t.Errorf("ROLE on replica %s = %s of port %d (%s)", n.Addr, kind, port, state)
		}
		served[master]++
	}
	for _, m := range l.MasterAddrs() {
		if served[m] != 1 {
			t.Errorf("master %s has %d replicas, want 1", m, served[m])
		}
	}
}

func TestStartLocalPortInUseIntegration(t *testing.T) {
	t.Parallel()
	redistest.RequireServer(t)
	base := freeBase(t, 3)
	// Hold the second node's port: the first and third start, then all
	// must be stopped again.
	held, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(base+1)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	parent := t.TempDir()

	l, err := StartLocal(context.Background(), LocalConfig{Masters: 3, BasePort: base, Dir: parent})
	if err == nil {
		l.Stop()
		t.Fatal("StartLocal succeeded with a port held")
	}
	var pe *PortInUseError
	if !errors.Is(err, ErrPortInUse) || !errors.As(err, &pe) || pe.Port != base+1 {
		t.Fatalf("err = %v, want PortInUseError for port %d", err, base+1)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(base+1)) || !strings.Contains(err.Error(), "--port") {
		t.Errorf("message %q should name the port and the fix", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Errorf("left in %s: %v", parent, ents)
	}
	if pids := processesIn(parent); len(pids) != 0 {
		t.Errorf("processes still running in %s: %v", parent, pids)
	}
}

// processesIn lists the live processes whose working directory is under dir
// (each node runs in its own subdirectory).
func processesIn(dir string) []int {
	var pids []int
	for _, pid := range childServers() {
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err == nil && strings.HasPrefix(cwd, dir) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func TestAddMasterIntegration(t *testing.T) {
	t.Parallel()
	base := freeBase(t, 4)
	l := startLocal(t, LocalConfig{Masters: 3, BasePort: base})
	for i, n := range l.Nodes() {
		if n.Port != base+i || n.BusPort != base+busPortOffset+i {
			t.Errorf("node %d on ports %d/%d, want %d/%d", i, n.Port, n.BusPort, base+i, base+busPortOffset+i)
		}
	}

	n, err := l.AddMaster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n.Port != base+3 || n.Role != "master" || len(n.ID) != 40 {
		t.Errorf("added %+v, want a master on port %d", n, base+3)
	}
	if got := l.MasterAddrs(); len(got) != 4 || got[3] != n.Addr {
		t.Errorf("MasterAddrs = %v", got)
	}
	for _, addr := range l.Addrs() {
		found := false
		for _, v := range viewOf(t, addr, ConnOptions{}) {
			if v.ID == n.ID {
				found = true
				if !v.IsMaster() || v.SlotCount() != 0 || v.Addr != n.Addr {
					t.Errorf("%s sees the new master as %+v", addr, v)
				}
			}
		}
		if !found {
			t.Errorf("%s does not know the new master", addr)
		}
	}
}

func TestNodeSignalsIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 1, Replicas: 2})
	nodes := l.Nodes()
	master, r1, r2 := nodes[0], nodes[1], nodes[2]

	if err := l.KillNode(r1.Addr); err != nil {
		t.Fatal(err)
	}
	requireGone(t, []int{r1.Pid})
	if err := l.StopNode(context.Background(), r2.Addr); err != nil {
		t.Fatal(err)
	}
	requireGone(t, []int{r2.Pid})
	if got := l.Addrs(); !slices.Equal(got, []string{master.Addr}) {
		t.Errorf("Addrs after kill and stop = %v", got)
	}
	if err := l.KillNode(r1.Addr); !errors.Is(err, ErrUnknownNode) {
		t.Errorf("KillNode of a dead node = %v, want ErrUnknownNode", err)
	}
	if err := l.ForgetNode(context.Background(), r1.ID); err != nil {
		t.Errorf("ForgetNode: %v", err)
	}
	for _, v := range viewOf(t, master.Addr, ConnOptions{}) {
		if v.ID == r1.ID {
			t.Errorf("the master still lists the forgotten replica: %+v", v)
		}
	}

	// A paused node keeps its socket but answers nothing.
	if err := l.PauseNode(master.Addr); err != nil {
		t.Fatal(err)
	}
	c, err := Dial(master.Addr, ConnOptions{DialTimeout: 200 * time.Millisecond})
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		err = Do(ctx, c, "PING").Error()
		cancel()
		c.Close()
	}
	if err == nil {
		t.Error("a paused node answered PING")
	}
	if err := l.ResumeNode(master.Addr); err != nil {
		t.Fatal(err)
	}
	if got := command(t, master.Addr, ConnOptions{}, "PING"); got != "PONG" {
		t.Errorf("PING after resume = %q", got)
	}
	// Stop must cope with a paused node too.
	if err := l.PauseNode(master.Addr); err != nil {
		t.Fatal(err)
	}
	if err := l.Stop(); err != nil {
		t.Fatal(err)
	}
	requireGone(t, []int{master.Pid})
}

func TestPasswordIntegration(t *testing.T) {
	t.Parallel()
	const pw = `s3cret "quoted" \ pass`
	l := startLocal(t, LocalConfig{Masters: 1, Replicas: 1, Password: pw})
	addr := l.Addrs()[0]
	if _, err := redistest.Command(addr, "PING"); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Errorf("PING without AUTH: %v, want NOAUTH", err)
	}
	if got := command(t, addr, l.ConnOptions(), "PING"); got != "PONG" {
		t.Errorf("PING with the password = %q", got)
	}
	for _, n := range l.Nodes() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", n.Pid))
		if strings.Contains(string(cmdline), "s3cret") {
			t.Errorf("password visible in the command line of pid %d", n.Pid)
		}
	}
}

func TestAttachLocalIntegration(t *testing.T) {
	t.Parallel()
	l := startLocal(t, LocalConfig{Masters: 1, Detached: true})
	st := l.State()
	if len(st.Nodes) != 1 || st.Nodes[0].ID == "" || st.Dir != l.Dir() || st.Version == "" {
		t.Fatalf("State = %+v", st)
	}
	a := AttachLocal(st, ConnOptions{})
	if got := a.Alive(); len(got) != 1 {
		t.Fatalf("Alive = %v", got)
	}
	added, err := a.AddMaster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := a.MasterAddrs(); !slices.Equal(got, []string{st.Nodes[0].Addr, added.Addr}) {
		t.Errorf("attached MasterAddrs after AddMaster = %v", got)
	}
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	requireGone(t, []int{added.Pid})
	// The pid is our child here (started by l), so l's goroutine reaps it.
	if err := waitExit(l.Nodes()[0], 5*time.Second); err != nil {
		t.Fatal(err)
	}
	requireGone(t, pidsOf(l.Nodes()))
	if _, err := os.Stat(st.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dir still there: %v", err)
	}
	if got := AttachLocal(st, ConnOptions{}).Alive(); len(got) != 0 {
		t.Errorf("Alive after Stop = %v", got)
	}
}

func TestStartLocalServerMissing(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := StartLocal(context.Background(), LocalConfig{Masters: 1})
	if !errors.Is(err, ErrServerNotFound) || !strings.Contains(err.Error(), "Debian's redis-server package") {
		t.Errorf("err = %v, want ErrServerNotFound naming the package", err)
	}
	_, err = StartLocal(context.Background(), LocalConfig{Masters: 1, ServerPath: "/nonexistent/redis-server"})
	if !errors.Is(err, ErrServerNotFound) {
		t.Errorf("err = %v, want ErrServerNotFound", err)
	}
}

func TestLocalConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  LocalConfig
		want string // substring of the error; "" means valid
	}{
		{"one master", LocalConfig{Masters: 1}, ""},
		{"base port leaves room for bus ports", LocalConfig{Masters: 3, Replicas: 1, BasePort: 55530}, ""},
		{"no masters", LocalConfig{}, "masters = 0"},
		{"negative replicas", LocalConfig{Masters: 1, Replicas: -1}, "replicas = -1"},
		{"bus ports beyond 65535", LocalConfig{Masters: 3, BasePort: 55534}, "base port 55534"},
		{"negative port", LocalConfig{Masters: 3, BasePort: -5}, "base port -5"},
		{"both wrong at once", LocalConfig{Masters: 0, Replicas: -2}, "replicas = -2"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestSplitSlots(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5, 7, 100, router.NumSlots} {
		rs := SplitSlots(n)
		if len(rs) != n || rs[0].First != 0 || rs[n-1].Last != router.NumSlots-1 {
			t.Fatalf("SplitSlots(%d) = %v...", n, rs[:min(n, 3)])
		}
		lo, hi := router.NumSlots, 0
		for i, r := range rs {
			if i > 0 && r.First != rs[i-1].Last+1 {
				t.Fatalf("SplitSlots(%d): gap or overlap at %d: %v %v", n, i, rs[i-1], r)
			}
			size := int(r.Last) - int(r.First) + 1
			lo, hi = min(lo, size), max(hi, size)
		}
		if hi-lo > 1 {
			t.Errorf("SplitSlots(%d): sizes from %d to %d", n, lo, hi)
		}
	}
	if got := SplitSlots(3); got[0] != (router.SlotRange{First: 0, Last: 5461}) || got[2] != (router.SlotRange{First: 10923, Last: 16383}) {
		t.Errorf("SplitSlots(3) = %v", got)
	}
}

func TestConfQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a "b" \c`, `"a \x22b\x22 \x5cc"`},
		{"new\nline", `"new\x0aline"`},
		{"é", `"\xc3\xa9"`},
	}
	for _, tt := range tests {
		if got := confQuote(tt.in); got != tt.want {
			t.Errorf("confQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestServesPort(t *testing.T) {
	tests := []struct {
		title string
		port  int
		want  bool
	}{
		{"redis-server 127.0.0.1:7000 [cluster]\x00\x00", 7000, true},
		{"redis-server 127.0.0.1:70000 [cluster]", 7000, false},
		{"redis-server 127.0.0.1:17000 [cluster]", 7000, false},
		{"redis-server *:7000", 7000, true},
		{"bash\x00-c\x00sleep 7000", 7000, false},
	}
	for _, tt := range tests {
		if got := servesPort(tt.title, tt.port); got != tt.want {
			t.Errorf("servesPort(%q, %d) = %v", tt.title, tt.port, got)
		}
	}
}
