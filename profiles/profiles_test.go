package profiles

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func known(k string) bool { return k == "dist" || k == "strategy" || k == "keys" }

func TestParse(t *testing.T) {
	cases := []struct {
		name    string
		yaml    string
		wantErr string    // substring of the error; "" for success
		want    []Setting // settings on success
	}{
		// Plain values and a list joined by commas, with their lines.
		{"values", "description: d\ndist: zipf\nstrategy: [router, stale]\n", "",
			[]Setting{{"dist", "zipf", 2}, {"strategy", "router,stale", 3}}},
		// A key no run flag has: file and line named.
		{"unknown", "dist: zipf\nbogus: 1\n", "p.yaml:2: unknown field \"bogus\"", nil},
		// YAML that does not parse: the parser's line.
		{"syntax", "dist: [zipf\n", "yaml: line 1", nil},
		// The same key twice.
		{"duplicate", "dist: zipf\ndist: uniform\n", "p.yaml:2: \"dist\" appears twice", nil},
		// Not a mapping at all.
		{"list", "- a\n- b\n", "want a mapping", nil},
		// A nested mapping as a value.
		{"nested", "dist:\n  a: b\n", "p.yaml:2: dist: want a value", nil},
		// An empty file.
		{"empty", "", "empty file", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			p, err := Load(path, known)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, ErrProfile) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Settings) != len(tc.want) {
				t.Fatalf("settings %+v, want %+v", p.Settings, tc.want)
			}
			for i := range tc.want {
				if p.Settings[i] != tc.want[i] {
					t.Errorf("setting %d = %+v, want %+v", i, p.Settings[i], tc.want[i])
				}
			}
			if p.Name != "p" || p.Description != "d" {
				t.Errorf("name %q description %q", p.Name, p.Description)
			}
		})
	}
}

func TestShipped(t *testing.T) {
	ps, err := Shipped()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"baseline", "compare", "failover", "hot-slot", "scale-in", "scale-out"}
	if len(ps) < len(want) {
		t.Fatalf("%d shipped profiles, want at least %v", len(ps), want)
	}
	for _, p := range ps {
		if p.Description == "" {
			t.Errorf("%s has no description", p.Name)
		}
	}
	if _, err := Load("no-such-profile", nil); err == nil || !strings.Contains(err.Error(), "compare") {
		t.Fatalf("unknown profile error %v should list the shipped ones", err)
	}
}
