//go:build linux

// Package hairpinlab is the VEPA hairpin lab of nicflow's tests: an
// external switch (a Linux bridge in a namespace of its own) whose port is
// one end of a veth, the host's uplink the other end, and two VMs
// (namespaces) that get the host's vNIC netdevs. vepa's namespace tests and
// offload/manager's namespace and VM tests share it. It is built over
// netlink alone (test/netns), so it runs in a namespace on the host and in
// the VM kernel harness alike.
//
// Echo answers "did the datagram come back?" with a barrier, not a wait:
// after each frame that may or may not come back it sends a witness along
// the same path out of the host to a port of the switch that always takes
// it, and looks for the frame only once the witness has arrived (see
// Echo). A lost frame is known lost at once, and a frame that came back is
// seen, however slow the machine.
//
// Everything the lab creates goes when the test ends. It needs root.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/test/netns and
// github.com/nicflow/nicflow/test/waitfor.
package hairpinlab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/waitfor"
)

// Config names a lab and places its host side.
type Config struct {
	// Prefix starts every name of the lab: the namespaces PREFIXsw,
	// PREFIXvm1 and PREFIXvm2 (with a random suffix), the bridge PREFIXbr0,
	// its ports PREFIXsp and PREFIXwp, the uplink PREFIXup. At most 8
	// bytes.
	Prefix string
	// Net is the lab's IPv4 network, 10.Net.0.0/24: VM i has 10.Net.0.i+1
	// and MAC 02:6c:Net:00:00:0i+1, the witness port 10.Net.0.254.
	Net byte
	// Port is the UDP port VM 2 echoes on; witnesses go to Port+1.
	Port int
	// Host is the namespace of the uplink and of the vNIC netdevs before
	// Plug moves them into the VMs; nil is the caller's namespace.
	Host *netns.NS
}

// Lab is a built lab. Its methods are for the test's goroutine.
type Lab struct {
	t   testing.TB
	cfg Config

	// Switch is the external switch's namespace: bridge Bridge with ports
	// SwitchPort (the uplink's peer) and the witness port.
	Switch             *netns.NS
	Bridge, SwitchPort string
	// Uplink is the host's end of the veth to the switch, in Config.Host.
	Uplink string
	// VMs are the VM namespaces; IPs and MACs their addresses.
	VMs       [2]*netns.NS
	IPs, MACs [2]string
	// Port is the UDP port VM 2 echoes on.
	Port int

	netdevs   [2]string    // the vNIC netdev plugged into each VM
	witnessIP string       // the witness port's address
	witnessHW string       // and its MAC
	witness   *net.UDPConn // receives the witnesses, in Switch
	witnesses uint64       // witnesses sent out of the host (counted by SwitchPort's rx)
	seq       int          // numbers every datagram and witness of the lab
	// wait is how long Echo waits for a witness, and MustEcho for a
	// datagram, before it fails the test: only a broken lab (or path)
	// makes it wait that long.
	wait time.Duration
}

