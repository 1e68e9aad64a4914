package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/plots"
	"github.com/clusterbench/clusterbench/profiles"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

func init() { register(newRunCmd) }

// runFlags are the raw flag values of `run`, turned into a runner.Config
// by config().
type runFlags struct {
	profile              string
	addrs                []string
	strategies           []string
	duration, warmup     time.Duration
	workers, pipeline    int
	pinWorkers           bool
	rate                 string
	workload             workloadFlags
	migrate              string
	migrateAt            time.Duration
	migrateDuration      time.Duration
	migrateInFlight      int
	masters, replicas    int
	out                  string
	user, password       string
	keepKeys             bool
	allowTopologyChanges bool
	verify               bool
	cpuprofile           string
	quiet                bool
	opTimeout            time.Duration
	capacity             capacityFlags // run_capacity.go
	agent                agentFlags    // run_capacity.go
	tls                  tlsFlags      // tls.go
}

func newRunCmd() *cobra.Command { return newRunCmdWith(&runFlags{}) }

// newRunCmdWith builds the run command around f, which its flags fill.
func newRunCmdWith(f *runFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Drive a Redis Cluster, optionally while its slots move, and report per strategy",
		Long: `run drives a Redis Cluster with the chosen key distribution and op mix, through
each chosen client strategy in turn, while an optional migration moves slots
under the load, and writes summary.json, timeline.csv, one .hlog per strategy
and report.md to --out.

With no --addrs it starts a local throwaway cluster from redis-server on PATH
(fresh for every strategy, so each starts from the same cluster) and stops it
at the end. The keyspace is preloaded first so reads hit and a migration moves
real data. Latency is measured from each op's intended start: in open-loop
mode (--rate) a stall shows in the numbers instead of hiding.

Strategies: ` + strings.Join(strategy.Names(), ", ") + `,
and custom:KEY=VALUE,... for a router with your own redirect policy, e.g.
--strategy router,'custom:moved=patch,refresh=blocking,every=5'. Its keys:
` + strategy.CustomHelp() + `
With --addrs, scale-out moves an even share of the slots to a master that
has none (add one first: redis-cli --cluster add-node), and scale-in drains
a master and leaves it in the cluster; failover:kill kills a master, so it
runs only on the local cluster clusterbench starts. After each strategy an
external cluster is put back as it was.

Ctrl-C stops the run within a few seconds and still writes what was measured
(exit 130; SIGTERM exits 143); a second Ctrl-C quits at once.`,
		Example: `  clusterbench run --duration 30s --migrate scale-out --migrate-at 10s
  clusterbench run --strategy router,stale,goredis --dist zipf --migrate move:500
  clusterbench run --addrs 10.0.0.5:7000 --rate 50000 --duration 5m`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRun(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.profile, "profile", "", "a shipped profile (see 'clusterbench profiles') or a YAML file of run flags; flags given here override it")
	fl.StringSliceVar(&f.addrs, "addrs", nil, "seed nodes of an existing cluster, host:port,... (default: start a local cluster)")
	fl.StringSliceVar(&f.strategies, "strategy", []string{"router"}, "client strategies to compare, comma-separated")
	fl.DurationVar(&f.duration, "duration", runner.DefaultDuration, "measured time per strategy, after the warmup")
	fl.DurationVar(&f.warmup, "warmup", runner.DefaultWarmup, "unmeasured warmup per strategy")
	fl.IntVar(&f.workers, "workers", runner.DefaultWorkers, "concurrent workers (closed loop: each has one op in flight)")
	fl.IntVar(&f.pipeline, "pipeline", runner.DefaultPipeline, "ops in flight per worker: each worker sends this many at once (one write per node) and waits for all replies (closed loop only)")
	fl.BoolVar(&f.pinWorkers, "pin-workers", false, "give each worker one master and only keys of that master's slots at the start, as redis-benchmark --cluster does: equal load per node, one connection per worker (for like-for-like comparisons; real clients spread each worker's keys over all nodes)")
	fl.StringVar(&f.rate, "rate", "0", "open-loop target ops/s: 0 closed loop, N, steps N:DUR,M:DUR, or a ramp N+STEP/EVERY")
	addWorkloadFlags(fl, &f.workload)
	fl.StringVar(&f.migrate, "migrate", "none", "migration: none, move:K, scale-out, scale-in, hot-slot[:N], failover[:manual], failover:kill")
	fl.DurationVar(&f.migrateAt, "migrate-at", runner.DefaultMigrateAt, "start the migration this long after the warmup")
	fl.DurationVar(&f.migrateDuration, "migrate-duration", 0, "spread the slot moves over this long (0: as fast as they go)")
	fl.IntVar(&f.migrateInFlight, "migrate-slots-in-flight", 1, "slots moved at once")
	fl.IntVar(&f.masters, "masters", runner.DefaultMasters, "local cluster: masters")
	fl.IntVar(&f.replicas, "replicas", 0, "local cluster: replicas per master")
	fl.StringVar(&f.out, "out", "", "output directory (default results/<time>-<profile>)")
	fl.StringVar(&f.user, "user", "", "ACL user")
	fl.StringVar(&f.password, "password", "", "password (or set "+passwordEnv+" to keep it out of shell history)")
	fl.BoolVar(&f.keepKeys, "keep-keys", false, "leave the run's keys on an external cluster")
	fl.BoolVar(&f.allowTopologyChanges, "allow-topology-changes", false, "allow migrations and failovers on a cluster that is not on loopback")
	fl.BoolVar(&f.verify, "verify", false, "version every write, check reads never go back in time, and read every key back after the run (not with del in --mix)")
	fl.StringVar(&f.cpuprofile, "cpuprofile", "", "write a pprof CPU profile of the run to `FILE`")
	fl.BoolVar(&f.quiet, "quiet", false, "no live status")
	fl.DurationVar(&f.opTimeout, "op-timeout", strategy.DefaultTimeout, "how long one operation waits for a node before it counts as a timeout")
	f.capacity.add(fl)
	f.agent.add(fl)
	f.tls.add(fl, true)
	return cmd
}

