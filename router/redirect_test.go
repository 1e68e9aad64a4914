package router_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/router"
)

func TestParseRedirect(t *testing.T) {
	tests := []struct {
		name string
		msg  string
		want router.Redirect
	}{
		// The shapes Redis sends.
		{name: "moved ipv4", msg: "MOVED 3999 127.0.0.1:6381",
			want: router.Redirect{Kind: router.KindMoved, Slot: 3999, Addr: "127.0.0.1:6381", Host: "127.0.0.1", Port: 6381}},
		{name: "ask ipv4", msg: "ASK 3999 127.0.0.1:6381",
			want: router.Redirect{Kind: router.KindAsk, Slot: 3999, Addr: "127.0.0.1:6381", Host: "127.0.0.1", Port: 6381}},
		// Slot 0 and the last slot are both valid.
		{name: "moved slot 0", msg: "MOVED 0 10.0.0.1:7000",
			want: router.Redirect{Kind: router.KindMoved, Slot: 0, Addr: "10.0.0.1:7000", Host: "10.0.0.1", Port: 7000}},
		{name: "moved last slot", msg: "MOVED 16383 10.0.0.1:7000",
			want: router.Redirect{Kind: router.KindMoved, Slot: 16383, Addr: "10.0.0.1:7000", Host: "10.0.0.1", Port: 7000}},
		// cluster-preferred-endpoint-type hostname.
		{name: "moved hostname", msg: "MOVED 12182 redis-2.redis.svc.cluster.local:6379",
			want: router.Redirect{Kind: router.KindMoved, Slot: 12182, Addr: "redis-2.redis.svc.cluster.local:6379", Host: "redis-2.redis.svc.cluster.local", Port: 6379}},
		// Unknown endpoint: empty host, meaning the node that replied.
		{name: "moved empty host", msg: "MOVED 3999 :6380",
			want: router.Redirect{Kind: router.KindMoved, Slot: 3999, Addr: ":6380", Host: "", Port: 6380}},
		// Redis formats IPv6 without brackets: the port follows the last colon.
		{name: "moved ipv6 bare", msg: "MOVED 1 ::1:7000",
			want: router.Redirect{Kind: router.KindMoved, Slot: 1, Addr: "::1:7000", Host: "::1", Port: 7000}},
		{name: "ask ipv6 bare long", msg: "ASK 42 2001:db8::8a2e:370:7334:6379",
			want: router.Redirect{Kind: router.KindAsk, Slot: 42, Addr: "2001:db8::8a2e:370:7334:6379", Host: "2001:db8::8a2e:370:7334", Port: 6379}},
		// Bracketed IPv6: Host loses the brackets, Addr keeps them.
		{name: "moved ipv6 bracketed", msg: "MOVED 1 [::1]:7000",
			want: router.Redirect{Kind: router.KindMoved, Slot: 1, Addr: "[::1]:7000", Host: "::1", Port: 7000}},
		// Tolerated framing: the RESP '-' and a trailing CRLF.
		{name: "leading dash", msg: "-MOVED 5 127.0.0.1:1",
			want: router.Redirect{Kind: router.KindMoved, Slot: 5, Addr: "127.0.0.1:1", Host: "127.0.0.1", Port: 1}},
		{name: "trailing crlf", msg: "-ASK 5 127.0.0.1:65535\r\n",
			want: router.Redirect{Kind: router.KindAsk, Slot: 5, Addr: "127.0.0.1:65535", Host: "127.0.0.1", Port: 65535}},

		// The back-off errors.
		{name: "tryagain", msg: "TRYAGAIN Multiple keys request during rehashing of slot", want: router.Redirect{Kind: router.KindTryAgain}},
		{name: "tryagain bare", msg: "TRYAGAIN", want: router.Redirect{Kind: router.KindTryAgain}},
		{name: "clusterdown", msg: "CLUSTERDOWN The cluster is down", want: router.Redirect{Kind: router.KindClusterDown}},
		{name: "clusterdown unbound", msg: "-CLUSTERDOWN Hash slot not served", want: router.Redirect{Kind: router.KindClusterDown}},
		{name: "loading", msg: "LOADING Redis is loading the dataset in memory", want: router.Redirect{Kind: router.KindLoading}},

		// Ordinary errors.
		{name: "empty", msg: "", want: router.Redirect{}},
		{name: "dash only", msg: "-", want: router.Redirect{}},
		{name: "err", msg: "ERR unknown command 'FOO'", want: router.Redirect{}},
		{name: "wrongtype", msg: "WRONGTYPE Operation against a key holding the wrong kind of value", want: router.Redirect{}},
		{name: "crossslot", msg: "CROSSSLOT Keys in request don't hash to the same slot", want: router.Redirect{}},
		{name: "noauth", msg: "NOAUTH Authentication required.", want: router.Redirect{}},
		{name: "readonly", msg: "READONLY You can't write against a read only replica.", want: router.Redirect{}},
		{name: "masterdown", msg: "MASTERDOWN Link with MASTER is down", want: router.Redirect{}},
		// A code must be the whole first word.
		{name: "asking is not ask", msg: "ASKING 1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "longer word", msg: "MOVEDX 1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "lower case", msg: "moved 1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "loadingx", msg: "LOADINGX", want: router.Redirect{}},

		// Malformed MOVED/ASK are not followed.
		{name: "moved bare", msg: "MOVED", want: router.Redirect{}},
		{name: "moved no addr", msg: "MOVED 3999", want: router.Redirect{}},
		{name: "moved empty addr", msg: "MOVED 3999 ", want: router.Redirect{}},
		{name: "moved slot too big", msg: "MOVED 16384 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved slot huge", msg: "MOVED 99999999999999999999999 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved negative slot", msg: "MOVED -1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved signed slot", msg: "MOVED +1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved leading zero slot", msg: "MOVED 01 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved hex slot", msg: "MOVED 0x10 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved no port", msg: "MOVED 1 127.0.0.1", want: router.Redirect{}},
		{name: "moved empty port", msg: "MOVED 1 127.0.0.1:", want: router.Redirect{}},
		{name: "moved port 0", msg: "MOVED 1 127.0.0.1:0", want: router.Redirect{}},
		{name: "moved port too big", msg: "MOVED 1 127.0.0.1:65536", want: router.Redirect{}},
		{name: "moved port text", msg: "MOVED 1 127.0.0.1:redis", want: router.Redirect{}},
		{name: "moved leading zero port", msg: "MOVED 1 127.0.0.1:07000", want: router.Redirect{}},
		{name: "moved double space", msg: "MOVED  1 127.0.0.1:7000", want: router.Redirect{}},
		{name: "moved trailing text", msg: "MOVED 1 127.0.0.1:7000 extra", want: router.Redirect{}},
		{name: "moved trailing space", msg: "MOVED 1 127.0.0.1:7000 ", want: router.Redirect{}},
		{name: "moved unbalanced bracket", msg: "MOVED 1 [::1:7000", want: router.Redirect{}},
		{name: "moved stray bracket", msg: "MOVED 1 ::1]:7000", want: router.Redirect{}},
		{name: "ask no slot", msg: "ASK 127.0.0.1:7000", want: router.Redirect{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := router.ParseRedirect(tt.msg)
			if got != tt.want {
				t.Fatalf("ParseRedirect(%q) = %+v, want %+v", tt.msg, got, tt.want)
			}
			if got.IsRedirect() != (tt.want.Kind == router.KindMoved || tt.want.Kind == router.KindAsk) {
				t.Fatalf("IsRedirect() = %v for kind %v", got.IsRedirect(), got.Kind)
			}
		})
	}
}

func TestErrorKindString(t *testing.T) {
	want := map[router.ErrorKind]string{
		router.KindOther: "other", router.KindMoved: "moved", router.KindAsk: "ask",
		router.KindTryAgain: "tryagain", router.KindClusterDown: "clusterdown", router.KindLoading: "loading",
		router.ErrorKind(200): "unknown",
	}
	for k, s := range want {
		if k.String() != s {
			t.Errorf("ErrorKind(%d).String() = %q, want %q", k, k.String(), s)
		}
	}
}

func TestParseRedirectDoesNotAllocate(t *testing.T) {
	for _, msg := range []string{
		"MOVED 3999 127.0.0.1:6381",
		"ASK 3999 [::1]:6381",
		"TRYAGAIN Multiple keys request during rehashing of slot",
		"ERR unknown command",
		"MOVED 3999 127.0.0.1:bad", // the failure paths too
		"MOVED 999999999999 127.0.0.1:6381",
	} {
		var sink router.Redirect
		if n := testing.AllocsPerRun(100, func() { sink = router.ParseRedirect(msg) }); n != 0 {
			t.Errorf("ParseRedirect(%q) allocates %v times per call", msg, n)
		}
		_ = sink
	}
}

func TestFillHost(t *testing.T) {
	tests := []struct {
		addr, from, want string
	}{
		{":6380", "127.0.0.1:6379", "127.0.0.1:6380"},        // unknown endpoint: host of the sender
		{":6380", "[::1]:6379", "[::1]:6380"},                // IPv6 sender keeps its brackets
		{":6380", "redis-0.svc:6379", "redis-0.svc:6380"},    // hostname sender
		{"10.0.0.2:6380", "127.0.0.1:6379", "10.0.0.2:6380"}, // a full address is left alone
		{":6380", "nocolon", ":6380"},                        // nothing to take the host from
		{"", "127.0.0.1:6379", ""},                           // empty stays empty
	}
	for _, tt := range tests {
		if got := router.FillHost(tt.addr, tt.from); got != tt.want {
			t.Errorf("FillHost(%q, %q) = %q, want %q", tt.addr, tt.from, got, tt.want)
		}
	}
}

func FuzzParseRedirect(f *testing.F) {
	for _, seed := range []string{
		"MOVED 3999 127.0.0.1:6381", "ASK 3999 127.0.0.1:6381", "MOVED 3999 :6380",
		"MOVED 1 ::1:7000", "MOVED 1 [::1]:7000", "-ASK 16383 host.example:65535\r\n",
		"TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down",
		"LOADING Redis is loading the dataset in memory", "ERR x", "MOVED 16384 a:1", "MOVED 1 a:0",
		"MOVED 1 [a:1", "ASK", "", "-",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r := router.ParseRedirect(msg) // must not panic
		if !r.IsRedirect() {
			if r != (router.Redirect{Kind: r.Kind}) {
				t.Fatalf("ParseRedirect(%q) = %+v: target fields set on a non-redirect", msg, r)
			}
			return
		}
		if !strings.Contains(msg, r.Addr) || !strings.Contains(msg, r.Host) {
			t.Fatalf("ParseRedirect(%q) = %+v: Addr/Host not from the message", msg, r)
		}
		if r.Slot >= router.NumSlots || r.Port < 1 || r.Port > 65535 {
			t.Fatalf("ParseRedirect(%q) = %+v: slot or port out of range", msg, r)
		}
		port := strconv.Itoa(r.Port)
		if r.Addr != r.Host+":"+port && r.Addr != "["+r.Host+"]:"+port {
			t.Fatalf("ParseRedirect(%q) = %+v: Host and Port do not rebuild Addr", msg, r)
		}
		word := "MOVED"
		if r.Kind == router.KindAsk {
			word = "ASK"
		}
		again := router.ParseRedirect(fmt.Sprintf("%s %d %s", word, r.Slot, r.Addr))
		if again != r {
			t.Fatalf("round trip of %q: %+v became %+v", msg, r, again)
		}
	})
}
