package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/clusterbench/clusterbench/router"
	"github.com/redis/rueidis"
)

// Defaults of LocalConfig.
const (
	DefaultNodeTimeout  = 2 * time.Second  // small, so failover tests are fast
	DefaultStartTimeout = 30 * time.Second // start-up of the whole cluster
	// StopTimeout is how long a node gets to exit after SHUTDOWN before it
	// is killed.
	StopTimeout = 2 * time.Second

	busPortOffset = 10000 // with BasePort: node i's bus port is BasePort+10000+i
	dirPrefix     = "clusterbench-"
	maxPortTries  = 4 // free ports picked again when another process took one first
)

// Errors of the local cluster.
var (
	// ErrServerNotFound: no redis-server binary to start.
	ErrServerNotFound = errors.New("cluster: redis-server not found on PATH: install Debian's redis-server package (apt-get install redis-server)")
	// ErrPortInUse: a port the cluster needs is taken; errors.As gives a
	// *PortInUseError with the port.
	ErrPortInUse = errors.New("cluster: port in use")
	// ErrNotReady: the cluster did not reach cluster_state:ok with one slot
	// map on every node in time.
	ErrNotReady = errors.New("cluster: local cluster not ready")
	// ErrStopped: the local cluster has been stopped.
	ErrStopped = errors.New("cluster: local cluster is stopped")
	// ErrUnknownNode: the address is not a running node of this cluster.
	ErrUnknownNode = errors.New("cluster: no such running local node")
)

// PortInUseError names the port another process holds.
type PortInUseError struct{ Port int }

func (e *PortInUseError) Error() string {
	return fmt.Sprintf("cluster: port %d on 127.0.0.1 is already in use: choose another base port (--port), or 0 for free ports", e.Port)
}

// Is makes errors.Is(err, ErrPortInUse) true.
func (e *PortInUseError) Is(target error) bool { return target == ErrPortInUse }

// LocalConfig describes a throwaway cluster on 127.0.0.1.
//
// cluster-require-full-coverage keeps its default (yes): when a master with
// no replica dies, the cluster answers CLUSTERDOWN as a production cluster
// would, which is what the failure scenarios measure. A scenario that wants
// the other behaviour can CONFIG SET it on the nodes.
type LocalConfig struct {
	Masters  int // at least 1
	Replicas int // replicas per master
	// BasePort 0 picks free loopback ports; otherwise node i listens on
	// BasePort+i and its cluster bus on BasePort+10000+i.
	BasePort    int
	NodeTimeout time.Duration // cluster-node-timeout; 0 means DefaultNodeTimeout
	Dir         string        // parent of the cluster's directory; "" means DefaultDir()
	ServerPath  string        // "" means redis-server on PATH
	Detached    bool          // servers outlive this process (for `cluster up`)
	// ExtraArgs are more redis-server arguments for every node ("--name",
	// "value", ...). Admin connections use the node's port, Password and
	// TLS, so set passwords with Password and TLS with TLS.
	ExtraArgs []string
	// TLS, if set, makes every node TLS-only (tls.go); the admin
	// connections then use TLS too.
	TLS *LocalTLS
	// Password, if set, becomes requirepass and masterauth of every node
	// (written to a 0600 config file, not the command line) and is used by
	// the admin connections.
	Password     string
	StartTimeout time.Duration // 0 means DefaultStartTimeout
}

// Validate reports every problem of c at once.
func (c LocalConfig) Validate() error {
	var errs []error
	if c.Masters < 1 {
		errs = append(errs, fmt.Errorf("cluster: masters = %d: need at least 1", c.Masters))
	}
	if c.Replicas < 0 {
		errs = append(errs, fmt.Errorf("cluster: replicas = %d: must be 0 or more", c.Replicas))
	}
	if c.BasePort != 0 {
		n := max(c.Masters, 1) * (1 + max(c.Replicas, 0))
		if c.BasePort < 1 || c.BasePort+busPortOffset+n-1 > 65535 {
			errs = append(errs, fmt.Errorf("cluster: base port %d: the %d nodes need ports %d..%d and bus ports %d..%d; pick a port in 1..%d",
				c.BasePort, n, c.BasePort, c.BasePort+n-1, c.BasePort+busPortOffset, c.BasePort+busPortOffset+n-1, 65535-busPortOffset-n+1))
		}
	}
	errs = append(errs, c.TLS.validate()...)
	if c.NodeTimeout < 0 || c.StartTimeout < 0 {
		errs = append(errs, errors.New("cluster: timeouts must not be negative"))
	}
	return errors.Join(errs...)
}

