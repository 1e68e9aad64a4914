package resp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/internal/redistest"
)

func dial(t *testing.T, addr string, opt Options) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), addr, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestConnIntegration(t *testing.T) {
	addr := redistest.StartNode(t)
	// A cluster node with every slot, so keys can be written.
	if _, err := redistest.Command(addr, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
		t.Fatal(err)
	}
	waitClusterOK(t, addr)
	c := dial(t, addr, Options{})
	ctx := context.Background()

	c.Append([]byte("SET"), []byte("cbtest:a"), []byte("hello"))
	rep, err := c.RoundTrip(ctx)
	if err != nil || rep.Kind != KindStatus || string(rep.Str) != "OK" {
		t.Fatalf("SET: %+v %v", rep, err)
	}

	// Three commands in one write, three replies in order.
	c.Append([]byte("GET"), []byte("cbtest:a"))
	c.Append([]byte("GET"), []byte("cbtest:missing"))
	c.Append([]byte("INCR"), []byte("cbtest:n"))
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, _ := c.Read(ctx); rep.Kind != KindBulk || string(rep.Str) != "hello" {
		t.Fatalf("GET a = %+v", rep)
	}
	if rep, _ := c.Read(ctx); !rep.Nil {
		t.Fatalf("GET missing = %+v, want nil", rep)
	}
	if rep, _ := c.Read(ctx); rep.Kind != KindInteger || rep.Int != 1 {
		t.Fatalf("INCR = %+v", rep)
	}

	c.AppendString("MGET", "cbtest:{t}a", "cbtest:{t}b")
	if rep, err := c.RoundTrip(ctx); err != nil || rep.Kind != KindArray || rep.Int != 2 {
		t.Fatalf("MGET = %+v %v", rep, err)
	}

	c.AppendString("NOSUCHCMD")
	rep, err = c.RoundTrip(ctx)
	if err != nil || !rep.IsError() || !strings.HasPrefix(string(rep.Str), "ERR unknown command") {
		t.Fatalf("unknown command = %+v %v", rep, err)
	}

	// The steady-state path allocates nothing.
	key, val := []byte("cbtest:b"), []byte(strings.Repeat("v", 64))
	allocs := testing.AllocsPerRun(500, func() {
		c.Append([]byte("SET"), key, val)
		c.Append([]byte("GET"), key)
		_ = c.Flush(ctx)
		_, _ = c.Read(ctx)
		_, _ = c.Read(ctx)
	})
	if allocs != 0 {
		t.Fatalf("SET+GET round trip allocates %v times, want 0", allocs)
	}
	c.AppendString("DEL", "cbtest:a", "cbtest:b", "cbtest:n")
	if _, err := c.RoundTrip(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestAuthIntegration(t *testing.T) {
	addr := redistest.StartNode(t, "--requirepass", "s3cret-pw")
	if _, err := Dial(context.Background(), addr, Options{Password: "wrong"}); err == nil {
		t.Fatal("a wrong password must fail")
	} else if strings.Contains(err.Error(), "wrong") {
		t.Fatalf("the error repeats the password: %v", err)
	}
	c := dial(t, addr, Options{Password: "s3cret-pw"})
	c.AppendString("PING")
	if rep, err := c.RoundTrip(context.Background()); err != nil || string(rep.Str) != "PONG" {
		t.Fatalf("PING after AUTH = %+v %v", rep, err)
	}
}

func waitClusterOK(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := Dial(context.Background(), addr, Options{})
		if err == nil {
			c.AppendString("CLUSTER", "INFO")
			rep, err := c.RoundTrip(context.Background())
			c.Close()
			if err == nil && strings.Contains(string(rep.Str), "cluster_state:ok") {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("cluster_state never became ok")
}

// TestReadMalformed feeds the parser replies a real server never sends.
func TestReadMalformed(t *testing.T) {
	cases := []struct {
		name, wire string
	}{
		{"no CRLF", "+OK\n"},
		{"empty line", "\r\n"},
		{"unknown type", "?x\r\n"},
		{"bad integer", ":12a\r\n"},
		{"negative bulk length", "$-5\r\n"},
		{"bulk shorter than said", "$10\r\nabc\r\n"},
		{"huge bulk", "$999999999999\r\n"},
		{"bad array count", "*x\r\n"},
		{"deep nesting", strings.Repeat("*1\r\n", 20) + ":1\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := net.Pipe()
			defer client.Close()
			go func() {
				_, _ = server.Write([]byte(tc.wire))
				server.Close()
			}()
			c := &Conn{nc: client, r: newReader(client)}
			if _, err := c.Read(context.Background()); err == nil {
				t.Fatalf("%q parsed without error", tc.wire)
			}
			if c.Broken() == nil {
				t.Fatal("a protocol error must mark the connection broken")
			}
		})
	}
}

func TestReadValueIntegration(t *testing.T) {
	addr := redistest.StartNode(t)
	c := dial(t, addr, Options{})
	ctx := context.Background()
	if _, err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", "0", "99"); err != nil {
		t.Fatal(err)
	}
	v, err := c.Do(ctx, "CLUSTER", "SLOTS")
	if err != nil {
		t.Fatal(err)
	}
	entries, ok := v.([]any)
	if !ok || len(entries) != 1 {
		t.Fatalf("CLUSTER SLOTS = %#v", v)
	}
	entry := entries[0].([]any)
	if entry[0] != int64(0) || entry[1] != int64(99) {
		t.Fatalf("slot range = %v..%v, want 0..99", entry[0], entry[1])
	}
	if _, err := c.Do(ctx, "NOSUCHCMD"); err == nil {
		t.Fatal("an error reply must come back as an error")
	} else if _, ok := err.(ReplyError); !ok {
		t.Fatalf("error reply has type %T, want ReplyError", err)
	}
}

// A reply cut off mid-batch must still time out: a Read that starts with
// part of its reply buffered keeps the deadline set when the batch was sent.
// (A real server cannot be made to stop halfway through a reply.)
func TestConnReadTimesOutOnAReplyCutOffMidBatch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		s, err := ln.Accept()
		if err != nil {
			return
		}
		defer s.Close()
		buf := make([]byte, 256)
		_, _ = s.Read(buf)
		_, _ = s.Write([]byte("+OK\r\n+O")) // the second reply stops here
		time.Sleep(5 * time.Second)
	}()
	const timeout = 300 * time.Millisecond
	c := dial(t, ln.Addr().String(), Options{ReadTimeout: timeout})
	ctx := context.Background()
	c.AppendString("PING")
	c.AppendString("PING")
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err := c.Read(ctx); err != nil || string(rep.Str) != "OK" {
		t.Fatalf("first reply = %+v, %v", rep, err)
	}
	start := time.Now()
	_, err = c.Read(ctx)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("second Read = %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("second Read gave up after %v, want about the %v timeout", waited, timeout)
	}
}

