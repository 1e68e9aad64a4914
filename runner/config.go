package runner

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/strategy"
	"github.com/clusterbench/clusterbench/workload"
)

// Defaults of a run, as the CLI documents them.
const (
	DefaultDuration  = 60 * time.Second
	DefaultWarmup    = 5 * time.Second
	DefaultWorkers   = 16
	DefaultPipeline  = 1
	DefaultMasters   = 3
	DefaultMigrateAt = 10 * time.Second
	DefaultInterval  = time.Second
	// DefaultGrace is how long in-flight operations may finish after the
	// run stops issuing new ones, before they are abandoned.
	DefaultGrace = 2 * time.Second
	// MaxWorkers bounds --workers: each own-strategy worker holds a
	// connection per node, and far more would exhaust file descriptors
	// long before it measured anything.
	MaxWorkers = 10000
)

// Config is one run: what to drive, against which cluster, and where the
// results go. The CLI and the profiles fill it; Validate checks it whole.
type Config struct {
	Profile    string
	Addrs      []string // seeds of an external cluster; empty: a local one
	Strategies []string
	Duration   time.Duration // measured time, after the warmup
	Warmup     time.Duration
	Workers    int
	Pipeline   int
	// PinWorkers gives worker i the i-th master (mod the masters that own
	// slots at the start) and only the keys of that master's slots, as
	// redis-benchmark --cluster binds its clients: an even, fixed number
	// of ops in flight per node, one connection per worker.
	PinWorkers bool
	// LocalTLS starts every local cluster TLS-only, with throwaway
	// certificates made for the run (and removed after it); the
	// connections present the client certificate. Not with Addrs or
	// Conn.TLS.
	LocalTLS bool
	localTLS *cluster.LocalTLS // the certificates, set by Run
	// Schedule is the open-loop arrival schedule (workload.ParseRate); nil
	// runs closed loop: each worker issues its next op when the last ends.
	Schedule workload.Schedule
	Workload workload.Config

	Migrate         cluster.Scenario // Kind none (or zero): no migration
	MigrateAt       time.Duration    // after the warmup
	MigrateDuration time.Duration    // spread the slot moves over this long (0: as fast as it goes)
	// MigrateSlotsInFlight is how many slots move at once (0: one, as
	// redis-cli --cluster reshard does).
	MigrateSlotsInFlight int

	Masters, Replicas int // the local cluster's shape

	Out      string // output directory
	Conn     cluster.ConnOptions
	KeepKeys bool
	// AllowTopologyChanges lets a migration or failover touch a cluster
	// that is not on loopback.
	AllowTopologyChanges bool
	Verify               bool
	Interval             time.Duration // reporting interval
	Grace                time.Duration
	// OpTimeout bounds one operation's wait for a node (0: the strategy's
	// default, strategy.DefaultTimeout): a paused node shows as timeouts
	// once it is over.
	OpTimeout time.Duration

	// Capacity, when set, makes the run a capacity search (see WithCapacity).
	Capacity *CapacityConfig
	// AgentID names this load generator for `clusterbench merge`; StartAt,
	// when set, is when the first strategy's measurement starts (the
	// hosts of a multi-host run share it).
	AgentID string
	StartAt time.Time

	// Status receives the live status lines (nil: none). Terminal makes
	// them one rewritten line instead of a line per interval.
	Status   io.Writer
	Terminal bool
}

// ErrConfig is wrapped by every validation error.
var ErrConfig = errors.New("runner: invalid configuration")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}