// ownerFile holds the pid of the process a non-detached cluster belongs to.
const ownerFile = "owner.pid"

// sweepAbandoned removes the directories of local clusters whose owner
// process is gone. A process killed with SIGKILL cannot clean up: its
// servers die with it (Pdeathsig), but their directory stays behind until
// the next local cluster starts here. Detached clusters (`cluster up`)
// have no owner file and are left to `cluster down`.
func sweepAbandoned(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || pidAlive(pid) {
			continue
		}
		_ = os.RemoveAll(dir)
	}
}

// pidAlive reports whether a process with pid exists.
func pidAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// DefaultDir is where local clusters live: /dev/shm when it is a writable
// directory (memory: every CLUSTER SETSLOT waits for nodes.conf to be
// fsynced, which on a disk makes a migration crawl at a few ms per slot and
// measures the disk rather than the cluster), else os.TempDir().
func DefaultDir() string {
	const shm = "/dev/shm"
	if st, err := os.Stat(shm); err == nil && st.IsDir() {
		if f, err := os.CreateTemp(shm, ".clusterbench-probe-"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return shm
		}
	}
	return os.TempDir()
}

// LocalNode is one redis-server process of a local cluster.
type LocalNode struct {
	Addr    string `json:"addr"` // 127.0.0.1:port
	ID      string `json:"id"`   // cluster node id
	Port    int    `json:"port"`
	BusPort int    `json:"bus_port"`
	Pid     int    `json:"pid"`
	Role    string `json:"role"` // "master" or "replica", at start
	Dir     string `json:"dir"`  // working directory with redis.log and nodes.conf

	// exited is closed once the process has been reaped; nil for a node
	// attached from a LocalState (not our child: poll the pid instead).
	exited chan struct{}
	idx    int // start order: fixes the ports with BasePort, and the listing order
}

// LocalState is what a detached cluster leaves behind for a later process
// (`cluster down`, `cluster status`) to find it again.
type LocalState struct {
	Dir     string      `json:"dir"`
	Version string      `json:"version"` // redis-server version
	Nodes   []LocalNode `json:"nodes"`
}

// Local is a running throwaway cluster. Its methods are safe for concurrent
// use.
type Local struct {
	cfg     LocalConfig
	conn    ConnOptions // admin connections
	server  string      // path of redis-server
	version string
	dir     string

	mu      sync.Mutex
	nodes   []*LocalNode // running nodes, in start order
	next    int          // index of the next node (BasePort+next)
	stopped bool
	// stopDone is closed when the first Stop has finished: a later Stop
	// (the forced exit of a second Ctrl-C) waits for it.
	stopDone chan struct{}
}

// StartLocal starts cfg.Masters*(1+cfg.Replicas) redis-server processes on
// 127.0.0.1, joins them into one cluster, spreads the 16384 slots evenly over
// the masters, attaches the replicas, and returns once every node reports
// cluster_state:ok and all agree on the slot map. On any failure it stops
// what it started and removes its directory before returning the error.
func StartLocal(ctx context.Context, cfg LocalConfig) (*Local, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.NodeTimeout == 0 {
		cfg.NodeTimeout = DefaultNodeTimeout
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = DefaultStartTimeout
	}
	server, version, err := findServer(cfg.ServerPath)
	if err != nil {
		return nil, err
	}
	conn, err := cfg.prepareTLS()
	if err != nil {
		return nil, err
	}
	if cfg.Dir == "" {
		cfg.Dir = DefaultDir()
	}
	sweepAbandoned(cfg.Dir)
	dir, err := os.MkdirTemp(cfg.Dir, dirPrefix)
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	if !cfg.Detached {
		// Marks the directory as ours for as long as this process lives;
		// see sweepAbandoned.
		_ = os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
	}
	l := &Local{cfg: cfg, conn: conn, server: server, version: version, dir: dir}

	sctx, cancel := context.WithTimeoutCause(ctx, cfg.StartTimeout, ErrNotReady)
	defer cancel()
	if err := l.bootstrap(sctx); err != nil {
		err = startError(sctx, ctx, cfg.StartTimeout, err)
		return nil, errors.Join(err, l.Stop())
	}
	return l, nil
}

