package runner_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// On an external cluster every strategy starts from the same cluster: the
// slots a migration moved go back afterwards (and a master a failover
// demoted takes them back), so the next strategy's migration moves the
// same slots between the same masters.
func TestExternalClusterIsPutBackIntegration(t *testing.T) {
	redistest.RequireServer(t)
	for _, tc := range []struct {
		migrate  string
		replicas int
		empty    bool          // add a master without slots (scale-out's target)
		duration time.Duration // long enough for the whole migration
	}{{"move:50", 0, false, 2 * time.Second}, {"failover", 1, false, 2 * time.Second}, {"scale-out", 0, true, 7 * time.Second}, {"scale-in", 0, false, 7 * time.Second}} {
		t.Run(tc.migrate, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, Replicas: tc.replicas, Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Stop()
			var empty string
			if tc.empty {
				n, err := l.AddMaster(ctx)
				if err != nil {
					t.Fatal(err)
				}
				empty = n.Addr
			}
			owners := func() []string {
				m, err := cluster.NewMigrator(ctx, l.MasterAddrs()[0], cluster.ConnOptions{})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				o, err := m.SlotOwners(ctx)
				if err != nil {
					t.Fatal(err)
				}
				return o
			}
			before := owners()
			scenario, err := cluster.ParseScenario(tc.migrate)
			if err != nil {
				t.Fatal(err)
			}
			wc := workload.DefaultConfig()
			wc.Keys, wc.Prefix = 3000, "back"
			cfg := runner.Config{
				Profile: "back", Addrs: l.MasterAddrs(), Strategies: []string{"router", "stale"},
				Duration: tc.duration, Warmup: 200 * time.Millisecond, Workers: 2, Pipeline: 1, Workload: wc,
				Migrate: scenario, MigrateAt: 300 * time.Millisecond, MigrateSlotsInFlight: 8, Out: t.TempDir(),
			}
			rep, err := runner.Run(ctx, cfg, runner.Hooks{})
			if err != nil {
				t.Fatal(err)
			}
			if after := owners(); !slices.Equal(before, after) {
				t.Fatal("the slot map after the run differs from the one before it")
			}
			// The settings a migration changes for its duration are back.
			for _, addr := range l.Addrs() {
				c, err := resp.Dial(ctx, addr, resp.Options{})
				if err != nil {
					t.Fatal(err)
				}
				v, err := c.Do(ctx, "CONFIG", "GET", "cluster-allow-replica-migration")
				c.Close()
				if kv, ok := v.([]any); err != nil || !ok || len(kv) != 2 || kv[1] != "yes" {
					t.Errorf("%s: cluster-allow-replica-migration is %v (%v) after the run, want yes as before", addr, v, err)
				}
			}
			// Both strategies changed the cluster in the same way.
			changes := make([][]string, len(rep.Strategies))
			for i, sr := range rep.Strategies {
				if sr.MigrationErr != nil {
					t.Fatalf("%s: migration: %v", sr.Name, sr.MigrationErr)
				}
				for _, ev := range sr.Events {
					switch ev.Kind {
					case cluster.EventSlotMoved:
						changes[i] = append(changes[i], fmt.Sprintf("slot %d %s>%s", ev.Slot, ev.From, ev.To))
					case cluster.EventFailoverFinished:
						changes[i] = append(changes[i], "failover "+ev.From+">"+ev.Node)
					}
				}
				slices.Sort(changes[i]) // slots move several at once, in any order
				t.Logf("%s: %d changes, first %v", sr.Name, len(changes[i]), changes[i][:min(1, len(changes[i]))])
			}
			if len(changes[0]) == 0 || !slices.Equal(changes[0], changes[1]) {
				t.Fatalf("the strategies' migrations differ: %v then %v", changes[0], changes[1])
			}
			// scale-out gave the empty master an even share: 16384/4 slots.
			if tc.empty {
				for i, sr := range rep.Strategies {
					to := 0
					for _, c := range changes[i] {
						if strings.HasSuffix(c, ">"+empty) {
							to++
						}
					}
					if to != 4096 || sr.Migration.Slots != 4096 {
						t.Errorf("%s: %d slots moved to the empty master %s (%d in all), want 4096", sr.Name, to, empty, sr.Migration.Slots)
					}
				}
			}
		})
	}
}
