package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/internal/tlstest"
	"github.com/clusterbench/clusterbench/runner"
	"github.com/clusterbench/clusterbench/workload"
)

// startTLSCluster starts a TLS-only local cluster (clients must present a
// certificate) and stops it when the test ends.
func startTLSCluster(t *testing.T, certs *tlstest.Certs, masters int) *cluster.Local {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: masters, TLS: &cluster.LocalTLS{
		CertFile: certs.CertFile, KeyFile: certs.KeyFile, CAFile: certs.CAFile,
		ClientCertFile: certs.ClientCertFile, ClientKeyFile: certs.ClientKeyFile,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Error(err)
		}
	})
	return l
}

// TestTLSEveryLibraryIntegration runs the own router and the three real
// libraries over TLS against a TLS-only cluster while slots move, with
// --verify: no errors, MOVED seen by the servers, the router's own counts
// reconciled with the servers', and no write lost nor read stale.
func TestTLSEveryLibraryIntegration(t *testing.T) {
	redistest.RequireServer(t)
	certs := tlstest.New(t)
	l := startTLSCluster(t, certs, 3)

	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.Dist, wc.TagGroup = 5000, "tls", workload.DistUniform, 4
	mix, err := workload.ParseMix("get:60,set:25,mset:5,incr:10")
	if err != nil {
		t.Fatal(err)
	}
	wc.Mix = mix
	move, err := cluster.ParseScenario("move:300")
	if err != nil {
		t.Fatal(err)
	}
	cfg := runner.Config{
		Profile: "tls", Addrs: l.MasterAddrs(), Strategies: []string{"router", "rueidis", "goredis", "radix"},
		Duration: 3 * time.Second, Warmup: 500 * time.Millisecond, Workers: 4, Pipeline: 1, Workload: wc,
		Migrate: move, MigrateAt: 500 * time.Millisecond, MigrateSlotsInFlight: 8,
		Out: t.TempDir(), Conn: cluster.ConnOptions{TLS: certs.ClientConfig()}, Verify: true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, runner.Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Strategies) != len(cfg.Strategies) {
		t.Fatalf("%d strategies ran, want %d", len(rep.Strategies), len(cfg.Strategies))
	}
	for _, sr := range rep.Strategies {
		tot := sr.Result.Totals
		v := sr.Verify
		if v == nil {
			t.Fatalf("%s: no verify result", sr.Name)
		}
		t.Logf("%-8s ops=%d errors=%d server moved=%d ask=%d client moved=%d ask=%d slots=%d verify reads=%d stale=%d writes=%d lost=%d unchecked=%d",
			sr.Name, tot.Ops, tot.ErrorCount(), sr.Server.Moved, sr.Server.Ask, sr.Client.Moved, sr.Client.Ask,
			sr.Migration.Slots, v.ReadsChecked, v.StaleReads, v.WritesChecked, v.LostWrites, v.UncheckedReads)
		if sr.MigrationErr != nil || sr.Migration.Slots != 300 {
			t.Errorf("%s: migration moved %d slots (%v), want 300", sr.Name, sr.Migration.Slots, sr.MigrationErr)
		}
		if tot.Ops == 0 || tot.ErrorCount() != 0 {
			t.Errorf("%s: %d ops, %d errors (%v): want ops and no errors over TLS", sr.Name, tot.Ops, tot.ErrorCount(), tot.Errors)
		}
		if sr.Server.Moved == 0 {
			t.Errorf("%s: the servers sent no MOVED while 300 slots moved under load", sr.Name)
		}
		if !v.Clean() || v.Error != "" {
			t.Errorf("%s: verify found %d stale reads, %d lost writes (%q): %v", sr.Name, v.StaleReads, v.LostWrites, v.Error, v.Examples)
		}
		if v.ReadsChecked == 0 || v.WritesChecked == 0 || v.KeysChecked < int64(wc.Keys) {
			t.Errorf("%s: verify checked %d reads, %d writes, %d keys: want all of them", sr.Name, v.ReadsChecked, v.WritesChecked, v.KeysChecked)
		}
	}
	rt := rep.Strategies[0]
	if rt.Client.Moved != rt.Server.Moved || rt.Client.Ask != rt.Server.Ask {
		t.Errorf("router: client MOVED/ASK %d/%d, servers %d/%d: must agree", rt.Client.Moved, rt.Client.Ask, rt.Server.Moved, rt.Server.Ask)
	}
}
