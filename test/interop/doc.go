// Package interop tests nicflowd against real OpenFlow tools: Open vSwitch's
// ovs-ofctl as a client of its passive listener, an os-ken learning-switch
// controller it connects to, and hand-made malformed messages over raw TCP.
// Every test builds its own network namespaces joined to the daemon by veth
// pairs and checks that pings between them follow the installed flows.
//
// The tests need root and the tools (ip, ping, ovs-ofctl, osken-manager);
// without root or a tool they skip, except under CI=true, where either is
// a failure. The daemon, the hosts and ovs-ofctl come from test/daemontest.
// The package has no non-test code.
//
// It imports no other nicflow package.
package interop
