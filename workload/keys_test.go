package workload

import "testing"

func TestAppendKey(t *testing.T) {
	tests := []struct {
		name    string
		ks      KeySpace
		n       uint64
		key     string
		counter string
	}{
		// No tags: prefix:n.
		{"plain", KeySpace{Keys: 100, Prefix: "cb"}, 42, "cb:42", "cb:c:42"},
		{"plain zero", KeySpace{Keys: 100, Prefix: "cb"}, 0, "cb:0", "cb:c:0"},
		// Group of 8: key 42 is in group 5.
		{"tag 8", KeySpace{Keys: 100, Prefix: "cb", TagGroup: 8}, 42, "cb:{5}:42", "cb:{5}:c:42"},
		// Group of 1: every key its own tag.
		{"tag 1", KeySpace{Keys: 100, Prefix: "app", TagGroup: 1}, 7, "app:{7}:7", "app:{7}:c:7"},
		// Large indexes format in full.
		{"big", KeySpace{Keys: 1 << 40, Prefix: "x", TagGroup: 1000}, 999_999_999_999, "x:{999999999}:999999999999", "x:{999999999}:c:999999999999"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte("junk")
			if got := string(tt.ks.AppendKey(buf, tt.n)); got != "junk"+tt.key {
				t.Errorf("AppendKey = %q, want %q", got, "junk"+tt.key)
			}
			if got := string(tt.ks.AppendCounterKey(nil, tt.n)); got != tt.counter {
				t.Errorf("AppendCounterKey = %q, want %q", got, tt.counter)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	ks := KeySpace{Keys: 20, Prefix: "cb", TagGroup: 8}
	tests := []struct {
		n           uint64
		first, end  uint64
		wantKeysLen int
	}{
		{0, 0, 8, 8},    // first group
		{13, 8, 16, 8},  // middle group
		{19, 16, 20, 4}, // the last group is cut short by Keys
	}
	var b KeyBatch
	for _, tt := range tests {
		first, end := ks.Group(tt.n)
		if first != tt.first || end != tt.end {
			t.Errorf("Group(%d) = [%d,%d), want [%d,%d)", tt.n, first, end, tt.first, tt.end)
		}
		b.Reset()
		ks.AppendGroup(&b, tt.n)
		if b.Len() != tt.wantKeysLen {
			t.Fatalf("AppendGroup(%d): %d keys, want %d", tt.n, b.Len(), tt.wantKeysLen)
		}
		slot := slotOf(b.Key(0))
		for i := range b.Len() {
			want := string(ks.AppendKey(nil, tt.first+uint64(i)))
			if got := string(b.Key(i)); got != want {
				t.Errorf("group of %d: key %d = %q, want %q", tt.n, i, got, want)
			}
			if s := slotOf(b.Key(i)); s != slot {
				t.Errorf("group of %d: %q in slot %d, %q in slot %d; want one slot", tt.n, b.Key(0), slot, b.Key(i), s)
			}
		}
	}
	// Without tags each key is its own group.
	plain := KeySpace{Keys: 20, Prefix: "cb"}
	if first, end := plain.Group(7); first != 7 || end != 8 {
		t.Errorf("no tags: Group(7) = [%d,%d), want [7,8)", first, end)
	}
	// Appending without Reset accumulates; Key slices cannot overwrite each other.
	b.Reset()
	ks.AppendGroup(&b, 0)
	ks.AppendGroup(&b, 16)
	if b.Len() != 12 || string(b.Key(8)) != "cb:{2}:16" {
		t.Fatalf("two groups: %d keys, key 8 %q", b.Len(), b.Key(8))
	}
	if k := b.Key(0); cap(k) != len(k) {
		t.Errorf("Key(0) has capacity %d beyond its length %d", cap(k), len(k))
	}
	if got, want := string(b.Bytes()[:len("cb:{0}:0cb:{0}:1")]), "cb:{0}:0cb:{0}:1"; got != want {
		t.Errorf("Bytes() starts %q, want %q", got, want)
	}
}