// startError turns errors caused by the start context ending into a clear
// "not ready after 30s" or "interrupted" error.
func startError(sctx, parent context.Context, timeout time.Duration, err error) error {
	switch {
	case sctx.Err() == nil:
		return err
	case parent.Err() != nil:
		return fmt.Errorf("cluster: start interrupted: %w", parent.Err())
	case errors.Is(err, ErrNotReady):
		return fmt.Errorf("%w (start timeout %v)", err, timeout)
	default:
		return fmt.Errorf("%w after %v: %v", ErrNotReady, timeout, err)
	}
}

// bootstrap starts the processes and forms the cluster.
func (l *Local) bootstrap(ctx context.Context) error {
	masters, replicas := l.cfg.Masters, l.cfg.Masters*l.cfg.Replicas
	nodes := make([]*LocalNode, masters+replicas)
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i := range nodes {
		role := "master"
		if i >= masters {
			role = "replica"
		}
		idx := l.takeIndex()
		wg.Go(func() { nodes[i], errs[i] = l.startNode(ctx, idx, role) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	a, err := l.dialAll(nodes)
	if err != nil {
		return err
	}
	defer a.close()

	// Unique config epochs before the nodes meet, as redis-cli --cluster
	// create does: no epoch collisions to resolve, a settled map sooner.
	for i, n := range nodes {
		if err := doOK(ctx, a[n.Addr], n.Addr, "CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return err
		}
	}
	for i, r := range SplitSlots(masters) {
		n := nodes[i]
		if err := doOK(ctx, a[n.Addr], n.Addr, "CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(int(r.First)), strconv.Itoa(int(r.Last))); err != nil {
			return err
		}
	}
	// Every pair meets directly: waiting for gossip to spread the news
	// from one introducer takes seconds, the MEETs a few milliseconds.
	for i, from := range nodes {
		for _, to := range nodes[i+1:] {
			if err := l.meet(ctx, a[from.Addr], from.Addr, to); err != nil {
				return err
			}
		}
	}
	if err := waitFor(ctx, "every node to know every other", func() (string, error) {
		return a.allKnown(ctx, nodes)
	}); err != nil {
		return err
	}
	for k, n := range nodes[masters:] {
		m := nodes[k/l.cfg.Replicas]
		if err := doOK(ctx, a[n.Addr], n.Addr, "CLUSTER", "REPLICATE", m.ID); err != nil {
			return err
		}
	}
	return waitFor(ctx, "cluster_state:ok and one slot map on every node", func() (string, error) {
		return a.converged(ctx, nodes)
	})
}

// SplitSlots divides the 16384 slots into n contiguous ranges whose sizes
// differ by at most one (the first 16384 mod n ranges get one more).
func SplitSlots(n int) []router.SlotRange {
	rs := make([]router.SlotRange, n)
	first := 0
	for i := range rs {
		size := router.NumSlots / n
		if i < router.NumSlots%n {
			size++
		}
		rs[i] = router.SlotRange{First: uint16(first), Last: uint16(first + size - 1)}
		first += size
	}
	return rs
}

// takeIndex reserves the index of the next node (it fixes its ports when
// BasePort is set).
func (l *Local) takeIndex() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.next
	l.next++
	return i
}

// startNode starts one server and waits until it answers as itself. With
// free ports it picks new ones when another process took them in between.
func (l *Local) startNode(ctx context.Context, idx int, role string) (*LocalNode, error) {
	for try := 1; ; try++ {
		port, bus := l.cfg.BasePort+idx, l.cfg.BasePort+busPortOffset+idx
		if l.cfg.BasePort == 0 {
			var err error
			if port, bus, err = freePorts(); err != nil {
				return nil, err
			}
		}
		n, err := l.spawn(idx, port, bus, role)
		if err != nil {
			return nil, err
		}
		err = l.waitUp(ctx, n)
		if err == nil {
			return n, nil
		}
		if errors.Is(err, ErrPortInUse) && l.cfg.BasePort == 0 && try < maxPortTries {
			l.remove(n)
			continue
		}
		return nil, err
	}
}

// freePorts returns two distinct loopback ports that were free a moment ago.
func freePorts() (port, bus int, err error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range 2 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, 0, fmt.Errorf("cluster: no free port on 127.0.0.1: %w", err)
		}
		ls = append(ls, ln)
	}
	return ls[0].Addr().(*net.TCPAddr).Port, ls[1].Addr().(*net.TCPAddr).Port, nil
}