// ReadValues collects an MGET-shaped array: present and nil elements in
// order, over reused storage; a reply that is not an array adds nothing.
func TestReadValues(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	go func() {
		_, _ = server.Write([]byte("*3\r\n$3\r\nabc\r\n$-1\r\n$0\r\n\r\n-MOVED 1 127.0.0.1:7001\r\n*1\r\n$2\r\nzz\r\n"))
		server.Close()
	}()
	c := &Conn{nc: client, r: newReader(client)}
	var vals Values
	rep, err := c.ReadValues(context.Background(), &vals)
	if err != nil || rep.Kind != KindArray || rep.Int != 3 || vals.Len() != 3 {
		t.Fatalf("array: %+v, %v, %d values", rep, err, vals.Len())
	}
	for i, want := range []struct {
		s  string
		ok bool
	}{{"abc", true}, {"", false}, {"", true}} {
		if got, ok := vals.At(i); string(got) != want.s || ok != want.ok {
			t.Errorf("element %d = %q, %v; want %q, %v", i, got, ok, want.s, want.ok)
		}
	}
	vals.Reset()
	if rep, err := c.ReadValues(context.Background(), &vals); err != nil || !rep.IsError() || vals.Len() != 0 {
		t.Fatalf("error reply: %+v, %v, %d values", rep, err, vals.Len())
	}
	if _, err := c.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	if vals.Len() != 0 {
		t.Errorf("a plain Read collected %d values", vals.Len())
	}
}
