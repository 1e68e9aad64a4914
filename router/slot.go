package router

import (
	"bytes"
	"encoding/binary"
	"unsafe"
)

// Redis Cluster hashes a key to a slot with CRC16-XMODEM: polynomial 0x1021,
// initial value 0, MSB first (no reflection), no final XOR. The classic code
// (redis' crc16.c) does one table lookup per byte, and each lookup waits for
// the one before it. Here a step takes a block of 16 bytes (then 8, then 2)
// through independent lookups in the tables
//
//	crcTab[k][x] = CRC of byte x followed by k zero bytes.
//
// CRC is linear, and without reflection the running CRC lines up with the
// first two bytes of the next block, so for a block b0..b15:
//
//	crc' = crcTab[15][b0 ^ crc>>8] ^ crcTab[14][b1 ^ crc&0xff] ^ crcTab[13][b2] ^ … ^ crcTab[0][b15]
//
// Big-endian loads put b0 in the top byte. Only the first two lookups depend
// on the previous step, so they are XORed in last and the other fourteen
// overlap with the previous step. Blocks of 8 and 2 bytes work the same way
// with crcTab[7..0] and crcTab[1..0]; a last odd byte takes the classic step.
const crcPoly = 0x1021

// crcTab is 16 × 256 × 2 bytes = 8 KiB, small enough to stay in L1.
var crcTab = makeCRCTables()

func makeCRCTables() *[16][256]uint16 {
	var t [16][256]uint16
	for i := range 256 {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ crcPoly
			} else {
				crc <<= 1
			}
		}
		t[0][i] = crc
	}
	// A zero byte appended to a message whose CRC is c gives c<<8 ^ t[0][c>>8].
	for k := 1; k < len(t); k++ {
		for i := range 256 {
			c := t[k-1][i]
			t[k][i] = c<<8 ^ t[0][c>>8]
		}
	}
	return &t
}

// CRC16 returns the CRC16-XMODEM of b ("123456789" → 0x31C3), the checksum
// Redis Cluster hashes keys with. It does not allocate.
func CRC16(b []byte) uint16 {
	crc, _ := crcScan(0, b, false)
	return crc
}

// crcScan feeds b into crc and returns the new CRC and how many bytes it
// fed: all of them, unless stopAtBrace is set and b holds a '{'. Then it
// stops before the block (or tail) that holds the first '{': the '{' is in
// the 16 bytes at b[n:], and the CRC covers b[:n]. stopAtBrace needs at
// least 8 bytes.
func crcScan(crc uint16, b []byte, stopAtBrace bool) (_ uint16, n int) {
	t := crcTab
	p := b // what is left to feed
	for len(p) >= 16 {
		v, w := binary.BigEndian.Uint64(p), binary.BigEndian.Uint64(p[8:])
		if stopAtBrace && braceBytes(v)|braceBytes(w) != 0 {
			return crc, len(b) - len(p)
		}
		x := t[13][byte(v>>40)] ^ t[12][byte(v>>32)] ^ t[11][byte(v>>24)] ^ t[10][byte(v>>16)] ^
			t[9][byte(v>>8)] ^ t[8][byte(v)] ^
			t[7][byte(w>>56)] ^ t[6][byte(w>>48)] ^ t[5][byte(w>>40)] ^ t[4][byte(w>>32)] ^
			t[3][byte(w>>24)] ^ t[2][byte(w>>16)] ^ t[1][byte(w>>8)] ^ t[0][byte(w)]
		crc = x ^ t[15][byte(v>>56)^byte(crc>>8)] ^ t[14][byte(v>>48)^byte(crc)]
		p = p[16:]
	}
	if stopAtBrace && len(p) != 0 {
		// p is the last 1 to 15 bytes. Its first 8 and the last 8 of b
		// cover it; where the last 8 reach back before p, they see bytes
		// already known to hold no '{'.
		m := braceBytes(binary.LittleEndian.Uint64(b[len(b)-8:]))
		if len(p) > 8 {
			m |= braceBytes(binary.LittleEndian.Uint64(p))
		}
		if m != 0 {
			return crc, len(b) - len(p)
		}
	}
	if len(p) >= 8 {
		v := binary.BigEndian.Uint64(p)
		x := t[5][byte(v>>40)] ^ t[4][byte(v>>32)] ^ t[3][byte(v>>24)] ^ t[2][byte(v>>16)] ^
			t[1][byte(v>>8)] ^ t[0][byte(v)]
		crc = x ^ t[7][byte(v>>56)^byte(crc>>8)] ^ t[6][byte(v>>48)^byte(crc)]
		p = p[8:]
	}
	return crcPairs(crc, p), len(b)
}

