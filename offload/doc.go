// Package offload is the core of nicflowd: one Network per virtual network
// holds the OpenFlow pipeline (tables, groups, meters) as the one source of
// truth, applies controller changes to it, hands every change to the
// execution tiers, merges their counters into OpenFlow statistics, expires
// timed-out flows and applies the network's fail mode.
//
// The tiers are soft (the Go fast path, package softpath), which always
// holds the complete pipeline, and tc (package tcflower: filters in the
// NIC or in kernel software), which takes the rules DESIGN.md's placement
// rules allow. The ports (with their switch ids and drivers) and the tc
// tier's kernel access are handed in by the network's builder
// (offload/manager, through Config and AddPort), not looked up here.
// Every Network method is safe for concurrent use: control operations are
// serialized by the Network's mutex, the fast path runs lock-free on
// immutable snapshots.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/api/..., github.com/nicflow/nicflow/cmd/...,
// github.com/nicflow/nicflow/sriov/..., github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/offload/manager.
package offload
