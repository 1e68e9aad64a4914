package router

// Shard is one master and its replicas with the slot ranges the master owns,
// as reported by CLUSTER SHARDS (or rebuilt from CLUSTER SLOTS).
type Shard struct {
	Slots []SlotRange // inclusive ranges owned by the shard's master
	Nodes []ShardNode // the master first, then its replicas
}

// SlotRange is an inclusive range of hash slots.
type SlotRange struct{ First, Last uint16 }

// ShardNode is one node of a shard.
type ShardNode struct {
	ID     string // cluster node id (40 hex chars); empty if the reply had none
	Addr   string // host:port ("[v6]:port" for IPv6) clients should connect to
	Role   string // "master" or "replica"
	Health string // "online", "failed", "loading"; empty if unknown (CLUSTER SLOTS)
}

// Master returns the shard's master node, or false when the shard has none.
func (s Shard) Master() (ShardNode, bool) {
	for _, n := range s.Nodes {
		if n.Role == "master" {
			return n, true
		}
	}
	return ShardNode{}, false
}
