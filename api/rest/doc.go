// Package rest is nicflowd's HTTP management API: NICs, networks, vNICs,
// the flows and port counters of a network, /healthz and Prometheus
// /metrics. It is served on a unix socket by default (and optionally on
// TCP) and documented by openapi.yaml, which the tests hold to the routes
// the server registers.
//
// The server validates every request (JSON shape, unknown fields, MACs,
// VLANs, rates, names, enumerations) before it calls the Backend, so a
// rejected request changes nothing; errors are JSON objects naming the
// field that is wrong:
//
//	{"error": "vlan: 4096 is out of range 0-4094", "field": "vlan"}
//
// The Backend is the daemon's network manager (offload/manager): it is
// defined here, by its consumer, with the types it takes and returns, and
// reports failures with a kind (*Error, or wrapping ErrNotFound,
// ErrConflict, ErrInvalid, ErrUnavailable or ErrRefused); the server alone
// maps kinds to HTTP statuses.
//
// Server is safe for concurrent use; the Backend must be too. Its clients,
// nicflowctl among them, link this package, so it links none of the
// daemon.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/api/openflow/oftarget and
// github.com/nicflow/nicflow/api/mtls.
package rest
