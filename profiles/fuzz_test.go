package profiles

import (
	"strings"
	"testing"
)

// FuzzParse: any bytes give a profile or an error naming the file, never
// a panic; a profile only holds known keys, each with a line.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"description: d\ndist: zipf\n",
		"strategy: [router, stale]\nkeys: 10\n",
		"dist: [zipf\n",
		"- a\n",
		"dist:\n  a: b\n",
		"",
		"keys: &a 1\nstrategy: *a\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parse("f", "f.yaml", data, known)
		if err != nil {
			if !strings.Contains(err.Error(), "f.yaml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		for _, s := range p.Settings {
			if !known(s.Key) || s.Line < 1 {
				t.Fatalf("setting %+v: unknown key or no line", s)
			}
		}
	})
}
