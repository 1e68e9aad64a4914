package strategy

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/mediocregopher/radix/v4"
)

// radixStrategy drives radix v4's Cluster with its defaults (a pool per
// node, MOVED/ASK followed inside Do, a topology sync every 5 s and on
// redirects), as a radix user would run it.
type radixStrategy struct {
	cluster *radix.Cluster
}

var _ Strategy = (*radixStrategy)(nil)

func init() {
	register("radix", "the real radix v4 Cluster, default options", openRadix)
}

func openRadix(ctx context.Context, cfg Config) (Strategy, error) {
	dialer := radix.Dialer{AuthUser: cfg.Username, AuthPass: cfg.Password}
	if cfg.TLS != nil {
		dialer.NetDialer = &tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg.TLS}
	}
	c, err := radix.ClusterConfig{PoolConfig: radix.PoolConfig{Dialer: dialer}}.New(ctx, cfg.Seeds)
	if err != nil {
		return nil, err
	}
	return &radixStrategy{cluster: c}, nil
}

func (s *radixStrategy) Name() string { return "radix" }
func (s *radixStrategy) Stats() Stats { return libStats() }
func (s *radixStrategy) Close() error { return s.cluster.Close() }

func (s *radixStrategy) NewWorker(int) (Worker, error) { return &radixWorker{c: s.cluster}, nil }

type radixWorker struct {
	c    *radix.Cluster
	args []string
}

func (w *radixWorker) Do(ctx context.Context, req *Request) Result {
	w.args = w.args[:0]
	switch req.Kind {
	case OpSet:
		w.args = append(w.args, string(req.Key), string(req.Value))
	case OpMGet:
		w.args = keyStrings(w.args, req.Keys)
	case OpMSet:
		v := string(req.Value)
		for _, k := range req.Keys {
			w.args = append(w.args, string(k), v)
		}
	default:
		w.args = append(w.args, string(req.Key))
	}
	return libResult(w.c.Do(ctx, radix.Cmd(nil, req.Kind.String(), w.args...)))
}

func (w *radixWorker) Close() error { return nil }