// New builds the lab: the switch namespace with its bridge (no
// multicast snooping, so the bridge sends no IGMP of its own), the veth
// uplink <-> switch port, the witness port (a veth end in the bridge
// whose other end, in the switch namespace too, has the witness address
// and a static entry in the bridge's forwarding table), and the two VM
// namespaces. No namespace of the lab has IPv6 (nor the host's, while the
// test runs), so every frame is a datagram of the test and counts are
// exact.
func New(t testing.TB, cfg Config) *Lab {
	t.Helper()
	p := cfg.Prefix
	l := &Lab{t: t, cfg: cfg, Bridge: p + "br0", SwitchPort: p + "sp", Uplink: p + "up", Port: cfg.Port,
		witnessIP: fmt.Sprintf("10.%d.0.254", cfg.Net), wait: 10 * time.Second}
	for i := range l.VMs {
		l.IPs[i] = fmt.Sprintf("10.%d.0.%d", cfg.Net, i+1)
		l.MACs[i] = fmt.Sprintf("02:6c:%02x:00:00:%02x", cfg.Net, i+1)
	}
	noIPv6(t, cfg.Host)
	newNS := func(name string) *netns.NS {
		ns := netns.New(t, p+name)
		noIPv6(t, ns)
		return ns
	}
	l.Switch = newNS("sw")
	l.VMs[0], l.VMs[1] = newNS("vm1"), newNS("vm2")

	sw := l.Switch.Netlink()
	off := false
	if err := sw.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: l.Bridge}, MulticastSnooping: &off}); err != nil {
		t.Fatalf("add bridge %s: %v", l.Bridge, err)
	}
	l.Switch.LinkUp(t, l.Bridge)
	wp, wr := p+"wp", p+"wr"
	netns.Veth(t, l.SwitchPort, l.Switch, l.Uplink, cfg.Host)
	netns.Veth(t, wp, l.Switch, wr, l.Switch)
	// A port joins the bridge forwarding (no STP) at once when it is
	// operationally up as it joins; otherwise only when the kernel's link
	// watch reports its carrier, later.
	for _, port := range []string{l.SwitchPort, wp} {
		waitfor.True(t, 5*time.Second, port+" operationally up", func() bool {
			return l.Switch.Link(t, port).Attrs().OperState == netlink.OperUp
		})
		if err := sw.LinkSetMaster(l.Switch.Link(t, port), l.Switch.Link(t, l.Bridge)); err != nil {
			t.Fatalf("plug %s into %s: %v", port, l.Bridge, err)
		}
	}
	// The witness port: the bridge sends the witness MAC to wp only
	// (static, never flooded, so never back out of SwitchPort with hairpin
	// on), and wr takes it up.
	l.witnessHW = l.Switch.MAC(t, wr)
	hw, _ := net.ParseMAC(l.witnessHW)
	if err := sw.NeighAdd(&netlink.Neigh{LinkIndex: l.Switch.Link(t, wp).Attrs().Index, Family: unix.AF_BRIDGE,
		State: netlink.NUD_NOARP, Flags: netlink.NTF_MASTER, HardwareAddr: hw}); err != nil {
		t.Fatalf("static forwarding entry %s on %s: %v", l.witnessHW, wp, err)
	}
	l.Switch.Addr(t, wr, l.witnessIP+"/24")
	if err := l.Switch.Do(func() (err error) {
		l.witness, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(l.witnessIP), Port: cfg.Port + 1})
		return err
	}); err != nil {
		t.Fatalf("witness socket on %s:%d: %v", l.witnessIP, cfg.Port+1, err)
	}
	t.Cleanup(func() { l.witness.Close() })
	return l
}

// noIPv6 turns IPv6 off in ns (nil: the caller's namespace, until the
// test ends).
func noIPv6(t testing.TB, ns *netns.NS) {
	t.Helper()
	for _, key := range []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"} {
		if ns != nil {
			ns.Sysctl(t, key, "1")
			continue
		}
		path := "/proc/sys/" + strings.ReplaceAll(key, ".", "/")
		old, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("1"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = os.WriteFile(path, old, 0o644) })
	}
}

// Plug moves vNIC netdev dev from the host namespace into VM i (0 or 1),
// without IPv6, with its address, up, and with static neighbours for the
// other VM and the witness port (no ARP on the wire).
func (l *Lab) Plug(i int, dev string) {
	t, vm := l.t, l.VMs[i]
	t.Helper()
	link := l.cfg.Host.Link(t, dev)
	var err error
	if l.cfg.Host == nil {
		err = netlink.LinkSetNsFd(link, int(vm.Handle()))
	} else {
		err = l.cfg.Host.Netlink().LinkSetNsFd(link, int(vm.Handle()))
	}
	if err != nil {
		t.Fatalf("move %s into VM %d: %v", dev, i+1, err)
	}
	vm.Sysctl(t, "net.ipv6.conf."+dev+".disable_ipv6", "1")
	vm.Addr(t, dev, l.IPs[i]+"/24")
	vm.LinkUp(t, dev)
	for _, n := range []struct{ ip, mac string }{{l.IPs[1-i], l.MACs[1-i]}, {l.witnessIP, l.witnessHW}} {
		mac, _ := net.ParseMAC(n.mac)
		if err := vm.Netlink().NeighSet(&netlink.Neigh{LinkIndex: vm.Link(t, dev).Attrs().Index, Family: netlink.FAMILY_V4,
			State: netlink.NUD_PERMANENT, IP: net.ParseIP(n.ip), HardwareAddr: mac}); err != nil {
			t.Fatalf("neighbour %s of %s in VM %d: %v", n.ip, dev, i+1, err)
		}
	}
	l.netdevs[i] = dev
}

// Unplug deletes the vNIC netdevs plugged into the VMs (the VMs let them
// go).
func (l *Lab) Unplug() {
	l.t.Helper()
	for i, vm := range l.VMs {
		if err := vm.Netlink().LinkDel(vm.Link(l.t, l.netdevs[i])); err != nil {
			l.t.Fatalf("delete %s in VM %d: %v", l.netdevs[i], i+1, err)
		}
	}
}

