// Package conformance runs the OpenFlow 1.3 switch test suite of os-ken
// (Ryu's tester.py, from Debian's python3-os-ken, with the test files of
// os-ken 2.5.0 vendored in of13/) against nicflowd, and against Open
// vSwitch as the peer, and checks the outcome of every test against
// expected.txt.
//
// Each target switch is joined port for port (1-1, 2-2, 3-3) by veth pairs
// to a tester switch, an Open vSwitch bridge of the userspace (netdev)
// datapath; osken-manager runs tester.py as the controller of both. All of
// it lives in one network namespace made for the run, with its own
// ovsdb-server and ovs-vswitchd: nothing of the host is touched, and every
// process is started and stopped by the test.
//
// TestConformance needs root and the tools (ovs-vswitchd, ovsdb-server,
// ovsdb-tool, ovs-vsctl, ovs-ofctl, osken-manager); without them it skips,
// saying why, and under CI=true, where a skip is a failure, it fails. By
// default it runs, against nicflowd, the tests expected.txt says pass (but
// the rate tests: meters, groups) and fails on any that does not;
// `make conformance` runs every test against both targets, writes
// results.txt and prints the summary and the differences to expected.txt
// (README.md). The package has no non-test code.
//
// It imports no other nicflow package.
package conformance