// spawn starts one redis-server process and registers it, so Stop finds it
// whatever happens next.
func (l *Local) spawn(idx, port, bus int, role string) (*LocalNode, error) {
	dir := filepath.Join(l.dir, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	var args []string
	if l.cfg.Password != "" {
		conf := filepath.Join(dir, "secret.conf")
		text := "requirepass " + confQuote(l.cfg.Password) + "\nmasterauth " + confQuote(l.cfg.Password) + "\n"
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("cluster: %w", err)
		}
		args = append(args, conf) // a config file must come first
	}
	args = append(args, l.cfg.TLS.portArgs(port)...)
	args = append(args,
		"--bind", "127.0.0.1",
		"--cluster-enabled", "yes",
		"--cluster-port", strconv.Itoa(bus),
		"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
		"--cluster-node-timeout", strconv.FormatInt(max(1, l.cfg.NodeTimeout.Milliseconds()), 10),
		"--dir", dir,
		"--save", "",
		"--appendonly", "no",
		// Full sync of a new replica at once, not after the default 5 s
		// wait for more replicas to share the transfer.
		"--repl-diskless-sync-delay", "0",
		"--daemonize", "no",
		"--logfile", filepath.Join(dir, "redis.log"),
	)
	args = append(args, l.cfg.ExtraArgs...)

	// Config errors go to stderr before the log file is open: keep them.
	stderr, err := os.Create(filepath.Join(dir, "stderr.log"))
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	defer stderr.Close() // the child has its own copy

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return nil, ErrStopped
	}
	cmd := exec.Command(l.server, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = sysProcAttr(l.cfg.Detached)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cluster: start %s: %w", l.server, err)
	}
	n := &LocalNode{
		Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Port: port, BusPort: bus,
		Pid: cmd.Process.Pid, Role: role, Dir: dir, exited: make(chan struct{}), idx: idx,
	}
	go func() { _ = cmd.Wait(); close(n.exited) }()
	l.nodes = append(l.nodes, n)
	return n, nil
}

// confQuote quotes s for a redis.conf line; \xHH escapes keep any byte safe.
func confQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var addrInUse = regexp.MustCompile(`listening socket \S*:(\d+): bind: Address already in use`)

// waitUp waits until n answers PING as itself (its process_id, not another
// server that holds the port) and records its node id.
func (l *Local) waitUp(ctx context.Context, n *LocalNode) error {
	// A short dial timeout: whatever holds the port when our server could
	// not bind it may accept and never answer, and the exit of our server
	// should be noticed soon.
	opt := l.conn
	opt.DialTimeout = 500 * time.Millisecond
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		// Wait first: a server that cannot bind exits within milliseconds,
		// before a dial to the port's holder would time out.
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: redis-server on %s did not answer: %w", n.Addr, context.Cause(ctx))
		case <-n.exited:
			return l.exitError(n)
		case <-tick.C:
		}
		c, err := Dial(n.Addr, opt)
		if err != nil {
			continue
		}
		err = l.identify(ctx, c, n)
		c.Close()
		return err
	}
}

// identify checks that the server behind c is n's process and reads its id.
func (l *Local) identify(ctx context.Context, c rueidis.Client, n *LocalNode) error {
	in, err := info(ctx, c, n.Addr, "server")
	if err != nil {
		return err
	}
	if in["process_id"] != strconv.Itoa(n.Pid) {
		// Someone else's server answers on the port; ours will fail to bind.
		_ = signalGroup(n.Pid, syscall.SIGKILL)
		<-n.exited
		return &PortInUseError{Port: n.Port}
	}
	id, err := doString(ctx, c, n.Addr, "CLUSTER", "MYID")
	if err != nil {
		return err
	}
	n.ID = id
	return nil
}

// exitError explains why a server exited during start-up, from its log.
func (l *Local) exitError(n *LocalNode) error {
	log, _ := os.ReadFile(filepath.Join(n.Dir, "redis.log"))
	errLog, _ := os.ReadFile(filepath.Join(n.Dir, "stderr.log"))
	log = append(log, errLog...)
	if m := addrInUse.FindSubmatch(log); m != nil {
		port, _ := strconv.Atoi(string(m[1]))
		return &PortInUseError{Port: port}
	}
	return fmt.Errorf("cluster: redis-server for %s exited during start-up: %s", n.Addr, lastLines(log, 4))
}

