package interop

import (
	"fmt"
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

func TestMain(m *testing.M) { daemontest.Main(m, "nicflowd", "nicflowctl") }

// startDaemon starts nicflowd with args, logging at debug level (see
// daemontest.Start).
func startDaemon(t *testing.T, args ...string) *daemontest.Daemon {
	t.Helper()
	return daemontest.Start(t, append(args, "--log-level", "debug")...)
}

// newHosts creates n hosts in namespaces named nfi... (see
// daemontest.NewHosts).
func newHosts(t *testing.T, n int) []*daemontest.Host {
	t.Helper()
	return daemontest.NewHosts(t, "nfi", n)
}

// twoHosts is nicflowd switching two hosts, with a passive OpenFlow
// listener on loopback.
type twoHosts struct {
	a, b  *daemontest.Host
	hosts []*daemontest.Host // a and b
	d     *daemontest.Daemon
	port  int    // the listener's TCP port
	sw    string // the switch as ovs-ofctl names it: tcp:127.0.0.1:PORT
}

// startTwoHosts starts nicflowd in fail-mode secure on the ports of two
// new hosts (OpenFlow ports 1 and 2) with a ptcp: listener on loopback.
func startTwoHosts(t *testing.T) twoHosts {
	t.Helper()
	h := newHosts(t, 2)
	port := daemontest.FreePort(t)
	d := startDaemon(t, "--port", h[0].Port, "--port", h[1].Port,
		"--listen", fmt.Sprintf("ptcp:%d:127.0.0.1", port), "--fail-mode", "secure")
	return twoHosts{a: h[0], b: h[1], hosts: h, d: d, port: port, sw: fmt.Sprintf("tcp:127.0.0.1:%d", port)}
}
