package workload

import "strconv"

// KeySpace formats key indexes [0, Keys) as Redis keys:
//
//	TagGroup 0:  <prefix>:<n>           e.g. cb:42
//	TagGroup N:  <prefix>:{<n/N>}:<n>   e.g. cb:{5}:42 with N=8
//
// With tag groups, N consecutive keys share a hash tag and so one slot:
// that is what makes mget/mset over a group legal in a cluster.
//
// INCR has its own key family, the counters, because SET writes
// non-numeric values that INCR would reject:
//
//	TagGroup 0:  <prefix>:c:<n>
//	TagGroup N:  <prefix>:{<n/N>}:c:<n>   (same slot as key n)
type KeySpace struct {
	Keys     uint64 // number of keys, indexes 0..Keys-1
	Prefix   string // no '{' or '}' when TagGroup > 0 (Config.Validate checks)
	TagGroup uint64 // keys per hash-tag group; 0 = no tags
}

// AppendKey appends the key with index n to dst and returns the extended
// slice, like strconv.AppendUint; it allocates only if dst must grow.
func (k KeySpace) AppendKey(dst []byte, n uint64) []byte {
	dst = k.appendHead(dst, n)
	return strconv.AppendUint(dst, n, 10)
}

// AppendCounterKey appends the counter key with index n (the INCR family).
func (k KeySpace) AppendCounterKey(dst []byte, n uint64) []byte {
	dst = k.appendHead(dst, n)
	dst = append(dst, "c:"...)
	return strconv.AppendUint(dst, n, 10)
}

// appendHead appends "<prefix>:" or "<prefix>:{<group>}:".
func (k KeySpace) appendHead(dst []byte, n uint64) []byte {
	dst = append(dst, k.Prefix...)
	dst = append(dst, ':')
	if k.TagGroup > 0 {
		dst = append(dst, '{')
		dst = strconv.AppendUint(dst, n/k.TagGroup, 10)
		dst = append(dst, '}', ':')
	}
	return dst
}

// Group returns the index range [first, end) of n's tag group; the last
// group is shorter when TagGroup does not divide Keys. With TagGroup 0 every
// key is a group of its own.
func (k KeySpace) Group(n uint64) (first, end uint64) {
	if k.TagGroup == 0 {
		return n, n + 1
	}
	first = n - n%k.TagGroup
	return first, min(first+k.TagGroup, k.Keys)
}

// AppendGroup appends every key of n's tag group to b (in index order); call
// b.Reset first to reuse b. No allocation once b has grown to a group's size.
func (k KeySpace) AppendGroup(b *KeyBatch, n uint64) {
	first, end := k.Group(n)
	for i := first; i < end; i++ {
		b.buf = k.AppendKey(b.buf, i)
		b.ends = append(b.ends, len(b.buf))
	}
}

// KeyBatch holds several keys in one reusable buffer, e.g. an mget's group.
// The zero value is ready to use.
type KeyBatch struct {
	buf  []byte
	ends []int // ends[i] is the end offset of key i in buf
}

// Reset empties b, keeping its memory.
func (b *KeyBatch) Reset() { b.buf, b.ends = b.buf[:0], b.ends[:0] }

// Len returns the number of keys in b.
func (b *KeyBatch) Len() int { return len(b.ends) }

// Key returns key i; the slice aliases b's buffer and is valid until the
// next Reset or append.
func (b *KeyBatch) Key(i int) []byte {
	start := 0
	if i > 0 {
		start = b.ends[i-1]
	}
	return b.buf[start:b.ends[i]:b.ends[i]]
}

// Bytes returns all keys back to back (the buffer Key's slices point into).
func (b *KeyBatch) Bytes() []byte { return b.buf }