// lastLines returns the last n non-empty lines of b joined by " | ".
func lastLines(b []byte, n int) string {
	var lines []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		if s := strings.TrimSpace(string(line)); s != "" {
			lines = append(lines, s)
		}
	}
	if len(lines) == 0 {
		return "(no log output)"
	}
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// meet introduces n to the cluster through the node behind c.
func (l *Local) meet(ctx context.Context, c rueidis.Client, via string, n *LocalNode) error {
	return doOK(ctx, c, via, "CLUSTER", "MEET", "127.0.0.1", strconv.Itoa(n.Port), strconv.Itoa(n.BusPort))
}

// admin holds one admin connection per node address.
type admin map[string]rueidis.Client

func (l *Local) dialAll(nodes []*LocalNode) (admin, error) {
	a := make(admin, len(nodes))
	for _, n := range nodes {
		c, err := Dial(n.Addr, l.conn)
		if err != nil {
			a.close()
			return nil, err
		}
		a[n.Addr] = c
	}
	return a, nil
}

func (a admin) close() {
	for _, c := range a {
		c.Close()
	}
}

// allKnown reports ("", nil) once every node lists every node of nodes with
// an address, past the handshake, and with a connected link.
func (a admin) allKnown(ctx context.Context, nodes []*LocalNode) (string, error) {
	for _, n := range nodes {
		view, err := clusterNodes(ctx, a[n.Addr], n.Addr)
		if err != nil {
			return "", err
		}
		known := make(map[string]bool, len(view))
		for _, v := range view {
			if !v.HasFlag("handshake") && !v.HasFlag("noaddr") && v.Connected {
				known[v.ID] = true
			}
		}
		for _, m := range nodes {
			if !known[m.ID] {
				return fmt.Sprintf("%s does not know %s yet", n.Addr, m.Addr), nil
			}
		}
	}
	return "", nil
}

// converged reports ("", nil) once every node says cluster_state:ok, every
// node sees the same masters, replicas, epochs and slots with no failure
// flags, and every replica's link to its master is up. Otherwise it says
// what is still missing.
func (a admin) converged(ctx context.Context, nodes []*LocalNode) (string, error) {
	var want string
	for _, n := range nodes {
		c := a[n.Addr]
		ci, err := DoText(ctx, c, n.Addr, "CLUSTER", "INFO")
		if err != nil {
			return "", err
		}
		if st := ParseInfo(ci)["cluster_state"]; st != "ok" {
			return fmt.Sprintf("%s reports cluster_state:%s", n.Addr, st), nil
		}
		view, err := clusterNodes(ctx, c, n.Addr)
		if err != nil {
			return "", err
		}
		fp, problem := fingerprint(view)
		if problem != "" {
			return n.Addr + " sees " + problem, nil
		}
		if len(view) != len(nodes) {
			return fmt.Sprintf("%s knows %d nodes, want %d", n.Addr, len(view), len(nodes)), nil
		}
		if want == "" {
			want = fp
		} else if fp != want {
			return fmt.Sprintf("%s and %s disagree on the slot map", nodes[0].Addr, n.Addr), nil
		}
		if n.Role == "replica" {
			in, err := info(ctx, c, n.Addr, "replication")
			if err != nil {
				return "", err
			}
			if in["role"] != "slave" || in["master_link_status"] != "up" {
				return fmt.Sprintf("replica %s is not in sync with its master yet", n.Addr), nil
			}
		}
	}
	return "", nil
}

// fingerprint renders one node's view of the cluster in a canonical form
// (sorted by id), or names a problem that rules out a settled cluster.
func fingerprint(view []ClusterNode) (fp, problem string) {
	lines := make([]string, 0, len(view))
	for _, v := range view {
		for _, f := range []string{"fail", "fail?", "handshake", "noaddr"} {
			if v.HasFlag(f) {
				return "", fmt.Sprintf("%s with flag %s", v.Addr, f)
			}
		}
		if !v.Connected {
			return "", fmt.Sprintf("%s disconnected", v.Addr)
		}
		if len(v.Migrating)+len(v.Importing) > 0 {
			return "", fmt.Sprintf("%s with slots in migration", v.Addr)
		}
		role := "replica"
		if v.IsMaster() {
			role = "master"
		}
		lines = append(lines, fmt.Sprintf("%s %s %s %s %d %v", v.ID, v.Addr, role, v.MasterID, v.ConfigEpoch, v.Slots))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), ""
}

