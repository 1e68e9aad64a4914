// Package redistest holds helpers shared by the integration tests that need a
// real redis-server binary.
package redistest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireServer returns the path of redis-server. When it is absent the test
// is skipped, except under CI (CI=true), where a missing server is a failure:
// a skipped integration test must never pass for a green build.
func RequireServer(tb testing.TB) string {
	tb.Helper()
	path, err := exec.LookPath("redis-server")
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("redis-server not found on PATH under CI=true: install Debian's redis-server package (make test does it when run as root)")
	}
	tb.Skip("redis-server not found on PATH: install Debian's redis-server package to run integration tests")
	return ""
}
