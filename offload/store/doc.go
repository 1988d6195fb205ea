// Package store is nicflowd's embedded state: networks and vNIC (VF)
// allocations, kept in one bbolt file so a restarted daemon knows every
// network and every allocation and can reconcile the kernel to them.
//
// Each kind of record has its own bucket; values are JSON. A meta bucket
// holds the schema version, checked on Open. Only one process may hold the
// file: a second Open fails after about a second with an error saying the
// file is in use.
//
// Single-record helpers (PutNetwork, GetVNIC, ...) each run in their own
// transaction; Update runs a function in one read-write transaction, so a
// check and the write that depends on it (a VF allocation) are atomic. A
// Store is safe for concurrent use.
//
// It imports no other nicflow package.
package store
