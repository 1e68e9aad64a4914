package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/certs"
	"github.com/clusterbench/clusterbench/metrics"
	"github.com/clusterbench/clusterbench/router"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// StrategyRun is what one strategy's run measured.
type StrategyRun struct {
	Name   string
	Start  time.Time // t = 0 of the run's timeline (the warmup's start)
	Result *metrics.Result
	// Client holds the strategy's own counts; Client.Known is false for
	// the real libraries.
	Client strategy.Stats
	// Server is the servers' counts over the run (errorstats and
	// commandstats deltas summed over every node), with the harness's own
	// calls (migrator, sampler) taken out of the topology calls.
	Server metrics.ServerCounters
	// ServerTimeline is the servers' counts per sampling interval.
	ServerTimeline []ServerSample
	Events         []cluster.Event
	Migration      cluster.MoveStats
	MigrationErr   error
	// ClientCPU is the CPU time (user+system) this process spent while
	// the workers ran: the generator's own cost, for CPU per op.
	ClientCPU   time.Duration
	Issued      int64    // ops started
	Aborted     int64    // ops cut off by the end of the run (not recorded)
	Late        int64    // open-loop ops started over 1 ms behind schedule
	Nodes       []string // node addresses by metrics.Sample.Node index, then masters that served nothing
	SlotOwner   []int    // final owner of each slot, an index into Nodes (-1: none)
	Interrupted bool
	// Capacity is the strategy's capacity search (nil without one);
	// StoppedAt is when the search stopped issuing, from Start (0: it did
	// not stop the run).
	Capacity  *metrics.Capacity
	StoppedAt time.Duration
	// AskTwoRoundTrips: the strategy sends ASKING as a round trip of its own.
	AskTwoRoundTrips bool
	// Verify is what --verify found (nil without it); verify holds its
	// state during the run.
	Verify *metrics.Verify
	verify *verifier
	Err    error // the run failed (the results above may be partial)
	// FaultAt is when (from Start) an op first failed because a node was
	// down or not answering; RecoveredAt when an op started after that
	// first succeeded on a slot of the same master (after a kill: on the
	// promoted replica). Zero when not seen. FaultMaster is that master,
	// RecoveredOn the node that answered (empty when the strategy does
	// not say, as the real libraries do not).
	FaultAt, RecoveredAt     time.Duration
	FaultMaster, RecoveredOn string
	FaultClass               metrics.ErrorClass
}

// Recovery is the time from the first node-down error to the first
// successful op on the failed master's slots; false when there was no
// fault or no recovery within the run.
func (sr *StrategyRun) Recovery() (time.Duration, bool) {
	if sr.FaultAt == 0 || sr.RecoveredAt == 0 {
		return 0, false
	}
	return sr.RecoveredAt - sr.FaultAt, true
}

// ServerSample is the servers' counts since the previous sample, taken At,
// when the collector's interval Interval ended (the last sample: during it).
type ServerSample struct {
	At       time.Time
	Interval int
	Counts   metrics.ServerCounters
}

// Report is a whole run: every strategy, in the order they ran.
type Report struct {
	Config     Config
	Strategies []*StrategyRun
	Version    string // redis_version of the cluster
	Started    time.Time
}

// Hooks let the CLI follow a run's resources: OnLocal is called with each
// local cluster as soon as it runs, and the function it returns when the
// cluster is stopped (the CLI uses it to stop servers on a forced exit).
type Hooks struct {
	OnLocal func(l *cluster.Local) (release func())
	// AfterStrategy, if set, runs after a strategy's measurement while its
	// cluster still runs (tests check the data with it).
	AfterStrategy func(ctx context.Context, name string, seeds []string) error
}

