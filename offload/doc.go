// Package offload is the core of nicflowd: one Network per virtual network
// holds the OpenFlow pipeline (tables, groups, meters) as the one source of
// truth, applies controller changes to it, hands every change to the
// execution tiers, merges their counters into OpenFlow statistics, expires
// timed-out flows and applies the network's fail mode.
//
// This slice has one tier, soft (the Go fast path in package softpath).
// Every Network method is safe for concurrent use: control operations are
// serialized by the Network's mutex, the fast path runs lock-free on
// immutable snapshots.
package offload