// config turns the flags into a runner config, reporting every bad value.
func (f *runFlags) config(cmd *cobra.Command) (runner.Config, error) {
	var errs []string
	bad := func(err error) { errs = append(errs, err.Error()) }
	wc, werrs := f.workload.config(cmd.Flags())
	for _, err := range werrs {
		bad(err)
	}
	schedule, err := workload.ParseRate(f.rate)
	if err != nil {
		bad(err)
	}
	scenario, err := cluster.ParseScenario(f.migrate)
	if err != nil {
		bad(err)
	}
	// --tls alone on the local cluster: the run makes its certificates.
	localTLS := len(f.addrs) == 0 && f.tls.on && !f.tls.hasFiles()
	var tlsConf *tls.Config
	if !localTLS {
		if tlsConf, err = f.tls.config(len(f.addrs) > 0); err != nil {
			bad(err)
		}
	}
	password := f.password
	if password == "" {
		password = os.Getenv(passwordEnv)
	}
	profile := f.profile
	if profile == "" {
		profile = "adhoc"
	}
	out := f.out
	if out == "" {
		out = filepath.Join("results", time.Now().Format("20060102-150405")+"-"+profile)
	}
	cfg := runner.Config{
		Profile: profile, Addrs: f.addrs, Strategies: strategy.GroupCustom(f.strategies), Duration: f.duration, Warmup: f.warmup,
		Workers: f.workers, Pipeline: f.pipeline, PinWorkers: f.pinWorkers, Schedule: schedule, Workload: wc,
		Migrate: scenario, MigrateAt: f.migrateAt, MigrateDuration: f.migrateDuration, MigrateSlotsInFlight: f.migrateInFlight,
		Masters: f.masters, Replicas: f.replicas, Out: out,
		Conn:     cluster.ConnOptions{Username: f.user, Password: password, TLS: tlsConf},
		KeepKeys: f.keepKeys, AllowTopologyChanges: f.allowTopologyChanges, Verify: f.verify, OpTimeout: f.opTimeout,
		LocalTLS: localTLS,
	}
	cfg = f.capacity.apply(cmd, cfg, bad)
	cfg = f.agent.apply(cfg, bad)
	if len(errs) == 0 {
		if err := cfg.Validate(); err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				errs = append(errs, strings.TrimPrefix(e, "runner: invalid configuration: "))
			}
		}
	}
	if len(errs) > 0 {
		return cfg, badInput("%s", strings.Join(errs, "; "))
	}
	if !f.quiet {
		cfg.Status = os.Stderr
		cfg.Terminal = term.IsTerminal(int(os.Stderr.Fd()))
	}
	return cfg, nil
}

