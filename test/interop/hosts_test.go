package interop

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/netns"
)

// host is one "VM": a network namespace whose eth0 is one end of a veth
// pair; the other end, Port, is on the host and becomes a switch port.
type host struct {
	NS   *netns.NS
	Port string // host-side veth, a nicflowd --port
	IP   string // eth0's IPv4 address (10.0.0.N)
	MAC  string // eth0's MAC address (02:00:00:00:00:0N)
}

// newHosts creates n namespaces with uniquely named veth pairs; host i
// (from 1) has 10.0.0.i/24 and MAC 02:00:00:00:00:0i. IPv6 is off so that
// no neighbour discovery traffic adds to the counters, and segmentation
// offloads are off so every frame fits the fast path's MTU-sized buffers.
// Everything is removed by t.Cleanup.
func newHosts(t *testing.T, n int) []*host {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	tag := "nfi" + hex.EncodeToString(rnd[:])
	hosts := make([]*host, n)
	for i := range hosts {
		h := &host{
			NS:   netns.New(t, "nfi"),
			Port: fmt.Sprintf("%s-%d", tag, i+1),
			IP:   fmt.Sprintf("10.0.0.%d", i+1),
			MAC:  fmt.Sprintf("02:00:00:00:00:%02x", i+1),
		}
		hosts[i] = h
		h.NS.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
		h.NS.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
		netns.Veth(t, "eth0", h.NS, h.Port, nil)
		mustRun(t, "sysctl", "-qw", "net.ipv6.conf."+h.Port+".disable_ipv6=1")
		h.NS.NoSegmentation(t, "eth0")
		h.NS.IP(t, "link", "set", "eth0", "address", h.MAC)
		h.NS.Addr(t, "eth0", h.IP+"/24")
	}
	return hosts
}

var receivedRE = regexp.MustCompile(`(\d+) received`)

// ping sends count echo requests from h to ip, 0.2 s apart, waiting up to
// a second for the last reply, and returns how many replies came back.
func (h *host) ping(t *testing.T, ip string, count int) int {
	t.Helper()
	out, _ := h.NS.Run("ping", "-n", "-q", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "1", ip)
	m := receivedRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping %s -> %s: no summary in output:\n%s", h.IP, ip, out)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// pingOK fails the test unless all count pings from h to dst are answered.
func pingOK(t *testing.T, from, to *host, count int) {
	t.Helper()
	if got := from.ping(t, to.IP, count); got != count {
		t.Fatalf("ping %s -> %s: %d of %d replies, want all", from.IP, to.IP, got, count)
	}
}

// pingFails fails the test if any of count pings from h to dst is answered.
func pingFails(t *testing.T, from, to *host, count int) {
	t.Helper()
	if got := from.ping(t, to.IP, count); got != 0 {
		t.Fatalf("ping %s -> %s: %d of %d replies, want none", from.IP, to.IP, got, count)
	}
}

// run runs a command with a timeout and returns its combined output.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// mustRun runs a command and fails the test with its output if it fails.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}
