package strategy

import "github.com/clusterbench/clusterbench/router"

// UnawarePolicy is a client without cluster support that follows
// redirects, like `redis-cli -c`: every command goes to the worker's home
// node, every redirect is followed, nothing is remembered.
var UnawarePolicy = router.Policy{NoSlotMap: true, Moved: router.MovedFollow, MaxRedirects: 16}

func init() {
	registerPolicy("unaware", "cluster-unaware client: one home node, follows every redirect, caches nothing", UnawarePolicy)
}
