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
	cmds rueidis.Commands
}

var _ BatchWorker = (*rueidisWorker)(nil)

// build turns a request into a rueidis command.
func (w *rueidisWorker) build(req *Request) rueidis.Completed {
	b := w.c.B()
	switch req.Kind {
	case OpSet:
		return b.Set().Key(string(req.Key)).Value(string(req.Value)).Build()
	case OpDel:
		return b.Del().Key(string(req.Key)).Build()
	case OpIncr:
		return b.Incr().Key(string(req.Key)).Build()
	case OpMGet:
		w.keys = keyStrings(w.keys, req.Keys)
		return b.Mget().Key(w.keys...).Build()
	case OpMSet:
		kv := b.Mset().KeyValue()
		v := string(req.Value)
		for _, k := range req.Keys {
			kv = kv.KeyValue(string(k), v)
		}
		return kv.Build()
	}
	return b.Get().Key(string(req.Key)).Build()
}

func rueidisResult(err error) Result {
	if rueidis.IsRedisNil(err) {
		err = nil
	}
	return libResult(err)
}

func (w *rueidisWorker) Do(ctx context.Context, req *Request) Result {
	return rueidisResult(w.c.Do(ctx, w.build(req)).Error())
}

// DoBatch sends the requests with DoMulti: rueidis splits them by slot
// and pipelines each node's share.
func (w *rueidisWorker) DoBatch(ctx context.Context, reqs []*Request, out []Result) {
	w.cmds = w.cmds[:0]
	for _, r := range reqs {
		w.cmds = append(w.cmds, w.build(r))
	}
	for i, r := range w.c.DoMulti(ctx, w.cmds...) {
		out[i] = rueidisResult(r.Error())
	}
}

func (w *rueidisWorker) Close() error { return nil }