// waitFor polls check every 50 ms until it reports nothing missing ("") or
// ctx ends; then the error says what was still missing.
func waitFor(ctx context.Context, what string, check func() (string, error)) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		missing, err := check()
		// A command cut short by the deadline is the deadline's fault: say
		// what was still missing instead (rueidis may notice the deadline
		// a moment before ctx reports it).
		if err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if err == nil && missing == "" {
			return nil
		}
		if missing != "" {
			last = missing
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waited for %s; last: %s", context.Cause(ctx), what, last)
		case <-tick.C:
		}
	}
}

// AddMaster starts one more master without slots, introduces it to the
// cluster, and returns once every running node knows it (scale-out).
func (l *Local) AddMaster(ctx context.Context) (*LocalNode, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, l.cfg.StartTimeout, ErrNotReady)
	defer cancel()
	nodes := l.running()
	if len(nodes) == 0 {
		return nil, ErrStopped
	}
	l.mu.Lock()
	if l.server == "" { // attached from a state file
		var err error
		if l.server, _, err = findServer(l.cfg.ServerPath); err != nil {
			l.mu.Unlock()
			return nil, err
		}
	}
	l.mu.Unlock()
	idx := l.takeIndex()
	if l.cfg.BasePort != 0 && l.cfg.BasePort+busPortOffset+idx > 65535 {
		return nil, fmt.Errorf("cluster: no port left above base port %d for node %d", l.cfg.BasePort, idx)
	}
	n, err := l.startNode(ctx, idx, "master")
	if err != nil {
		return nil, l.abandon(err)
	}
	all := append(nodes, n)
	a, err := l.dialAll(all)
	if err != nil {
		return nil, errors.Join(err, l.abandonNode(n))
	}
	defer a.close()
	seed := nodes[0]
	if err := l.meet(ctx, a[seed.Addr], seed.Addr, n); err != nil {
		return nil, errors.Join(err, l.abandonNode(n))
	}
	if err := waitFor(ctx, "every node to know the new master", func() (string, error) {
		return a.allKnown(ctx, all)
	}); err != nil {
		return nil, errors.Join(err, l.abandonNode(n))
	}
	return n, nil
}

// abandon stops the nodes of a failed AddMaster that are not part of the
// cluster; it returns err.
func (l *Local) abandon(err error) error {
	l.mu.Lock()
	var orphans []*LocalNode
	for _, n := range l.nodes {
		if n.ID == "" { // never answered: not in the cluster
			orphans = append(orphans, n)
		}
	}
	l.mu.Unlock()
	for _, n := range orphans {
		err = errors.Join(err, l.abandonNode(n))
	}
	return err
}

// abandonNode kills n and forgets it.
func (l *Local) abandonNode(n *LocalNode) error {
	_ = signalGroup(n.Pid, syscall.SIGKILL)
	err := waitExit(n, StopTimeout)
	l.remove(n)
	return err
}

// StopNode shuts the node at addr down gracefully (SHUTDOWN NOSAVE, killed
// after StopTimeout) and drops it from the cluster's list. It does not make
// the other nodes forget it; see ForgetNode. Move its slots away first.
func (l *Local) StopNode(ctx context.Context, addr string) error {
	n, err := l.node(addr)
	if err != nil {
		return err
	}
	err = l.shutdown(ctx, n)
	l.remove(n)
	return err
}

// ForgetNode makes every running node forget the node with id (CLUSTER
// FORGET), as scale-in needs after StopNode; otherwise the others keep
// listing it as failed.
func (l *Local) ForgetNode(ctx context.Context, id string) error {
	var errs []error
	for _, n := range l.running() {
		if n.ID == id {
			continue
		}
		c, err := Dial(n.Addr, l.conn)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, doOK(ctx, c, n.Addr, "CLUSTER", "FORGET", id))
		c.Close()
	}
	return errors.Join(errs...)
}

// KillNode kills the node at addr with SIGKILL (no goodbye to the cluster,
// as in a crash) and drops it from the list.
func (l *Local) KillNode(addr string) error {
	n, err := l.node(addr)
	if err != nil {
		return err
	}
	if err := signalGroup(n.Pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("cluster: kill %s: %w", addr, err)
	}
	err = waitExit(n, StopTimeout)
	l.remove(n)
	return err
}

// PauseNode stops the node's process (SIGSTOP): it keeps its sockets but
// answers nothing, like a node stuck in a long pause. ResumeNode continues it.
func (l *Local) PauseNode(addr string) error { return l.signal(addr, syscall.SIGSTOP) }

// ResumeNode continues a node paused by PauseNode (SIGCONT).
func (l *Local) ResumeNode(addr string) error { return l.signal(addr, syscall.SIGCONT) }

