package cluster

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// TLSFiles name the PEM files of a TLS client, as redis-cli's --cacert,
// --cert and --key do. Config turns them into the tls.Config that
// ConnOptions.TLS carries to every connection (admin, topology, migrator,
// and every strategy's).
type TLSFiles struct {
	// CACert holds the certificates of the CAs that sign the servers'
	// certificates; empty means the system's roots.
	CACert string
	// Cert and Key are the client certificate and its key, for servers
	// that ask for one (tls-auth-clients); both or neither.
	Cert, Key string
	// SkipVerify accepts any server certificate: for tests only, it gives
	// up the protection TLS is there for.
	SkipVerify bool
}

// ErrTLSFile is wrapped by every TLSFileError.
var ErrTLSFile = errors.New("cluster: unusable TLS file")

// TLSFileError says which of the TLS files could not be used and why.
type TLSFileError struct {
	Field string // "cacert", "cert" or "key"
	Path  string
	Err   error
}

func (e *TLSFileError) Error() string {
	return fmt.Sprintf("cluster: TLS %s file %s: %v", e.Field, e.Path, e.Err)
}

func (e *TLSFileError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrTLSFile) true.
func (e *TLSFileError) Is(target error) bool { return target == ErrTLSFile }

// Config reads the files and returns the client configuration: the CA
// pool, the client certificate, TLS 1.2 at least. The server name is left
// empty, so each connection checks the certificate against the host it
// dials (an IP address must then be among the certificate's IP SANs).
func (f TLSFiles) Config() (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.SkipVerify} //nolint:gosec // opt-in, for tests
	if f.CACert != "" {
		pem, err := os.ReadFile(f.CACert)
		if err != nil {
			return nil, &TLSFileError{Field: "cacert", Path: f.CACert, Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &TLSFileError{Field: "cacert", Path: f.CACert, Err: errors.New("holds no PEM certificate")}
		}
		cfg.RootCAs = pool
	}
	switch {
	case f.Cert == "" && f.Key == "":
		return cfg, nil
	case f.Key == "":
		return nil, &TLSFileError{Field: "key", Err: errors.New("missing: a client certificate needs its key")}
	case f.Cert == "":
		return nil, &TLSFileError{Field: "cert", Err: errors.New("missing: a client key needs its certificate")}
	}
	certPEM, err := os.ReadFile(f.Cert)
	if err != nil {
		return nil, &TLSFileError{Field: "cert", Path: f.Cert, Err: err}
	}
	keyPEM, err := os.ReadFile(f.Key)
	if err != nil {
		return nil, &TLSFileError{Field: "key", Path: f.Key, Err: err}
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		// Name the file the problem is most likely in.
		field, path := "key", f.Key
		if !hasPEMCert(certPEM) {
			field, path = "cert", f.Cert
		}
		return nil, &TLSFileError{Field: field, Path: path, Err: err}
	}
	cfg.Certificates = []tls.Certificate{pair}
	return cfg, nil
}

// hasPEMCert reports whether b holds at least one PEM certificate.
func hasPEMCert(b []byte) bool { return x509.NewCertPool().AppendCertsFromPEM(b) }

// LocalTLS makes a local cluster TLS-only: every node listens on a TLS
// port and no plain one (--port 0), and talks TLS on the cluster bus, for
// replication and for MIGRATE (tls-cluster, tls-replication yes). The
// nodes then announce their TLS ports in CLUSTER SHARDS ("tls-port", no
// "port"), SLOTS and NODES, and the admin connections use TLS too.
type LocalTLS struct {
	// CertFile and KeyFile are every node's certificate and key. A node
	// also presents them as a client to the other nodes, so the
	// certificate must allow client authentication as well as server.
	CertFile, KeyFile string
	// CAFile holds the CA that signs the nodes' and the clients'
	// certificates.
	CAFile string
	// AuthClients is tls-auth-clients: "yes" (when empty) makes every
	// client present a certificate signed by CAFile, "optional" checks
	// one only when offered, "no" never asks.
	AuthClients string
	// ClientCertFile and ClientKeyFile are what the admin connections
	// present; empty means CertFile and KeyFile.
	ClientCertFile, ClientKeyFile string
}

// validate reports what is missing from t (nothing when t is nil).
func (t *LocalTLS) validate() []error {
	if t == nil {
		return nil
	}
	var errs []error
	if t.CertFile == "" || t.KeyFile == "" || t.CAFile == "" {
		errs = append(errs, errors.New("cluster: TLS needs a certificate, its key and the CA file"))
	}
	switch t.AuthClients {
	case "", "yes", "optional", "no":
	default:
		errs = append(errs, fmt.Errorf("cluster: TLS auth-clients %q: use yes, optional or no", t.AuthClients))
	}
	if (t.ClientCertFile == "") != (t.ClientKeyFile == "") {
		errs = append(errs, errors.New("cluster: TLS client certificate and key go together: set both or neither"))
	}
	return errs
}

// prepareTLS makes the TLS file names absolute (redis-server reads them
// after changing to its own directory), in a copy of c.TLS, and returns
// the admin connections' options: c's password and, with TLS, a client
// configuration trusting CAFile.
func (c *LocalConfig) prepareTLS() (ConnOptions, error) {
	opt := ConnOptions{Password: c.Password}
	if c.TLS == nil {
		return opt, nil
	}
	t := *c.TLS
	for _, p := range []*string{&t.CertFile, &t.KeyFile, &t.CAFile, &t.ClientCertFile, &t.ClientKeyFile} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return opt, fmt.Errorf("cluster: %w", err)
		}
		*p = abs
	}
	if t.AuthClients == "" {
		t.AuthClients = "yes"
	}
	c.TLS = &t
	files := TLSFiles{CACert: t.CAFile, Cert: t.CertFile, Key: t.KeyFile}
	if t.ClientCertFile != "" {
		files.Cert, files.Key = t.ClientCertFile, t.ClientKeyFile
	}
	cfg, err := files.Config()
	if err != nil {
		return opt, err
	}
	opt.TLS = cfg
	return opt, nil
}

// portArgs are the redis-server arguments that make a node listen on
// port: the plain port, or with TLS the TLS port and the TLS settings.
func (t *LocalTLS) portArgs(port int) []string {
	if t == nil {
		return []string{"--port", strconv.Itoa(port)}
	}
	return []string{
		"--port", "0",
		"--tls-port", strconv.Itoa(port),
		"--tls-cert-file", t.CertFile,
		"--tls-key-file", t.KeyFile,
		"--tls-ca-cert-file", t.CAFile,
		"--tls-auth-clients", t.AuthClients,
		"--tls-cluster", "yes",
		"--tls-replication", "yes",
	}
}
