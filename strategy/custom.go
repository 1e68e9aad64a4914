package strategy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// CustomPrefix starts the name of a strategy spelled out as knobs:
//
//	custom:moved=patch,refresh=async,every=5,cooldown=5s,trailing=yes,ask-refresh=no,
//	       ask=one-write,budget=16,moved-backoff=0,new-conn=no,periodic=0,
//	       migration-refresh=250ms,jitter=5ms
//
// Keys left out keep the zero Policy's value (follow, no refresh, ASKING in
// one write, the default budget). The strategy's name is the whole string.
const CustomPrefix = "custom:"

// ErrBadSpec is wrapped by every error of ParsePolicy.
var ErrBadSpec = errors.New("strategy: bad custom strategy")

// knob is one key of a custom spec: how to read its value into a Policy
// and how to write it back (FormatPolicy).
type knob struct {
	key     string
	allowed string                                // for error messages
	set     func(p *router.Policy, v string) bool // false: the value is not allowed
	get     func(p router.Policy) string          // "" when the value is the zero Policy's
}

// knobs in the order FormatPolicy writes them.
var knobs = []knob{
	{"slot-map", "yes or no", func(p *router.Policy, v string) bool {
		b, ok := parseYesNo(v)
		p.NoSlotMap = !b
		return ok
	}, func(p router.Policy) string { return ifTrue(p.NoSlotMap, "no") }},
	{"moved", "follow, patch or rediscover", func(p *router.Policy, v string) bool {
		for m := router.MovedFollow; m <= router.MovedRediscover; m++ {
			if v == m.String() {
				p.Moved = m
				return true
			}
		}
		return false
	}, func(p router.Policy) string { return p.Moved.String() }},
	{"refresh", "none, async, blocking or caller", func(p *router.Policy, v string) bool {
		for r := router.RefreshNone; r <= router.RefreshCaller; r++ {
			if v == r.String() {
				p.Refresh = r
				return true
			}
		}
		return false
	}, func(p router.Policy) string { return p.Refresh.String() }},
	intKnob("every", "a count ≥ 0 (refresh on every k-th MOVED; 0 or 1: every MOVED)", func(p *router.Policy) *int { return &p.EveryKthMoved }),
	durKnob("cooldown", func(p *router.Policy) *time.Duration { return &p.Cooldown }),
	boolKnob("trailing", func(p *router.Policy) *bool { return &p.Trailing }),
	boolKnob("ask-refresh", func(p *router.Policy) *bool { return &p.RefreshOnAsk }),
	{"ask", "one-write or two-rtt", func(p *router.Policy, v string) bool {
		switch v {
		case "one-write":
			p.AskTwoRoundTrips = false
		case "two-rtt":
			p.AskTwoRoundTrips = true
		default:
			return false
		}
		return true
	}, func(p router.Policy) string { return ifTrue(p.AskTwoRoundTrips, "two-rtt") }},
	intKnob("budget", "a count ≥ 0 of redirects followed per command (0: the default, 16)", func(p *router.Policy) *int { return &p.MaxRedirects }),
	durKnob("moved-backoff", func(p *router.Policy) *time.Duration { return &p.MovedBackoff }),
	boolKnob("new-conn", func(p *router.Policy) *bool { return &p.RefreshNewConn }),
	durKnob("periodic", func(p *router.Policy) *time.Duration { return &p.Periodic }),
	durKnob("migration-refresh", func(p *router.Policy) *time.Duration { return &p.MigrationRefresh }),
	durKnob("migration-window", func(p *router.Policy) *time.Duration { return &p.MigrationWindow }),
	boolKnob("predial", func(p *router.Policy) *bool { return &p.PreDial }),
	durKnob("jitter", func(p *router.Policy) *time.Duration { return &p.Jitter }),
	durKnob("retry-backoff", func(p *router.Policy) *time.Duration { return &p.RetryBackoff }),
	intKnob("retries", "a count ≥ 0 of TRYAGAIN/CLUSTERDOWN retries (0: the default, 8)", func(p *router.Policy) *int { return &p.MaxRetries }),
}

func intKnob(key, allowed string, field func(*router.Policy) *int) knob {
	return knob{key, allowed, func(p *router.Policy, v string) bool {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return false
		}
		*field(p) = n
		return true
	}, func(p router.Policy) string {
		if n := *field(&p); n != 0 {
			return strconv.Itoa(n)
		}
		return ""
	}}
}

func durKnob(key string, field func(*router.Policy) *time.Duration) knob {
	return knob{key, "a duration ≥ 0 such as 0, 250ms or 5s", func(p *router.Policy, v string) bool {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return false
		}
		*field(p) = d
		return true
	}, func(p router.Policy) string {
		if d := *field(&p); d != 0 {
			return d.String()
		}
		return ""
	}}
}

