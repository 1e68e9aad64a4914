package strategy

import (
	"time"

	"github.com/clusterbench/clusterbench/router"
)

// LikeLettucePolicy reproduces Lettuce 7's RedisClusterClient with default
// options (checked at 7.7; paths under
// src/main/java/io/lettuce/core/cluster/):
//
//   - Adaptive refresh is on by default since 7.0:
//     ClusterTopologyRefreshOptions.DEFAULT_ADAPTIVE_REFRESH_TRIGGERS
//     (ClusterTopologyRefreshOptions.java) is every RefreshTrigger
//     (MOVED_REDIRECT, ASK_REDIRECT, PERSISTENT_RECONNECTS, UNCOVERED_SLOT,
//     UNKNOWN_NODE). In 6.x it was empty, which the `stale` strategy
//     models. Periodic refresh stays off (DEFAULT_PERIODIC_REFRESH_ENABLED).
//   - ClusterTopologyRefreshScheduler.onMovedRedirection and
//     onAskRedirection (ClusterTopologyRefreshScheduler.java) call
//     indicateTopologyRefreshSignal, whose acquireTimeout admits one
//     trigger per adaptiveRefreshTriggersTimeout
//     (DEFAULT_ADAPTIVE_REFRESH_TIMEOUT = 5 s) and drops the others. The
//     refresh runs on the event executor (ClusterTopologyRefreshTask, which
//     skips when one is in progress): asynchronous, no trailing run.
//   - MOVED: ClusterDistributionChannelWriter.doWrite
//     (ClusterDistributionChannelWriter.java) re-sends the command to
//     getMoveTarget(...), the node in the reply; the partitions are not
//     patched.
//   - ASK: doWrite → writeCommand(command, asking=true, ...) writes ASKING
//     and the command together (writeCommands): one write.
//   - Budget: ClusterCommand.complete (ClusterCommand.java) re-sends while
//     maxRedirections > redirections, with
//     ClusterClientOptions.DEFAULT_MAX_REDIRECTS = 5: 5 redirects are
//     followed.
//   - A refresh (topology/DefaultClusterTopologyRefresh.java, loadViews)
//     opens new connections and closes them afterwards (RefreshNewConn).
//
// Not modelled: loadViews asks every known node (CLUSTER NODES and INFO on
// each) where the router asks one, so the servers see about N topology
// calls per Lettuce refresh and one per refresh of this preset.
// refreshTriggersReconnectAttempts (5) only matters for the
// PERSISTENT_RECONNECTS trigger, which a migration does not fire.
var LikeLettucePolicy = router.Policy{
	Moved:          router.MovedFollow,
	Refresh:        router.RefreshAsync,
	Cooldown:       5 * time.Second,
	RefreshOnAsk:   true,
	RefreshNewConn: true,
	MaxRedirects:   5,
}

func init() {
	registerPolicy("like-lettuce", "Lettuce 7 adaptive refresh: follow MOVED, async refresh on MOVED or ASK at most once per 5 s, 5 redirects", LikeLettucePolicy)
}