// Run executes cfg: each strategy in turn on an identical starting cluster.
// It returns the report of what ran even when it fails or is interrupted
// midway (ctx cancelled); the error says why it stopped.
func Run(ctx context.Context, cfg Config, hooks Hooks) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := checkVerifyConfig(cfg); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.LocalTLS {
		dir, err := os.MkdirTemp("", "clusterbench-tls-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		c, err := certs.Write(dir)
		if err != nil {
			return nil, err
		}
		cfg.localTLS = &cluster.LocalTLS{CertFile: c.CertFile, KeyFile: c.KeyFile, CAFile: c.CAFile,
			ClientCertFile: c.ClientCertFile, ClientKeyFile: c.ClientKeyFile}
		cfg.Conn.TLS = c.ClientConfig()
	}
	if err := preflight(ctx, cfg); err != nil {
		return nil, err
	}
	wl, err := workload.New(cfg.Workload)
	if err != nil {
		return nil, err
	}
	rep := &Report{Config: cfg, Started: time.Now()}
	for _, name := range cfg.Strategies {
		if ctx.Err() != nil {
			break
		}
		sr := runOne(ctx, cfg, hooks, wl, name, rep)
		rep.Strategies = append(rep.Strategies, sr)
		if sr.Err != nil && !sr.Interrupted {
			return rep, fmt.Errorf("runner: strategy %s: %w", name, sr.Err)
		}
	}
	return rep, ctx.Err()
}

// env is the cluster one strategy runs on.
type env struct {
	local   *cluster.Local // nil for an external cluster
	seeds   []string
	release func()
}

func (e *env) addrs(ctx context.Context, opt cluster.ConnOptions) []string {
	if e.local != nil {
		return e.local.Addrs()
	}
	if topo := e.discover(ctx, opt); topo != nil {
		return topo.Addrs()
	}
	return e.seeds
}

// masters returns the addresses of the masters that serve slots: the
// nodes that hold keys (replicas refuse writes, and a master killed and
// replaced stays listed without slots).
func (e *env) masters(ctx context.Context, opt cluster.ConnOptions) []string {
	if e.local != nil {
		return e.local.MasterAddrs()
	}
	topo := e.discover(ctx, opt)
	if topo == nil {
		return e.seeds
	}
	var out []string
	for _, m := range topo.Masters {
		if len(m.Slots) > 0 {
			out = append(out, m.Addr)
		}
	}
	return out
}

// discover reads an external cluster's topology from the first seed that
// answers (a master may have died during the run); nil if none does.
func (e *env) discover(ctx context.Context, opt cluster.ConnOptions) *cluster.Topology {
	for _, seed := range e.seeds {
		if topo, err := cluster.Discover(ctx, seed, opt); err == nil {
			return topo
		}
	}
	return nil
}

func (e *env) stop() {
	if e.local != nil {
		_ = e.local.Stop()
	}
	if e.release != nil {
		e.release()
	}
}

// prepare starts a fresh local cluster, or checks the external one.
func prepare(ctx context.Context, cfg Config, hooks Hooks) (*env, error) {
	if len(cfg.Addrs) > 0 {
		seed := cfg.Addrs[0]
		topo, err := cluster.Discover(ctx, seed, cfg.Conn)
		if topo == nil {
			if errors.Is(err, cluster.ErrNotCluster) || errors.Is(err, cluster.ErrAuth) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		// A cluster that is not serving every slot would fail the run
		// with errors that measure nothing but the outage.
		state, serr := clusterState(ctx, seed, cfg.Conn)
		if errors.Is(serr, cluster.ErrAuth) {
			return nil, serr
		}
		if serr == nil && state != "ok" {
			return nil, fmt.Errorf("%w: %s reports cluster_state:%s: repair the cluster (redis-cli --cluster check/fix) or point --addrs at a healthy one", ErrClusterNotOK, seed, state)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %w: repair the cluster (redis-cli --cluster check/fix) or point --addrs at a healthy one", ErrClusterNotOK, err)
		}
		if err := checkExternal(cfg, topo); err != nil {
			return nil, err
		}
		return &env{seeds: topo.MasterAddrs()}, nil
	}
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: cfg.Masters, Replicas: cfg.Replicas, Password: cfg.Conn.Password, TLS: cfg.localTLS})
	if err != nil {
		return nil, err
	}
	e := &env{local: l, seeds: l.MasterAddrs()}
	if hooks.OnLocal != nil {
		e.release = hooks.OnLocal(l)
	}
	return e, nil
}

// preflight checks, before anything starts or is written, what can make
// every strategy fail at once: no redis-server for a local cluster, or an
// external cluster that is unreachable, unhealthy, refuses the
// credentials or cannot run the migration.
func preflight(ctx context.Context, cfg Config) error {
	if len(cfg.Addrs) == 0 {
		_, _, err := cluster.FindServer("")
		return err
	}
	e, err := prepare(ctx, cfg, Hooks{})
	if err != nil {
		return err
	}
	e.stop()
	return nil
}