func runRun(cmd *cobra.Command, f *runFlags) error {
	if f.profile != "" {
		if err := applyProfile(cmd, f); err != nil {
			return err
		}
	}
	cfg, err := f.config(cmd)
	if err != nil {
		return err
	}
	if err := checkOutDir(cfg.Out); err != nil {
		return err
	}
	if f.cpuprofile != "" {
		stop, err := startCPUProfile(f.cpuprofile)
		if err != nil {
			return badInput("--cpuprofile %s: %v: name a writable file", f.cpuprofile, err)
		}
		defer stop()
	}
	hooks := runner.Hooks{OnLocal: func(l *cluster.Local) func() {
		return onForcedExit(func() { _ = l.Stop() })
	}}
	rep, runErr := runner.Run(cmd.Context(), cfg, hooks)
	runErr = explainTLS(runErr, cfg.Conn.TLS)
	if rep != nil && rep.Measured() {
		if err := runner.WriteOutputs(rep, cfg.Out); err != nil {
			return errors.Join(runErr, fmt.Errorf("writing results to %s: %w", cfg.Out, err))
		}
		runner.RenderTable(cmd.OutOrStdout(), rep)
		// Plots come from the files just written, never from live state; a
		// chart that cannot be drawn does not fail the run it illustrates.
		// After Ctrl-C they are left to `clusterbench plot`: drawing them
		// takes longer than an interrupted run may take to exit.
		if sigs.caught() != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "plots skipped (interrupted): draw them with clusterbench plot %s\n", cfg.Out)
		} else {
			if _, err := plots.DrawRun(cfg.Out, ""); err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "warning: plots: %v\n", err)
			}
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "results in %s\n", cfg.Out)
	}
	if runErr != nil && isSetupError(runErr) {
		return badInput("%s", strings.TrimPrefix(runErr.Error(), runner.ErrConfig.Error()+": "))
	}
	return runErr
}

// isSetupError tells errors that come from what the user pointed the run at
// (no redis-server, an address that does not answer, a server that is not
// a cluster or not a healthy one, refused credentials, a migration the
// cluster cannot run or may not be changed by, a port in use): bad input,
// exit 2.
func isSetupError(err error) bool {
	return errors.Is(err, cluster.ErrServerNotFound) || errors.Is(err, cluster.ErrNotCluster) ||
		errors.Is(err, cluster.ErrPortInUse) || errors.Is(err, runner.ErrUnreachable) ||
		errors.Is(err, runner.ErrClusterNotOK) || errors.Is(err, runner.ErrConfig) ||
		errors.Is(err, cluster.ErrAuth) || errors.Is(err, cluster.ErrNotLoopback)
}

// checkOutDir refuses an output directory that already holds a run, or
// whose parent cannot be written, before anything starts. It creates
// nothing: the directory is made when there are results to write.
func checkOutDir(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "summary.json")); err == nil {
		return badInput("--out %s already holds a run: choose another directory", dir)
	}
	parent := dir
	for {
		st, err := os.Stat(parent)
		if err == nil {
			if !st.IsDir() {
				return badInput("--out %s: %s is not a directory: choose another path", dir, parent)
			}
			break
		}
		next := filepath.Dir(parent)
		if next == parent {
			break
		}
		parent = next
	}
	probe, err := os.MkdirTemp(parent, ".clusterbench-probe-")
	if err != nil {
		return badInput("--out %s is not writable (%v): choose a directory you can write", dir, err)
	}
	return os.Remove(probe)
}

// profileChecks parse the string-valued settings of a profile at once, so
// a bad value is reported with the profile's file and line.
var profileChecks = map[string]func(string) error{
	"dist":       func(v string) error { _, err := workload.ParseDist(v); return err },
	"hot":        func(v string) error { _, err := workload.ParseHot(v); return err },
	"mix":        func(v string) error { _, err := workload.ParseMix(v); return err },
	"value-size": func(v string) error { _, err := workload.ParseValueSize(v); return err },
	"rate":       func(v string) error { _, err := workload.ParseRate(v); return err },
	"migrate":    func(v string) error { _, err := cluster.ParseScenario(v); return err },
	"strategy": func(v string) error {
		for _, name := range strategy.GroupCustom(strings.Split(v, ",")) {
			if err := strategy.CheckName(name); err != nil {
				return err
			}
		}
		return nil
	},
}

// applyProfile loads --profile and sets every flag it names that the
// command line did not set.
func applyProfile(cmd *cobra.Command, f *runFlags) error {
	fl := cmd.Flags()
	known := func(key string) bool { return key != "profile" && fl.Lookup(key) != nil }
	p, err := profiles.Load(f.profile, known)
	if err != nil {
		return badInput("%v", err)
	}
	for _, s := range p.Settings {
		if fl.Changed(s.Key) {
			continue
		}
		err := fl.Set(s.Key, s.Value)
		if check, ok := profileChecks[s.Key]; ok && err == nil {
			err = check(s.Value)
		}
		if err != nil {
			return badInput("profile %s:%d: %s: %v", p.File, s.Line, s.Key, err)
		}
	}
	f.profile = p.Name
	return nil
}
