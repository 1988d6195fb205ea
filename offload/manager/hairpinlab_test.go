//go:build linux

package manager

import (
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/waitfor"
	"github.com/nicflow/nicflow/vepa"
)

// hairpinLab is the lab of the hairpin tests, built over netlink alone
// (test/netns), so it runs in a fresh namespace and in the VM. Its names
// start with the lab's prefix P: an external switch (namespace Psw with
// bridge Pbr0, no multicast snooping) whose port Psp is one end of a veth;
// its other end Pup, in the manager's namespace, is the hairpin network's
// uplink. Each vNIC goes into a VM namespace of its own (Pvm1, Pvm2) with
// an address and a static neighbour; no namespace has IPv6, so every frame
// is a datagram and counts are exact.
type hairpinLab struct {
	t              *testing.T
	uplink, swPort string
	echoPort       int
	sw             *netns.NS
	swH            *vepa.Handle // bridge port settings of the external switch
	vms            [2]*netns.NS
	ips, macs      [2]string
	netdevs        [2]string // the vNIC netdev plugged into each VM
}

// newHairpinLab builds the lab of prefix; the VMs get 10.N.0.1 and
// 10.N.0.2 and MACs 02:6c:N:00:00:0x, and echo on UDP port echoPort.
func newHairpinLab(t *testing.T, prefix string, n byte, echoPort int) *hairpinLab {
	t.Helper()
	lab := &hairpinLab{t: t, uplink: prefix + "up", swPort: prefix + "sp", echoPort: echoPort}
	for i := range lab.vms {
		lab.ips[i] = fmt.Sprintf("10.%d.0.%d", n, i+1)
		lab.macs[i] = fmt.Sprintf("02:6c:%02x:00:00:%02x", n, i+1)
	}
	// The manager's namespace: no IPv6 on the uplink and the vNICs.
	setSysctl(t, "net/ipv6/conf/all/disable_ipv6", "1")
	setSysctl(t, "net/ipv6/conf/default/disable_ipv6", "1")
	newNS := func(name string) *netns.NS {
		ns := netns.New(t, prefix+name)
		ns.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
		ns.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
		return ns
	}
	lab.sw = newNS("sw")
	lab.vms[0], lab.vms[1] = newNS("vm1"), newNS("vm2")

	bridge, sw := prefix+"br0", lab.sw.Netlink()
	off := false
	if err := sw.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridge}, MulticastSnooping: &off}); err != nil {
		t.Fatalf("add bridge %s: %v", bridge, err)
	}
	netns.Veth(t, lab.swPort, lab.sw, lab.uplink, nil)
	if err := sw.LinkSetMaster(lab.sw.Link(t, lab.swPort), lab.sw.Link(t, bridge)); err != nil {
		t.Fatalf("plug %s into %s: %v", lab.swPort, bridge, err)
	}
	lab.sw.LinkUp(t, bridge)
	// The port forwards once the bridge has seen its carrier: the bridge is
	// operationally up only then (its one port forwarding).
	waitfor.True(t, 5*time.Second, "bridge "+bridge+" up", func() bool {
		return lab.sw.Link(t, bridge).Attrs().OperState == netlink.OperUp
	})
	var err error
	if lab.swH, err = vepa.OpenNetNS(lab.sw.Handle()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = lab.swH.Close() })
	return lab
}

// setSysctl sets a sysctl of the test's own namespace until the test ends.
func setSysctl(t *testing.T, key, value string) {
	t.Helper()
	path := "/proc/sys/" + key
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.WriteFile(path, old, 0o644) })
}

// plug moves vNIC netdev dev (in the manager's namespace) into VM i with
// its address and a static neighbour for the other VM.
func (lab *hairpinLab) plug(i int, dev string) {
	t, vm := lab.t, lab.vms[i]
	t.Helper()
	if err := netlink.LinkSetNsFd((*netns.NS)(nil).Link(t, dev), int(vm.Handle())); err != nil {
		t.Fatalf("move %s into VM %d: %v", dev, i+1, err)
	}
	vm.Sysctl(t, "net.ipv6.conf."+dev+".disable_ipv6", "1")
	vm.Addr(t, dev, lab.ips[i]+"/24")
	vm.LinkUp(t, dev)
	mac, _ := net.ParseMAC(lab.macs[1-i])
	if err := vm.Netlink().NeighSet(&netlink.Neigh{LinkIndex: vm.Link(t, dev).Attrs().Index, Family: netlink.FAMILY_V4,
		State: netlink.NUD_PERMANENT, IP: net.ParseIP(lab.ips[1-i]), HardwareAddr: mac}); err != nil {
		t.Fatalf("neighbour of %s in VM %d: %v", dev, i+1, err)
	}
	lab.netdevs[i] = dev
}

// unplug deletes the VMs' vNIC devices (the VMs let them go).
func (lab *hairpinLab) unplug() {
	for i, vm := range lab.vms {
		if err := vm.Netlink().LinkDel(vm.Link(lab.t, lab.netdevs[i])); err != nil {
			lab.t.Fatalf("delete %s in VM %d: %v", lab.netdevs[i], i+1, err)
		}
	}
}

// swPortCounts is the bridge port's counters: rx, frames that left the
// host through the uplink; tx, frames the bridge sent back.
func (lab *hairpinLab) swPortCounts() [2]uint64 {
	s := lab.sw.Link(lab.t, lab.swPort).Attrs().Statistics
	return [2]uint64{s.RxPackets, s.TxPackets}
}

// setHairpin turns hairpin (reflective relay) on the switch port on or off.
func (lab *hairpinLab) setHairpin(on bool) {
	lab.t.Helper()
	if err := lab.swH.SetHairpin(lab.swPort, on); err != nil {
		lab.t.Fatal(err)
	}
}

// echo sends count UDP datagrams from VM 1 to VM 2, which echoes each,
// and returns how many echoes came back. Each datagram and echo gets
// 300 ms.
func (lab *hairpinLab) echo(count int) int {
	t := lab.t
	t.Helper()
	ip1, ip2 := lab.ips[0], lab.ips[1]
	var srv, cli *net.UDPConn
	if err := lab.vms[1].Do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip2), Port: lab.echoPort})
		return err
	}); err != nil {
		t.Fatalf("listen on %s:%d: %v", ip2, lab.echoPort, err)
	}
	defer srv.Close()
	if err := lab.vms[0].Do(func() (err error) {
		cli, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip1)}, &net.UDPAddr{IP: net.ParseIP(ip2), Port: lab.echoPort})
		return err
	}); err != nil {
		t.Fatalf("dial %s:%d from %s: %v", ip2, lab.echoPort, ip1, err)
	}
	defer cli.Close()
	const wait = 300 * time.Millisecond
	buf := make([]byte, 64)
	echoed := 0
	for i := 0; i < count; i++ {
		if _, err := cli.Write([]byte(fmt.Sprintf("echo %d", i))); err != nil {
			t.Fatalf("send from %s: %v", ip1, err)
		}
		_ = srv.SetReadDeadline(time.Now().Add(wait))
		n, from, err := srv.ReadFromUDP(buf)
		if err != nil {
			continue
		}
		if _, err := srv.WriteToUDP(buf[:n], from); err != nil {
			t.Fatalf("echo from %s: %v", ip2, err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(wait))
		if _, err := cli.Read(buf); err == nil {
			echoed++
		}
	}
	return echoed
}
