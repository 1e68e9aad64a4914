package strategy

import (
	"context"
	"errors"
	"strconv"

	"github.com/mediocregopher/radix/v4"
	"github.com/redis/go-redis/v9"
	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/internal/resp"
)

// ValueWorker is a Worker that can also hand back what a read saw, which
// the runner's --verify mode checks against the writes it knows were
// acknowledged. Every strategy's workers implement it.
type ValueWorker interface {
	Worker
	// DoValue is Do that also appends the reply's value to dst and returns
	// it: GET's value (ok false when the key does not exist) or INCR's new
	// value in decimal. For the other kinds it is Do, returning dst, false.
	// It may allocate where Do does not (the real libraries copy values).
	DoValue(ctx context.Context, req *Request, dst []byte) (Result, []byte, bool)
	// DoValues is Do for an MGET that also resets vals and fills it with
	// the values read, one per key of req.Keys in order (a key that does
	// not exist: not present). For the other kinds it is Do. After an
	// error vals means nothing.
	DoValues(ctx context.Context, req *Request, vals *resp.Values) Result
}

var (
	_ ValueWorker = (*ownWorker)(nil)
	_ ValueWorker = (*rueidisWorker)(nil)
	_ ValueWorker = (*goredisWorker)(nil)
	_ ValueWorker = (*radixWorker)(nil)
)

// hasValue reports whether DoValue returns a value for kind.
func hasValue(k OpKind) bool { return k == OpGet || k == OpIncr }

// DoValue: the transport copies the final reply into dst, so the own
// strategies stay allocation-free once dst has grown to a value's size.
func (w *ownWorker) DoValue(ctx context.Context, req *Request, dst []byte) (Result, []byte, bool) {
	if !hasValue(req.Kind) {
		return w.Do(ctx, req), dst, false
	}
	t := w.t
	t.capture, t.val, t.valOK = true, dst[:0], false
	res := w.Do(ctx, req)
	val, ok := t.val, t.valOK
	t.capture, t.val, t.valOK = false, nil, false
	if res.Err != nil {
		return res, val, false
	}
	return res, val, ok
}

// DoValues: the transport reads the final reply's elements into vals.
func (w *ownWorker) DoValues(ctx context.Context, req *Request, vals *resp.Values) Result {
	vals.Reset()
	if req.Kind != OpMGet {
		return w.Do(ctx, req)
	}
	w.t.vals = vals
	res := w.Do(ctx, req)
	w.t.vals = nil
	return res
}

// keep stores the value of a command's final reply for DoValue.
func (t *transport) keep(rep resp.Reply) {
	switch rep.Kind {
	case resp.KindBulk:
		if !rep.Nil {
			t.val, t.valOK = append(t.val, rep.Str...), true
		}
	case resp.KindInteger:
		t.val, t.valOK = strconv.AppendInt(t.val, rep.Int, 10), true
	}
}

func (w *rueidisWorker) DoValue(ctx context.Context, req *Request, dst []byte) (Result, []byte, bool) {
	b := w.c.B()
	switch req.Kind {
	case OpGet:
		v, err := w.c.Do(ctx, b.Get().Key(string(req.Key)).Build()).AsBytes()
		if rueidis.IsRedisNil(err) {
			return Result{}, dst, false
		}
		return libResult(err), append(dst, v...), err == nil
	case OpIncr:
		n, err := w.c.Do(ctx, b.Incr().Key(string(req.Key)).Build()).AsInt64()
		return libResult(err), strconv.AppendInt(dst, n, 10), err == nil
	}
	return w.Do(ctx, req), dst, false
}

func (w *rueidisWorker) DoValues(ctx context.Context, req *Request, vals *resp.Values) Result {
	vals.Reset()
	if req.Kind != OpMGet {
		return w.Do(ctx, req)
	}
	arr, err := w.c.Do(ctx, w.build(req)).ToArray()
	for _, m := range arr {
		v, err := m.AsBytes()
		vals.Append(v, err == nil)
	}
	return libResult(err)
}

func (w *goredisWorker) DoValue(ctx context.Context, req *Request, dst []byte) (Result, []byte, bool) {
	switch req.Kind {
	case OpGet:
		v, err := w.c.Get(ctx, string(req.Key)).Bytes()
		if errors.Is(err, redis.Nil) {
			return Result{}, dst, false
		}
		return libResult(err), append(dst, v...), err == nil
	case OpIncr:
		n, err := w.c.Incr(ctx, string(req.Key)).Result()
		return libResult(err), strconv.AppendInt(dst, n, 10), err == nil
	}
	return w.Do(ctx, req), dst, false
}

func (w *goredisWorker) DoValues(ctx context.Context, req *Request, vals *resp.Values) Result {
	vals.Reset()
	if req.Kind != OpMGet {
		return w.Do(ctx, req)
	}
	got, err := w.c.MGet(ctx, keyStrings(nil, req.Keys)...).Result()
	for _, v := range got {
		s, ok := v.(string)
		vals.Append([]byte(s), ok)
	}
	return libResult(err)
}

func (w *radixWorker) DoValue(ctx context.Context, req *Request, dst []byte) (Result, []byte, bool) {
	switch req.Kind {
	case OpGet:
		var v []byte
		m := radix.Maybe{Rcv: &v}
		err := w.c.Do(ctx, radix.Cmd(&m, "GET", string(req.Key)))
		if err == nil && m.Null {
			return Result{}, dst, false
		}
		return libResult(err), append(dst, v...), err == nil
	case OpIncr:
		var n int64
		err := w.c.Do(ctx, radix.Cmd(&n, "INCR", string(req.Key)))
		return libResult(err), strconv.AppendInt(dst, n, 10), err == nil
	}
	return w.Do(ctx, req), dst, false
}

func (w *radixWorker) DoValues(ctx context.Context, req *Request, vals *resp.Values) Result {
	vals.Reset()
	if req.Kind != OpMGet {
		return w.Do(ctx, req)
	}
	// A nil element decodes as a nil pointer.
	var got []*string
	w.args = keyStrings(w.args, req.Keys)
	err := w.c.Do(ctx, radix.Cmd(&got, "MGET", w.args...))
	for _, s := range got {
		if s == nil {
			vals.Append(nil, false)
		} else {
			vals.Append([]byte(*s), true)
		}
	}
	return libResult(err)
}
