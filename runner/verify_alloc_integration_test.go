package runner

import (
	"context"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/workload"
)

// TestVerifyPathAllocatesNothingIntegration: with --verify, the per-op
// path of an own strategy (versioned SET and MSET, GET and INCR values
// read back through the transport) still allocates nothing, and a
// correct cluster shows no stale read.
func TestVerifyPathAllocatesNothingIntegration(t *testing.T) {
	redistest.RequireServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Stop()

	wc := workload.DefaultConfig()
	wc.Keys, wc.Prefix, wc.TagGroup = 2000, "valloc", 4
	if wc.Mix, err = workload.ParseMix("get:40,set:30,mget:5,mset:5,incr:20"); err != nil {
		t.Fatal(err)
	}
	v := newVerifier(wc)
	w := newAllocWorker(t, ctx, l.MasterAddrs(), wc, v)
	for range 5000 {
		w.one(ctx, time.Now())
	}
	allocs := testing.AllocsPerRun(3000, func() { w.one(ctx, time.Now()) })
	if allocs != 0 {
		t.Errorf("one verified op allocates %v times on average, want 0", allocs)
	}
	res := v.check(ctx, Config{}, l.MasterAddrs())
	if res.ReadsChecked == 0 || res.WritesChecked == 0 || !res.Clean() || res.Error != "" {
		t.Errorf("verify result %+v: want reads and writes checked, nothing stale or lost", res)
	}
}
