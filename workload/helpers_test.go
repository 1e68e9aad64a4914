package workload

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// slotOf is a tiny CRC16-XMODEM with Redis Cluster's hash-tag rule, so the
// tests can check slot spread without importing router.
func slotOf(key []byte) uint16 {
	if i := bytes.IndexByte(key, '{'); i >= 0 {
		if j := bytes.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for _, b := range key {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc % 16384
}

func TestSlotOfGolden(t *testing.T) {
	// Values from CLUSTER KEYSLOT (STYLE.md's golden vectors).
	for key, want := range map[string]uint16{
		"somekey": 11058, "foo{hash_tag}": 2515, "foo": 12182, "{}foo": 9500, "{user1000}.following": 3443,
	} {
		if got := slotOf([]byte(key)); got != want {
			t.Errorf("slotOf(%q) = %d, want %d", key, got, want)
		}
	}
}

// wantFieldError checks that err is a *FieldError for field whose message
// contains every fragment.
func wantFieldError(t *testing.T, err error, field string, fragments ...string) {
	t.Helper()
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v (%T) is not a *FieldError", err, err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("error %v does not wrap ErrInvalid", err)
	}
	if fe.Field != field {
		t.Errorf("error %q names field %q, want %q", err, fe.Field, field)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not contain %q", err, f)
		}
	}
}

// counts draws n values from d and returns how often each index came up.
func counts(d Distribution, r *Rand, keys uint64, n int) []int {
	c := make([]int, keys)
	for range n {
		c[d.Next(r)]++
	}
	return c
}
