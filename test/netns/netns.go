//go:build linux

// Package netns is the one namespace helper of nicflow's tests: it builds
// throwaway networks of network namespaces, veth pairs and addresses, runs
// Go code inside a namespace (Do, on a locked OS thread that is thrown
// away after) and commands inside one (IP, Command, Run: these need the ip
// tool), and re-runs a test whose code works from many threads in a
// namespace of its own (InFresh). Everything a test creates is removed by
// t.Cleanup.
//
// A namespace is created and wired over netlink, so New, Veth, Addr, MAC,
// Sysctl and Do work without iproute2, in the VM kernel harness
// (test/vm) as on the host. Tests using it need root; Require skips
// otherwise.
//
// Only tests and test helpers import it. It imports no other nicflow
// package.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	vns "github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Require skips the test unless it may create network namespaces (root).
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
}

// requireIP skips the test unless the ip tool (iproute2) is on PATH.
func requireIP(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2)")
	}
}

// NS is a named network namespace (/run/netns/Name), as `ip netns add`
// makes them. Its methods may be called from any goroutine.
type NS struct {
	Name string
	h    vns.NsHandle
	nl   *netlink.Handle
}

// New creates a namespace named prefix plus a random suffix, with its
// loopback up, and deletes it when the test ends. Keep prefix short.
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	Require(t)
	n := &NS{Name: prefix + "-" + randomSuffix()}
	err := onLockedThread(func() error {
		h, err := vns.NewNamed(n.Name)
		n.h = h
		return err
	})
	if err != nil {
		t.Fatalf("create netns %s: %v", n.Name, err)
	}
	t.Cleanup(func() {
		if err := vns.DeleteNamed(n.Name); err != nil {
			t.Errorf("delete netns %s: %v", n.Name, err)
		}
		_ = n.h.Close()
	})
	if n.nl, err = netlink.NewHandleAt(n.h, unix.NETLINK_ROUTE); err != nil {
		t.Fatalf("netlink handle in netns %s: %v", n.Name, err)
	}
	t.Cleanup(n.nl.Close)
	n.LinkUp(t, "lo")
	return n
}

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Handle is the namespace's file descriptor (for netlink.NsFd,
// tcflower.OpenNetNS, vepa.OpenNetNS). It stays open until the test ends.
func (n *NS) Handle() vns.NsHandle { return n.h }

// Netlink is an rtnetlink handle working in the namespace, closed when the
// test ends.
func (n *NS) Netlink() *netlink.Handle { return n.nl }

// onLockedThread runs f on an OS thread of its own that is thrown away
// after, so a namespace switch in f never leaks into other goroutines.
func onLockedThread(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is locked for the goroutine's whole life and never
		// unlocked, so it is destroyed instead of going back to the pool
		// in the wrong namespace.
		runtime.LockOSThread()
		errc <- f()
	}()
	return <-errc
}

// Do runs f on an OS thread switched into the namespace. Sockets f opens
// stay in the namespace after Do returns. f must not start goroutines that
// expect to run in the namespace.
func (n *NS) Do(f func() error) error {
	return onLockedThread(func() error {
		if err := vns.Set(n.h); err != nil {
			return fmt.Errorf("setns %s: %w", n.Name, err)
		}
		return f()
	})
}

// Sysctl sets a sysctl (e.g. "net.ipv6.conf.all.disable_ipv6") inside the
// namespace.
func (n *NS) Sysctl(t testing.TB, key, value string) {
	t.Helper()
	if err := n.Do(func() error {
		return os.WriteFile("/proc/sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value), 0o644)
	}); err != nil {
		t.Fatalf("sysctl %s=%s in netns %s: %v", key, value, n.Name, err)
	}
}

// IP runs "ip args..." in the namespace and returns its output; the test
// fails if it fails, and skips without the ip tool.
func (n *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	requireIP(t)
	return run(t, "ip", append([]string{"-n", n.Name}, args...)...)
}

// Command returns a command running name args... inside the namespace
// (through `ip netns exec`).
func (n *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name args... inside the namespace and returns its combined
// output and error.
func (n *NS) Run(name string, args ...string) (string, error) {
	out, err := n.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s in netns %s: %w: %s", name, strings.Join(args, " "), n.Name, err, out)
	}
	return string(out), nil
}

// Veth creates a veth pair: end a in namespace na, end b in nb (nil: the
// caller's namespace, avoid it), both up. It is deleted with its
// namespaces, or when the test ends for an end in the caller's namespace.
func Veth(t testing.TB, a string, na *NS, b string, nb *NS) {
	t.Helper()
	Require(t)
	la := netlink.NewLinkAttrs()
	la.Name = a
	v := &netlink.Veth{LinkAttrs: la, PeerName: b}
	if na != nil {
		v.Namespace = netlink.NsFd(na.h)
	}
	if nb != nil {
		v.PeerNamespace = netlink.NsFd(nb.h)
	}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatalf("add veth %s/%s: %v", a, b, err)
	}
	for _, end := range []struct {
		name string
		ns   *NS
	}{{a, na}, {b, nb}} {
		if end.ns == nil {
			t.Cleanup(func() {
				if l, err := netlink.LinkByName(end.name); err == nil {
					_ = netlink.LinkDel(l)
				}
			})
		}
		end.ns.LinkUp(t, end.name)
	}
}

// links is the netlink handle of n, the caller's namespace for nil.
func (n *NS) links() *netlink.Handle {
	if n == nil {
		return &netlink.Handle{}
	}
	return n.nl
}

func (n *NS) name() string {
	if n == nil {
		return "the caller's netns"
	}
	return "netns " + n.Name
}

// Link returns dev in the namespace (nil: the caller's).
func (n *NS) Link(t testing.TB, dev string) netlink.Link {
	t.Helper()
	l, err := n.links().LinkByName(dev)
	if err != nil {
		t.Fatalf("link %s in %s: %v", dev, n.name(), err)
	}
	return l
}

// LinkUp sets dev up in the namespace (nil: the caller's).
func (n *NS) LinkUp(t testing.TB, dev string) {
	t.Helper()
	if err := n.links().LinkSetUp(n.Link(t, dev)); err != nil {
		t.Fatalf("set %s up in %s: %v", dev, n.name(), err)
	}
}

// Addr adds an address (CIDR) to dev in the namespace.
func (n *NS) Addr(t testing.TB, dev, cidr string) {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	if err != nil {
		t.Fatalf("address %s: %v", cidr, err)
	}
	if err := n.links().AddrAdd(n.Link(t, dev), a); err != nil {
		t.Fatalf("add %s to %s in %s: %v", cidr, dev, n.name(), err)
	}
}

// MAC returns dev's MAC address in the namespace.
func (n *NS) MAC(t testing.TB, dev string) string {
	t.Helper()
	hw := n.Link(t, dev).Attrs().HardwareAddr
	if len(hw) != 6 {
		t.Fatalf("no MAC address for %s in %s", dev, n.name())
	}
	return net.HardwareAddr(hw).String()
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
