package strategy

import (
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// RouterPolicy is clusterbench's own best-practice policy:
//   - a MOVED patches the slot at once and the command goes to the address
//     in the reply, with no backoff;
//   - the MOVED also triggers one asynchronous refresh, delayed by a small
//     jitter so that a burst of MOVED replies from many workers costs one
//     refresh, with one trailing refresh for triggers that arrive while it
//     runs;
//   - ASK is answered with ASKING and the command in one write, and does
//     not refresh (the slot has not moved yet);
//   - while a migration is visible (an ASK or MOVED in the last two
//     seconds) the map is refreshed every 250 ms, so most slots are learnt
//     from a refresh as they finish moving instead of from a MOVED each;
//   - TRYAGAIN / CLUSTERDOWN back off exponentially from 10 ms.
var RouterPolicy = router.Policy{
	Moved:            router.MovedPatch,
	Refresh:          router.RefreshAsync,
	Jitter:           5 * time.Millisecond,
	Trailing:         true,
	MigrationRefresh: 250 * time.Millisecond,
	MaxRedirects:     16,
}

func init() {
	registerPolicy("router", "clusterbench's best-practice router: patch on MOVED, one jittered async refresh, migration-aware refresh", RouterPolicy)
}
