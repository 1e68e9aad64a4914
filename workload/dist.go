package workload

import (
	"math"
	"strconv"
	"strings"
)

// Distribution picks key indexes in [0, Keys). Implementations keep their
// randomness in the caller's Rand. The stateless ones (Uniform,
// ScrambledZipfian, Hotspot, Gaussian) may be shared by goroutines that each
// pass their own Rand; Sequential and Latest hold a position and are per worker.
type Distribution interface {
	Next(r *Rand) uint64
}

// Dist names a key distribution (--dist).
type Dist uint8

// The distributions; the CLI names are in String.
const (
	DistUniform    Dist = iota // every key equally likely
	DistZipf                   // scrambled zipfian: a few hot keys spread over the keyspace
	DistHotspot                // a fraction of the keys gets a fraction of the ops
	DistSequential             // 0, 1, 2, ... wrapping around
	DistLatest                 // zipfian over the distance from the most recently written key
	DistGaussian               // normal around the middle of the keyspace
	numDists
)

var distNames = [numDists]string{"uniform", "zipf", "hotspot", "sequential", "latest", "gaussian"}

func (d Dist) String() string {
	if d < numDists {
		return distNames[d]
	}
	return "Dist(" + strconv.Itoa(int(d)) + ")"
}

// ParseDist parses a --dist value: uniform, zipf (or zipfian), hotspot,
// sequential, latest, gaussian (or normal); case-insensitive.
func ParseDist(s string) (Dist, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch name {
	case "zipfian":
		return DistZipf, nil
	case "normal":
		return DistGaussian, nil
	}
	for d, n := range distNames {
		if n == name {
			return Dist(d), nil
		}
	}
	return 0, fieldErr("dist", "%q unknown: use one of %s", s, strings.Join(distNames[:], ", "))
}

// MarshalText makes Dist a plain string in YAML and JSON.
func (d Dist) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText parses like ParseDist.
func (d *Dist) UnmarshalText(b []byte) error {
	v, err := ParseDist(string(b))
	if err == nil {
		*d = v
	}
	return err
}

// Uniform draws every key with probability 1/n.
type Uniform struct{ n uint64 }

var _ Distribution = (*Uniform)(nil)

// NewUniform returns a uniform distribution over [0, n). It panics if n is 0
// (Config.Validate reports that first).
func NewUniform(n uint64) *Uniform {
	mustKeys(n)
	return &Uniform{n: n}
}

func (u *Uniform) Next(r *Rand) uint64 { return r.Uint64n(u.n) }

// Sequential returns start, start+1, ..., n-1, 0, 1, ... without randomness.
type Sequential struct{ n, next uint64 }

var _ Distribution = (*Sequential)(nil)

// NewSequential returns a sequential scan of [0, n) from start (mod n).
// It panics if n is 0.
func NewSequential(n, start uint64) *Sequential {
	mustKeys(n)
	return &Sequential{n: n, next: start % n}
}

func (s *Sequential) Next(*Rand) uint64 {
	v := s.next
	s.next++
	if s.next == s.n {
		s.next = 0
	}
	return v
}

// Hotspot sends a fraction of the ops to a hot set made of a fraction of the
// keys, and the rest uniformly to the other keys (YCSB's hotspot).
//
// The hot set is the contiguous range [0, HotKeys()), as in YCSB. Scattering
// it over the indexes would buy nothing: a key's slot is the CRC16 of its
// text, so consecutive indexes already land in unrelated slots (and with
// --tag-group N the hot set covers HotKeys()/N groups, each its own slot).
// A contiguous set keeps it easy to name: keys 0..HotKeys()-1.
type Hotspot struct {
	n, hot uint64
	ops    float64
}

var _ Distribution = (*Hotspot)(nil)

// NewHotspot returns a hotspot distribution over [0, n): a keys fraction of
// the keys (rounded, at least 1 and, when n > 1, at most n-1) gets an ops
// fraction of the draws. It panics if n is 0 or a fraction is outside
// Hot.Validate's ranges.
func NewHotspot(n uint64, h Hot) *Hotspot {
	mustKeys(n)
	if err := h.validate(); err != nil {
		panic(err)
	}
	hot := uint64(math.Round(h.Keys * float64(n)))
	hot = max(hot, 1)
	if n > 1 {
		hot = min(hot, n-1)
	}
	return &Hotspot{n: n, hot: hot, ops: h.Ops}
}

