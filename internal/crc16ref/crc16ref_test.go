package crc16ref

import (
	"math/rand/v2"
	"testing"
)

func TestChecksumGolden(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"", 0x0000},          // nothing hashed: the initial value
		{"123456789", 0x31C3}, // the catalogue check value of CRC-16/XMODEM
		{"A", 0x58E5},         // a single byte
	}
	for _, tt := range tests {
		if got := Checksum([]byte(tt.in)); got != tt.want {
			t.Errorf("Checksum(%q) = %#04x, want %#04x", tt.in, got, tt.want)
		}
		if got := Bitwise([]byte(tt.in)); got != tt.want {
			t.Errorf("Bitwise(%q) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}

// The table must agree with the bit-by-bit definition on any input.
func TestChecksumMatchesBitwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 512)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := range len(buf) + 1 {
		if got, want := Checksum(buf[:n]), Bitwise(buf[:n]); got != want {
			t.Fatalf("len %d: Checksum = %#04x, Bitwise = %#04x", n, got, want)
		}
	}
}

func TestSlot(t *testing.T) {
	// Every want is what CLUSTER KEYSLOT answered on redis-server 7.0.15.
	tests := []struct {
		key  string
		want uint16
	}{
		{key: "somekey", want: 11058},             // no braces
		{key: "foo{hash_tag}", want: 2515},        // the tag "hash_tag" is hashed
		{key: "{}foo", want: 9500},                // an empty tag does not count: the whole key
		{key: "{user1000}.following", want: 3443}, // the tag "user1000"
		{key: "{user1000}.followers", want: 3443}, // same tag, same slot
		{key: "{a", want: 10276},                  // no closing brace: the whole key
		{key: "{{}}", want: 4092},                 // the tag "{"
		{key: "}{a}", want: 15495},                // a '}' before the '{' means nothing: the tag "a"
		{key: "", want: 0},                        // nothing hashed
	}
	for _, tt := range tests {
		if got := Slot([]byte(tt.key)); got != tt.want {
			t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
		}
	}
}
