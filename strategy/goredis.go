package strategy

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

// goredisStrategy drives go-redis v9's ClusterClient with its defaults
// (per-node connection pools, MOVED/ASK handled inside each call, lazy
// topology reloads), as a go-redis user would run it.
type goredisStrategy struct {
	client *redis.ClusterClient
}

var _ Strategy = (*goredisStrategy)(nil)

func init() {
	register("goredis", "the real go-redis v9 ClusterClient, default options", openGoredis)
}

func openGoredis(ctx context.Context, cfg Config) (Strategy, error) {
	c := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs:        cfg.Seeds,
		Username:     cfg.Username,
		Password:     cfg.Password,
		TLSConfig:    cfg.TLS,
		ReadTimeout:  cfg.timeout(),
		WriteTimeout: cfg.timeout(),
	})
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, err
	}
	return &goredisStrategy{client: c}, nil
}

func (s *goredisStrategy) Name() string { return "goredis" }
func (s *goredisStrategy) Stats() Stats { return libStats() }
func (s *goredisStrategy) Close() error { return s.client.Close() }

func (s *goredisStrategy) NewWorker(int) (Worker, error) { return &goredisWorker{c: s.client}, nil }

type goredisWorker struct {
	c *redis.ClusterClient
}

var _ BatchWorker = (*goredisWorker)(nil)

// cmdable is what a ClusterClient and its pipelines have in common.
type cmdable interface {
	Get(ctx context.Context, key string) *redis.StringCmd
	Set(ctx context.Context, key string, value any, expiration time.Duration) *redis.StatusCmd
	Del(ctx context.Context, keys ...string) *redis.IntCmd
	Incr(ctx context.Context, key string) *redis.IntCmd
	MGet(ctx context.Context, keys ...string) *redis.SliceCmd
	MSet(ctx context.Context, values ...any) *redis.StatusCmd
}

// issue queues (on a pipeline) or runs (on the client) one request.
func (w *goredisWorker) issue(ctx context.Context, c cmdable, req *Request) redis.Cmder {
	switch req.Kind {
	case OpSet:
		return c.Set(ctx, string(req.Key), req.Value, 0)
	case OpDel:
		return c.Del(ctx, string(req.Key))
	case OpIncr:
		return c.Incr(ctx, string(req.Key))
	case OpMGet:
		return c.MGet(ctx, keyStrings(nil, req.Keys)...)
	case OpMSet:
		kv := make([]any, 0, 2*len(req.Keys))
		for _, k := range req.Keys {
			kv = append(kv, string(k), req.Value)
		}
		return c.MSet(ctx, kv...)
	}
	return c.Get(ctx, string(req.Key))
}

func goredisResult(err error) Result {
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return libResult(err)
}

func (w *goredisWorker) Do(ctx context.Context, req *Request) Result {
	return goredisResult(w.issue(ctx, w.c, req).Err())
}

// DoBatch runs the requests in one go-redis cluster pipeline, which
// splits them by node and follows redirects itself.
func (w *goredisWorker) DoBatch(ctx context.Context, reqs []*Request, out []Result) {
	cmds, _ := w.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, r := range reqs {
			w.issue(ctx, p, r)
		}
		return nil
	})
	for i := range out {
		if i < len(cmds) {
			out[i] = goredisResult(cmds[i].Err())
		} else {
			out[i] = libResult(errors.New("strategy: go-redis pipeline returned fewer replies than requests"))
		}
	}
}

func (w *goredisWorker) Close() error { return nil }
