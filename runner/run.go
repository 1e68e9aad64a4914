package runner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/cluster"
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
	Issued         int64    // ops started
	Aborted        int64    // ops cut off by the end of the run (not recorded)
	Late           int64    // open-loop ops started over 1 ms behind schedule
	Nodes          []string // node addresses by metrics.Sample.Node index, then masters that served nothing
	SlotOwner      []int    // final owner of each slot, an index into Nodes (-1: none)
	Interrupted    bool
	// AskTwoRoundTrips: the strategy sends ASKING as a round trip of its own.
	AskTwoRoundTrips bool
	Err              error // the run failed (the results above may be partial)
}

// ServerSample is the servers' counts over one sampling interval ending At.
type ServerSample struct {
	At     time.Time
	Counts metrics.ServerCounters
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
	cfg = cfg.withDefaults()
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
	topo, err := cluster.Discover(ctx, e.seeds[0], opt)
	if err != nil {
		return e.seeds
	}
	return topo.Addrs()
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
		topo, err := cluster.Discover(ctx, cfg.Addrs[0], cfg.Conn)
		if err != nil {
			if errors.Is(err, cluster.ErrNotCluster) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %w", ErrUnreachable, err)
		}
		return &env{seeds: topo.MasterAddrs()}, nil
	}
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: cfg.Masters, Replicas: cfg.Replicas, Password: cfg.Conn.Password})
	if err != nil {
		return nil, err
	}
	e := &env{local: l, seeds: l.MasterAddrs()}
	if hooks.OnLocal != nil {
		e.release = hooks.OnLocal(l)
	}
	return e, nil
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

	if err := preload(ctx, cfg, e, wl, status); err != nil {
		return fail(err)
	}

	s, err := strategy.New(ctx, name, strategy.Config{
		Seeds: e.seeds, Username: cfg.Conn.Username, Password: cfg.Conn.Password, TLS: cfg.Conn.TLS, Workers: cfg.Workers,
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

	measure(ctx, cfg, e, wl, s, sampler, sr, status)

	sr.Client = s.Stats()
	sr.Server = sampler.sample(context.WithoutCancel(ctx)).since(serverBefore)
	harness := cluster.AdminTopologyCalls().Sub(adminBefore)
	for k, v := range harness {
		sr.Server.Calls[k] -= v
	}
	recordOwners(context.WithoutCancel(ctx), cfg, e, sr)
	if hooks.AfterStrategy != nil && sr.Err == nil {
		if err := hooks.AfterStrategy(ctx, name, e.addrs(ctx, cfg.Conn)); err != nil {
			sr.Err = err
		}
	}
	if !cfg.KeepKeys && e.local == nil {
		status.note("deleting the run's keys")
		if _, err := DeleteKeys(context.WithoutCancel(ctx), e.addrs(ctx, cfg.Conn), cfg.Conn, cfg.Workload.Prefix); err != nil && sr.Err == nil {
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

	nodes := newNodeIndex()
	var wg sync.WaitGroup
	for i := 0; i < cfg.Workers; i++ {
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
		w := &worker{id: i, gen: wl.Generator(i), client: cw, rec: col.NewRecorder(), clock: ck, nodes: nodes,
			schedule: cfg.Schedule, workers: cfg.Workers, seen: map[string]uint16{}}
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
		sr.Migration, sr.MigrationErr = migrate(stop, cfg, e, wl, ck.issued.Load(), events, st)
		ck.phase.Store(phaseAfter)
	}()

	// The status line and the servers' timeline, once per interval.
	tick := time.NewTicker(cfg.Interval)
	prevServer := sampler.sample(ctx)
	workersDone := make(chan struct{})
	go func() { wg.Wait(); close(workersDone) }()
loop:
	for {
		select {
		case <-workersDone:
			break loop
		case <-tick.C:
			cur := sampler.sample(hard)
			delta := cur.since(prevServer)
			sr.ServerTimeline = append(sr.ServerTimeline, ServerSample{At: time.Now(), Counts: delta})
			prevServer = cur
			if iv, ok := col.Latest(); ok {
				st.interval(iv, delta, cfg.Interval, time.Since(ck.t0), cfg.Warmup+cfg.Duration)
			}
		}
	}
	tick.Stop()
	<-migDone
	cancelCol()
	<-colDone
	sr.Result = col.Result()
	sr.Events = timeline.Events()
	sr.Issued, sr.Aborted, sr.Late = ck.issued.Load(), ck.aborted.Load(), ck.late.Load()
	sr.Nodes = nodes.list()
	// A migration cut short by the end of the run (or Ctrl-C) is reported
	// in the timeline (migration_aborted), not as a failed run: the cluster
	// is left consistent and what was measured stands.
	if sr.MigrationErr != nil && stop.Err() == nil {
		sr.Err = fmt.Errorf("migration %s: %w", cfg.Migrate, sr.MigrationErr)
	} else if sr.MigrationErr != nil && ctx.Err() == nil {
		st.note(fmt.Sprintf("warning: the migration did not finish within --duration (%v): raise --duration or make the migration smaller", sr.MigrationErr))
	}
}

// migrate runs the scenario on e.
func migrate(ctx context.Context, cfg Config, e *env, wl *workload.Workload, issued int64, events cluster.Events, st *status) (cluster.MoveStats, error) {
	m, err := cluster.NewMigrator(ctx, e.seeds[0], cfg.Conn, cluster.AllowTopologyChanges(cfg.AllowTopologyChanges))
	if err != nil {
		return cluster.MoveStats{}, err
	}
	defer m.Close()
	env := cluster.ScenarioEnv{Local: e.local, Migrator: m, Move: cluster.MoveOptions{
		TargetDuration: cfg.MigrateDuration, SlotsInFlight: cfg.MigrateSlotsInFlight, Events: events, Progress: st.migration,
	}}
	if cfg.Migrate.Kind == cluster.ScenarioHotSlot {
		env.Counts = slotCounts(wl, cfg.Workers, issued)
	}
	return cfg.Migrate.Run(ctx, env)
}

// slotCounts counts the ops per slot the workers have issued so far, by
// replaying their generators: each worker's stream depends only on the
// seed and its index, so the first issued/workers draws of each are what
// it sent (up to the last few in flight).
func slotCounts(wl *workload.Workload, workers int, issued int64) []uint64 {
	counts := make([]uint64, router.NumSlots)
	per := max(issued/int64(workers), 1)
	var key []byte
	for i := 0; i < workers; i++ {
		g := wl.Generator(i)
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
