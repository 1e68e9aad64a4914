package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
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

// TestLocalTLSClusterIntegration: LocalTLS runs each strategy on a local
// cluster that speaks only TLS (a plain connection is refused), with
// certificates the run makes and removes; every strategy works over it.
func TestLocalTLSClusterIntegration(t *testing.T) {
	redistest.RequireServer(t)
	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix = 2000, "ltls"
	scenario, err := cluster.ParseScenario("move:100")
	if err != nil {
		t.Fatal(err)
	}
	cfg := runner.Config{
		Profile: "local-tls", Strategies: []string{"router", "rueidis"}, Duration: 2 * time.Second, Warmup: 200 * time.Millisecond,
		Workers: 2, Pipeline: 1, Workload: wc, Migrate: scenario, MigrateAt: 300 * time.Millisecond, MigrateSlotsInFlight: 8,
		Masters: 3, Out: t.TempDir(), LocalTLS: true,
	}
	pattern := filepath.Join(os.TempDir(), "clusterbench-tls-*")
	before, _ := filepath.Glob(pattern)
	var plain []error
	var certDirs []string
	hooks := runner.Hooks{OnLocal: func(l *cluster.Local) func() {
		// A plain-TCP PING must not be answered.
		_, err := redistest.Command(l.MasterAddrs()[0], "PING")
		plain = append(plain, err)
		now, _ := filepath.Glob(pattern)
		for _, d := range now {
			if !slices.Contains(before, d) && !slices.Contains(certDirs, d) {
				certDirs = append(certDirs, d)
			}
		}
		return func() {}
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, cfg, hooks)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain) != 2 {
		t.Fatalf("%d local clusters started, want 2", len(plain))
	}
	for i, err := range plain {
		if err == nil {
			t.Errorf("cluster %d answered a plain-TCP PING: it is not TLS-only", i)
		}
	}
	for _, sr := range rep.Strategies {
		if tot := sr.Result.Totals; tot.Ops == 0 || tot.ErrorCount() != 0 || sr.Migration.Slots != 100 {
			t.Errorf("%s over TLS: %d ops, %d errors, %d slots moved", sr.Name, tot.Ops, tot.ErrorCount(), sr.Migration.Slots)
		}
	}
	if len(certDirs) != 1 {
		t.Errorf("certificate directories made by the run: %v, want one", certDirs)
	}
	for _, d := range certDirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("the run's certificates in %s outlived it (%v)", d, err)
		}
	}
}
