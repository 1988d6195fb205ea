// Package test holds nicflow's cross-cutting tests: the check that every
// package has a doc comment, and, in its subdirectories, the namespace
// helpers, the interop tests against real OpenFlow tools, the demo and the
// forwarding benchmark.
package test
