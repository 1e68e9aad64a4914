// Package tlstest gives each test throwaway TLS certificates of its own
// (package certs), in a directory the test removes.
package tlstest

import (
	"testing"

	"github.com/clusterbench/clusterbench/internal/certs"
)

// Certs are the PEM files of one throwaway CA and what it signed.
type Certs = certs.Certs

// New writes fresh certificates into a temporary directory of tb, which
// removes them when the test ends. It fails tb on any error.
func New(tb testing.TB) *Certs {
	tb.Helper()
	c, err := certs.Write(tb.TempDir())
	if err != nil {
		tb.Fatalf("tlstest: %v", err)
	}
	return c
}
