package strategy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// OpKind is a Redis operation the workload asks for.
type OpKind uint8

// The operations; their wire names are in opNames.
const (
	OpGet OpKind = iota
	OpSet
	OpDel
	OpIncr
	OpMGet
	OpMSet
)

var opNames = [...]string{"GET", "SET", "DEL", "INCR", "MGET", "MSET"}

func (k OpKind) String() string {
	if int(k) < len(opNames) {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", k)
}

// Request is one operation. A worker reuses one Request: the strategy must
// not keep its slices after Do returns.
type Request struct {
	Kind  OpKind
	Key   []byte   // single-key operations
	Keys  [][]byte // MGET/MSET: keys of one hash-tag group (one slot)
	Value []byte   // SET/MSET value
	Slot  uint16   // the slot of Key (or of the group), computed once by the caller
}

// Result is what one operation went through. Strategies that cannot see
// their redirects (the real libraries) leave the counts at zero.
type Result struct {
	Moved, Ask, TryAgain, Retries, Refreshes uint8
	Err                                      error            // nil on success
	Kind                                     router.ErrorKind // the last error reply's kind, when there was one
	Node                                     string           // the node that gave the final reply, when known
}

// Stats are a strategy's own counts. Known is false for strategies that
// cannot see their redirects and refreshes (the real libraries): their
// numbers come from the servers only.
type Stats struct {
	Known bool
	router.Stats
}

// Strategy is a client under test. It is shared by the workers; each
// worker gets its own Worker.
type Strategy interface {
	Name() string
	NewWorker(index int) (Worker, error)
	Stats() Stats
	Close() error
}

// Worker performs operations for one goroutine.
type Worker interface {
	Do(ctx context.Context, req *Request) Result
	Close() error
}

// Config is what every strategy needs to reach the cluster.
type Config struct {
	Seeds              []string
	Username, Password string
	TLS                *tls.Config
	// Timeout bounds one operation's network wait (0: DefaultTimeout).
	Timeout time.Duration
	// Workers is how many workers will share the strategy (sizes pools).
	Workers int
}

// DefaultTimeout bounds one operation when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Second

func (c Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// ErrUnknown is wrapped by New for a name no strategy has.
var ErrUnknown = errors.New("strategy: unknown strategy")

// entry describes one registered strategy.
type entry struct {
	summary string
	open    func(ctx context.Context, cfg Config) (Strategy, error)
}

var registry = map[string]entry{}

// register adds a strategy; each strategy file calls it from init.
func register(name, summary string, open func(ctx context.Context, cfg Config) (Strategy, error)) {
	if _, dup := registry[name]; dup {
		panic("strategy: registered twice: " + name)
	}
	registry[name] = entry{summary: summary, open: open}
}

// registerPolicy registers an own strategy: the router with policy.
func registerPolicy(name, summary string, policy router.Policy) {
	register(name, summary, func(ctx context.Context, cfg Config) (Strategy, error) {
		return NewOwn(ctx, name, policy, cfg)
	})
}

// New opens the named strategy against the cluster in cfg.
// A name of the form "custom:<knobs>" opens the router with the policy
// ParsePolicy reads from the knobs.
func New(ctx context.Context, name string, cfg Config) (Strategy, error) {
	if spec, ok := strings.CutPrefix(name, CustomPrefix); ok {
		p, err := ParsePolicy(spec)
		if err != nil {
			return nil, err
		}
		return NewOwn(ctx, name, p, cfg)
	}
	e, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("%w %q: choose from %s", ErrUnknown, name, strings.Join(Names(), ", "))
	}
	return e.open(ctx, cfg)
}

// Names lists the registered strategies in a stable order: the own ones
// first, as DESIGN.md's table has them.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		ri, rj := rank(names[i]), rank(names[j])
		if ri != rj {
			return ri < rj
		}
		return names[i] < names[j]
	})
	return names
}

// Summary is the one-line description of a strategy, for --help.
func Summary(name string) string { return registry[name].summary }

// Exists reports whether name is a registered strategy or a custom spec
// that parses (CheckName says why not).
func Exists(name string) bool { return CheckName(name) == nil }

var order = []string{"router", "unaware", "stale", "like-redis-py", "like-ioredis", "like-node-redis",
	"like-jedis", "like-lettuce", "like-stackexchange", "rueidis", "goredis", "radix"}

func rank(name string) int {
	for i, n := range order {
		if n == name {
			return i
		}
	}
	return len(order)
}
