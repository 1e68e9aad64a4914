package router_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/clusterbench/clusterbench/internal/crc16ref"
	"github.com/clusterbench/clusterbench/router"
)

// refSlot is the slot rule written as plainly as possible, independently of
// router.Slot: the tag is found with strings.IndexByte and hashed bit by bit.
func refSlot(key []byte) uint16 {
	s := string(key)
	if open := strings.IndexByte(s, '{'); open >= 0 {
		if n := strings.IndexByte(s[open+1:], '}'); n > 0 {
			s = s[open+1 : open+1+n]
		}
	}
	return crc16ref.Bitwise([]byte(s)) % router.NumSlots
}

func TestCRC16Golden(t *testing.T) {
	tests := []struct {
		in   string
		want uint16
	}{
		{"", 0x0000},          // nothing hashed: the initial value
		{"A", 0x58E5},         // one byte: the classic step alone
		{"123456789", 0x31C3}, // the CRC-16/XMODEM check value; one 8-byte block and a tail
		// 16 + 8 + 2 + 1 bytes: every kind of step once.
		{"123456789012345678901234567", crc16ref.Checksum([]byte("123456789012345678901234567"))},
	}
	for _, tt := range tests {
		if got := router.CRC16([]byte(tt.in)); got != tt.want {
			t.Errorf("CRC16(%q) = %#04x, want %#04x", tt.in, got, tt.want)
		}
	}
}

func TestSlot(t *testing.T) {
	// Every want is what CLUSTER KEYSLOT answered on redis-server 7.0.15.
	tests := []struct {
		name string
		key  string
		want uint16
	}{
		// The examples of the Redis Cluster specification and docs.
		{name: "no tag", key: "somekey", want: 11058},
		{name: "tag at the end", key: "foo{hash_tag}", want: 2515},                            // hashes "hash_tag"
		{name: "plain key", key: "foo", want: 12182},                                          //
		{name: "empty tag first", key: "{}foo", want: 9500},                                   // "{}" is no tag: the whole key
		{name: "tag first", key: "{user1000}.following", want: 3443},                          // hashes "user1000"
		{name: "same tag same slot", key: "{user1000}.followers", want: 3443},                 // ... like the key above
		{name: "empty tag then tag", key: "foo{}{bar}", want: 8363},                           // only the first '{' counts: whole key
		{name: "tag holding a brace", key: "foo{{bar}}zap", want: 4015},                       // tag "{bar"
		{name: "first of two tags", key: "foo{bar}{zap}", want: 5061},                         // tag "bar"
		{name: "check value", key: "123456789", want: 12739},                                  // 0x31C3 & 16383
		{name: "check value as tag", key: "x{123456789}y", want: 12739},                       // same bytes hashed
		{name: "tag mid key", key: "user:{12345}:profile", want: 5228},                        // hashes "12345"
		{name: "long key with tag", key: "{user1000}" + strings.Repeat("x", 100), want: 3443}, // tag found by the block scan

		// Edge cases.
		{name: "empty key", key: "", want: 0},                    // CRC of nothing is 0
		{name: "lone open", key: "{", want: 4092},                // no '}': the whole key
		{name: "lone close", key: "}", want: 12090},              // a '}' alone means nothing
		{name: "empty tag only", key: "{}", want: 15257},         // empty tag: the whole key
		{name: "double braces", key: "{{}}", want: 4092},         // tag "{", same slot as the key "{"
		{name: "two tags", key: "a{b}c{d}", want: 3300},          // tag "b", same slot as "b"
		{name: "close before open", key: "}{a}", want: 15495},    // the first '}' is before any '{': tag "a"
		{name: "unclosed", key: "{a", want: 10276},               // whole key
		{name: "nested", key: "{a{b}c}", want: 13340},            // tag "a{b", same slot as "a{b"
		{name: "empty tag then full", key: "{}{a}", want: 13650}, // whole key
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := router.Slot([]byte(tt.key)); got != tt.want {
				t.Errorf("Slot(%q) = %d, want %d", tt.key, got, tt.want)
			}
			if got := router.SlotString(tt.key); got != tt.want {
				t.Errorf("SlotString(%q) = %d, want %d", tt.key, got, tt.want)
			}
			if got := refSlot([]byte(tt.key)); got != tt.want {
				t.Errorf("refSlot(%q) = %d, want %d: the test's reference is wrong", tt.key, got, tt.want)
			}
		})
	}
}

// The fast CRC must agree with the one-byte-table reference on every length
// (each mix of 16-, 8-, 2- and 1-byte steps) and on unaligned data.
func TestCRC16CrossCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for n := 0; n <= 300; n++ {
		for _, off := range []int{0, 1, 3, 7, 8, 13} {
			b := buf[off : off+n]
			if got, want := router.CRC16(b), crc16ref.Checksum(b); got != want {
				t.Fatalf("CRC16 of %d bytes at offset %d = %#04x, reference %#04x", n, off, got, want)
			}
		}
	}
	for range 2000 {
		off, n := r.IntN(64), r.IntN(len(buf)-64)
		b := buf[off : off+n]
		if got, want := router.CRC16(b), crc16ref.Checksum(b); got != want {
			t.Fatalf("CRC16 of %d bytes at offset %d = %#04x, reference %#04x", n, off, got, want)
		}
	}
}

