package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clusterbench/clusterbench/cluster"
	"github.com/clusterbench/clusterbench/internal/redistest"
	"github.com/clusterbench/clusterbench/internal/tlstest"
	"github.com/clusterbench/clusterbench/metrics"
)

func TestTLSFlagsConfig(t *testing.T) {
	certs := tlstest.New(t)
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name     string
		f        tlsFlags
		external bool
		want     string // in the error; "" for success
		nilCfg   bool   // success without TLS
	}{
		{name: "off", nilCfg: true},
		{name: "on, system roots", f: tlsFlags{on: true}, external: true},
		{name: "cacert implies tls", f: tlsFlags{cacert: certs.CAFile}, external: true},
		{name: "all files", f: tlsFlags{on: true, cacert: certs.CAFile, cert: certs.ClientCertFile, key: certs.ClientKeyFile}, external: true},
		{name: "local cluster", f: tlsFlags{on: true}, want: "--tls needs --addrs"},
		{name: "files for a local cluster", f: tlsFlags{on: true, cacert: certs.CAFile}, want: "--cacert, --cert, --key and --tls-skip-verify need --addrs"},
		{name: "cacert missing", f: tlsFlags{on: true, cacert: missing}, external: true, want: "--cacert " + missing},
		{name: "cacert not PEM", f: tlsFlags{on: true, cacert: certs.ClientKeyFile}, external: true, want: "--cacert"},
		{name: "cert without key", f: tlsFlags{on: true, cert: certs.ClientCertFile}, external: true, want: "--key is missing: --cert needs it"},
		{name: "key without cert", f: tlsFlags{on: true, key: certs.ClientKeyFile}, external: true, want: "--cert is missing: --key needs it"},
		{name: "key of the wrong certificate", f: tlsFlags{on: true, cert: certs.ClientCertFile, key: certs.KeyFile}, external: true, want: "--key " + certs.KeyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.f.config(tc.external)
			switch {
			case tc.want != "":
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("err = %v, want one containing %q", err, tc.want)
				}
			case err != nil:
				t.Errorf("err = %v", err)
			case (cfg == nil) != tc.nilCfg:
				t.Errorf("config %v, want nil: %v", cfg, tc.nilCfg)
			}
		})
	}
}

func TestExplainTLS(t *testing.T) {
	base := errors.New("runner: cluster unreachable")
	noCert := &tls.Config{}
	withCert := &tls.Config{Certificates: []tls.Certificate{{}}}
	for _, tc := range []struct {
		name string
		err  error
		cfg  *tls.Config // nil: plain TCP
		want string      // in the message; "" means unchanged
	}{
		{"unknown CA", fmt.Errorf("%w: %w", base, x509.UnknownAuthorityError{}), noCert, "--cacert"},
		{"plain port", fmt.Errorf("%w: tls: first record does not look like a TLS handshake", base), noCert, "does not speak TLS"},
		{"client certificate wanted", fmt.Errorf("%w: remote error: tls: certificate required", base), noCert, "--cert and --key"},
		{"reset without a client certificate", fmt.Errorf("%w: write: connection reset by peer", base), noCert, "--cert and --key"},
		{"reset with a client certificate", fmt.Errorf("%w: EOF", base), withCert, "signed by a CA the server trusts"},
		{"TLS-only server, plain client", fmt.Errorf("%w: EOF", base), nil, "pass --tls"},
		{"unrelated", base, noCert, ""},
		{"unrelated, plain", base, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := explainTLS(tc.err, tc.cfg)
			if !errors.Is(got, base) {
				t.Errorf("%v does not wrap the original error", got)
			}
			if tc.want == "" {
				if got.Error() != tc.err.Error() {
					t.Errorf("changed to %q", got)
				}
			} else if !strings.Contains(got.Error(), tc.want) {
				t.Errorf("%q does not mention %q", got, tc.want)
			}
		})
	}
	if explainTLS(nil, noCert) != nil {
		t.Error("nil error explained")
	}
}

