package metrics

import (
	"errors"
	"time"
)

// Errors returned by this package.
var (
	ErrConfig   = errors.New("metrics: invalid configuration")
	ErrFormat   = errors.New("metrics: malformed input")
	ErrMismatch = errors.New("metrics: incompatible results")
)

// NumSlots is the number of Redis Cluster hash slots (router.NumSlots; kept
// here so that metrics imports nothing of the project).
const NumSlots = 16384

// Outcome is how an operation ended.
type Outcome uint8

// The outcomes. Every OK outcome is a success; they differ in the detours
// the client took to get it, which is what redirect cost compares.
const (
	OK           Outcome = iota // answered by the first node asked
	OKAfterMoved                // succeeded after following at least one MOVED
	OKAfterAsk                  // succeeded after an ASK (and no MOVED)
	OKAfterRetry                // succeeded after a TRYAGAIN/CLUSTERDOWN backoff (and no redirect)
	Error                       // failed; see ErrorClass
	NumOutcomes  = 5
)

var outcomeNames = [NumOutcomes]string{"ok", "ok_after_moved", "ok_after_ask", "ok_after_retry", "error"}

// String returns the outcome's name as used in summary.json ("ok", "error", ...).
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// ErrorClass says why an operation with Outcome Error failed.
type ErrorClass uint8

// The error classes.
const (
	Timeout         ErrorClass = iota // the operation's deadline passed
	ConnRefused                       // connection errors: refused, reset, closed
	ClusterDown                       // CLUSTERDOWN after the retry budget
	TryAgain                          // TRYAGAIN after the retry budget
	RedirectLimit                     // the redirect budget ran out
	Moved                             // a MOVED was handed to the caller (not followed)
	Loading                           // LOADING: the node is loading its data set
	Other                             // anything else
	NumErrorClasses = 8
)

var errorClassNames = [NumErrorClasses]string{
	"timeout", "conn_refused", "clusterdown", "tryagain", "redirect_limit", "moved", "loading", "other",
}

// String returns the class's name as used in summary.json ("timeout", ...).
func (c ErrorClass) String() string {
	if int(c) < len(errorClassNames) {
		return errorClassNames[c]
	}
	return "unknown"
}

// NoNode in Sample.Node means the node that answered is not known (the real
// client libraries do not say); such samples are not counted per node.
const NoNode = 0xFFFF

// Sample is what one operation went through. It is passed by value (24
// bytes) and holds no pointers, so recording it costs no allocation.
type Sample struct {
	Latency time.Duration // from the intended start to the reply
	Slot    uint16        // the key's hash slot
	Node    uint16        // index of the node that gave the final reply, or NoNode
	Op      uint8         // index into Config.Ops
	Phase   uint8         // index into Config.Phases
	Outcome Outcome
	// ErrClass is read only when Outcome is Error.
	ErrClass ErrorClass
	// Moved, Ask and TryAgain count the MOVED, ASK and TRYAGAIN replies this
	// operation received, followed or not: the same events the servers
	// count in INFO errorstats.
	Moved, Ask, TryAgain uint8
	// Refreshes counts topology refreshes this operation started or waited for.
	Refreshes uint8
}
