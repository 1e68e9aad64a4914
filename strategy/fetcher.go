package strategy

import (
	"context"
	"sync"

	"github.com/clusterbench/clusterbench/internal/resp"
	"github.com/clusterbench/clusterbench/router"
)

// fetcher reads the topology for an own strategy: CLUSTER SHARDS, with the
// CLUSTER SLOTS fallback when the answer does not cover the slots. Each
// call is one topology round trip (two with the fallback), which the
// servers count in cmdstat_cluster|shards / |slots.
type fetcher struct {
	opt   resp.Options
	mu    sync.Mutex
	conns map[string]*resp.Conn // kept connections, for refreshes that reuse one
}

var _ router.TopologyFetcher = (*fetcher)(nil)

func newFetcher(opt resp.Options) *fetcher {
	return &fetcher{opt: opt, conns: make(map[string]*resp.Conn)}
}

func (f *fetcher) FetchTopology(ctx context.Context, addr string, newConn bool) ([]router.Shard, error) {
	if newConn {
		c, err := resp.Dial(ctx, addr, f.opt)
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return fetchOn(ctx, c)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.conns[addr]
	if !ok || c.Broken() != nil {
		var err error
		if c, err = resp.Dial(ctx, addr, f.opt); err != nil {
			return nil, err
		}
		f.conns[addr] = c
	}
	return fetchOn(ctx, c)
}

func fetchOn(ctx context.Context, c *resp.Conn) ([]router.Shard, error) {
	reply, err := c.Do(ctx, "CLUSTER", "SHARDS")
	var shards []router.Shard
	if err == nil {
		shards, err = router.ParseShards(reply)
	}
	slots := func() ([]router.Shard, error) {
		reply, err := c.Do(ctx, "CLUSTER", "SLOTS")
		if err != nil {
			return nil, err
		}
		return router.ParseSlots(reply)
	}
	shards, _, err = router.ChooseTopology(shards, err, slots)
	if shards == nil {
		return nil, err
	}
	router.ResolveHosts(shards, c.Addr())
	// A partial map (a shard down) is still the best map there is: use it.
	return shards, nil
}

func (f *fetcher) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for addr, c := range f.conns {
		c.Close()
		delete(f.conns, addr)
	}
}