// Validate reports every problem at once, each naming the flag and the fix.
func (c *Config) Validate() error {
	var errs []error
	add := func(err error) { errs = append(errs, err) }
	if c.Duration <= 0 {
		add(bad("--duration %v must be positive, e.g. 60s", c.Duration))
	}
	if c.Warmup < 0 {
		add(bad("--warmup %v must not be negative, e.g. 5s", c.Warmup))
	}
	if c.Workers <= 0 || c.Workers > MaxWorkers {
		add(bad("--workers %d must be in 1..%d, e.g. 16", c.Workers, MaxWorkers))
	}
	if c.Pipeline <= 0 {
		add(bad("--pipeline %d must be at least 1", c.Pipeline))
	}
	if c.Pipeline > 1 && c.Schedule != nil {
		add(bad("--pipeline %d with --rate: pipelining is for the closed loop; drop --rate or use --pipeline 1", c.Pipeline))
	}
	if c.LocalTLS && (len(c.Addrs) > 0 || c.Conn.TLS != nil) {
		add(bad("--tls starts a TLS local cluster only without --addrs; with --addrs give the cluster's own files (--cacert, --cert, --key)"))
	}
	if c.Pipeline > 1 && c.Verify {
		add(bad("--verify with --pipeline %d: verify versions each write and checks each read as it completes, one op at a time; drop --pipeline (or --verify)", c.Pipeline))
	}
	if c.Pipeline > 1 && slices.Contains(c.Strategies, "radix") {
		add(bad("--pipeline %d: radix's Cluster cannot pipeline across slots; drop radix or use --pipeline 1", c.Pipeline))
	}
	if len(c.Strategies) == 0 {
		add(bad("--strategy names no strategy: use one or more of router, unaware, stale, ..."))
	}
	seen := map[string]bool{}
	for _, s := range c.Strategies {
		switch {
		case strategy.CheckName(s) != nil:
			add(fmt.Errorf("%w: %w", ErrConfig, strategy.CheckName(s)))
		case seen[s]:
			add(bad("--strategy lists %q twice: name each strategy once", s))
		}
		seen[s] = true
	}
	for _, e := range c.Workload.Validate() {
		add(fmt.Errorf("%w: %w", ErrConfig, e))
	}
	if c.migrates() {
		if c.MigrateAt < 0 || c.MigrateAt >= c.Duration {
			add(bad("--migrate-at %v must fall inside --duration %v", c.MigrateAt, c.Duration))
		}
		if len(c.Addrs) == 0 && c.Masters < 2 && needsTwoMasters(c.Migrate) {
			add(bad("--migrate %s needs at least 2 masters: use --masters 2 or more", c.Migrate))
		}
		if len(c.Addrs) == 0 && c.Replicas < 1 && isFailover(c.Migrate) {
			add(bad("--migrate %s needs replicas to promote: use --replicas 1", c.Migrate))
		}
		if len(c.Addrs) > 0 && c.Migrate.NeedsLocal() {
			add(bad("--migrate %s kills a master, which only works on the local cluster clusterbench starts: drop --addrs, or use failover (a manual one)", c.Migrate))
		}
	}
	if c.MigrateSlotsInFlight < 0 || c.MigrateSlotsInFlight > cluster.MaxSlotsInFlight {
		add(bad("--migrate-slots-in-flight %d must be in 0..%d", c.MigrateSlotsInFlight, cluster.MaxSlotsInFlight))
	}
	if c.MigrateDuration < 0 {
		add(bad("--migrate-duration %v must not be negative", c.MigrateDuration))
	}
	if len(c.Addrs) == 0 {
		if c.Masters < 1 {
			add(bad("--masters %d must be at least 1", c.Masters))
		}
		if c.Replicas < 0 {
			add(bad("--replicas %d must not be negative", c.Replicas))
		}
	}
	for _, a := range c.Addrs {
		host, port, err := net.SplitHostPort(a)
		if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			add(bad("--addrs %q is not host:port with a port in 1..65535, e.g. 127.0.0.1:7000", a))
		}
	}
	if c.Out == "" {
		add(bad("--out is empty: name an output directory"))
	}
	if c.OpTimeout < 0 {
		add(bad("--op-timeout %v must not be negative, e.g. 1s", c.OpTimeout))
	}
	errs = append(errs, c.validateCapacity()...)
	return errors.Join(errs...)
}

// withDefaults fills the zero knobs that have a default.
func (c Config) withDefaults() Config {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	return c
}

// migrates reports whether the run has a migration scenario.
func (c *Config) migrates() bool {
	return c.Migrate.Kind != "" && c.Migrate.Kind != cluster.ScenarioNone
}

func needsTwoMasters(s cluster.Scenario) bool {
	switch s.Kind {
	case cluster.ScenarioMove, cluster.ScenarioScaleIn, cluster.ScenarioHotSlot:
		return true
	}
	return false
}

func isFailover(s cluster.Scenario) bool {
	return s.Kind == cluster.ScenarioFailover || s.Kind == cluster.ScenarioFailoverKill
}
