package strategy

import (
	"context"
	"errors"

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
	c    *redis.ClusterClient
	keys []string
	kv   []any
}

func (w *goredisWorker) Do(ctx context.Context, req *Request) Result {
	var err error
	switch req.Kind {
	case OpGet:
		err = w.c.Get(ctx, string(req.Key)).Err()
	case OpSet:
		err = w.c.Set(ctx, string(req.Key), req.Value, 0).Err()
	case OpDel:
		err = w.c.Del(ctx, string(req.Key)).Err()
	case OpIncr:
		err = w.c.Incr(ctx, string(req.Key)).Err()
	case OpMGet:
		w.keys = keyStrings(w.keys, req.Keys)
		err = w.c.MGet(ctx, w.keys...).Err()
	case OpMSet:
		w.kv = w.kv[:0]
		for _, k := range req.Keys {
			w.kv = append(w.kv, string(k), req.Value)
		}
		err = w.c.MSet(ctx, w.kv...).Err()
	}
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return libResult(err)
}

func (w *goredisWorker) Close() error { return nil }