// SetHairpin turns hairpin (reflective relay) on the switch port on or
// off, over plain netlink (vepa's tests use vepa.Handle.SetHairpin, the
// code they test).
func (l *Lab) SetHairpin(on bool) {
	l.t.Helper()
	if err := l.Switch.Netlink().LinkSetHairpin(l.Switch.Link(l.t, l.SwitchPort), on); err != nil {
		l.t.Fatalf("hairpin %v on %s: %v", on, l.SwitchPort, err)
	}
}

// Counts are the switch port's frames of the test: Out left the host
// through the uplink (the port's rx, less Echo's witnesses), Back went back
// to it (the port's tx).
type Counts struct{ Out, Back uint64 }

// Sub is c - o.
func (c Counts) Sub(o Counts) Counts { return Counts{Out: c.Out - o.Out, Back: c.Back - o.Back} }

func (c Counts) String() string { return fmt.Sprintf("%d out of the host, %d back", c.Out, c.Back) }

// SwitchCounts reads the switch port's counts. Read after Echo they
// include every frame of the exchange (see Echo).
func (l *Lab) SwitchCounts() Counts {
	s := l.Switch.Link(l.t, l.SwitchPort).Attrs().Statistics
	return Counts{Out: s.RxPackets - l.witnesses, Back: s.TxPackets}
}

// conns are an exchange's sockets, opened in the VMs' namespaces.
type conns struct {
	cli, srv *net.UDPConn    // VM 1 -> VM 2:Port, and VM 2's echo socket
	wit      [2]*net.UDPConn // VM i -> the witness port
}

func (l *Lab) open() *conns {
	t := l.t
	t.Helper()
	c := &conns{}
	server := &net.UDPAddr{IP: net.ParseIP(l.IPs[1]), Port: l.Port}
	witness := &net.UDPAddr{IP: net.ParseIP(l.witnessIP), Port: l.Port + 1}
	err := l.VMs[1].Do(func() (err error) {
		if c.srv, err = net.ListenUDP("udp4", server); err != nil {
			return err
		}
		c.wit[1], err = net.DialUDP("udp4", &net.UDPAddr{IP: server.IP}, witness)
		return err
	})
	if err == nil {
		err = l.VMs[0].Do(func() (err error) {
			if c.cli, err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(l.IPs[0])}, server); err != nil {
				return err
			}
			c.wit[0], err = net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP(l.IPs[0])}, witness)
			return err
		})
	}
	if err != nil {
		c.close()
		t.Fatalf("open the exchange's sockets: %v", err)
	}
	return c
}

func (c *conns) close() {
	for _, s := range []*net.UDPConn{c.cli, c.srv, c.wit[0], c.wit[1]} {
		if s != nil {
			s.Close()
		}
	}
}

// Echo sends count UDP datagrams from VM 1 to VM 2, which echoes each one
// it gets, and returns how many reached VM 2 and how many echoes came back.
// Every frame of it goes out of the host through the uplink (macvlans in
// VEPA mode) or stays in it (bridge mode); vNICs switched by nicflow take
// MustEcho.
//
// After each datagram (and each echo) the sender sends a witness from the
// same vNIC to the witness port: out through the uplink and the switch
// port, like the datagram, and on to the witness port, where it always
// arrives. Only once the witness is there does Echo look (without
// waiting) whether the datagram reached VM 2. That is exact because every
// frame runs through the kernel in the order it was sent:
//
//   - Echo sends every frame from one thread allowed on one CPU only. A
//     socket's send runs the vNIC's (macvlan, no qdisc) and the uplink's
//     (veth, no qdisc) transmit in the sending thread, and a veth's
//     transmit queues the frame on that CPU's backlog (netif_rx; veth GRO
//     and its NAPI mode are off by default, and the lab sets no RPS).
//   - That CPU's backlog is one FIFO, run by that CPU only. Processing a
//     frame there (the bridge, hairpin back out of the switch port, tc on
//     the uplink's ingress, the macvlan's demux, a socket's receive queue)
//     happens in that run, and what it hands the next device is queued on
//     the same backlog, behind what was already there.
//   - So the datagram's every step happens before the witness's step
//     after it: when the witness reaches its socket, the datagram has
//     reached VM 2's socket or been dropped for good, and the switch
//     port's counters hold it.
//
// Were the frames sent from threads on two CPUs, the witness could go
// first from the other CPU's backlog, and a datagram on its way back
// would read as lost. Echo fails the test when a witness does not arrive
// (in 10 s): the lab itself is broken then.
func (l *Lab) Echo(count int) (reached, echoed int) {
	l.t.Helper()
	reached, echoed, err := l.echo(count)
	if err != nil {
		l.t.Fatal(err)
	}
	return reached, echoed
}