// clusterState is the cluster_state of CLUSTER INFO on the node at addr.
// It also refuses a password the node does not use: the admin
// connections log in with HELLO, which accepts any password for a
// default user without one, but the workers' plain AUTH would fail.
func clusterState(ctx context.Context, addr string, opt cluster.ConnOptions) (string, error) {
	c, err := cluster.Dial(addr, opt)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if opt.Password != "" && opt.Username == "" {
		err := c.Do(ctx, c.B().Auth().Password(opt.Password).Build()).Error()
		if err != nil && strings.Contains(err.Error(), "without any password configured") {
			return "", fmt.Errorf("%w: %s has no password set: drop --password (and unset CLUSTERBENCH_PASSWORD)", cluster.ErrAuth, addr)
		}
	}
	text, err := cluster.DoText(ctx, c, addr, "CLUSTER", "INFO")
	if err != nil {
		return "", err
	}
	return cluster.ParseInfo(text)["cluster_state"], nil
}

// checkExternal checks what only the cluster itself can tell, before
// anything is written to it: a migration has the masters (or replicas) it
// needs, and may change the cluster (loopback, or --allow-topology-changes).
func checkExternal(cfg Config, topo *cluster.Topology) error {
	if !cfg.migrates() {
		return nil
	}
	if !cfg.AllowTopologyChanges {
		for _, a := range topo.Addrs() {
			if !cluster.IsLoopback(a) {
				return fmt.Errorf("%w (node %s)", cluster.ErrNotLoopback, a)
			}
		}
	}
	masters, empty := 0, 0
	replicas := false
	for _, m := range topo.Masters {
		if len(m.Slots) > 0 {
			masters++
		} else if m.Health == "" || m.Health == "online" {
			empty++
		}
		replicas = replicas || len(m.Replicas) > 0
	}
	if cfg.Migrate.Kind == cluster.ScenarioScaleOut && empty == 0 {
		return bad("--migrate scale-out on --addrs moves slots to a master without slots, and the cluster at %s has none: add one (redis-cli --cluster add-node NEW_HOST:PORT %s) or use --migrate move:K", cfg.Addrs[0], cfg.Addrs[0])
	}
	if needsTwoMasters(cfg.Migrate) && masters < 2 {
		return bad("--migrate %s needs at least 2 masters with slots, the cluster at %s has %d: point --addrs at a bigger cluster or use --migrate none", cfg.Migrate, cfg.Addrs[0], masters)
	}
	if isFailover(cfg.Migrate) && !replicas {
		return bad("--migrate %s needs a master with a replica, the cluster at %s has none: add replicas or use --migrate none", cfg.Migrate, cfg.Addrs[0])
	}
	return nil
}

