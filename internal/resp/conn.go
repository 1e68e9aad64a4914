// Package resp is a minimal, synchronous RESP2 client connection for the
// measured hot path.
//
// clusterbench's own strategies give every worker one connection per node and
// do the write and the read in the worker's goroutine, as redis-benchmark and
// memtier do. That keeps a measured latency free of goroutine hand-offs,
// lets a strategy decide exactly what goes into one write (ASKING and the
// command together, or as two round trips), and allocates nothing per
// operation: commands are encoded from byte slices into a reused buffer and
// replies are read into a reused buffer. Administrative traffic (topology,
// migration) uses rueidis instead; this package only does what the hot path
// needs.
package resp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// Errors returned by the package.
var (
	ErrProtocol = errors.New("resp: protocol error")
	ErrTooLarge = errors.New("resp: reply too large")
)

// maxBulk bounds a bulk reply so a corrupt length cannot make us allocate
// gigabytes.
const maxBulk = 512 << 20

// Kind is the type of a reply.
type Kind byte

// Reply kinds, named after their RESP2 type bytes.
const (
	KindStatus  Kind = '+'
	KindError   Kind = '-'
	KindInteger Kind = ':'
	KindBulk    Kind = '$'
	KindArray   Kind = '*'
)

// Reply is one decoded reply. Str aliases the connection's buffer and is
// valid only until the next read on the same connection.
type Reply struct {
	Kind Kind
	Int  int64  // integer value, or the element count of an array (-1: nil)
	Str  []byte // status text, error text (without '-'), bulk value
	Nil  bool   // a nil bulk string or nil array
}

// IsError reports whether the reply is an error reply.
func (r Reply) IsError() bool { return r.Kind == KindError }

// Options configure a connection.
type Options struct {
	Username, Password string
	TLS                *tls.Config
	DialTimeout        time.Duration // default 2s
	// ReadTimeout bounds each reply (an op times out after between half of
	// it and all of it: the deadline is re-armed only when half has run
	// out); 0 means only the context's deadline applies.
	ReadTimeout time.Duration
}

// Conn is one RESP2 connection. It is not safe for concurrent use: each
// worker owns its connections.
type Conn struct {
	addr string
	nc   net.Conn
	w    []byte // pending, not yet flushed commands
	r    *bufio.Reader
	buf  []byte // reused storage for bulk replies
	opt  Options
	// deadline is the one last set on nc (zero: none).
	deadline time.Time
	// broken is set after an I/O or protocol error: the stream position is
	// unknown, so the connection must not be reused.
	broken error
	// vals collects an array reply's elements during ReadValues.
	vals *Values
}

