//go:build linux

package netns

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
)

// TestNamespaceLifecycle builds two namespaces joined by a veth pair with
// addresses, with no ip tool on PATH (as in the VM kernel harness), checks
// each piece over netlink from inside and outside, and that the namespaces
// are gone once the subtest that made them ends.
func TestNamespaceLifecycle(t *testing.T) {
	Require(t)
	t.Setenv("PATH", t.TempDir())
	var names []string
	t.Run("build", func(t *testing.T) {
		a, b := New(t, "nsa"), New(t, "nsb")
		names = []string{a.Name, b.Name}
		Veth(t, "va", a, "vb", b)
		a.Addr(t, "va", "192.0.2.1/24")
		b.Addr(t, "vb", "192.0.2.2/24")
		a.Sysctl(t, "net.ipv4.ip_forward", "1")

		if l := a.Link(t, "va"); l.Attrs().Flags&net.FlagUp == 0 || l.Type() != "veth" {
			t.Errorf("va: flags %v type %s, want an up veth", l.Attrs().Flags, l.Type())
		}
		if _, err := b.Netlink().LinkByName("va"); err == nil {
			t.Error("va is visible in the other namespace")
		}
		if _, err := netlink.LinkByName("va"); err == nil {
			t.Error("va is visible in the caller's namespace")
		}
		if mac := b.MAC(t, "vb"); len(mac) != len("02:00:00:00:00:00") {
			t.Errorf("MAC(vb) = %q", mac)
		}
		// Do runs in the namespace: it sees va and the sysctl set there.
		var inside []string
		var fwd []byte
		if err := a.Do(func() error {
			ifs, err := net.Interfaces()
			for _, i := range ifs {
				inside = append(inside, i.Name)
			}
			if err != nil {
				return err
			}
			fwd, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(inside, " "); got != "lo va" {
			t.Errorf("interfaces seen by Do = %q, want \"lo va\"", got)
		}
		if strings.TrimSpace(string(fwd)) != "1" {
			t.Errorf("ip_forward inside = %q, want 1", fwd)
		}
		addrs, err := b.Netlink().AddrList(b.Link(t, "vb"), netlink.FAMILY_V4)
		if err != nil || len(addrs) != 1 || addrs[0].IPNet.String() != "192.0.2.2/24" {
			t.Errorf("vb addresses = %v (%v), want 192.0.2.2/24", addrs, err)
		}
	})
	for _, n := range names {
		if _, err := os.Stat("/run/netns/" + n); !os.IsNotExist(err) {
			t.Errorf("netns %s still exists after its test (%v)", n, err)
		}
	}
}

// TestVethToTheCallersNamespace: an end in the caller's namespace is
// removed when the test ends.
func TestVethToTheCallersNamespace(t *testing.T) {
	Require(t)
	var dev string
	t.Run("build", func(t *testing.T) {
		n := New(t, "nsc")
		dev = "nsc" + randomSuffix()
		Veth(t, "inner", n, dev, nil)
		if l, err := netlink.LinkByName(dev); err != nil || l.Attrs().Flags&net.FlagUp == 0 {
			t.Fatalf("%s in the caller's namespace: %v, want it up", dev, err)
		}
	})
	if _, err := netlink.LinkByName(dev); err == nil {
		t.Errorf("%s still exists after its test", dev)
	}
}

// TestInFresh: the test runs again in a child whose namespace holds
// nothing but a loopback that is down, and a link made there stays
// there.
func TestInFresh(t *testing.T) {
	if !InFresh(t) {
		if _, err := netlink.LinkByName("fresh0"); err == nil {
			t.Error("the link the fresh namespace made is in the caller's namespace")
		}
		return
	}
	links, err := netlink.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	if len(links) != 1 || links[0].Attrs().Name != "lo" || links[0].Attrs().Flags&net.FlagUp != 0 {
		var names []string
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		t.Fatalf("links in the fresh namespace = %v, want only lo, down", names)
	}
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "fresh0"}, PeerName: "fresh1"}); err != nil {
		t.Fatalf("add a link in the fresh namespace: %v", err)
	}
}
