package strategy

import "github.com/clusterbench/clusterbench/router"

// LikeRedisPyPolicy reproduces redis-py's RedisCluster (sync client,
// redis/cluster.py as of redis-py 8.0; defaults unchanged since 7.2):
//
//   - MOVED: RedisCluster._execute_command counts every MOVED in
//     reinitialize_counter (one counter per client object, shared by its
//     threads); on every reinitialize_steps-th one (default 5 since 4.4.0,
//     10 before; see RedisCluster._should_reinitialized) the calling thread
//     runs NodesManager.initialize, otherwise NodesManager.move_slot patches
//     the slot. The command then looks its slot up again in the cache.
//   - NodesManager.initialize asks one startup node for CLUSTER SLOTS (the
//     first, in shuffled order, whose answer covers the slots) under
//     _initialization_lock; since 7.2.0 a thread that waited on that lock
//     and finds the epoch changed returns without fetching again, so
//     concurrent triggers wait for the one refresh (RefreshBlocking).
//   - ASK: _execute_command sends ASKING and reads its reply
//     (connection.send_command("ASKING"); parse_response) before sending
//     the command: a round trip of its own.
//   - Budget: AbstractRedisCluster.RedisClusterRequestTTL = 16 attempts per
//     command, the first one included, so at most 15 redirects are followed
//     (DESIGN.md's table says 16; the source says 15, and so does this
//     preset).
//
// Two differences remain: on the fifth MOVED redis-py refreshes instead of
// patching, where the router patches and then refreshes (the refreshed map
// replaces the patch either way), and initialize also marks the queried
// node's pooled connections for reconnect, which is not modelled.
var LikeRedisPyPolicy = router.Policy{
	Moved:            router.MovedPatch,
	Refresh:          router.RefreshBlocking,
	EveryKthMoved:    5,
	AskTwoRoundTrips: true,
	MaxRedirects:     15,
}

func init() {
	registerPolicy("like-redis-py", "redis-py RedisCluster's policy: patch on MOVED, blocking refresh every 5th MOVED, ASKING as its own round trip", LikeRedisPyPolicy)
}
