package strategy

import "github.com/clusterbench/clusterbench/router"

// LikeIORedisPolicy reproduces ioredis' Cluster (lib/cluster/index.ts as
// of ioredis 6.0; the same since 5.0):
//
//   - MOVED: the moved handler in Cluster.sendCommand patches this.slots
//     for the slot, re-sends the command (tryConnection) and calls
//     Cluster.refreshSlotsCache without waiting for it.
//   - Cluster.refreshSlotsCache returns at once while a refresh runs
//     (isRefreshing): triggers are deduplicated, none is kept for later.
//     It asks the nodes in shuffled order until one answers; each ask is
//     Cluster.getInfoFromNode, which runs CLUSTER SLOTS over
//     redis.duplicate(...), a new connection, and disconnects it.
//   - ASK: the ask handler re-sends with redis.asking() queued right before
//     the command on the same connection: one write.
//   - Budget: Cluster.handleError fails the command once maxRedirections
//     (DEFAULT_CLUSTER_OPTIONS in lib/cluster/ClusterOptions.ts: 16) is
//     used up: 16 redirects are followed. retryDelayOnMoved defaults to 0.
//   - No periodic refresh: DEFAULT_CLUSTER_OPTIONS has no
//     slotsRefreshInterval since 5.0.0 (commit "fix: disable
//     slotsRefreshInterval by default"); ioredis 4 refreshed every 5 s.
var LikeIORedisPolicy = router.Policy{
	Moved:          router.MovedPatch,
	Refresh:        router.RefreshAsync,
	RefreshNewConn: true,
	MaxRedirects:   16,
}

func init() {
	registerPolicy("like-ioredis", "ioredis Cluster's policy: patch on MOVED, deduplicated async refresh over a new connection on every MOVED", LikeIORedisPolicy)
}