// runOne runs one strategy from cluster start to cluster stop.
func runOne(ctx context.Context, cfg Config, hooks Hooks, wl *workload.Workload, name string, rep *Report) *StrategyRun {
	sr := &StrategyRun{Name: name}
	fail := func(err error) *StrategyRun {
		sr.Err = err
		sr.Interrupted = ctx.Err() != nil
		return sr
	}
	status := newStatus(cfg, name)
	status.note("starting cluster")
	e, err := prepare(ctx, cfg, hooks)
	if err != nil {
		return fail(err)
	}
	defer e.stop()
	if v, err := cluster.NodeInfo(ctx, e.seeds[0], cfg.Conn, "server"); err == nil {
		rep.Version = v["redis_version"]
	}
	if e.local == nil && cfg.migrates() {
		// Registered before the key cleanup, so it runs after it: empty
		// slots move back fast.
		restore, err := startingCluster(ctx, cfg, e)
		if err != nil {
			return fail(err)
		}
		defer func() {
			if ctx.Err() != nil {
				status.note("interrupted: the cluster keeps what this strategy's migration changed")
				return
			}
			status.note("putting the cluster back as it was")
			if err := restore(); err != nil && sr.Err == nil {
				sr.Err = fmt.Errorf("putting the cluster back after the migration: %w", err)
			}
		}()
	}
	if !cfg.KeepKeys && e.local == nil {
		// Registered before the preload: the run's keys go even when the
		// run fails or is interrupted midway.
		defer func() {
			status.note("deleting the run's keys")
			bg := context.WithoutCancel(ctx)
			if _, err := DeleteKeys(bg, e.masters(bg, cfg.Conn), cfg.Conn, cfg.Workload.Prefix); err != nil && sr.Err == nil {
				sr.Err = err
			}
		}()
	}

	if err := preload(ctx, cfg, e, wl, status); err != nil {
		return fail(err)
	}

	s, err := strategy.New(ctx, name, strategy.Config{
		Seeds: e.seeds, Username: cfg.Conn.Username, Password: cfg.Conn.Password, TLS: cfg.Conn.TLS, Workers: cfg.Workers,
		Timeout: cfg.OpTimeout,
	})
	if err != nil {
		return fail(fmt.Errorf("open strategy: %w", err))
	}
	defer s.Close()
	if own, ok := s.(*strategy.Own); ok {
		sr.AskTwoRoundTrips = own.Router().Policy().AskTwoRoundTrips
	}

	sampler := newServerSampler(cfg.Conn)
	defer sampler.close()
	for _, a := range e.addrs(ctx, cfg.Conn) {
		sampler.add(a)
	}
	serverBefore := sampler.sample(ctx)
	adminBefore := cluster.AdminTopologyCalls()

	if err := waitStartAt(ctx, cfg, status, len(rep.Strategies) == 0); err != nil {
		return fail(err)
	}
	if cfg.Verify {
		sr.verify = newVerifier(cfg.Workload)
	}
	measure(ctx, cfg, e, wl, s, sampler, sr, status)

	sr.Client = s.Stats()
	sr.Server = sampler.sample(context.WithoutCancel(ctx)).since(serverBefore)
	harness := cluster.AdminTopologyCalls().Sub(adminBefore)
	for k, v := range harness {
		sr.Server.Calls[k] -= v
	}
	recordOwners(context.WithoutCancel(ctx), cfg, e, sr)
	if sr.verify != nil && ctx.Err() == nil {
		status.note("verify: reading every key back")
		sr.Verify = sr.verify.check(ctx, cfg, e.addrs(ctx, cfg.Conn))
		status.note(verifyNote(sr.Verify))
	}
	if hooks.AfterStrategy != nil && sr.Err == nil {
		if err := hooks.AfterStrategy(ctx, name, e.addrs(ctx, cfg.Conn)); err != nil {
			sr.Err = err
		}
	}
	sr.Interrupted = ctx.Err() != nil
	status.done(sr)
	return sr
}

// recordOwners reads the final slot ownership, for the per-node spread.
func recordOwners(ctx context.Context, cfg Config, e *env, sr *StrategyRun) {
	topo, err := cluster.Discover(ctx, e.addrs(ctx, cfg.Conn)[0], cfg.Conn)
	if err != nil {
		return // the spread is then reported per slot only
	}
	index := map[string]int{}
	for i, a := range sr.Nodes {
		index[a] = i
	}
	sr.SlotOwner = make([]int, router.NumSlots)
	for i := range sr.SlotOwner {
		sr.SlotOwner[i] = -1
	}
	for _, m := range topo.Masters {
		i, ok := index[m.Addr]
		if !ok {
			i = len(sr.Nodes)
			sr.Nodes = append(sr.Nodes, m.Addr)
			index[m.Addr] = i
		}
		for _, r := range m.Slots {
			for slot := int(r.First); slot <= int(r.Last); slot++ {
				sr.SlotOwner[slot] = i
			}
		}
	}
}

// preload writes the keyspace through a rueidis cluster client.
func preload(ctx context.Context, cfg Config, e *env, wl *workload.Workload, st *status) error {
	opt := cfg.Conn.RueidisOption(e.seeds...)
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return fmt.Errorf("preload: %w", err)
	}
	defer c.Close()
	start := time.Now()
	err = Preload(ctx, c, wl, 4, st.progress("preload", "keys"))
	st.finishProgress()
	if err != nil {
		return err
	}
	st.note(fmt.Sprintf("preloaded %d keys in %v", cfg.Workload.Keys, time.Since(start).Round(time.Millisecond)))
	return nil
}

