package stress

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

// host is one "VM": a network namespace whose eth0 is one end of a veth
// pair; the other end, Port, is in the test's namespace and becomes a
// switch port, with MAC address 02:00:00:00:01:0N.
type host struct {
	NS   *netns.NS
	Port string // host-side veth, a nicflowd --port
	IP   string // eth0's IPv4 address (10.0.0.N)
	MAC  string // eth0's MAC address (02:00:00:00:00:0N)
}

// newHosts creates n namespaces with uniquely named veth pairs; host i
// (from 1) has 10.0.0.i/24 and MAC 02:00:00:00:00:0i, and a permanent
// neighbour entry for every other host, so that no ARP needs the switch
// and a host sends nothing but what the test makes it send. IPv6 is off
// (no neighbour discovery) and segmentation offloads too (every frame fits
// the fast path's MTU-sized buffers). Everything is removed by t.Cleanup.
func newHosts(t *testing.T, n int) []*host {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	tag := "nfs" + hex.EncodeToString(rnd[:])
	hosts := make([]*host, n)
	for i := range hosts {
		h := &host{
			NS:   netns.New(t, "nfs"),
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
		if out, err := exec.Command("ip", "link", "set", h.Port, "address", fmt.Sprintf("02:00:00:00:01:%02x", i+1)).CombinedOutput(); err != nil {
			t.Fatalf("set the MAC address of %s: %v: %s", h.Port, err, out)
		}
		h.NS.NoSegmentation(t, "eth0")
		h.NS.IP(t, "link", "set", "eth0", "address", h.MAC)
		h.NS.Addr(t, "eth0", h.IP+"/24")
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

var receivedRE = regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`)

// ping sends count echo requests from h to ip, interval seconds apart,
// waiting up to wait seconds for the last reply, and returns how many were
// sent and answered.
func (h *host) ping(ip string, count int, interval, wait string) (sent, received int, err error) {
	out, _ := h.NS.Run("ping", "-n", "-q", "-c", strconv.Itoa(count), "-i", interval, "-W", wait, ip)
	m := receivedRE.FindStringSubmatch(out)
	if m == nil {
		return 0, 0, fmt.Errorf("ping %s -> %s: no summary in output:\n%s", h.IP, ip, out)
	}
	sent, _ = strconv.Atoi(m[1])
	received, _ = strconv.Atoi(m[2])
	return sent, received, nil
}

// rxPackets is the frames h's eth0 received.
func (h *host) rxPackets(t *testing.T) uint64 {
	t.Helper()
	return h.NS.Link(t, "eth0").Attrs().Statistics.RxPackets
}

// txPackets is the frames h's eth0 sent.
func (h *host) txPackets(t *testing.T) uint64 {
	t.Helper()
	return h.NS.Link(t, "eth0").Attrs().Statistics.TxPackets
}