func (l *Local) signal(addr string, sig syscall.Signal) error {
	n, err := l.node(addr)
	if err != nil {
		return err
	}
	if err := signalGroup(n.Pid, sig); err != nil {
		return fmt.Errorf("cluster: signal %v to %s: %w", sig, addr, err)
	}
	return nil
}

// Stop shuts every node down (SHUTDOWN NOSAVE, SIGKILL after StopTimeout),
// waits for the processes to exit, and removes the cluster's directory.
// It is idempotent: later calls return nil once the first has finished.
func (l *Local) Stop() error {
	l.mu.Lock()
	if l.stopped {
		done := l.stopDone
		l.mu.Unlock()
		if done != nil {
			<-done
		}
		return nil
	}
	l.stopped = true
	l.stopDone = make(chan struct{})
	defer close(l.stopDone)
	nodes := l.nodes
	l.nodes = nil
	l.mu.Unlock()

	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Go(func() { errs[i] = l.shutdown(context.Background(), n) })
	}
	wg.Wait()
	return errors.Join(append(errs, l.removeDir())...)
}

// removeDir removes the cluster's directory, but only one we made: a state
// file is user-editable, and RemoveAll must never get someone else's path.
func (l *Local) removeDir() error {
	if l.dir == "" {
		return nil
	}
	if !strings.HasPrefix(filepath.Base(l.dir), dirPrefix) {
		return fmt.Errorf("cluster: not removing %s: not a directory clusterbench made", l.dir)
	}
	if err := os.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	return nil
}

// shutdown stops one node: SHUTDOWN NOSAVE NOW, SIGKILL after StopTimeout.
func (l *Local) shutdown(ctx context.Context, n *LocalNode) error {
	if !l.alive(n) {
		return nil
	}
	_ = signalGroup(n.Pid, syscall.SIGCONT) // a paused node cannot answer
	ctx, cancel := context.WithTimeout(ctx, StopTimeout)
	defer cancel()
	asked := false
	if c, err := Dial(n.Addr, l.conn); err == nil {
		// Success closes the connection, so the reply is an error either
		// way; whether the process exits is what counts. NOW: do not wait
		// for lagging replicas.
		_ = Do(ctx, c, "SHUTDOWN", "NOSAVE", "NOW")
		c.Close()
		asked = true
	}
	if !asked {
		_ = signalGroup(n.Pid, syscall.SIGTERM)
	}
	if waitExitCtx(ctx, n) == nil {
		return nil
	}
	_ = signalGroup(n.Pid, syscall.SIGKILL)
	return waitExit(n, 5*time.Second)
}

// alive reports whether n's process still runs.
func (l *Local) alive(n *LocalNode) bool {
	if n.exited != nil {
		select {
		case <-n.exited:
			return false
		default:
			return true
		}
	}
	return processAlive(n.Pid, n.Port)
}

// waitExit waits up to d for n's process to be gone.
func waitExit(n *LocalNode, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return waitExitCtx(ctx, n)
}

func waitExitCtx(ctx context.Context, n *LocalNode) error {
	if n.exited != nil {
		select {
		case <-n.exited:
			return nil
		default:
		}
		select {
		case <-n.exited:
			return nil
		case <-ctx.Done():
			return fmt.Errorf("cluster: redis-server %s (pid %d) still running", n.Addr, n.Pid)
		}
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for processAlive(n.Pid, n.Port) {
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster: redis-server %s (pid %d) still running", n.Addr, n.Pid)
		case <-tick.C:
		}
	}
	return nil
}

// signalGroup signals the process group of pid (each server leads its own,
// so a fork for replication goes too), or pid alone if it leads none.
func signalGroup(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return syscall.ESRCH
	}
	if err := syscall.Kill(-pid, sig); err == nil {
		return nil
	}
	return syscall.Kill(pid, sig)
}

// node returns the running node at addr.
func (l *Local) node(addr string) (*LocalNode, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, n := range l.nodes {
		if n.Addr == addr {
			return n, nil
		}
	}
	if l.stopped {
		return nil, ErrStopped
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownNode, addr)
}

// remove drops n from the list of running nodes.
func (l *Local) remove(n *LocalNode) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nodes = slices.DeleteFunc(l.nodes, func(m *LocalNode) bool { return m == n })
}

