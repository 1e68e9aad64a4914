// Package cluster runs and inspects Redis Clusters for clusterbench.
//
// It starts throwaway local clusters from the redis-server binary
// (StartLocal: one process per node on 127.0.0.1, each in its own process
// group and directory, stopped and cleaned up by Stop), discovers the
// topology of any cluster (Discover: CLUSTER SHARDS with a fall-back to
// CLUSTER SLOTS, parsed by package router), and parses the replies the
// migrator and the status command need (CLUSTER NODES with its migrating and
// importing markers, INFO). Admin commands go over single-node rueidis
// connections (Dial), never through a cluster client, so each command
// reaches exactly the node it names.
//
// Library code here returns errors and never exits; the CLI decides.
package cluster