// Dial opens a connection to addr and authenticates when a password is set.
func Dial(ctx context.Context, addr string, opt Options) (*Conn, error) {
	if opt.DialTimeout <= 0 {
		opt.DialTimeout = 2 * time.Second
	}
	d := net.Dialer{Timeout: opt.DialTimeout}
	var nc net.Conn
	var err error
	if opt.TLS != nil {
		td := tls.Dialer{NetDialer: &d, Config: opt.TLS}
		nc, err = td.DialContext(ctx, "tcp", addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c := &Conn{addr: addr, nc: nc, r: newReader(nc), w: make([]byte, 0, 4096), opt: opt}
	if opt.Password != "" {
		if err := c.auth(ctx); err != nil {
			nc.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *Conn) auth(ctx context.Context) error {
	if c.opt.Username != "" {
		c.Append([]byte("AUTH"), []byte(c.opt.Username), []byte(c.opt.Password))
	} else {
		c.Append([]byte("AUTH"), []byte(c.opt.Password))
	}
	rep, err := c.RoundTrip(ctx)
	if err != nil {
		return err
	}
	if rep.IsError() {
		// The server's text never contains the password; keep it out of errors anyway.
		return fmt.Errorf("resp: AUTH on %s refused: %s", c.addr, rep.Str)
	}
	return nil
}

// Addr returns the address the connection was dialled to.
func (c *Conn) Addr() string { return c.addr }

// Broken returns the error that made the connection unusable, or nil.
func (c *Conn) Broken() error { return c.broken }

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// Append encodes one command into the pending write buffer. Nothing is sent
// until Flush (or RoundTrip).
func (c *Conn) Append(args ...[]byte) { c.w = appendCommand(c.w, args) }

// AppendString is Append for string arguments (setup commands, not the hot path).
func (c *Conn) AppendString(args ...string) { c.w = appendCommand(c.w, args) }

// appendCommand encodes args as a RESP array of bulk strings.
func appendCommand[T string | []byte](w []byte, args []T) []byte {
	w = append(w, '*')
	w = strconv.AppendInt(w, int64(len(args)), 10)
	w = append(w, '\r', '\n')
	for _, a := range args {
		w = append(w, '$')
		w = strconv.AppendInt(w, int64(len(a)), 10)
		w = append(w, '\r', '\n')
		w = append(w, a...)
		w = append(w, '\r', '\n')
	}
	return w
}

// Flush writes every pending command in one write.
func (c *Conn) Flush(ctx context.Context) error {
	if c.broken != nil {
		return c.broken
	}
	if len(c.w) == 0 {
		return nil
	}
	c.setDeadline(ctx)
	_, err := c.nc.Write(c.w)
	c.w = c.w[:0]
	if err != nil {
		c.broken = err
	}
	return err
}

// RoundTrip flushes the pending commands and reads one reply.
func (c *Conn) RoundTrip(ctx context.Context) (Reply, error) {
	if err := c.Flush(ctx); err != nil {
		return Reply{}, err
	}
	return c.Read(ctx)
}

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

func (c *Conn) setDeadline(ctx context.Context) {
	var d time.Time
	if dl, ok := ctx.Deadline(); ok {
		d = dl
	}
	if c.opt.ReadTimeout > 0 {
		now := time.Now()
		t := now.Add(c.opt.ReadTimeout)
		if d.IsZero() || t.Before(d) {
			// Re-arming the deadline on every op costs a runtime timer
			// update per read and write; re-arm only when less than half
			// the timeout is left, so an op times out after between half
			// the timeout and all of it.
			if c.deadline.Sub(now) > c.opt.ReadTimeout/2 && (d.IsZero() || !c.deadline.After(d)) {
				return
			}
			d = t
		}
	}
	if d.Equal(c.deadline) {
		return
	}
	c.deadline = d
	_ = c.nc.SetDeadline(d)
}

// Read reads one reply. An array reply is read whole: its elements are
// consumed and discarded (Int holds the count), which is all a load
// generator needs for MGET. A bulk reply's bytes alias an internal buffer.
func (c *Conn) Read(ctx context.Context) (Reply, error) {
	if c.broken != nil {
		return Reply{}, c.broken
	}
	// A reply already buffered (the rest of a pipelined batch) needs no
	// fresh deadline: the one set when the batch was sent still bounds
	// any read it takes to finish it.
	if c.r.Buffered() == 0 && (c.opt.ReadTimeout > 0 || hasDeadline(ctx)) {
		c.setDeadline(ctx)
	}
	rep, err := c.read(0)
	if err != nil {
		c.broken = err
	}
	return rep, err
}

// Values holds the elements of an array reply of bulk strings, as
// ReadValues fills it: element i is Buf[Ends[i-1]:Ends[i]] (from 0 for
// the first), and Present[i] is false for a nil element. Its slices are
// reused from one reply to the next.
type Values struct {
	Buf     []byte
	Ends    []int
	Present []bool
}

// Append adds an element (present false: a nil one, b ignored).
func (v *Values) Append(b []byte, present bool) {
	if present {
		v.Buf = append(v.Buf, b...)
	}
	v.Ends, v.Present = append(v.Ends, len(v.Buf)), append(v.Present, present)
}

// Reset empties v, keeping its storage.
func (v *Values) Reset() { v.Buf, v.Ends, v.Present = v.Buf[:0], v.Ends[:0], v.Present[:0] }

// Len is the number of elements in v.
func (v *Values) Len() int { return len(v.Ends) }

// At returns element i and whether it was present (not nil).
func (v *Values) At(i int) ([]byte, bool) {
	from := 0
	if i > 0 {
		from = v.Ends[i-1]
	}
	return v.Buf[from:v.Ends[i]], v.Present[i]
}

// ReadValues is Read that also appends to vals the elements of an array
// reply (MGET's): bulk strings, nil ones as absent. Other replies leave
// vals as they were. It allocates only while vals grows.
func (c *Conn) ReadValues(ctx context.Context, vals *Values) (Reply, error) {
	c.vals = vals
	rep, err := c.Read(ctx)
	c.vals = nil
	return rep, err
}

func (c *Conn) read(depth int) (Reply, error) {
	line, err := c.line()
	if err != nil {
		return Reply{}, err
	}
	if len(line) == 0 {
		return Reply{}, ErrProtocol
	}
	kind, body := Kind(line[0]), line[1:]
	switch kind {
	case KindStatus, KindError:
		c.buf = append(c.buf[:0], body...)
		return Reply{Kind: kind, Str: c.buf}, nil
	case KindInteger:
		n, ok := parseInt(body)
		if !ok {
			return Reply{}, ErrProtocol
		}
		return Reply{Kind: kind, Int: n}, nil
	case KindBulk:
		n, ok := parseInt(body)
		if !ok || n < -1 {
			return Reply{}, ErrProtocol
		}
		if n == -1 {
			if depth == 1 && c.vals != nil {
				c.vals.Append(nil, false)
			}
			return Reply{Kind: kind, Int: -1, Nil: true}, nil
		}
		if n > maxBulk {
			return Reply{}, ErrTooLarge
		}
		if cap(c.buf) < int(n)+2 {
			c.buf = make([]byte, int(n)+2)
		}
		b := c.buf[:n+2]
		if _, err := io.ReadFull(c.r, b); err != nil {
			return Reply{}, err
		}
		if depth == 1 && c.vals != nil {
			c.vals.Append(b[:n], true)
		}
		return Reply{Kind: kind, Int: n, Str: b[:n]}, nil
	case KindArray:
		n, ok := parseInt(body)
		if !ok || n < -1 || depth > 8 {
			return Reply{}, ErrProtocol
		}
		if n == -1 {
			return Reply{Kind: kind, Int: -1, Nil: true}, nil
		}
		for i := int64(0); i < n; i++ {
			if _, err := c.read(depth + 1); err != nil {
				return Reply{}, err
			}
		}
		return Reply{Kind: kind, Int: n}, nil
	}
	return Reply{}, ErrProtocol
}

// line returns the next CRLF-terminated line without the CRLF. The slice
// aliases the reader's buffer and is valid until the next read.
func (c *Conn) line() ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, ErrProtocol
	}
	return line[:len(line)-2], nil
}

// parseInt parses a signed decimal without allocating.
func parseInt(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	if b[0] == '-' {
		neg, b = true, b[1:]
		if len(b) == 0 {
			return 0, false
		}
	}
	var n int64
	for _, ch := range b {
		if ch < '0' || ch > '9' || n > (1<<62)/10 {
			return 0, false
		}
		n = n*10 + int64(ch-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 32<<10) }

// ReplyError is an error reply decoded by ReadValue.
type ReplyError string

func (e ReplyError) Error() string { return string(e) }

// ReadValue reads one reply as a generic tree, allocating: status and bulk
// replies become string, integers int64, arrays []any, nil nil, and error
// replies ReplyError values inside the tree. It is for topology and
// administration replies (CLUSTER SHARDS), never the measured path.
func (c *Conn) ReadValue(ctx context.Context) (any, error) {
	if c.broken != nil {
		return nil, c.broken
	}
	c.setDeadline(ctx)
	v, err := c.readValue(0)
	if err != nil {
		c.broken = err
	}
	return v, err
}

func (c *Conn) readValue(depth int) (any, error) {
	line, err := c.line()
	if err != nil {
		return nil, err
	}
	if len(line) == 0 {
		return nil, ErrProtocol
	}
	body := line[1:]
	switch Kind(line[0]) {
	case KindStatus:
		return string(body), nil
	case KindError:
		return ReplyError(body), nil
	case KindInteger:
		n, ok := parseInt(body)
		if !ok {
			return nil, ErrProtocol
		}
		return n, nil
	case KindBulk:
		n, ok := parseInt(body)
		if !ok || n < -1 {
			return nil, ErrProtocol
		}
		if n == -1 {
			return nil, nil
		}
		if n > maxBulk {
			return nil, ErrTooLarge
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return nil, err
		}
		return string(b[:n]), nil
	case KindArray:
		n, ok := parseInt(body)
		if !ok || n < -1 || depth > 8 {
			return nil, ErrProtocol
		}
		if n == -1 {
			return nil, nil
		}
		out := make([]any, 0, min(n, 1024))
		for i := int64(0); i < n; i++ {
			v, err := c.readValue(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, ErrProtocol
}

// Do sends one command given as strings and reads the reply as a tree; an
// error reply is returned as a ReplyError error. For set-up and topology.
func (c *Conn) Do(ctx context.Context, args ...string) (any, error) {
	c.AppendString(args...)
	if err := c.Flush(ctx); err != nil {
		return nil, err
	}
	v, err := c.ReadValue(ctx)
	if err != nil {
		return nil, err
	}
	if e, ok := v.(ReplyError); ok {
		return nil, e
	}
	return v, nil
}