// Every placement of '{' and '}' in keys up to 40 bytes: the scans look
// at blocks of 16 and 8 bytes and at overlapping tails, and each boundary
// is crossed here. The fillers include the neighbours of '{' (0x7a, 0x7c)
// and bytes that differ from it in the top bit only, to catch a word-at-a-
// time byte search that reports a byte it should not.
func TestSlotBracePositions(t *testing.T) {
	for _, filler := range []byte{'a', 'z', '|', 0xfb, 0x00, 0xff} {
		for n := 0; n <= 40; n++ {
			key := bytes.Repeat([]byte{filler}, n)
			check := func() {
				t.Helper()
				if got, want := router.Slot(key), refSlot(key); got != want {
					t.Fatalf("Slot(%q) = %d, want %d", key, got, want)
				}
			}
			check()
			for open := range n {
				key[open] = '{'
				check()
				for end := open + 1; end < n; end++ {
					key[end] = '}'
					check()
					key[end] = filler
				}
				key[open] = filler
			}
		}
	}
}

// randomKey returns a key that exercises the slot rule: binary bytes
// (NUL, CR LF), braces anywhere, empty and nested tags, UTF-8, and lengths
// from 0 to a little over 1 KiB, the short ones most often.
func randomKey(r *rand.Rand) []byte {
	var n int
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		n = r.IntN(16)
	case 4, 5, 6:
		n = 16 + r.IntN(48)
	case 7, 8:
		n = 64 + r.IntN(200)
	default:
		n = 264 + r.IntN(900)
	}
	pieces := []string{"{", "}", "{}", "{{", "}}", "\x00", "\r\n", "é", "日本", "🔑", ":", "user", "1000"}
	var b []byte
	for len(b) < n {
		switch k := r.IntN(8); {
		case k == 0: // a piece with braces or awkward bytes
			b = append(b, pieces[r.IntN(len(pieces))]...)
		case k == 1: // a random byte, any value
			b = append(b, byte(r.UintN(256)))
		case k == 2: // a random rune
			b = utf8.AppendRune(b, rune(r.IntN(0x2FFFF)))
		default: // plain text
			b = append(b, byte('a'+r.IntN(26)))
		}
	}
	// Most keys end up with several braces; keep some without any.
	if r.IntN(4) == 0 {
		b = bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("{"), []byte("(")), []byte("}"), []byte(")"))
	}
	return b
}

func TestSlotCrossCheck(t *testing.T) {
	const seed = 7
	r := rand.New(rand.NewPCG(seed, seed))
	for i := range 20000 {
		key := randomKey(r)
		want := refSlot(key)
		if got := router.Slot(key); got != want {
			t.Fatalf("seed %d, key %d: Slot(%q) = %d, want %d", seed, i, key, got, want)
		}
		if got := router.SlotString(string(key)); got != want {
			t.Fatalf("seed %d, key %d: SlotString(%q) = %d, want %d", seed, i, key, got, want)
		}
	}
}

func TestSlotDoesNotAllocate(t *testing.T) {
	for _, n := range []int{0, 5, 12, 40, 300} {
		key := bytes.Repeat([]byte("k"), n)
		tagged := []byte("x{" + string(key) + "}y")
		skey, stagged := string(key), string(tagged)
		t.Run(fmt.Sprintf("len=%d", n), func(t *testing.T) {
			var sink uint16
			for name, f := range map[string]func(){
				"Slot":              func() { sink += router.Slot(key) },
				"Slot tagged":       func() { sink += router.Slot(tagged) },
				"SlotString":        func() { sink += router.SlotString(skey) },
				"SlotString tagged": func() { sink += router.SlotString(stagged) },
				"CRC16":             func() { sink += router.CRC16(key) },
			} {
				if a := testing.AllocsPerRun(100, f); a != 0 {
					t.Errorf("%s allocates %v times per call, want 0", name, a)
				}
			}
			_ = sink
		})
	}
}

func FuzzSlot(f *testing.F) {
	for _, s := range []string{
		"", "{", "}", "{}", "{{}}", "}{a}", "{a", "a{b}c{d}", "{a{b}c}",
		"somekey", "foo{hash_tag}", "{}foo", "{user1000}.following", "foo{}{bar}",
		"0123456789abcdef{tag}", "0123456789abcde{", "\x00{\r\n}\xff",
		strings.Repeat("x", 100) + "{" + strings.Repeat("y", 80) + "}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, key []byte) {
		got := router.Slot(key)
		if want := refSlot(key); got != want {
			t.Fatalf("Slot(%q) = %d, reference %d", key, got, want)
		}
		if s := router.SlotString(string(key)); s != got {
			t.Fatalf("SlotString(%q) = %d, Slot = %d", key, s, got)
		}
		if got >= router.NumSlots {
			t.Fatalf("Slot(%q) = %d, out of range", key, got)
		}
		if c, want := router.CRC16(key), crc16ref.Checksum(key); c != want {
			t.Fatalf("CRC16(%q) = %#04x, reference %#04x", key, c, want)
		}
	})
}
