package workload

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Op is a Redis command the workload issues.
type Op uint8

// The ops, by their --mix names.
const (
	OpGet  Op = iota // GET key
	OpSet            // SET key value
	OpDel            // DEL key
	OpIncr           // INCR counter-key (see KeySpace: counters are their own key family)
	OpMGet           // MGET over one tag group
	OpMSet           // MSET over one tag group, one Value per key
	NumOps
)

var opNames = [NumOps]string{"get", "set", "del", "incr", "mget", "mset"}

func (o Op) String() string {
	if o < NumOps {
		return opNames[o]
	}
	return "Op(" + strconv.Itoa(int(o)) + ")"
}

// Multi reports whether o works on a whole tag group (mget, mset).
func (o Op) Multi() bool { return o == OpMGet || o == OpMSet }

// Writes reports whether o creates or overwrites data (set, mset, incr); the
// latest distribution inserts at these.
func (o Op) Writes() bool { return o == OpSet || o == OpMSet || o == OpIncr }

// ParseOp parses an op name (case-insensitive).
func ParseOp(s string) (Op, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	for i, n := range opNames {
		if n == s {
			return Op(i), true
		}
	}
	return 0, false
}

// Mix is the op mix: a weight per op, indexed by Op. An op is drawn with
// probability weight/Total.
type Mix [NumOps]uint32

// ParseMix parses a --mix value, "op:weight" entries separated by commas,
// e.g. "get:80,set:20". Weights are non-negative integers and need not sum
// to 100; every op at most once; at least one weight > 0.
func ParseMix(s string) (Mix, error) {
	var m Mix
	var seen [NumOps]bool
	if strings.TrimSpace(s) == "" {
		return m, fieldErr("mix", "is empty: use op:weight entries, e.g. get:80,set:20")
	}
	for entry := range strings.SplitSeq(s, ",") {
		name, weight, ok := strings.Cut(entry, ":")
		if !ok {
			return Mix{}, fieldErr("mix", "%q: entry %q is not op:weight, e.g. get:80,set:20", s, strings.TrimSpace(entry))
		}
		op, ok := ParseOp(name)
		if !ok {
			return Mix{}, fieldErr("mix", "%q: unknown op %q: use %s", s, strings.TrimSpace(name), strings.Join(opNames[:], ", "))
		}
		w, err := strconv.ParseUint(strings.TrimSpace(weight), 10, 32)
		if errors.Is(err, strconv.ErrRange) {
			return Mix{}, fieldErr("mix", "%q: weight %s too large: use at most %d", s, strings.TrimSpace(weight), uint32(math.MaxUint32))
		}
		if err != nil {
			return Mix{}, fieldErr("mix", "%q: weight must be a non-negative integer, e.g. get:80,set:20", s)
		}
		if seen[op] {
			return Mix{}, fieldErr("mix", "%q: op %s is listed twice: give each op once", s, op)
		}
		seen[op] = true
		m[op] = uint32(w)
	}
	if m.Total() == 0 {
		return Mix{}, fieldErr("mix", "%q: all weights are 0: give at least one op a weight > 0", s)
	}
	return m, nil
}

// Total returns the sum of the weights.
func (m Mix) Total() uint64 {
	var t uint64
	for _, w := range m {
		t += uint64(w)
	}
	return t
}

// Uses reports whether op has a weight > 0.
func (m Mix) Uses(op Op) bool { return op < NumOps && m[op] > 0 }

// String returns the canonical form, ops in Op order, zero weights left out:
// "get:80,set:20". ParseMix(m.String()) == m for any valid m.
func (m Mix) String() string {
	var b []byte
	for op, w := range m {
		if w == 0 {
			continue
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, opNames[op]...)
		b = append(b, ':')
		b = strconv.AppendUint(b, uint64(w), 10)
	}
	return string(b)
}

// MarshalText makes Mix its string form in YAML and JSON.
func (m Mix) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText parses like ParseMix.
func (m *Mix) UnmarshalText(b []byte) error {
	v, err := ParseMix(string(b))
	if err == nil {
		*m = v
	}
	return err
}

// mixTable draws ops by weight: a cumulative table over the ops with a
// weight > 0, scanned linearly (at most NumOps entries).
type mixTable struct {
	ops   [NumOps]Op
	cum   [NumOps]uint64 // cum[i] = sum of the weights of ops[0..i]
	n     int
	total uint64
}

func newMixTable(m Mix) mixTable {
	var t mixTable
	for op, w := range m {
		if w == 0 {
			continue
		}
		t.total += uint64(w)
		t.ops[t.n], t.cum[t.n] = Op(op), t.total
		t.n++
	}
	return t
}

// pick draws an op; a mix of one op draws no random number.
func (t *mixTable) pick(r *Rand) Op {
	if t.n == 1 {
		return t.ops[0]
	}
	x := r.Uint64n(t.total)
	for i := 0; i < t.n-1; i++ {
		if x < t.cum[i] {
			return t.ops[i]
		}
	}
	return t.ops[t.n-1]
}
