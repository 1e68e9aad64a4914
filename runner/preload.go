package runner

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/workload"
)

// preloadWorker is the generator index the preloader draws values from: far
// above any real worker, so its stream never overlaps theirs.
const preloadWorker = 1 << 30

// Preload writes every key of the workload's keyspace (SET key value, the
// same deterministic values for every strategy), so reads hit and a
// migration moves real data. It writes only keys the keyspace formats,
// which all start with the run's prefix. progress, if set, is called with
// the number of keys written so far.
func Preload(ctx context.Context, c rueidis.Client, w *workload.Workload, parallel int, progress func(done, total int64)) error {
	ks := w.KeySpace()
	total := int64(ks.Keys)
	const batch = 512
	var next, done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	parallel = max(parallel, 1)
	for p := 0; p < parallel; p++ {
		gen := w.Generator(preloadWorker + p)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmds := make(rueidis.Commands, 0, batch)
			var key []byte
			for ctx.Err() == nil {
				start := next.Add(batch) - batch
				if start >= total {
					return
				}
				end := min(start+batch, total)
				cmds = cmds[:0]
				for n := start; n < end; n++ {
					key = ks.AppendKey(key[:0], uint64(n))
					cmds = append(cmds, c.B().Set().Key(string(key)).Value(string(gen.Value())).Build())
				}
				for i, r := range c.DoMulti(ctx, cmds...) {
					if err := r.Error(); err != nil {
						once.Do(func() {
							firstErr = fmt.Errorf("runner: preload key %s: %w", ks.AppendKey(nil, uint64(start)+uint64(i)), err)
						})
						return
					}
				}
				if d := done.Add(end - start); progress != nil {
					progress(d, total)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
