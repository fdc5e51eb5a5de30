// Package raftstore will hold the cluster's metadata state machine on hashicorp/raft:
// nodes, tables, rulesets, users and the shard map with epochs. It is empty until the
// cluster work starts; see DESIGN.md.
package raftstore