// measure runs the warmup and the measured time with the migration.
func measure(ctx context.Context, cfg Config, e *env, wl *workload.Workload, s strategy.Strategy,
	sampler *serverSampler, sr *StrategyRun, st *status) {
	col, err := metrics.NewCollector(metrics.Config{Ops: opNames, Phases: phaseNames, Interval: cfg.Interval})
	if err != nil {
		sr.Err = err
		return
	}
	ck := &clock{t0: col.Config().Start}
	ck.stopAt = ck.t0.Add(cfg.Warmup + cfg.Duration)
	sr.Start = ck.t0
	ck.phase.Store(phaseWarmup)
	if cfg.Warmup == 0 {
		ck.phase.Store(phaseBaseline)
	}

	// stop ends the issuing of new ops (at the stop time, or on Ctrl-C);
	// hard abandons ops still in flight a grace period later.
	stop, cancelStop := context.WithDeadline(ctx, ck.stopAt)
	defer cancelStop()
	hard, cancelHard := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHard()
	go func() {
		<-stop.Done()
		t := time.NewTimer(cfg.Grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancelHard()
		case <-hard.Done():
		}
	}()

	colCtx, cancelCol := context.WithCancel(context.Background())
	colDone := make(chan struct{})
	go func() { col.Run(colCtx); close(colDone) }()
	capacity := startCapacity(stop, cancelStop, cfg, col, ck, st) // nil unless --slo-p99

	var masters []string
	ck.faults.owner, masters = slotOwners(ctx, cfg, e)
	var pins *pinning
	if cfg.PinWorkers {
		if pins = newPinning(wl, ck.faults.owner); pins == nil {
			sr.Err = errors.New("--pin-workers: could not read which masters own the slots; run without --pin-workers")
		}
	}
	nodes := newNodeIndex()
	// Sampled before the first op: the first interval's redirects count.
	prevServer := sampler.sample(ctx)
	cpuStart := processCPU()
	var wg sync.WaitGroup
	for i := 0; i < cfg.Workers && sr.Err == nil; i++ {
		cw, err := s.NewWorker(i)
		if err != nil {
			sr.Err = err
			break
		}
		if _, ok := cw.(strategy.BatchWorker); cfg.Pipeline > 1 && !ok {
			cw.Close()
			sr.Err = fmt.Errorf("strategy %s cannot pipeline: use --pipeline 1 for it", sr.Name)
			break
		}
		w := &worker{id: i, gen: pins.generator(wl, i), client: cw, rec: col.NewRecorder(), clock: ck, nodes: nodes,
			schedule: cfg.Schedule, workers: cfg.Workers, seen: map[string]uint16{}, ver: sr.verify.worker(cw)}
		if cfg.Pipeline > 1 {
			w.pipe = newPipelineState(cfg.Pipeline)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer cw.Close()
			w.run(stop, hard)
		}()
	}

	// The phase clock and the migration.
	timeline := &cluster.Timeline{}
	events := cluster.Tee(timeline, cluster.EventFunc(func(ev cluster.Event) {
		if ev.Kind == cluster.EventNodeAdded && ev.Node != "" {
			sampler.add(ev.Node)
		}
		st.event(ev, ck.t0)
	}))
	migDone := make(chan struct{})
	migCut := false // the migration returned after the run's stop: cut short, not failed
	go func() {
		defer close(migDone)
		if !sleepUntil(stop, ck.t0.Add(cfg.Warmup)) {
			return
		}
		ck.phase.Store(phaseBaseline)
		if !cfg.migrates() || !sleepUntil(stop, ck.t0.Add(cfg.Warmup+cfg.MigrateAt)) {
			return
		}
		ck.phase.Store(phaseMigrating)
		sr.Migration, sr.MigrationErr = migrate(stop, cfg, e, wl, pins, ck.issued.Load(), events, st)
		migCut = stop.Err() != nil
		ck.phase.Store(phaseAfter)
	}()

	// The status line and the servers' timeline, once per interval. The
	// servers are sampled on the collector's interval boundaries, so sample
	// k+1 holds what they counted during interval k (timeline.csv's
	// server_moved and server_ask).
	workersDone := make(chan struct{})
	go func() { wg.Wait(); sr.ClientCPU = processCPU() - cpuStart; close(workersDone) }()
	tick := time.NewTimer(time.Until(ck.t0.Add(cfg.Interval)))
	defer tick.Stop()
loop:
	for next := 2; ; next++ {
		select {
		case <-workersDone:
			break loop
		case <-tick.C:
			at := time.Now()
			cur := sampler.sample(hard)
			delta := cur.since(prevServer)
			sr.ServerTimeline = append(sr.ServerTimeline, ServerSample{At: at, Interval: next - 2, Counts: delta})
			prevServer = cur
			if iv, ok := col.Latest(); ok {
				st.interval(iv, delta, cfg.Interval, time.Since(ck.t0), cfg.Warmup+cfg.Duration)
			}
			// The next boundary still ahead: a slow sample skips a
			// boundary rather than fire twice.
			for time.Until(ck.t0.Add(time.Duration(next)*cfg.Interval)) <= 0 {
				next++
			}
			tick.Reset(time.Until(ck.t0.Add(time.Duration(next) * cfg.Interval)))
		}
	}
	// What the servers counted since the last boundary: the last,
	// partial interval.
	at := time.Now()
	sr.ServerTimeline = append(sr.ServerTimeline, ServerSample{At: at, Interval: int(at.Sub(ck.t0) / cfg.Interval),
		Counts: sampler.sample(hard).since(prevServer)})
	<-migDone
	cancelCol()
	<-colDone
	sr.Result = col.Result()
	sr.Events = timeline.Events()
	sr.Issued, sr.Aborted, sr.Late = ck.issued.Load(), ck.aborted.Load(), ck.late.Load()
	sr.Nodes = nodes.list()
	if capacity != nil {
		// The plan ran to its end unless Ctrl-C or a failure cut it short.
		// The clock is no test of that: a worker returns as soon as its next
		// op would start at or after stopAt, up to one gap before it.
		sr.Capacity, sr.StoppedAt = capacity.finish(sr.Result, ctx.Err() == nil && sr.Err == nil)
	}
	faultEvents(ck, masters, sr)
	if d, ok := sr.Recovery(); ok {
		st.note(fmt.Sprintf("t=%.1fs %s: ops on the slots of %s succeed again %.3fs after the first node-down error",
			sr.RecoveredAt.Seconds(), EventRecovered, sr.FaultMaster, d.Seconds()))
	}
	// A migration cut short by the end of the run (or Ctrl-C) is reported
	// in the timeline (migration_aborted), not as a failed run: the cluster
	// is left consistent and what was measured stands.
	if sr.MigrationErr != nil && !migCut {
		sr.Err = fmt.Errorf("migration %s: %w", cfg.Migrate, sr.MigrationErr)
	} else if sr.MigrationErr != nil && ctx.Err() == nil {
		st.note(fmt.Sprintf("warning: the migration did not finish within --duration (%v): raise --duration or make the migration smaller", sr.MigrationErr))
	}
}

