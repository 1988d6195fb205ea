package interop

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
)

// TestStandaloneLearning runs nicflowd in fail-mode standalone with an empty
// flow table: it must forward as a learning switch between three
// namespaces, and keep doing so while a client (ovs-ofctl, nicflowctl) is
// connected to the management socket, which, as Open vSwitch's br0.mgmt,
// is a service connection and not a controller.
func TestStandaloneLearning(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	h := newHosts(t, 3)
	d := startDaemon(t, "--port", h[0].Port, "--port", h[1].Port, "--port", h[2].Port,
		"--fail-mode", "standalone")

	pingAll := func(t *testing.T) {
		t.Helper()
		for _, from := range h {
			for _, to := range h {
				if from != to {
					pingOK(t, from, to, 2)
				}
			}
		}
	}
	if !t.Run("learning switch with an empty table", pingAll) {
		return
	}
	if got := parseFlows(daemontest.MustOfctl(t, "dump-flows", d.Mgmt())); len(got) != 0 {
		t.Errorf("dump-flows lists %d flows, want none (learning is not a flow)", len(got))
	}
	t.Run("management connection open", func(t *testing.T) {
		c, err := net.DialTimeout("unix", strings.TrimPrefix(d.Mgmt(), "unix:"), 5*time.Second)
		if err != nil {
			t.Fatalf("dial management socket: %v", err)
		}
		defer c.Close()
		if _, err := c.Write(ofHeader(ofptHello, 8, 1)); err != nil {
			t.Fatalf("send hello: %v", err)
		}
		readUntil(t, c, func(hdr, _ []byte) bool { return hdr[1] == ofptHello })
		for _, hh := range h {
			hh.NS.IP(t, "neigh", "flush", "all")
		}
		pingAll(t)
	})
}
