package strategy

import (
	"context"
	"errors"
	"net"

	"github.com/clusterbench/clusterbench/router"
)

// libResult turns a library's error into a Result. The libraries follow
// redirects inside their own calls, so a Result from them carries no
// redirect counts; an error that reaches us is classified by its text
// (MOVED surfaced to the caller, CLUSTERDOWN, TRYAGAIN, …).
func libResult(err error) Result {
	if err == nil {
		return Result{}
	}
	res := Result{Err: err, Kind: router.KindOther}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return res
	}
	res.Kind = router.ParseRedirect(err.Error()).Kind
	return res
}

// keyStrings converts a request's keys for libraries that take strings,
// reusing dst.
func keyStrings(dst []string, keys [][]byte) []string {
	dst = dst[:0]
	for _, k := range keys {
		dst = append(dst, string(k))
	}
	return dst
}

// libStats is what the real libraries report about themselves: nothing.
// Their redirects and refreshes are counted by the servers.
func libStats() Stats { return Stats{Known: false} }
