// Package test holds nicflow's cross-cutting tests: the check that every
// package has a doc comment ending with what the package must not import,
// and that its imports obey (pkgdoc_test.go), and, in its subdirectories,
// the namespace helpers, the helper that runs a real nicflowd for tests
// (daemontest), the interop tests against real OpenFlow tools, the stress
// tests, the demo and the forwarding benchmark.
//
// It imports no other nicflow package.
package test