// restoreTimeout bounds putting an external cluster back after a strategy.
const restoreTimeout = 2 * time.Minute

// startingCluster notes an external cluster's slot map and returns what
// puts it back (see cluster.Migrator.Restore), so every strategy of a run
// starts from the same cluster.
func startingCluster(ctx context.Context, cfg Config, e *env) (restore func() error, err error) {
	m, err := cluster.NewMigrator(ctx, e.seeds[0], cfg.Conn, cluster.AllowTopologyChanges(cfg.AllowTopologyChanges))
	if err != nil {
		return nil, err
	}
	owners, err := m.SlotOwners(ctx)
	m.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the slot map to restore after the migration: %w", err)
	}
	return func() error {
		ctx, cancel := context.WithTimeout(ctx, restoreTimeout)
		defer cancel()
		m, err := cluster.NewMigrator(ctx, e.seeds[0], cfg.Conn, cluster.AllowTopologyChanges(cfg.AllowTopologyChanges))
		if err != nil {
			return err
		}
		defer m.Close()
		_, err = m.Restore(ctx, owners, cluster.MoveOptions{SlotsInFlight: cfg.MigrateSlotsInFlight})
		return err
	}, nil
}

// slotOwners maps each slot to the index of its master in masters, from
// the cluster's map at the start (nil, nil when it cannot be read).
func slotOwners(ctx context.Context, cfg Config, e *env) ([]int16, []string) {
	topo, err := cluster.Discover(ctx, e.seeds[0], cfg.Conn)
	if err != nil {
		return nil, nil
	}
	owner := make([]int16, router.NumSlots)
	for i := range owner {
		owner[i] = -1
	}
	for i, m := range topo.Masters {
		for _, r := range m.Slots {
			for slot := int(r.First); slot <= int(r.Last); slot++ {
				owner[slot] = int16(i)
			}
		}
	}
	return owner, topo.MasterAddrs()
}

