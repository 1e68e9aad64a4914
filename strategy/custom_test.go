package strategy

import (
	"context"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/router"
)

func TestParsePolicy(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want router.Policy
		err  string // a part of the error; "" for success
	}{
		// The example of the task, every key of DESIGN.md's knob list.
		{"full", "moved=patch,refresh=async,every=5,cooldown=5s,trailing=yes,ask-refresh=no,ask=one-write,budget=16,moved-backoff=0,new-conn=no,periodic=0,migration-refresh=250ms,jitter=5ms",
			router.Policy{Moved: router.MovedPatch, Refresh: router.RefreshAsync, EveryKthMoved: 5, Cooldown: 5 * time.Second,
				Trailing: true, MaxRedirects: 16, MigrationRefresh: 250 * time.Millisecond, Jitter: 5 * time.Millisecond}, ""},
		// Keys left out keep the zero Policy's values.
		{"minimal", "moved=follow", router.Policy{}, ""},
		// Spaces around pairs, keys and values are forgiven.
		{"spaces", " moved = patch , ask=two-rtt ", router.Policy{Moved: router.MovedPatch, AskTwoRoundTrips: true}, ""},
		{"rediscover", "moved=rediscover,refresh=blocking,new-conn=yes", router.Policy{Moved: router.MovedRediscover, Refresh: router.RefreshBlocking, RefreshNewConn: true}, ""},
		{"caller", "refresh=caller,ask-refresh=yes,retries=3,retry-backoff=20ms", router.Policy{Refresh: router.RefreshCaller, RefreshOnAsk: true, MaxRetries: 3, RetryBackoff: 20 * time.Millisecond}, ""},
		{"unaware", "slot-map=no,budget=16", router.Policy{NoSlotMap: true, MaxRedirects: 16}, ""},
		{"periodic", "refresh=async,periodic=1m,migration-window=3s,moved-backoff=1ms", router.Policy{Refresh: router.RefreshAsync, Periodic: time.Minute, MigrationWindow: 3 * time.Second, MovedBackoff: time.Millisecond}, ""},

		// Each key with a value it does not take names the key and the values.
		{"bad moved", "moved=forward", router.Policy{}, "moved=forward: want follow, patch or rediscover"},
		{"bad refresh", "refresh=sometimes", router.Policy{}, "refresh=sometimes: want none, async, blocking or caller"},
		{"bad every", "every=-1", router.Policy{}, "every=-1: want a count ≥ 0"},
		{"bad every word", "every=five", router.Policy{}, "every=five: want a count"},
		{"bad cooldown", "cooldown=5", router.Policy{}, "cooldown=5: want a duration ≥ 0"},
		{"negative cooldown", "cooldown=-1s", router.Policy{}, "cooldown=-1s: want a duration"},
		{"bad trailing", "trailing=true", router.Policy{}, "trailing=true: want yes or no"},
		{"bad ask-refresh", "ask-refresh=1", router.Policy{}, "ask-refresh=1: want yes or no"},
		{"bad ask", "ask=pipelined", router.Policy{}, "ask=pipelined: want one-write or two-rtt"},
		{"bad budget", "budget=lots", router.Policy{}, "budget=lots: want a count ≥ 0 of redirects"},
		{"bad moved-backoff", "moved-backoff=soon", router.Policy{}, "moved-backoff=soon: want a duration"},
		{"bad new-conn", "new-conn=maybe", router.Policy{}, "new-conn=maybe: want yes or no"},
		{"bad periodic", "periodic=hourly", router.Policy{}, "periodic=hourly: want a duration"},
		{"bad migration-refresh", "migration-refresh=x", router.Policy{}, "migration-refresh=x: want a duration"},
		{"bad migration-window", "migration-window=x", router.Policy{}, "migration-window=x: want a duration"},
		{"bad jitter", "jitter=5", router.Policy{}, "jitter=5: want a duration"},
		{"bad retry-backoff", "retry-backoff=x", router.Policy{}, "retry-backoff=x: want a duration"},
		{"bad retries", "retries=-2", router.Policy{}, "retries=-2: want a count"},
		{"bad slot-map", "slot-map=off", router.Policy{}, "slot-map=off: want yes or no"},

		// Shape errors.
		{"unknown key", "moved=patch,colour=blue", router.Policy{}, `unknown key "colour": use slot-map, moved, refresh`},
		{"no value", "moved", router.Policy{}, `"moved" is not key=value`},
		{"empty pair", "moved=patch,,refresh=async", router.Policy{}, `"" is not key=value`},
		{"twice", "moved=patch,moved=follow", router.Policy{}, "moved given twice"},
		{"empty", "", router.Policy{}, "no knobs given"},

		// Knobs that parse but do not fit together fail Validate, on one line.
		{"rediscover needs blocking", "moved=rediscover,refresh=async", router.Policy{}, "moved=rediscover needs refresh=blocking"},
		{"periodic needs refresh", "periodic=1s", router.Policy{}, "periodic and migration refreshes need a refresh mode"},
		{"two problems", "slot-map=no,moved=rediscover", router.Policy{}, "needs refresh=blocking"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePolicy(tt.spec)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ParsePolicy(%q): %v", tt.spec, err)
				}
				if got != tt.want {
					t.Fatalf("ParsePolicy(%q) = %+v, want %+v", tt.spec, got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParsePolicy(%q) = %+v, want an error with %q", tt.spec, got, tt.err)
			}
			if !errors.Is(err, ErrBadSpec) || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParsePolicy(%q) error %q: want ErrBadSpec with %q", tt.spec, err, tt.err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("ParsePolicy(%q) error spans lines: %q", tt.spec, err)
			}
		})
	}
}

