package strategy

import "github.com/clusterbench/clusterbench/router"

// LikeJedisPolicy reproduces Jedis' JedisCluster (the same from Jedis 4.0
// to 7.5 and on the 8.0 development line; paths under
// src/main/java/redis/clients/jedis/):
//
//   - MOVED: the retry loop of ClusterCommandExecutor.executeCommand
//     (executors/ClusterCommandExecutor.java; the loop moved into
//     doExecuteCommand in 5.2) calls provider.renewSlotCache(connection)
//     in the calling thread, then sends the next attempt to the node named
//     in the reply: the map is not patched.
//   - JedisClusterInfoCache.renewClusterSlots (JedisClusterInfoCache.java,
//     reached through ClusterConnectionProvider.renewSlotCache) takes
//     rediscoverLock with tryLock: one thread refreshes, with CLUSTER SLOTS
//     over the connection that got the MOVED; threads that find the lock
//     taken return at once and go on with the map they have
//     (RefreshCaller).
//   - ASK: the next attempt first runs Connection.executeCommand(ASKING)
//     (Connection.java; the ASKING_HOOK pre-process hook in 8.0), which
//     sends ASKING and reads its reply: a round trip of its own.
//   - Budget: JedisCluster.DEFAULT_MAX_ATTEMPTS (JedisCluster.java) is 5
//     attempts, the first one included, so at most 4 redirects are
//     followed. DESIGN.md's table says 5; the source says 4, and so does
//     this preset.
var LikeJedisPolicy = router.Policy{
	Moved:            router.MovedFollow,
	Refresh:          router.RefreshCaller,
	AskTwoRoundTrips: true,
	MaxRedirects:     4,
}

func init() {
	registerPolicy("like-jedis", "Jedis JedisCluster's policy: refresh in the caller on MOVED (one at a time), ASKING as its own round trip, 5 attempts", LikeJedisPolicy)
}