// HotKeys returns the size of the hot set [0, HotKeys()).
func (h *Hotspot) HotKeys() uint64 { return h.hot }

func (h *Hotspot) Next(r *Rand) uint64 {
	if h.hot == h.n {
		return r.Uint64n(h.n)
	}
	if r.Float64() < h.ops {
		return r.Uint64n(h.hot)
	}
	return h.hot + r.Uint64n(h.n-h.hot)
}

// Hot is the --hot setting "KEYS:OPS": the fraction of the keys that is hot
// and the fraction of the ops they get, e.g. 0.2:0.8.
type Hot struct {
	Keys float64 // in (0, 1)
	Ops  float64 // in [0, 1]
}

// ParseHot parses "KEYS:OPS", e.g. "0.2:0.8" (20% of the keys get 80% of the ops).
func ParseHot(s string) (Hot, error) {
	k, o, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Hot{}, fieldErr("hot", "%q: use KEYS:OPS fractions, e.g. 0.2:0.8 (20%% of the keys get 80%% of the ops)", s)
	}
	var h Hot
	var err1, err2 error
	h.Keys, err1 = strconv.ParseFloat(strings.TrimSpace(k), 64)
	h.Ops, err2 = strconv.ParseFloat(strings.TrimSpace(o), 64)
	if err1 != nil || err2 != nil {
		return Hot{}, fieldErr("hot", "%q: both parts must be numbers, e.g. 0.2:0.8", s)
	}
	if err := h.validate(); err != nil {
		return Hot{}, err
	}
	return h, nil
}

func (h Hot) validate() error {
	if !(h.Keys > 0 && h.Keys < 1) {
		return fieldErr("hot", "%s: the keys fraction must be in (0,1), e.g. 0.2:0.8", h)
	}
	if !(h.Ops >= 0 && h.Ops <= 1) {
		return fieldErr("hot", "%s: the ops fraction must be in [0,1], e.g. 0.2:0.8", h)
	}
	return nil
}

func (h Hot) String() string {
	return strconv.FormatFloat(h.Keys, 'g', -1, 64) + ":" + strconv.FormatFloat(h.Ops, 'g', -1, 64)
}

// MarshalText makes Hot the string "KEYS:OPS" in YAML and JSON.
func (h Hot) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText parses like ParseHot.
func (h *Hot) UnmarshalText(b []byte) error {
	v, err := ParseHot(string(b))
	if err == nil {
		*h = v
	}
	return err
}

// Gaussian draws round(mean + stddev·N(0,1)), clamped to [0, n-1]. The
// clamping puts the tails' mass on the first and last key (about 0.13% each
// with the default stddev n/6).
type Gaussian struct {
	n            uint64
	mean, stddev float64
}

var _ Distribution = (*Gaussian)(nil)

// NewGaussian returns a gaussian distribution over [0, n). Config uses
// mean n/2 and stddev n/6. It panics if n is 0 or stddev is negative or not finite.
func NewGaussian(n uint64, mean, stddev float64) *Gaussian {
	mustKeys(n)
	if !(stddev >= 0) || math.IsInf(stddev, 0) || math.IsNaN(mean) || math.IsInf(mean, 0) {
		panic("workload: NewGaussian: mean and stddev must be finite, stddev >= 0")
	}
	return &Gaussian{n: n, mean: mean, stddev: stddev}
}

func (g *Gaussian) Next(r *Rand) uint64 {
	x := math.Round(g.mean + g.stddev*r.NormFloat64())
	if x <= 0 {
		return 0
	}
	if x >= float64(g.n-1) {
		return g.n - 1
	}
	return uint64(x)
}

func mustKeys(n uint64) {
	if n == 0 {
		panic("workload: a keyspace needs at least 1 key")
	}
}