// Kinds of the events the runner adds to the cluster's timeline.
const (
	// EventFault: an op first failed because a node was down or did not
	// answer (Node: the master of its slot at the start).
	EventFault cluster.EventKind = "fault_detected"
	// EventRecovered: the first op started after the fault succeeded on a
	// slot of that master (Node: the node that answered, when known).
	EventRecovered cluster.EventKind = "recovered"
)

// faultEvents copies the fault watch's findings into sr and its timeline;
// the workers are done, so its fields are read without a lock.
func faultEvents(ck *clock, masters []string, sr *StrategyRun) {
	f := &ck.faults
	at := f.at.Load()
	if at == 0 {
		return
	}
	sr.FaultAt, sr.FaultClass = time.Duration(at), f.class
	if i := f.owner[f.slot]; i >= 0 && int(i) < len(masters) {
		sr.FaultMaster = masters[i]
	}
	sr.Events = append(sr.Events, cluster.Event{At: ck.t0.Add(sr.FaultAt), Kind: EventFault, Slot: int(f.slot), Node: sr.FaultMaster,
		Detail: fmt.Sprintf("first node-down error (%s) on slot %d of master %s", f.class, f.slot, sr.FaultMaster)})
	rec := f.recovered.Load()
	if rec == 0 {
		return
	}
	sr.RecoveredAt, sr.RecoveredOn = time.Duration(rec), f.node
	d, _ := sr.Recovery()
	on := ""
	if f.node != "" {
		on = " on " + f.node
	}
	sr.Events = append(sr.Events, cluster.Event{At: ck.t0.Add(sr.RecoveredAt), Kind: EventRecovered, Slot: -1, Node: f.node,
		Detail: fmt.Sprintf("first successful op on the slots of %s%s: recovery_s=%.3f", sr.FaultMaster, on, d.Seconds())})
}

// migrate runs the scenario on e.
func migrate(ctx context.Context, cfg Config, e *env, wl *workload.Workload, pins *pinning, issued int64, events cluster.Events, st *status) (cluster.MoveStats, error) {
	m, err := cluster.NewMigrator(ctx, e.seeds[0], cfg.Conn, cluster.AllowTopologyChanges(cfg.AllowTopologyChanges))
	if err != nil {
		return cluster.MoveStats{}, err
	}
	defer m.Close()
	env := cluster.ScenarioEnv{Local: e.local, Migrator: m, Move: cluster.MoveOptions{
		TargetDuration: cfg.MigrateDuration, SlotsInFlight: cfg.MigrateSlotsInFlight, Events: events, Progress: st.migration,
	}}
	if cfg.Migrate.Kind == cluster.ScenarioHotSlot {
		env.Counts = slotCounts(wl, pins, cfg.Workers, issued)
	}
	return cfg.Migrate.Run(ctx, env)
}

// slotCounts counts the ops per slot the workers have issued so far, by
// replaying their generators: each worker's stream depends only on the
// seed, its index and its pinning, so the first issued/workers draws of
// each are what it sent (up to the last few in flight).
func slotCounts(wl *workload.Workload, pins *pinning, workers int, issued int64) []uint64 {
	counts := make([]uint64, router.NumSlots)
	per := max(issued/int64(workers), 1)
	var key []byte
	for i := 0; i < workers; i++ {
		g := pins.generator(wl, i)
		for n := int64(0); n < per; n++ {
			_, key = g.Next(key[:0])
			counts[router.Slot(key)]++
		}
	}
	return counts
}

// sleepUntil waits for t or ctx; it reports whether t was reached.
func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}
