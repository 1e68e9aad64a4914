package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// DefaultDialTimeout bounds the TCP (and TLS) handshake of admin connections.
const DefaultDialTimeout = 2 * time.Second

// ConnOptions says how to connect to the nodes of a cluster: credentials and
// TLS. The zero value is a plain-text connection without AUTH. The runner
// reuses it for its own clients, so everything that reaches a node goes
// through the same settings.
type ConnOptions struct {
	Username string      // ACL user; empty means "default"
	Password string      // AUTH password; empty means no AUTH
	TLS      *tls.Config // nil means plain TCP

	// DialTimeout bounds connection set-up; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
}

// String describes the options for logs without ever showing the password.
func (o ConnOptions) String() string {
	s := "plain"
	if o.TLS != nil {
		s = "tls"
	}
	if o.Username != "" {
		s += " user=" + o.Username
	}
	if o.Password != "" {
		s += " password=***"
	}
	return s
}

// RueidisOption returns a rueidis client option for addrs that carries the
// credentials and TLS settings of o. The caller adds its own knobs.
func (o ConnOptions) RueidisOption(addrs ...string) rueidis.ClientOption {
	timeout := o.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	return rueidis.ClientOption{
		InitAddress: addrs,
		Username:    o.Username,
		Password:    o.Password,
		TLSConfig:   o.TLS,
		Dialer:      net.Dialer{Timeout: timeout},
	}
}

// Dial opens an admin connection to the single node at addr: one TCP
// connection, no client-side cache, no retries (an admin command that fails
// should be seen, not repeated behind our back), and never any cluster
// routing, so the commands reach exactly this node. The caller closes it.
func Dial(addr string, opt ConnOptions) (rueidis.Client, error) {
	o := opt.RueidisOption(addr)
	o.ForceSingleClient = true
	o.DisableCache = true
	o.DisableRetry = true
	o.PipelineMultiplex = -1 // one connection, not rueidis' default of four
	// Bound every reply, so a paused (SIGSTOPped) node cannot hang a caller
	// whose context has no deadline.
	o.ConnWriteTimeout = 10 * time.Second
	c, err := rueidis.NewClient(o)
	if err != nil {
		// With ForceSingleClient rueidis returns a client even when the dial
		// failed; close it so nothing lingers.
		if c != nil {
			c.Close()
		}
		return nil, dialError(addr, err)
	}
	return c, nil
}

// ErrAuth: a node refused the credentials, or wants some and got none.
var ErrAuth = errors.New("cluster: authentication failed")

// dialError names the fix for a refused login; other errors say where the
// connection failed. The server's text never holds the password.
func dialError(addr string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "WRONGPASS"):
		return fmt.Errorf("%w: %s refused the user name or password (WRONGPASS): check --user and --password", ErrAuth, addr)
	case strings.Contains(msg, "NOAUTH"):
		return fmt.Errorf("%w: %s requires a password (NOAUTH): pass --password", ErrAuth, addr)
	}
	return fmt.Errorf("cluster: connect to %s: %w", addr, err)
}

// Do sends one command made of args to the node behind c (an admin
// connection from Dial).
func Do(ctx context.Context, c rueidis.Client, args ...string) rueidis.RedisResult {
	countAdmin(args)
	return c.Do(ctx, c.B().Arbitrary(args...).Build())
}

// doString sends one command and returns its reply as a string (status,
// bulk or verbatim string), wrapping any error with the command and node.
func doString(ctx context.Context, c rueidis.Client, addr string, args ...string) (string, error) {
	s, err := Do(ctx, c, args...).ToString()
	if err != nil {
		return "", fmt.Errorf("cluster: %s on %s: %w", cmdName(args), addr, err)
	}
	return s, nil
}

// DoText sends one command whose reply is text for humans (INFO, CLUSTER
// INFO, CLUSTER NODES) and returns the text; errors name the command and
// addr. Over RESP3 these replies are verbatim strings, which rueidis returns
// with their format prefix ("txt:"); it is dropped here.
func DoText(ctx context.Context, c rueidis.Client, addr string, args ...string) (string, error) {
	s, err := doString(ctx, c, addr, args...)
	if err != nil {
		return "", err
	}
	if len(s) >= 4 && s[3] == ':' && (s[:3] == "txt" || s[:3] == "mkd") {
		s = s[4:]
	}
	return s, nil
}

// doOK sends one command whose reply does not matter beyond success.
func doOK(ctx context.Context, c rueidis.Client, addr string, args ...string) error {
	if err := Do(ctx, c, args...).Error(); err != nil {
		return fmt.Errorf("cluster: %s on %s: %w", cmdName(args), addr, err)
	}
	return nil
}

// cmdName is the command's name for error messages: the first word, plus
// the subcommand of container commands (CLUSTER MEET, CONFIG SET).
func cmdName(args []string) string {
	switch {
	case len(args) == 0:
		return ""
	case len(args) > 1 && (args[0] == "CLUSTER" || args[0] == "CONFIG"):
		return args[0] + " " + args[1]
	default:
		return args[0]
	}
}

// CallCounts are commands by their commandstats name ("cluster|nodes").
type CallCounts map[string]int64

// Sub returns c - prev.
func (c CallCounts) Sub(prev CallCounts) CallCounts {
	d := CallCounts{}
	for k, v := range c {
		if n := v - prev[k]; n != 0 {
			d[k] = n
		}
	}
	return d
}

// adminCalls counts the topology commands this process's admin connections
// send, so a run can take them out of the servers' commandstats before
// comparing those with a client's own topology refreshes.
var adminCalls struct {
	mu     sync.Mutex
	counts CallCounts
}

// countAdmin records one admin command if it is a topology command.
func countAdmin(args []string) {
	if len(args) < 2 || !strings.EqualFold(args[0], "CLUSTER") {
		if len(args) == 1 && strings.EqualFold(args[0], "ASKING") {
			countAdminName("asking")
		}
		return
	}
	switch sub := strings.ToLower(args[1]); sub {
	case "shards", "slots", "nodes":
		countAdminName("cluster|" + sub)
	}
}

func countAdminName(name string) {
	adminCalls.mu.Lock()
	defer adminCalls.mu.Unlock()
	if adminCalls.counts == nil {
		adminCalls.counts = CallCounts{}
	}
	adminCalls.counts[name]++
}

// AdminTopologyCalls returns how many CLUSTER SHARDS / SLOTS / NODES (and
// ASKING) commands this process's admin connections have sent so far.
func AdminTopologyCalls() CallCounts {
	adminCalls.mu.Lock()
	defer adminCalls.mu.Unlock()
	out := CallCounts{}
	for k, v := range adminCalls.counts {
		out[k] = v
	}
	return out
}
