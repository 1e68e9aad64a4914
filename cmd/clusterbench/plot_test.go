package main

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/internal/fixture"
)

// plotFixture copies the plots package's saved run into a temporary
// directory (unpacking its .gz files) and returns the copy.
func plotFixture(t *testing.T) string {
	t.Helper()
	return fixture.CopyRun(t, filepath.Join("..", "..", "plots", "testdata", "run"))
}

func TestPlotCommand(t *testing.T) {
	t.Parallel()
	bin := clusterBinary(t)
	run := plotFixture(t)

	t.Run("draws every chart", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "charts")
		stdout, stderr, code := clusterCLI(t, bin, nil, "plot", run, "--out", out)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		files := strings.Fields(stdout)
		if len(files) != 14 {
			t.Fatalf("printed %d files, want 14 (7 charts × PNG and SVG): %q", len(files), stdout)
		}
		for _, f := range files {
			if filepath.Dir(f) != out {
				t.Errorf("%s is not in --out %s", f, out)
			}
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(f, ".png") {
				cfg, err := png.DecodeConfig(bytes.NewReader(b))
				if err != nil || cfg.Width != 1200 {
					t.Errorf("%s: %v, width %d", f, err, cfg.Width)
				}
			} else if !bytes.Contains(b, []byte("<svg")) {
				t.Errorf("%s is not an SVG", f)
			}
		}
	})

	t.Run("default out is the run", func(t *testing.T) {
		run := plotFixture(t)
		_, stderr, code := clusterCLI(t, bin, nil, "plot", run)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(run, "latency.png")); err != nil {
			t.Error(err)
		}
	})

	notRun := t.TempDir()
	badSummary := plotFixture(t)
	os.WriteFile(filepath.Join(badSummary, "summary.json"), []byte(`{"schema": 1, "strat`), 0o644)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing dir", []string{"plot", filepath.Join(notRun, "nope")}, "does not exist"},
		{"not a run", []string{"plot", notRun}, "not a run directory"},
		{"a file", []string{"plot", filepath.Join(run, "timeline.csv")}, "not a directory"},
		{"no dir", []string{"plot"}, "one run directory"},
		{"two dirs", []string{"plot", run, run}, "one run directory"},
		{"bad summary", []string{"plot", badSummary}, "summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := clusterCLI(t, bin, nil, tc.args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr %q", code, exitBadInput, stderr)
			}
			if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q: want one line containing %q", stderr, tc.want)
			}
		})
	}
}
