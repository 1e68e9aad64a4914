// Package router is the innermost layer of clusterbench: everything a client
// needs to send a key to the right Redis Cluster node.
//
// It owns the hash-slot function (CRC16-XMODEM with the hash-tag rule), the
// immutable slot→node map read lock-free through an atomic pointer, the
// parsing of CLUSTER SHARDS / CLUSTER SLOTS replies, and the allocation-free
// parsing of redirect and cluster errors (MOVED, ASK, TRYAGAIN, CLUSTERDOWN,
// LOADING). It imports no other clusterbench package.
package router

// NumSlots is the number of hash slots in a Redis Cluster.
const NumSlots = 16384
