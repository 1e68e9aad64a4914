package router

import (
	"errors"
	"fmt"
	"time"
)

// MovedReaction is what a client does with the address in a MOVED reply.
type MovedReaction uint8

const (
	// MovedFollow retries at the address in the reply and leaves the map alone.
	MovedFollow MovedReaction = iota
	// MovedPatch also points the slot at that address in the shared map, so
	// no other caller pays the same redirect.
	MovedPatch
	// MovedRediscover waits for a full topology refresh, then looks the slot
	// up again in the new map (node-redis).
	MovedRediscover
)

var movedNames = [...]string{"follow", "patch", "rediscover"}

func (m MovedReaction) String() string {
	if int(m) < len(movedNames) {
		return movedNames[m]
	}
	return fmt.Sprintf("MovedReaction(%d)", m)
}

// RefreshMode is how a topology refresh is run once something triggers it.
type RefreshMode uint8

const (
	// RefreshNone never refreshes (after the initial map).
	RefreshNone RefreshMode = iota
	// RefreshAsync refreshes in the background, one at a time; callers
	// never wait for it.
	RefreshAsync
	// RefreshBlocking makes the triggering caller wait for a refresh;
	// concurrent triggers wait for the same refresh (single flight).
	RefreshBlocking
	// RefreshCaller makes the triggering caller refresh when no refresh is
	// running; callers that find one running go on with the old map (Jedis).
	RefreshCaller
)

var refreshNames = [...]string{"none", "async", "blocking", "caller"}

func (r RefreshMode) String() string {
	if int(r) < len(refreshNames) {
		return refreshNames[r]
	}
	return fmt.Sprintf("RefreshMode(%d)", r)
}

// Policy is a client's redirect and refresh behaviour: every knob the
// strategies differ in. The zero value is a valid, if naive, policy: follow
// MOVED without remembering, never refresh, ASKING and the command in one
// write, DefaultMaxRedirects.
type Policy struct {
	// NoSlotMap sends every command to the caller's home node and follows
	// redirects without caching anything (a cluster-unaware client).
	NoSlotMap bool
	Moved     MovedReaction
	Refresh   RefreshMode
	// EveryKthMoved triggers a refresh only on every k-th MOVED (counted
	// over all callers); 0 or 1 means every MOVED.
	EveryKthMoved int
	// Cooldown is the least time between the starts of two refreshes.
	Cooldown time.Duration
	// Trailing keeps one trigger that arrives during the cooldown or while a
	// refresh runs, and refreshes once more after it; otherwise such
	// triggers are dropped (and counted).
	Trailing bool
	// Jitter delays an asynchronous refresh by a random time in
	// [0, Jitter), so that a burst of MOVED replies costs one refresh.
	Jitter time.Duration
	// RefreshOnAsk triggers a refresh on ASK replies too.
	RefreshOnAsk bool
	// AskTwoRoundTrips sends ASKING and waits for its reply before sending
	// the command, instead of writing both at once.
	AskTwoRoundTrips bool
	// MaxRedirects bounds the MOVED+ASK replies followed for one command;
	// the next one fails the command with ErrRedirectLimit.
	MaxRedirects int
	// MovedBackoff is slept before following a MOVED.
	MovedBackoff time.Duration
	// RefreshNewConn runs each refresh over a newly dialled connection.
	RefreshNewConn bool
	// Periodic refreshes on a timer, whatever else happens; 0 disables.
	Periodic time.Duration
	// MigrationRefresh refreshes at this period while a migration is
	// visible (an ASK, or a MOVED, seen within MigrationWindow), so the map
	// follows the slots as they move and most callers never see a MOVED.
	// 0 disables.
	MigrationRefresh time.Duration
	// MigrationWindow is how long after the last ASK or MOVED a migration
	// counts as visible; DefaultMigrationWindow when 0.
	MigrationWindow time.Duration
	// RetryBackoff is the first wait after TRYAGAIN, CLUSTERDOWN or
	// LOADING; it doubles per retry up to MaxBackoff. DefaultRetryBackoff
	// when 0.
	RetryBackoff time.Duration
	// MaxRetries bounds those retries for one command; DefaultMaxRetries when 0.
	MaxRetries int
	// PreDial connects every worker to a node as soon as the client learns
	// of it (a refresh, a MOVED or an ASK naming it), in the background, so
	// the first command sent there does not wait for a TCP (and TLS)
	// handshake. See Router.OnNewNode.
	PreDial bool
}

// Defaults of the Policy knobs left at zero.
const (
	DefaultMaxRedirects    = 16
	DefaultRetryBackoff    = 10 * time.Millisecond
	DefaultMaxRetries      = 8
	DefaultMigrationWindow = 2 * time.Second
	MaxBackoff             = 500 * time.Millisecond
)

// ErrBadPolicy is wrapped by every Policy validation error.
var ErrBadPolicy = errors.New("router: bad policy")

// Validate reports every inconsistent knob at once.
func (p Policy) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrBadPolicy}, args...)...))
	}
	if p.Moved > MovedRediscover {
		bad("unknown MOVED reaction %d", p.Moved)
	}
	if p.Refresh > RefreshCaller {
		bad("unknown refresh mode %d", p.Refresh)
	}
	if p.Moved == MovedRediscover && p.Refresh != RefreshBlocking {
		bad("moved=rediscover needs refresh=blocking: callers wait for the new map")
	}
	if p.NoSlotMap && (p.Moved != MovedFollow || p.Refresh != RefreshNone || p.Periodic > 0 || p.MigrationRefresh > 0) {
		bad("a client without a slot map can only follow redirects: use moved=follow, refresh=none")
	}
	if p.MaxRedirects < 0 || p.MaxRetries < 0 || p.EveryKthMoved < 0 {
		bad("redirect budget, retries and every-k-th-MOVED must not be negative")
	}
	for name, d := range map[string]time.Duration{"cooldown": p.Cooldown, "jitter": p.Jitter,
		"moved backoff": p.MovedBackoff, "periodic": p.Periodic, "migration refresh": p.MigrationRefresh,
		"migration window": p.MigrationWindow, "retry backoff": p.RetryBackoff} {
		if d < 0 {
			bad("%s %v must not be negative", name, d)
		}
	}
	if p.Refresh == RefreshNone && (p.Periodic > 0 || p.MigrationRefresh > 0) {
		bad("periodic and migration refreshes need a refresh mode: use refresh=async")
	}
	return errors.Join(errs...)
}

func (p Policy) maxRedirects() int {
	if p.MaxRedirects == 0 {
		return DefaultMaxRedirects
	}
	return p.MaxRedirects
}

func (p Policy) maxRetries() int {
	if p.MaxRetries == 0 {
		return DefaultMaxRetries
	}
	return p.MaxRetries
}

func (p Policy) retryBackoff(retry int) time.Duration {
	d := p.RetryBackoff
	if d == 0 {
		d = DefaultRetryBackoff
	}
	for i := 1; i < retry && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

func (p Policy) migrationWindow() time.Duration {
	if p.MigrationWindow == 0 {
		return DefaultMigrationWindow
	}
	return p.MigrationWindow
}
