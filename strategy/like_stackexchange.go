package strategy

import (
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// LikeStackExchangePolicy reproduces StackExchange.Redis'
// ConnectionMultiplexer against a cluster (2.6.86 and later, checked on the
// 3.x main line; paths under src/StackExchange.Redis/):
//
//   - Redirects: ResultProcessor.HandleCommonError (ResultProcessor.cs)
//     hands MOVED and ASK to ConnectionMultiplexer.TryResend
//     (ConnectionMultiplexer.cs) and on to ServerSelectionStrategy.TryResend
//     (ServerSelectionStrategy.cs), which re-sends the message to the node
//     in the reply once: it sets CommandFlags.NoRedirect on the message
//     ("once is enough"), so a second redirect fails the command
//     (MaxRedirects 1).
//   - MOVED also patches the slot (ServerSelectionStrategy.TryResend:
//     arr[hashSlot] = server).
//   - ConnectionMultiplexer.TryResend starts an asynchronous reconfigure
//     (ReconfigureIfNeeded, skipped while one is active) only when
//     LastReconfigureSecondsAgo > 5. That counts whole seconds (ticks /
//     1000), so the gap is at least 6 s: this preset uses 6 s where
//     DESIGN.md's table says 5 s. Triggers inside the gap are dropped.
//     Before 2.6.86 a MOVED never triggered a reconfigure.
//   - ASK: the message is re-sent with the asking flag, and
//     PhysicalBridge.WriteMessageToServerInsideWriteLock (PhysicalBridge.cs)
//     writes ASKING just before it on the same connection: one write.
//
// Not modelled: the gap also counts from the initial connect (the
// multiplexer's construction sets lastReconfigiureTicks), so
// StackExchange.Redis refreshes on no MOVED in its first 6 s, while the
// router admits the first trigger at any time.
var LikeStackExchangePolicy = router.Policy{
	Moved:        router.MovedPatch,
	Refresh:      router.RefreshAsync,
	Cooldown:     6 * time.Second,
	MaxRedirects: 1,
}

func init() {
	registerPolicy("like-stackexchange", "StackExchange.Redis policy: patch on MOVED, async refresh at most every 6 s, one redirect only", LikeStackExchangePolicy)
}
