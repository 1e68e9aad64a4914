package main

// The TLS flags of `run`, `spread` and `cluster status` (--tls --cacert
// --cert --key --tls-skip-verify), and the hints that turn a failed TLS
// handshake into the flag that fixes it.

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/clusterbench/clusterbench/cluster"
)

// tlsFlags are the TLS flags, named as redis-cli names them.
type tlsFlags struct {
	on                bool
	cacert, cert, key string
	skipVerify        bool
}

// add registers the flags; local says --tls alone starts a TLS local
// cluster (run).
func (f *tlsFlags) add(fl *pflag.FlagSet, local bool) {
	usage := "connect over TLS (every connection: admin, topology, migration and each strategy's)"
	if local {
		usage += "; without --addrs, the local clusters run TLS-only, with a throwaway CA and certificates made for the run"
	}
	fl.BoolVar(&f.on, "tls", false, usage)
	fl.StringVar(&f.cacert, "cacert", "", "TLS: PEM file of the CA that signs the servers' certificates (default: the system's roots; implies --tls)")
	fl.StringVar(&f.cert, "cert", "", "TLS: PEM client certificate, for servers with tls-auth-clients (with --key; implies --tls)")
	fl.StringVar(&f.key, "key", "", "TLS: PEM private key of --cert (implies --tls)")
	fl.BoolVar(&f.skipVerify, "tls-skip-verify", false, "TLS: accept any server certificate (test clusters only; implies --tls)")
}

// hasFiles reports whether a flag names a file or skips verification:
// settings of an external cluster's TLS.
func (f *tlsFlags) hasFiles() bool {
	return f.cacert != "" || f.cert != "" || f.key != "" || f.skipVerify
}

// enabled reports whether any TLS flag asks for TLS.
func (f *tlsFlags) enabled() bool {
	return f.on || f.hasFiles()
}

// config returns the client TLS configuration, nil without TLS. external
// says whether --addrs names the cluster; without it there is no cluster
// for these settings (run --tls alone makes a TLS local cluster with
// certificates of its own and does not call this). Errors name the flag
// and the fix.
func (f *tlsFlags) config(external bool) (*tls.Config, error) {
	if !f.enabled() {
		return nil, nil
	}
	if !external {
		if f.hasFiles() {
			return nil, errors.New("--cacert, --cert, --key and --tls-skip-verify need --addrs: a TLS local cluster (run --tls) uses certificates the run makes; point --addrs at your TLS cluster")
		}
		return nil, errors.New("--tls needs --addrs here: point --addrs at a TLS cluster")
	}
	cfg, err := cluster.TLSFiles{CACert: f.cacert, Cert: f.cert, Key: f.key, SkipVerify: f.skipVerify}.Config()
	var fe *cluster.TLSFileError
	if errors.As(err, &fe) {
		return nil, tlsFileProblem(fe)
	}
	return cfg, err
}

// tlsFileProblem says which flag's file is unusable and how to fix it.
func tlsFileProblem(fe *cluster.TLSFileError) error {
	flag := "--" + fe.Field
	if fe.Path == "" { // one of --cert and --key without the other
		other := "--cert"
		if fe.Field == "cert" {
			other = "--key"
		}
		return fmt.Errorf("%s is missing: %s needs it; pass both or neither", flag, other)
	}
	fix := map[string]string{
		"cacert": "name a PEM file holding the CA certificate that signed the servers' certificates",
		"cert":   "name the PEM client certificate",
		"key":    "name the PEM private key that belongs to --cert",
	}[fe.Field]
	return fmt.Errorf("%s %s: %v: %s", flag, fe.Path, fe.Err, fix)
}

// explainTLS adds to err the fix for a TLS handshake that failed, or for
// a connection the server closed at once (a plain client at a TLS-only
// server, or a TLS client without the certificate the server wants: over
// TLS 1.3 the client sees the reset, not the server's alert); other errors
// pass as they are. cfg is the client's TLS configuration (nil: plain).
// The result wraps err.
func explainTLS(err error, cfg *tls.Config) error {
	if err == nil {
		return nil
	}
	closed := func(msg string) bool {
		return strings.Contains(msg, "EOF") || strings.Contains(msg, "connection reset by peer") || strings.Contains(msg, "broken pipe")
	}
	var (
		unknownCA x509.UnknownAuthorityError
		badHost   x509.HostnameError
		invalid   x509.CertificateInvalidError
		notTLS    tls.RecordHeaderError
	)
	msg := err.Error()
	var hint string
	switch {
	case errors.As(err, &unknownCA) || strings.Contains(msg, "certificate signed by unknown authority"):
		hint = "the server's certificate is not signed by a CA you trust: pass that CA with --cacert (or --tls-skip-verify on a test cluster)"
	case errors.As(err, &badHost) || strings.Contains(msg, "certificate is valid for"):
		hint = "the server's certificate does not name the address in --addrs: use a host name or IP address its certificate lists (or --tls-skip-verify on a test cluster)"
	case errors.As(err, &invalid):
		hint = "the server's certificate is not valid (expired, or not yet valid?): renew it (or --tls-skip-verify on a test cluster)"
	case errors.As(err, &notTLS) || strings.Contains(msg, "first record does not look like a TLS handshake"):
		hint = "the server does not speak TLS on that port: drop --tls and the TLS flags, or use its tls-port"
	case strings.Contains(msg, "tls: certificate required") || (cfg != nil && len(cfg.Certificates) == 0 && closed(msg)):
		hint = "the server closed the TLS connection: if it asks for a client certificate (tls-auth-clients), pass --cert and --key"
	case strings.Contains(msg, "remote error: tls: bad certificate") || strings.Contains(msg, "remote error: tls: unknown certificate authority") || (cfg != nil && closed(msg)):
		hint = "the server closed the TLS connection: check that --cert is signed by a CA the server trusts (its tls-ca-cert-file)"
	case cfg == nil && closed(msg):
		hint = "the server closed the connection at once: if it only speaks TLS, pass --tls (with --cacert and, if it asks for one, --cert and --key)"
	default:
		return err
	}
	return fmt.Errorf("%w (%s)", err, hint)
}
