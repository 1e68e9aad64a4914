package workload

import (
	"strconv"
	"strings"
)

// ValueSize is the --value-size setting: values are Min..Max bytes long,
// uniform in the range (Min == Max for a fixed size).
type ValueSize struct{ Min, Max int }

// ParseValueSize parses a --value-size value: a byte count "64" or an
// inclusive range "32-512".
func ParseValueSize(s string) (ValueSize, error) {
	lo, hi, isRange := strings.Cut(strings.TrimSpace(s), "-")
	a, err1 := strconv.Atoi(strings.TrimSpace(lo))
	b, err2 := a, error(nil)
	if isRange {
		b, err2 = strconv.Atoi(strings.TrimSpace(hi))
	}
	if err1 != nil || err2 != nil {
		return ValueSize{}, fieldErr("value-size", "%q: use a byte count (64) or a range (32-512)", s)
	}
	v := ValueSize{Min: a, Max: b}
	if err := v.validate(); err != nil {
		return ValueSize{}, err
	}
	return v, nil
}

func (v ValueSize) validate() error {
	if v.Min < 1 || v.Max > MaxValueSize {
		return fieldErr("value-size", "%s out of range: use sizes from 1 to %d bytes", v, MaxValueSize)
	}
	if v.Min > v.Max {
		return fieldErr("value-size", "%s is an empty range: put the smaller size first, e.g. 32-512", v)
	}
	return nil
}

func (v ValueSize) String() string {
	if v.Min == v.Max {
		return strconv.Itoa(v.Min)
	}
	return strconv.Itoa(v.Min) + "-" + strconv.Itoa(v.Max)
}

// MarshalText makes ValueSize its string form in YAML and JSON.
func (v ValueSize) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// UnmarshalText parses like ParseValueSize.
func (v *ValueSize) UnmarshalText(b []byte) error {
	p, err := ParseValueSize(string(b))
	if err == nil {
		*v = p
	}
	return err
}

// valueSlack is how far past Max the value buffer goes, so values start at
// different offsets and are not all the same bytes.
const valueSlack = 1024

const valueAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newValueBuffer returns the shared read-only buffer values are cut from:
// printable, deterministic for the seed, Max+valueSlack bytes.
func newValueBuffer(seed uint64, max int) []byte {
	r := NewRand(seed, valueBufferStream)
	b := make([]byte, max+valueSlack)
	for i := range b {
		b[i] = valueAlphabet[r.Uint64n(uint64(len(valueAlphabet)))]
	}
	return b
}
