package strategy

import (
	"context"

	"github.com/redis/rueidis"
)

// rueidisStrategy drives rueidis' own cluster client with its defaults
// (auto-pipelining over shared connections, its own MOVED/ASK handling and
// topology refreshes), as a rueidis user would run it. Client-side caching
// is off: it would answer reads without asking the cluster.
type rueidisStrategy struct {
	client rueidis.Client
}

var _ Strategy = (*rueidisStrategy)(nil)

func init() {
	register("rueidis", "the real rueidis cluster client, default options", openRueidis)
}

func openRueidis(ctx context.Context, cfg Config) (Strategy, error) {
	c, err := rueidis.NewClient(rueidis.ClientOption{
		InitAddress:      cfg.Seeds,
		Username:         cfg.Username,
		Password:         cfg.Password,
		TLSConfig:        cfg.TLS,
		DisableCache:     true,
		ConnWriteTimeout: cfg.timeout(),
	})
	if err != nil {
		return nil, err
	}
	return &rueidisStrategy{client: c}, nil
}

func (s *rueidisStrategy) Name() string { return "rueidis" }
func (s *rueidisStrategy) Stats() Stats { return libStats() }
func (s *rueidisStrategy) Close() error { s.client.Close(); return nil }

func (s *rueidisStrategy) NewWorker(int) (Worker, error) { return &rueidisWorker{c: s.client}, nil }

type rueidisWorker struct {
	c    rueidis.Client
	keys []string
}

func (w *rueidisWorker) Do(ctx context.Context, req *Request) Result {
	b := w.c.B()
	var cmd rueidis.Completed
	switch req.Kind {
	case OpGet:
		cmd = b.Get().Key(string(req.Key)).Build()
	case OpSet:
		cmd = b.Set().Key(string(req.Key)).Value(string(req.Value)).Build()
	case OpDel:
		cmd = b.Del().Key(string(req.Key)).Build()
	case OpIncr:
		cmd = b.Incr().Key(string(req.Key)).Build()
	case OpMGet:
		w.keys = keyStrings(w.keys, req.Keys)
		cmd = b.Mget().Key(w.keys...).Build()
	case OpMSet:
		kv := b.Mset().KeyValue()
		v := string(req.Value)
		for _, k := range req.Keys {
			kv = kv.KeyValue(string(k), v)
		}
		cmd = kv.Build()
	}
	err := w.c.Do(ctx, cmd).Error()
	if rueidis.IsRedisNil(err) {
		err = nil
	}
	return libResult(err)
}

func (w *rueidisWorker) Close() error { return nil }
