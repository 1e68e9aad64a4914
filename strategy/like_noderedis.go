package strategy

import "github.com/clusterbench/clusterbench/router"

// LikeNodeRedisPolicy reproduces node-redis' cluster client
// (packages/client/lib/cluster, @redis/client 5.x as of 6.2):
//
//   - MOVED: RedisCluster._execute (index.ts) awaits
//     this._slots.rediscover(client) and then looks the key's slot up again
//     (getClientAndSlotNumber): the caller waits for a full rediscovery and
//     goes where the new map says, not where the reply said.
//   - RedisClusterSlots.rediscover (cluster-slots.ts) keeps one running
//     rediscovery (#runningRediscoverPromise ??= ...): concurrent callers
//     await the same one.
//   - Each discovery (#discover → #getShards) connects a new client to the
//     node, sends CLUSTER SLOTS and destroys the client: a new connection
//     per refresh.
//   - ASK: RedisCluster._handleAsk sends ASKING and the command together
//     (Promise.all on the same client, pipelined): one write.
//   - Budget: maxCommandRedirections ?? 16 in _execute; the 17th redirect
//     fails the command.
var LikeNodeRedisPolicy = router.Policy{
	Moved:          router.MovedRediscover,
	Refresh:        router.RefreshBlocking,
	RefreshNewConn: true,
	MaxRedirects:   16,
}

func init() {
	registerPolicy("like-node-redis", "node-redis cluster policy: every MOVED waits for a full rediscovery over a new connection, then re-resolves the slot", LikeNodeRedisPolicy)
}