// TestRunTLSIntegration runs the binary against a TLS-only cluster that
// asks for client certificates (and a password): a run with the right
// files works and --verify comes out clean; a wrong CA, a missing client
// certificate or plain TCP are bad input with the fix, and never show
// the password.
func TestRunTLSIntegration(t *testing.T) {
	redistest.RequireServer(t)
	certs := tlstest.New(t)
	other := tlstest.New(t) // a CA the cluster never heard of
	const secret = "tls-pass-4f1c"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := cluster.StartLocal(ctx, cluster.LocalConfig{Masters: 3, Password: secret, TLS: &cluster.LocalTLS{
		CertFile: certs.CertFile, KeyFile: certs.KeyFile, CAFile: certs.CAFile,
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Stop(); err != nil {
			t.Error(err)
		}
	})
	addrs := strings.Join(l.MasterAddrs(), ",")
	env := append(os.Environ(), "CLUSTERBENCH_PASSWORD="+secret)

	out := filepath.Join(t.TempDir(), "out")
	r := runBinary(t, env, 90*time.Second, "run", "--addrs", addrs, "--tls", "--cacert", certs.CAFile,
		"--cert", certs.ClientCertFile, "--key", certs.ClientKeyFile, "--strategy", "router,goredis",
		"--duration", "2s", "--warmup", "0s", "--keys", "2000", "--migrate", "move:100", "--migrate-at", "500ms",
		"--verify", "--quiet", "--out", out)
	if r.code != 0 {
		t.Fatalf("run over TLS: exit %d\nstderr: %s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, secret) {
		t.Error("the password appears in the output")
	}
	s, err := metrics.ReadSummaryJSON(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range s.Strategies {
		if st.Ops == 0 || st.Errors != 0 || st.Verify == nil || !st.Verify.Clean() || st.Verify.ReadsChecked == 0 {
			t.Errorf("%s over TLS: %d ops, %d errors, verify %+v", st.Name, st.Ops, st.Errors, st.Verify)
		}
	}
	if !strings.Contains(r.stdout, "lost writes") {
		t.Errorf("no verify table on stdout:\n%s", r.stdout)
	}
	if b, err := os.ReadFile(filepath.Join(out, "summary.json")); err != nil || strings.Contains(string(b), secret) {
		t.Errorf("summary.json holds the password (or cannot be read: %v)", err)
	}

	// spread and cluster status reach the same cluster with the same flags.
	tlsArgs := []string{"--addrs", addrs, "--tls", "--cacert", certs.CAFile, "--cert", certs.ClientCertFile, "--key", certs.ClientKeyFile}
	st := runBinary(t, env, 30*time.Second, append([]string{"cluster", "status"}, tlsArgs...)...)
	if st.code != 0 || strings.Count(st.stdout, "master") != 3 {
		t.Errorf("cluster status over TLS: exit %d, want a table of 3 masters\nstdout: %s\nstderr: %s", st.code, st.stdout, st.stderr)
	}
	spreadOut := filepath.Join(t.TempDir(), "spread")
	sp := runBinary(t, env, 60*time.Second, append([]string{"spread", "--ops", "2000", "--keys", "2000", "--out", spreadOut}, tlsArgs...)...)
	if sp.code != 0 || !strings.Contains(sp.stdout, "cluster "+l.MasterAddrs()[0]) {
		t.Errorf("spread over TLS: exit %d, want the live cluster's ownership\nstdout: %s\nstderr: %s", sp.code, sp.stdout, sp.stderr)
	}
	if _, err := os.Stat(filepath.Join(spreadOut, "spread.json")); err != nil {
		t.Errorf("spread over TLS wrote no spread.json: %v", err)
	}
	if plain := runBinary(t, env, 30*time.Second, "cluster", "status", "--addrs", addrs); plain.code == 0 || !strings.Contains(plain.stderr, "--tls") {
		t.Errorf("cluster status in plain TCP at a TLS cluster: exit %d, want the --tls hint\nstderr: %s", plain.code, plain.stderr)
	}
	for _, out := range []string{st.stdout + st.stderr, sp.stdout + sp.stderr} {
		if strings.Contains(out, secret) {
			t.Error("the password appears in the output")
		}
	}

	for _, tc := range []badInputCase{
		{name: "wrong CA", args: []string{"--addrs", addrs, "--tls", "--cacert", other.CAFile, "--cert", certs.ClientCertFile, "--key", certs.ClientKeyFile},
			want: []string{"certificate", "--cacert"}},
		{name: "no client certificate", args: []string{"--addrs", addrs, "--tls", "--cacert", certs.CAFile},
			want: []string{"--cert and --key"}},
		{name: "plain TCP", args: []string{"--addrs", addrs},
			want: []string{l.MasterAddrs()[0], "--tls"}},
		{name: "missing certificate file", args: []string{"--addrs", addrs, "--tls", "--cert", filepath.Join(t.TempDir(), "x.crt"), "--key", certs.ClientKeyFile},
			want: []string{"--cert", "no such file", "name the PEM client certificate"}},
		{name: "TLS files for the local cluster", args: []string{"--tls", "--cacert", certs.CAFile},
			want: []string{"need --addrs", "run --tls"}},
	} {
		tc.env = []string{"CLUSTERBENCH_PASSWORD=" + secret}
		tc.secret = secret
		t.Run(tc.name, func(t *testing.T) { checkBadInput(t, tc) })
	}
}

// run --tls without --addrs runs on a TLS-only local cluster with
// certificates of its own, and says so in summary.json.
func TestRunLocalTLSIntegration(t *testing.T) {
	redistest.RequireServer(t)
	out := filepath.Join(t.TempDir(), "out")
	r := runBinary(t, os.Environ(), 90*time.Second, "run", "--tls", "--strategy", "router,goredis", "--duration", "1s", "--warmup", "0s",
		"--keys", "1000", "--masters", "2", "--verify", "--quiet", "--out", out)
	if r.code != 0 {
		t.Fatalf("run --tls on the local cluster: exit %d\nstderr: %s", r.code, r.stderr)
	}
	s, err := metrics.ReadSummaryJSON(filepath.Join(out, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		TLS bool `json:"tls"`
	}
	if err := json.Unmarshal(s.Config, &conf); err != nil || !conf.TLS {
		t.Errorf("summary.json config %s: want tls true (%v)", s.Config, err)
	}
	for _, st := range s.Strategies {
		if st.Ops == 0 || st.Errors != 0 || st.Verify == nil || !st.Verify.Clean() {
			t.Errorf("%s over local TLS: %d ops, %d errors, verify %+v", st.Name, st.Ops, st.Errors, st.Verify)
		}
	}
}