// crcPairs feeds b into crc two bytes per step: tails and short keys. It is
// small enough to be inlined.
func crcPairs(crc uint16, b []byte) uint16 {
	t := crcTab
	for ; len(b) >= 2; b = b[2:] {
		crc = t[1][b[0]^byte(crc>>8)] ^ t[0][b[1]^byte(crc)]
	}
	if len(b) != 0 {
		crc = crc<<8 ^ t[0][b[0]^byte(crc>>8)]
	}
	return crc
}

// braceBytes returns v with 0x80 set in each byte that may be '{', and 0
// if none is. XOR turns '{' into zero bytes; (x - 0x01…01) &^ x & 0x80…80
// flags every zero byte (and perhaps a byte the borrow runs on into), so
// it is exact about whether there is one.
func braceBytes(v uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	x := v ^ ones*'{'
	return (x - ones) &^ x & highs
}

// Slot returns the Redis Cluster hash slot of key, the value CLUSTER KEYSLOT
// returns: CRC16(k) mod 16384, where k is the key's hash tag if it has one —
// the bytes between the first '{' and the first '}' after it, when there is
// at least one — and the whole key otherwise. So "{user1000}.following" and
// "{user1000}.followers" share a slot, while "{}foo" hashes all of "{}foo".
// It does not allocate.
func Slot(key []byte) uint16 {
	switch {
	case len(key) >= 16:
		// Most keys have no tag: look for '{' in each block while hashing
		// it, so such a key is read once.
		crc, n := crcScan(0, key, true)
		if n == len(key) {
			return crc & (NumSlots - 1)
		}
		return slotFromBrace(key, crc, n)
	case len(key) >= 8 && braceBytes(binary.LittleEndian.Uint64(key))|
		braceBytes(binary.LittleEndian.Uint64(key[len(key)-8:])) == 0:
		// Two overlapping loads cover 8 to 15 bytes: no '{' anywhere.
		crc, _ := crcScan(0, key, false)
		return crc & (NumSlots - 1)
	}

	// Short keys, and 8 to 15 bytes with a '{': a call would cost as much
	// as hashing them, so all of it happens here, in byte loops. A tag
	// needs three bytes ("{x}"), so the last two cannot open one.
	for open := 0; open < len(key)-2; open++ {
		if key[open] != '{' {
			continue
		}
		for end := open + 1; end < len(key); end++ {
			if key[end] == '}' {
				if end == open+1 {
					break // "{}" is not a tag
				}
				return crcPairs(0, key[open+1:end]) & (NumSlots - 1)
			}
		}
		break
	}
	return crcPairs(0, key) & (NumSlots - 1)
}

// SlotString is Slot for a string key, without copying it.
func SlotString(key string) uint16 {
	// The bytes are only read, never kept or written: viewing the string's
	// memory as a slice is safe and saves the copy []byte(key) would make.
	return Slot(unsafe.Slice(unsafe.StringData(key), len(key)))
}

// slotFromBrace finishes Slot for a key of 16 bytes or more whose first '{'
// is in the 16 bytes at key[n:]; crc covers key[:n].
func slotFromBrace(key []byte, crc uint16, n int) uint16 {
	open := n
	for key[open] != '{' {
		open++
	}
	// Tags are short: a byte loop finds the '}' before bytes.IndexByte
	// would have paid for its call; long remainders still get it.
	end := -1
	if rest := key[open+1:]; len(rest) > 64 {
		end = bytes.IndexByte(rest, '}')
	} else {
		for i, c := range rest {
			if c == '}' {
				end = i
				break
			}
		}
	}
	if end <= 0 { // no '}' after the '{', or an empty tag "{}": the whole key
		crc, _ = crcScan(crc, key[n:], false)
	} else {
		crc, _ = crcScan(0, key[open+1:open+1+end], false)
	}
	return crc & (NumSlots - 1)
}
