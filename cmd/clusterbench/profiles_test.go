package main

import (
	"strings"
	"testing"

	"github.com/clusterbench/clusterbench/profiles"
)

// Every shipped profile applies to the run command's flags and yields a
// valid configuration; flags on the command line override it.
func TestShippedProfilesAreValidRuns(t *testing.T) {
	for _, name := range profiles.Names() {
		t.Run(name, func(t *testing.T) {
			f := &runFlags{}
			cmd := newRunCmdWith(f)
			if err := cmd.Flags().Parse([]string{"--profile", name, "--workers", "3"}); err != nil {
				t.Fatal(err)
			}
			if err := applyProfile(cmd, f); err != nil {
				t.Fatal(err)
			}
			cfg, err := f.config(cmd)
			if err != nil {
				t.Fatalf("profile %s: %v", name, err)
			}
			if cfg.Profile != name || cfg.Workers != 3 {
				t.Errorf("profile %q workers %d, want %q and the command line's 3", cfg.Profile, cfg.Workers, name)
			}
			if !strings.HasSuffix(cfg.Out, "-"+name) {
				t.Errorf("default --out %q should end with the profile name", cfg.Out)
			}
		})
	}
}
