package metrics

import (
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry. Latencies are recorded in nanoseconds from 1 ns to
// 60 s with 3 significant digits: 221 KB of counts per histogram
// (hdrhistogram-go's ByteSize; TestHistogramMemory checks it).
//
// Why nanoseconds: loopback round trips are 20–100 µs. Recorded in
// microseconds (1 µs … 60 s, 139 KB) a value below 2048 µs has a resolution
// of 1 µs, which is 5% at 20 µs: only two significant digits where most
// samples are. In nanoseconds every value from 1 µs up keeps three digits
// (e.g. 85.31 µs is stored within 64 ns), for 1.6× the memory. Memory stays
// bounded: a Recorder's interval buffer holds dense histograms only for the
// (phase, op, outcome) combinations used lately and a Recorder keeps two
// buffers (≈ 2 × 6 × 221 KB for get/set with a few outcomes); the Collector
// keeps intervals in HdrHistogram's sparse form (a few KB each) and one
// dense cumulative histogram per combination seen.
const (
	HistogramLowest  = 1                       // ns
	HistogramHighest = int64(60 * time.Second) // ns; longer latencies are clamped to it
	HistogramSigFigs = 3
)

// NewHistogram returns an empty histogram with the package's geometry.
func NewHistogram() *hdr.Histogram {
	return hdr.New(HistogramLowest, HistogramHighest, HistogramSigFigs)
}

// quantileUS returns the value at quantile q (0..1, e.g. 0.999) in
// microseconds. It is the one place that converts to hdrhistogram's
// ValueAtQuantile, whose argument is a percentage (0..100).
func quantileUS(h *hdr.Histogram, q float64) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return nsToUS(h.ValueAtQuantile(q * 100))
}

// maxUS returns the largest recorded value in microseconds.
func maxUS(h *hdr.Histogram) float64 {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return nsToUS(h.Max())
}

func nsToUS(ns int64) float64 { return float64(ns) / 1e3 }

// Latency is the percentile set reported everywhere, in microseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// LatencyOf reads the reported percentiles of h (zero for an empty or nil histogram).
func LatencyOf(h *hdr.Histogram) Latency {
	return Latency{
		P50:  quantileUS(h, 0.50),
		P90:  quantileUS(h, 0.90),
		P99:  quantileUS(h, 0.99),
		P999: quantileUS(h, 0.999),
		Max:  maxUS(h),
	}
}

// clampNS converts a latency for recording: negative becomes 0 and anything
// beyond HistogramHighest becomes HistogramHighest (clamped reports that).
func clampNS(d time.Duration) (v int64, clamped bool) {
	switch {
	case d < 0:
		return 0, false
	case int64(d) > HistogramHighest:
		return HistogramHighest, true
	}
	return int64(d), false
}

// round3 rounds to three decimals, so that rates print and round-trip
// through CSV/JSON without 17-digit tails.
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// encode returns h's V2 compressed base64 encoding, nil when empty.
func encode(h *hdr.Histogram) []byte {
	if h.TotalCount() == 0 {
		return nil
	}
	b, err := h.Encode(hdr.V2CompressedEncodingCookieBase)
	if err != nil {
		panic("metrics: encoding a histogram: " + err.Error())
	}
	return b
}
