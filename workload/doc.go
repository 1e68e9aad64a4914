// Package workload generates what clusterbench sends: which key, which
// command, which value, and when.
//
// It owns the key distributions (uniform, scrambled zipfian, hotspot,
// sequential, latest, gaussian), the key format with optional hash-tag groups,
// value sizes, the op mix, and the arrival schedules of open-loop runs.
//
// Everything is deterministic for a seed: a Workload built from a Config hands
// out one Generator per worker, and the Generator of worker w produces the
// same op/key stream for the same (seed, w) whatever the caller does with it,
// so every client strategy is measured against exactly the same requests.
// Generators append into caller buffers and allocate nothing per op.
//
// It imports no other clusterbench package.
package workload

import (
	"errors"
	"fmt"
)

// Defaults of the CLI flags (see DESIGN.md's CLI contract).
const (
	DefaultDist      = DistUniform
	DefaultKeys      = 100_000
	DefaultPrefix    = "cb"
	DefaultTagGroup  = 0
	DefaultZipfTheta = 0.99
	DefaultHotKeys   = 0.2 // --hot 0.2:0.8: 20% of the keys ...
	DefaultHotOps    = 0.8 // ... get 80% of the ops
	DefaultValueSize = 64
	DefaultMix       = "get:80,set:20"
	DefaultSeed      = 1
)

// Limits enforced by Validate and the parsers.
const (
	// MaxKeys bounds the keyspace.
	MaxKeys = 1_000_000_000
	// MaxZipfKeys bounds the keyspace of zipf and latest, which sum ζ over
	// every key once at construction (about 4 s at this size; see NewZipfian).
	MaxZipfKeys = 100_000_000
	// MaxValueSize bounds --value-size; larger values measure the network
	// rather than the cluster.
	MaxValueSize = 16 << 20
	// MaxRate bounds --rate: beyond 10^9 ops/s ops would be less than 1ns apart.
	MaxRate = 1e9
)

// ErrInvalid is wrapped by every error about bad input (a Config field or a
// CLI string); the concrete error is a *FieldError.
var ErrInvalid = errors.New("workload: invalid input")

// FieldError is one problem with one setting. Its message names the setting
// as the CLI flag (and YAML key) spells it, what is wrong, and the fix.
type FieldError struct {
	Field string // flag / YAML key, e.g. "zipf-theta"
	Msg   string // e.g. "1.5 out of range: use a value in (0,1)"
}

func (e *FieldError) Error() string { return "workload: " + e.Field + " " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