func boolKnob(key string, field func(*router.Policy) *bool) knob {
	return knob{key, "yes or no", func(p *router.Policy, v string) bool {
		b, ok := parseYesNo(v)
		*field(p) = b
		return ok
	}, func(p router.Policy) string { return ifTrue(*field(&p), "yes") }}
}

func parseYesNo(v string) (value, ok bool) {
	switch v {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

func ifTrue(b bool, s string) string {
	if b {
		return s
	}
	return ""
}

// CustomHelp lists every knob of a custom strategy with the values it
// takes, one per line, for --help.
func CustomHelp() string {
	var b strings.Builder
	for _, k := range knobs {
		fmt.Fprintf(&b, "  %-18s %s\n", k.key, k.allowed)
	}
	return b.String()
}

func knobKeys() string {
	keys := make([]string, len(knobs))
	for i, k := range knobs {
		keys[i] = k.key
	}
	return strings.Join(keys, ", ")
}

// ParsePolicy reads the key=value list of a custom strategy (the part
// after "custom:") into a Policy and validates it. Every error is one line
// naming the key and the values it takes.
func ParsePolicy(spec string) (router.Policy, error) {
	var p router.Policy
	if strings.TrimSpace(spec) == "" {
		return p, fmt.Errorf("%w: no knobs given: write key=value pairs, e.g. custom:moved=patch,refresh=async (keys: %s)", ErrBadSpec, knobKeys())
	}
	seen := map[string]bool{}
	for pair := range strings.SplitSeq(spec, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
		key, value = strings.TrimSpace(key), strings.TrimSpace(value)
		if !ok || key == "" {
			return router.Policy{}, fmt.Errorf("%w: %q is not key=value (keys: %s)", ErrBadSpec, pair, knobKeys())
		}
		k := findKnob(key)
		switch {
		case k == nil:
			return router.Policy{}, fmt.Errorf("%w: unknown key %q: use %s", ErrBadSpec, key, knobKeys())
		case seen[key]:
			return router.Policy{}, fmt.Errorf("%w: %s given twice", ErrBadSpec, key)
		case !k.set(&p, value):
			return router.Policy{}, fmt.Errorf("%w: %s=%s: want %s", ErrBadSpec, key, value, k.allowed)
		}
		seen[key] = true
	}
	if err := p.Validate(); err != nil {
		return router.Policy{}, &lineError{msg: ErrBadSpec.Error() + ": " + strings.ReplaceAll(err.Error(), "\n", "; "), errs: []error{ErrBadSpec, err}}
	}
	return p, nil
}

func findKnob(key string) *knob {
	for i := range knobs {
		if knobs[i].key == key {
			return &knobs[i]
		}
	}
	return nil
}

// lineError keeps a multi-error on one line while still matching the
// errors it joins (ErrBadSpec and router.ErrBadPolicy) with errors.Is.
type lineError struct {
	msg  string
	errs []error
}

func (e *lineError) Error() string   { return e.msg }
func (e *lineError) Unwrap() []error { return e.errs }

// FormatPolicy writes p as a custom spec (without the "custom:" prefix)
// that ParsePolicy reads back to p. moved and refresh are always written;
// other keys only when they differ from the zero Policy.
func FormatPolicy(p router.Policy) string {
	var b strings.Builder
	for _, k := range knobs {
		v := k.get(p)
		if v == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k.key + "=" + v)
	}
	return b.String()
}

// GroupCustom rejoins a strategy list that was split at every comma (as
// a --strategy flag is), so that each "custom:k=v,k=v" spec is one name
// again: a part with '=' that does not start a new custom spec belongs to
// the custom spec before it. Registered names never contain '='.
func GroupCustom(parts []string) []string {
	var out []string
	for _, part := range parts {
		n := len(out)
		if n > 0 && strings.HasPrefix(out[n-1], CustomPrefix) && !strings.HasPrefix(part, CustomPrefix) && strings.Contains(part, "=") {
			out[n-1] += "," + part
			continue
		}
		out = append(out, part)
	}
	return out
}

// CheckName says why name is not a strategy: nil for a registered name or
// a custom spec that parses, the parse error for a bad custom spec, else an
// error wrapping ErrUnknown. Exists answers the same question with a bool.
func CheckName(name string) error {
	if spec, ok := strings.CutPrefix(name, CustomPrefix); ok {
		_, err := ParsePolicy(spec)
		return err
	}
	if _, ok := registry[name]; !ok {
		return fmt.Errorf("%w %q: choose from %s, or %s<knobs>", ErrUnknown, name, strings.Join(Names(), ", "), CustomPrefix)
	}
	return nil
}
