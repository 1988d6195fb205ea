//go:build linux

package daemontest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/nicflow/nicflow/test/netns"
)

// Host is one "VM": a network namespace whose eth0 is one end of a veth
// pair; the other end, Port, is in the test's namespace and becomes a
// switch port.
type Host struct {
	NS   *netns.NS
	Port string // host-side veth, a nicflowd --port
	IP   string // eth0's IPv4 address (10.0.0.N)
	MAC  string // eth0's MAC address (02:00:00:00:00:0N)
}

// NewHosts creates n namespaces named after prefix with uniquely named
// veth pairs; host i (from 1) has 10.0.0.i/24 and MAC 02:00:00:00:00:0i.
// IPv6 is off so that no neighbour discovery traffic adds to the counters,
// and segmentation offloads are off so every frame fits the fast path's
// MTU-sized buffers. Everything is removed by t.Cleanup.
func NewHosts(t *testing.T, prefix string, n int) []*Host {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	tag := prefix + hex.EncodeToString(rnd[:])
	hosts := make([]*Host, n)
	for i := range hosts {
		h := &Host{
			NS:   netns.New(t, prefix),
			Port: fmt.Sprintf("%s-%d", tag, i+1),
			IP:   fmt.Sprintf("10.0.0.%d", i+1),
			MAC:  fmt.Sprintf("02:00:00:00:00:%02x", i+1),
		}
		hosts[i] = h
		h.NS.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
		h.NS.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
		netns.Veth(t, "eth0", h.NS, h.Port, nil)
		if out, err := exec.Command("sysctl", "-qw", "net.ipv6.conf."+h.Port+".disable_ipv6=1").CombinedOutput(); err != nil {
			t.Fatalf("disable IPv6 on %s: %v: %s", h.Port, err, out)
		}
		h.NS.NoSegmentation(t, "eth0")
		h.NS.IP(t, "link", "set", "eth0", "address", h.MAC)
		h.NS.Addr(t, "eth0", h.IP+"/24")
	}
	return hosts
}

var pingSummaryRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// Ping sends count echo requests from h to ip with ping's flags (as "-i",
// "0.2", "-W", "1") and returns how many were sent and answered.
func (h *Host) Ping(ip string, count int, flags ...string) (sent, received int, err error) {
	args := append([]string{"-n", "-q", "-c", strconv.Itoa(count)}, flags...)
	out, _ := h.NS.Run("ping", append(args, ip)...)
	m := pingSummaryRE.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("ping %s -> %s: no summary in output:\n%s", h.IP, ip, out)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received, nil
}

// RxPackets is the frames h's eth0 received.
func (h *Host) RxPackets(t *testing.T) uint64 {
	t.Helper()
	return h.NS.Link(t, "eth0").Attrs().Statistics.RxPackets
}

// TxPackets is the frames h's eth0 sent.
func (h *Host) TxPackets(t *testing.T) uint64 {
	t.Helper()
	return h.NS.Link(t, "eth0").Attrs().Statistics.TxPackets
}
