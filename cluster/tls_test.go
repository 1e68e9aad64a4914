package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/internal/tlstest"
	"github.com/clusterbench/clusterbench/router"
)

func TestTLSFilesConfig(t *testing.T) {
	certs := tlstest.New(t)
	junk := filepath.Join(t.TempDir(), "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.pem")
	other := tlstest.New(t) // a second CA: its client key does not match certs' certificate

	cfg, err := TLSFiles{CACert: certs.CAFile, Cert: certs.ClientCertFile, Key: certs.ClientKeyFile}.Config()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RootCAs == nil || len(cfg.Certificates) != 1 || cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
		t.Errorf("config = roots %v, %d certificates, skip %v, min %x", cfg.RootCAs != nil, len(cfg.Certificates), cfg.InsecureSkipVerify, cfg.MinVersion)
	}
	if cfg, err := (TLSFiles{}).Config(); err != nil || cfg.RootCAs != nil || len(cfg.Certificates) != 0 {
		t.Errorf("empty files: %v, %v (want the system roots, no certificate)", cfg, err)
	}

	for _, tc := range []struct {
		name  string
		files TLSFiles
		field string // the TLSFileError's Field
		text  string // in the message
	}{
		{"CA file missing", TLSFiles{CACert: missing}, "cacert", "no such file"},
		{"CA file without PEM", TLSFiles{CACert: junk}, "cacert", "no PEM certificate"},
		{"certificate without key", TLSFiles{Cert: certs.ClientCertFile}, "key", "needs its key"},
		{"key without certificate", TLSFiles{Key: certs.ClientKeyFile}, "cert", "needs its certificate"},
		{"certificate file missing", TLSFiles{Cert: missing, Key: certs.ClientKeyFile}, "cert", "no such file"},
		{"certificate file junk", TLSFiles{Cert: junk, Key: certs.ClientKeyFile}, "cert", ""},
		{"key of another certificate", TLSFiles{Cert: certs.ClientCertFile, Key: other.ClientKeyFile}, "key", "does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.files.Config()
			var fe *TLSFileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrTLSFile) {
				t.Fatalf("err = %v, want a TLSFileError", err)
			}
			if fe.Field != tc.field || !strings.Contains(err.Error(), tc.text) {
				t.Errorf("err = %v (field %s), want field %s and %q", err, fe.Field, tc.field, tc.text)
			}
		})
	}
}

func TestLocalTLSValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  *LocalTLS
		ok   bool
	}{
		{"no TLS", nil, true},
		{"complete", &LocalTLS{CertFile: "c", KeyFile: "k", CAFile: "ca"}, true},
		{"auth optional", &LocalTLS{CertFile: "c", KeyFile: "k", CAFile: "ca", AuthClients: "optional"}, true},
		{"no CA", &LocalTLS{CertFile: "c", KeyFile: "k"}, false},
		{"bad auth", &LocalTLS{CertFile: "c", KeyFile: "k", CAFile: "ca", AuthClients: "maybe"}, false},
		{"client cert alone", &LocalTLS{CertFile: "c", KeyFile: "k", CAFile: "ca", ClientCertFile: "cc"}, false},
	} {
		err := LocalConfig{Masters: 1, TLS: tc.tls}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}

// TestLocalTLSIntegration starts a TLS-only cluster with replicas and
// checks that everything the harness does goes over TLS: start-up (MEET,
// replication), discovery (the TLS ports from CLUSTER SHARDS), and a slot
// migration (MIGRATE between nodes), while plain TCP and clients without
// a certificate are refused.
func TestLocalTLSIntegration(t *testing.T) {
	redistest.RequireServer(t)
	certs := tlstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := StartLocal(ctx, LocalConfig{Masters: 3, Replicas: 1, TLS: &LocalTLS{
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
	opt := l.ConnOptions()
	if opt.TLS == nil {
		t.Fatal("admin options carry no TLS config")
	}

	topo, err := Discover(ctx, l.MasterAddrs()[0], opt)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := topo.MasterAddrs(), l.MasterAddrs(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("discovered masters %v, want the TLS ports %v", got, want)
	}
	if topo.Source != router.SourceShards {
		t.Errorf("topology from %s, want CLUSTER SHARDS (whose nodes have tls-port and no port)", topo.Source)
	}
	for _, m := range topo.Masters {
		if len(m.Replicas) != 1 {
			t.Errorf("master %s has %d replicas over TLS replication, want 1", m.Addr, len(m.Replicas))
		}
	}

	// Write keys into one slot and move it: MIGRATE runs over TLS.
	c, err := rueidis.NewClient(opt.RueidisOption(l.MasterAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const key = "{tls}:k"
	slot := router.Slot([]byte(key))
	for i := range 20 {
		k := key + string(rune('a'+i))
		if err := c.Do(ctx, c.B().Set().Key(k).Value("v").Build()).Error(); err != nil {
			t.Fatal(err)
		}
	}
	var from, to string
	for _, m := range topo.Masters {
		if m.Slots[0].First <= slot && slot <= m.Slots[len(m.Slots)-1].Last {
			from = m.Addr
		} else if to == "" {
			to = m.Addr
		}
	}
	m, err := NewMigrator(ctx, from, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	st, err := m.Move(ctx, []uint16{slot}, from, to, MoveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Slots != 1 || st.Keys != 20 {
		t.Errorf("moved %d slots, %d keys; want 1, 20", st.Slots, st.Keys)
	}
	if n, err := c.Do(ctx, c.B().Exists().Key(key+"a").Build()).AsInt64(); err != nil || n != 1 {
		t.Errorf("after the move: EXISTS = %d, %v", n, err)
	}

	// Plain TCP and a TLS client without a certificate are refused.
	if cl, err := Dial(to, ConnOptions{}); err == nil {
		cl.Close()
		t.Error("plain TCP connection to a TLS-only node succeeded")
	}
	noCert := opt
	noCert.TLS = &tls.Config{RootCAs: certs.Pool(), MinVersion: tls.VersionTLS12}
	if cl, err := Dial(to, noCert); err == nil {
		err = Do(ctx, cl, "PING").Error()
		cl.Close()
		if err == nil {
			t.Error("a client without a certificate was served (tls-auth-clients yes)")
		}
	}
}