// Validation errors keep router.ErrBadPolicy in their chain.
func TestParsePolicyWrapsValidation(t *testing.T) {
	_, err := ParsePolicy("slot-map=no,moved=rediscover")
	if !errors.Is(err, router.ErrBadPolicy) || !errors.Is(err, ErrBadSpec) {
		t.Fatalf("error %v: want both ErrBadSpec and router.ErrBadPolicy", err)
	}
	// Both problems are reported, on one line.
	if !strings.Contains(err.Error(), "rediscover needs") || !strings.Contains(err.Error(), "without a slot map") {
		t.Fatalf("error %q: want both problems", err)
	}
}

// presetPolicies are the own strategies' policies by name.
var presetPolicies = map[string]router.Policy{
	"router":             RouterPolicy,
	"unaware":            UnawarePolicy,
	"stale":              StalePolicy,
	"like-redis-py":      LikeRedisPyPolicy,
	"like-ioredis":       LikeIORedisPolicy,
	"like-node-redis":    LikeNodeRedisPolicy,
	"like-jedis":         LikeJedisPolicy,
	"like-lettuce":       LikeLettucePolicy,
	"like-stackexchange": LikeStackExchangePolicy,
}

// Every preset written as a custom spec parses back to the same policy,
// and is valid.
func TestPresetsRoundTrip(t *testing.T) {
	names := slices.Sorted(maps.Keys(presetPolicies))
	for _, name := range names {
		p := presetPolicies[name]
		spec := FormatPolicy(p)
		got, err := ParsePolicy(spec)
		if err != nil {
			t.Fatalf("%s: ParsePolicy(%q): %v", name, spec, err)
		}
		if got != p {
			t.Fatalf("%s: %q parses to %+v, want %+v", name, spec, got, p)
		}
		t.Logf("%-18s custom:%s", name, spec)
	}
	// The registry's own strategies are all covered above.
	for _, name := range Names() {
		if strings.HasPrefix(name, "like-") {
			if _, ok := presetPolicies[name]; !ok {
				t.Errorf("preset %s has no round-trip entry", name)
			}
		}
	}
}

// FormatPolicy writes every knob: a policy with each field away from its
// zero value survives the round trip. A new Policy field without a custom
// key fails here.
func TestFormatPolicyCoversEveryField(t *testing.T) {
	p := router.Policy{
		NoSlotMap: true, Moved: router.MovedPatch, Refresh: router.RefreshAsync, EveryKthMoved: 3,
		Cooldown: time.Second, Trailing: true, Jitter: time.Millisecond, RefreshOnAsk: true,
		AskTwoRoundTrips: true, MaxRedirects: 7, MovedBackoff: 2 * time.Millisecond, RefreshNewConn: true,
		Periodic: time.Minute, MigrationRefresh: 100 * time.Millisecond, MigrationWindow: 3 * time.Second,
		RetryBackoff: 20 * time.Millisecond, MaxRetries: 4, PreDial: true,
	}
	v := reflect.ValueOf(p)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("test policy leaves %s at zero: set it", v.Type().Field(i).Name)
		}
	}
	spec := FormatPolicy(p)
	// Parse without Validate (this policy need not make sense as a whole).
	var got router.Policy
	for pair := range strings.SplitSeq(spec, ",") {
		key, value, _ := strings.Cut(pair, "=")
		if k := findKnob(key); k == nil || !k.set(&got, value) {
			t.Fatalf("FormatPolicy wrote %q, which does not parse", pair)
		}
	}
	if got != p {
		t.Fatalf("%q reads back as %+v, want %+v", spec, got, p)
	}
}

func TestGroupCustom(t *testing.T) {
	tests := []struct {
		in, want []string
	}{
		{[]string{"router", "stale"}, []string{"router", "stale"}},
		// A custom spec split by the flag parser is put together again.
		{[]string{"router", "custom:moved=patch", "refresh=async", "budget=5", "stale"},
			[]string{"router", "custom:moved=patch,refresh=async,budget=5", "stale"}},
		// Two custom specs in a row stay apart.
		{[]string{"custom:moved=patch", "refresh=async", "custom:moved=follow", "every=2"},
			[]string{"custom:moved=patch,refresh=async", "custom:moved=follow,every=2"}},
		// A stray key=value with no custom spec before it is left alone
		// (and then fails as an unknown strategy).
		{[]string{"refresh=async", "router"}, []string{"refresh=async", "router"}},
	}
	for _, tt := range tests {
		if got := GroupCustom(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("GroupCustom(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCustomNames(t *testing.T) {
	good := "custom:" + FormatPolicy(LikeJedisPolicy)
	if !Exists(good) || CheckName(good) != nil {
		t.Fatalf("%s: want it to exist", good)
	}
	if !Exists("like-jedis") || Exists("like-nothing") || Exists("custom:moved=sideways") {
		t.Fatal("Exists: wrong answer for a registered, an unknown or a bad custom name")
	}
	if err := CheckName("custom:moved=sideways"); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("CheckName(bad spec) = %v, want ErrBadSpec", err)
	}
	if err := CheckName("like-nothing"); !errors.Is(err, ErrUnknown) {
		t.Fatalf("CheckName(unknown) = %v, want ErrUnknown", err)
	}
	// New reports the spec's own error before it dials anything.
	if _, err := New(context.Background(), "custom:budget=x", Config{Seeds: []string{"127.0.0.1:1"}}); !errors.Is(err, ErrBadSpec) {
		t.Fatalf("New(bad spec) = %v, want ErrBadSpec", err)
	}
}
