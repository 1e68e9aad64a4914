package tlstest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"testing"
)

// The certificates work as redis-server and clusterbench use them: a TLS
// server on 127.0.0.1 with the server certificate that requires client
// certificates accepts ClientConfig, for 127.0.0.1 and localhost.
func TestHandshake(t *testing.T) {
	c := New(t)
	for _, f := range []string{c.KeyFile, c.ClientKeyFile} {
		if st, err := os.Stat(f); err != nil || st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, %v; want 0600", f, st.Mode().Perm(), err)
		}
	}
	pair, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair}, ClientCAs: c.Pool(), ClientAuth: tls.RequireAndVerifyClientCert,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = io.Copy(conn, conn)
			}()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, host := range []string{"127.0.0.1", "localhost"} {
		cfg := c.ClientConfig()
		cfg.ServerName = host
		conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", port), cfg)
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping" {
			t.Errorf("%s: echo %q, %v (client certificate refused?)", host, buf, err)
		}
		conn.Close()
	}

	// The server certificate also serves as a client certificate (the
	// cluster bus); a second CA's certificates are not trusted.
	server, _ := x509.ParseCertificate(pair.Certificate[0])
	if _, err := server.Verify(x509.VerifyOptions{Roots: c.Pool(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Errorf("server certificate as a client: %v", err)
	}
	if _, err := server.Verify(x509.VerifyOptions{Roots: New(t).Pool(), DNSName: "localhost"}); err == nil {
		t.Error("another CA trusts the server certificate")
	}
}