// echo is Echo returning what went wrong.
func (l *Lab) echo(count int) (reached, echoed int, err error) {
	c := l.open()
	defer c.close()
	err = onOneCPU(func() error {
		buf := make([]byte, 256)
		for range count {
			l.seq++
			msg := fmt.Sprintf("echo %d", l.seq)
			if _, err := c.cli.Write([]byte(msg)); err != nil {
				return fmt.Errorf("send %q from VM 1: %w", msg, err)
			}
			if err := l.witnessFrom(c, 0); err != nil {
				return err
			}
			got, err := tryRead(c.srv, buf, msg)
			if err != nil {
				return fmt.Errorf("VM 2: %w", err)
			}
			if !got {
				continue
			}
			reached++
			if _, err := c.srv.WriteToUDP([]byte(msg), c.cli.LocalAddr().(*net.UDPAddr)); err != nil {
				return fmt.Errorf("echo %q from VM 2: %w", msg, err)
			}
			if err := l.witnessFrom(c, 1); err != nil {
				return err
			}
			if got, err := tryRead(c.cli, buf, msg); err != nil {
				return fmt.Errorf("VM 1: %w", err)
			} else if got {
				echoed++
			}
		}
		return nil
	})
	return reached, echoed, err
}

// witnessFrom sends a witness from VM i and waits until the witness port
// has it.
func (l *Lab) witnessFrom(c *conns, i int) error {
	l.seq++
	msg := fmt.Sprintf("witness %d", l.seq)
	if _, err := c.wit[i].Write([]byte(msg)); err != nil {
		return fmt.Errorf("send %q from VM %d: %w", msg, i+1, err)
	}
	l.witnesses++
	buf := make([]byte, 256)
	if err := l.witness.SetReadDeadline(time.Now().Add(l.wait)); err != nil {
		return err
	}
	n, err := l.witness.Read(buf)
	if err != nil {
		return fmt.Errorf("%q from VM %d did not reach the witness port (%s on %s): %w; the path out of the host through %s is broken",
			msg, i+1, l.witnessIP, l.Bridge, err, l.SwitchPort)
	}
	if got := string(buf[:n]); got != msg {
		return fmt.Errorf("the witness port got %q, want %q", got, msg)
	}
	return nil
}

// tryRead reads a datagram from c if one is queued, without waiting, and
// checks it is want.
func tryRead(c *net.UDPConn, buf []byte, want string) (bool, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, err
	}
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return true // never wait
	}); err != nil {
		return false, err
	}
	switch {
	case errors.Is(rerr, unix.EAGAIN):
		return false, nil
	case rerr != nil:
		return false, rerr
	case string(buf[:n]) != want:
		return false, fmt.Errorf("got %q, want %q", buf[:n], want)
	}
	return true, nil
}

// onOneCPU runs f on a goroutine locked to an OS thread that may run on one
// CPU only (the first it may run on now). The thread is never unlocked, so
// it ends with the goroutine instead of going back to the pool with its
// affinity.
func onOneCPU(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(0, &set); err != nil {
			errc <- fmt.Errorf("sched_getaffinity: %w", err)
			return
		}
		cpu := 0
		for !set.IsSet(cpu) {
			cpu++
		}
		var one unix.CPUSet
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			errc <- fmt.Errorf("sched_setaffinity to CPU %d: %w", cpu, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// MustEcho sends count UDP datagrams from VM 1 to VM 2, which echoes each,
// on a path that must deliver them (vNICs switched by nicflow's fast path,
// say): it waits for each datagram and echo and fails the test when one
// has not come in 10 s.
func (l *Lab) MustEcho(count int) {
	t := l.t
	t.Helper()
	c := l.open()
	defer c.close()
	buf := make([]byte, 256)
	read := func(s *net.UDPConn, who, want string) {
		t.Helper()
		_ = s.SetReadDeadline(time.Now().Add(l.wait))
		n, err := s.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("%s got %q (%v), want %q", who, buf[:n], err, want)
		}
	}
	for range count {
		l.seq++
		msg := fmt.Sprintf("echo %d", l.seq)
		if _, err := c.cli.Write([]byte(msg)); err != nil {
			t.Fatalf("send from VM 1: %v", err)
		}
		read(c.srv, "VM 2", msg)
		if _, err := c.srv.WriteToUDP([]byte(msg), c.cli.LocalAddr().(*net.UDPAddr)); err != nil {
			t.Fatalf("echo from VM 2: %v", err)
		}
		read(c.cli, "VM 1", msg)
	}
}