// running returns the running nodes, masters first, each group in start order.
func (l *Local) running() []*LocalNode {
	l.mu.Lock()
	nodes := slices.Clone(l.nodes)
	l.mu.Unlock()
	slices.SortFunc(nodes, func(a, b *LocalNode) int {
		if c := boolInt(a.Role != "master") - boolInt(b.Role != "master"); c != 0 {
			return c
		}
		return a.idx - b.idx
	})
	return nodes
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Nodes returns the running nodes (not stopped or killed), masters first.
// The values are shared: read them, do not change them.
func (l *Local) Nodes() []*LocalNode { return l.running() }

// Addrs returns the address of every running node, masters first.
func (l *Local) Addrs() []string {
	var out []string
	for _, n := range l.running() {
		out = append(out, n.Addr)
	}
	return out
}

// MasterAddrs returns the addresses of the running nodes that started as
// masters (including those added by AddMaster).
func (l *Local) MasterAddrs() []string {
	var out []string
	for _, n := range l.running() {
		if n.Role == "master" {
			out = append(out, n.Addr)
		}
	}
	return out
}

// Alive returns the nodes whose process still runs (for a cluster attached
// from a state file: whether `cluster down` has anything left to stop).
func (l *Local) Alive() []*LocalNode {
	var out []*LocalNode
	for _, n := range l.running() {
		if l.alive(n) {
			out = append(out, n)
		}
	}
	return out
}

// ConnOptions returns the options of the admin connections (the password).
func (l *Local) ConnOptions() ConnOptions { return l.conn }

// Version is the version of the redis-server binary.
func (l *Local) Version() string { return l.version }

// Dir is the directory holding one subdirectory (logs, nodes.conf) per node.
func (l *Local) Dir() string { return l.dir }

// State describes the cluster for AttachLocal in another process.
func (l *Local) State() LocalState {
	st := LocalState{Dir: l.dir, Version: l.version}
	for _, n := range l.running() {
		c := *n
		c.exited = nil
		st.Nodes = append(st.Nodes, c)
	}
	return st
}

// AttachLocal returns a handle on a detached cluster started by another
// process, from its State. Its processes are found by pid (and checked by
// port, so a reused pid is never signalled); Stop, StopNode, KillNode and
// the others work as on the original handle, AddMaster included.
func AttachLocal(st LocalState, opt ConnOptions) *Local {
	l := &Local{
		cfg:     LocalConfig{NodeTimeout: DefaultNodeTimeout, StartTimeout: DefaultStartTimeout, Detached: true, Password: opt.Password},
		conn:    opt,
		version: st.Version,
		dir:     st.Dir,
	}
	for i, n := range st.Nodes {
		c := n
		c.exited, c.idx = nil, i
		l.nodes = append(l.nodes, &c)
	}
	l.next = len(l.nodes)
	return l
}

var versionRE = regexp.MustCompile(`v=(\d+)\.(\d+)\.(\d+)`)

// findServer locates redis-server and checks it is 7.0 or newer: the local
// cluster needs cluster-port (bus ports chosen freely) and ADDSLOTSRANGE.
// FindServer returns the path and version of the redis-server StartLocal
// would run (path "" means redis-server on PATH), or an error wrapping
// ErrServerNotFound, so a caller can check it before anything else.
func FindServer(path string) (server, version string, err error) { return findServer(path) }

func findServer(path string) (server, version string, err error) {
	if path == "" {
		if path, err = exec.LookPath("redis-server"); err != nil {
			return "", "", ErrServerNotFound
		}
	}
	out, err := exec.Command(path, "--version").Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return "", "", fmt.Errorf("%w (looked for %s)", ErrServerNotFound, path)
		}
		return "", "", fmt.Errorf("cluster: %s --version: %w", path, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", "", fmt.Errorf("cluster: %s --version printed no version: %q", path, strings.TrimSpace(string(out)))
	}
	if major, _ := strconv.Atoi(m[1]); major < 7 {
		return "", "", fmt.Errorf("cluster: %s is version %s.%s.%s: the local cluster needs redis-server 7.0 or newer", path, m[1], m[2], m[3])
	}
	return path, m[1] + "." + m[2] + "." + m[3], nil
}

// servesPort reports whether a process title (NUL- or space-separated, as
// in /proc/pid/cmdline or ps) names a listener on port ("127.0.0.1:7000").
func servesPort(title string, port int) bool {
	suffix := ":" + strconv.Itoa(port)
	for _, f := range strings.FieldsFunc(title, func(r rune) bool { return r == 0 || r == ' ' }) {
		if strings.HasSuffix(f, suffix) {
			return true
		}
	}
	return false
}
