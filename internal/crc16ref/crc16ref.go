// Package crc16ref is the plain, obviously-correct CRC16 that Redis Cluster
// uses for key hashing: CRC16-XMODEM (polynomial 0x1021, initial value 0, no
// reflection, no final XOR), computed one byte at a time through a 256-entry
// table, the way redis' crc16.c and most clients do it.
//
// It exists as the reference for tests and as the baseline for benchmarks of
// the fast implementation in package router; it is not used on a hot path.
package crc16ref

// Poly is the CRC16-XMODEM (CCITT) generator polynomial, x^16 + x^12 + x^5 + 1.
const Poly = 0x1021

// table[b] is the CRC of the single byte b: the contribution of the top byte
// of the running CRC once it is shifted out.
var table = makeTable()

func makeTable() *[256]uint16 {
	var t [256]uint16
	for i := range t {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ Poly
			} else {
				crc <<= 1
			}
		}
		t[i] = crc
	}
	return &t
}

// Checksum returns the CRC16-XMODEM of b, one byte per table lookup.
func Checksum(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ table[byte(crc>>8)^c]
	}
	return crc
}

// Bitwise returns the CRC16-XMODEM of b computed bit by bit, straight from the
// definition, with no table: a second, independent reference for the table.
func Bitwise(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ Poly
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// Slot returns the Redis Cluster hash slot of key the classic way: a byte loop
// for the hash tag (the bytes between the first '{' and the first '}' after
// it, when non-empty) and Checksum, mod 16384.
func Slot(key []byte) uint16 {
	open := -1
	for i, c := range key {
		if c == '{' {
			open = i
			break
		}
	}
	if open >= 0 {
		for end := open + 1; end < len(key); end++ {
			if key[end] == '}' {
				if end > open+1 {
					key = key[open+1 : end]
				}
				break
			}
		}
	}
	return Checksum(key) & 16383
}
