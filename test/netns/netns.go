//go:build linux

// Package netns helps Linux integration tests build throwaway networks:
// network namespaces, veth pairs, addresses, commands run inside a
// namespace, and Go code run inside one (Do). Everything a test creates is
// removed by t.Cleanup. Tests using it need root; Require skips otherwise.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Require skips the test unless it runs as root with the ip tool.
func Require(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("needs the ip tool (iproute2)")
	}
}

// NS is a named network namespace (/run/netns/Name).
type NS struct {
	Name string
}

// New creates a namespace named prefix plus a random suffix, with its
// loopback up, and deletes it when the test ends. Keep prefix short (the
// name also seeds interface names).
func New(t testing.TB, prefix string) *NS {
	t.Helper()
	Require(t)
	n := &NS{Name: prefix + "-" + randomSuffix()}
	run(t, "ip", "netns", "add", n.Name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
			t.Errorf("delete netns %s: %v: %s", n.Name, err, out)
		}
	})
	n.IP(t, "link", "set", "lo", "up")
	return n
}

func randomSuffix() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// IP runs "ip args..." in the namespace and returns its output; the test
// fails if it fails.
func (n *NS) IP(t testing.TB, args ...string) string {
	t.Helper()
	return run(t, "ip", append([]string{"-n", n.Name}, args...)...)
}

// Command returns a command running name args... inside the namespace.
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

// Do runs f on an OS thread switched into the namespace. Sockets f opens
// stay in the namespace after Do returns. f must not start goroutines that
// expect to run in the namespace.
func (n *NS) Do(f func() error) error {
	target, err := os.Open("/run/netns/" + n.Name)
	if err != nil {
		return fmt.Errorf("open netns %s: %w", n.Name, err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		// The thread is locked for the goroutine's whole life and never
		// unlocked, so it is destroyed instead of going back to the pool
		// in the wrong namespace.
		runtime.LockOSThread()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns %s: %w", n.Name, err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// Veth creates a veth pair: end a in namespace na, end b in nb (nil: the
// caller's namespace, avoid it), both up. It is deleted with its
// namespaces.
func Veth(t testing.TB, a string, na *NS, b string, nb *NS) {
	t.Helper()
	Require(t)
	tmpA, tmpB := "vt"+randomSuffix(), "vt"+randomSuffix()
	run(t, "ip", "link", "add", tmpA, "type", "veth", "peer", "name", tmpB)
	move := func(tmp, name string, ns *NS) {
		if ns == nil {
			run(t, "ip", "link", "set", tmp, "name", name, "up")
			t.Cleanup(func() { _ = exec.Command("ip", "link", "del", name).Run() })
			return
		}
		run(t, "ip", "link", "set", tmp, "netns", ns.Name)
		ns.IP(t, "link", "set", tmp, "name", name, "up")
	}
	move(tmpA, a, na)
	move(tmpB, b, nb)
}

// Addr adds an address (CIDR) to dev in the namespace.
func (n *NS) Addr(t testing.TB, dev, cidr string) {
	t.Helper()
	n.IP(t, "addr", "add", cidr, "dev", dev)
}

// MAC returns dev's MAC address in the namespace.
func (n *NS) MAC(t testing.TB, dev string) string {
	t.Helper()
	f := strings.Fields(n.IP(t, "-o", "link", "show", dev))
	for i, w := range f {
		if w == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC address for %s in netns %s", dev, n.Name)
	return ""
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
