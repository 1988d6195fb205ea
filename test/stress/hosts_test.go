package stress

import (
	"fmt"
	"os/exec"
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

// newHosts creates n hosts in namespaces named nfs... (see
// daemontest.NewHosts); host i's port has MAC address 02:00:00:00:01:0i,
// and each host a permanent neighbour entry for every other host, so that
// no ARP needs the switch and a host sends nothing but what the test makes
// it send.
func newHosts(t *testing.T, n int) []*daemontest.Host {
	t.Helper()
	hosts := daemontest.NewHosts(t, "nfs", n)
	for i, h := range hosts {
		if out, err := exec.Command("ip", "link", "set", h.Port, "address", fmt.Sprintf("02:00:00:00:01:%02x", i+1)).CombinedOutput(); err != nil {
			t.Fatalf("set the MAC address of %s: %v: %s", h.Port, err, out)
		}
	}
	for _, h := range hosts {
		for _, o := range hosts {
			if o != h {
				h.NS.IP(t, "neigh", "replace", o.IP, "lladdr", o.MAC, "dev", "eth0", "nud", "permanent")
			}
		}
	}
	return hosts
}
