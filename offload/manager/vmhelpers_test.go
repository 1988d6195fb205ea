package manager

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/softpath/packet"
	"github.com/nicflow/nicflow/test/waitfor"
)

// vethPair creates a <-> b in the VM's namespace, both up, without IPv6
// (no neighbour discovery noise), and deletes it when the test ends.
func vethPair(tb testing.TB, a, b string) {
	tb.Helper()
	del, err := makeVeth(a, b)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(del)
}

// makeVeth creates a <-> b, both up and without IPv6, and returns its
// deletion.
func makeVeth(a, b string) (del func(), err error) {
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a}, PeerName: b}); err != nil {
		return nil, fmt.Errorf("add veth %s/%s: %w", a, b, err)
	}
	del = func() {
		if l, err := netlink.LinkByName(a); err == nil {
			_ = netlink.LinkDel(l)
		}
	}
	for _, name := range []string{a, b} {
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			del()
			return nil, fmt.Errorf("set %s up: %w", name, err)
		}
	}
	return del, nil
}

// startNetwork builds spec (validated) as the manager does, on the
// kernel, and runs it and its switch until the test ends.
func startNetwork(tb testing.TB, spec rest.NetworkSpec) (*network, *zap.Logger) {
	tb.Helper()
	log := zaptest.NewLogger(tb, zaptest.Level(zap.InfoLevel))
	n, stop := runNetwork(tb, spec, tb.TempDir(), log)
	tb.Cleanup(stop)
	return n, log
}

// runNetwork builds spec (validated) with its sockets in dir, on the
// kernel, runs it and its switch, and returns how to stop them.
func runNetwork(tb testing.TB, spec rest.NetworkSpec, dir string, log *zap.Logger) (*network, func()) {
	tb.Helper()
	if err := spec.Validate(); err != nil {
		tb.Fatal(err)
	}
	host, err := NewHost()
	if err != nil {
		tb.Fatal(err)
	}
	m, err := New(Config{RunDir: dir, Log: log, Ports: host, Links: host, TC: KernelTC{}})
	if err != nil {
		tb.Fatal(err)
	}
	n, err := m.build(spec)
	if err != nil {
		host.Close()
		tb.Fatalf("build network: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = n.net.Run(ctx) }()
	go func() { defer wg.Done(); _ = n.sw.Serve(ctx) }()
	return n, func() { cancel(); wg.Wait(); _ = n.closeTC(); host.Close() }
}

// dial connects an OpenFlow client to the network's management socket,
// closed when the test ends.
func dial(tb testing.TB, n *network) *ofclient.Client {
	tb.Helper()
	c := dialMgmt(tb, n)
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// dialMgmt connects an OpenFlow client to the network's management socket.
func dialMgmt(tb testing.TB, n *network) *ofclient.Client {
	tb.Helper()
	var target string
	for _, a := range n.sw.Addrs() {
		if a.Network() == "unix" && filepath.Ext(a.String()) == ".mgmt" {
			target = "unix:" + a.String()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := ofclient.Dial(ctx, target)
	if err != nil {
		tb.Fatalf("dial %s: %v", target, err)
	}
	return c
}

// tap sends and captures frames on a host end of a veth.
type tap struct {
	name string
	s    *afpacket.Socket

	mu  sync.Mutex
	got [][]byte
}

func newTap(t *testing.T, name string) *tap {
	t.Helper()
	s, err := afpacket.Open(name, afpacket.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	tp := &tap{name: name, s: s}
	done := make(chan struct{})
	go func() {
		defer close(done)
		frames := make([]softpath.Frame, 16)
		for {
			n, err := s.ReadBatch(frames)
			if errors.Is(err, softpath.ErrClosed) {
				return
			}
			tp.mu.Lock()
			for _, f := range frames[:n] {
				tp.got = append(tp.got, append([]byte(nil), f.Buf[:f.Len]...))
			}
			tp.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = s.Close(); <-done })
	return tp
}

func (tp *tap) send(t *testing.T, frame []byte, count int) {
	t.Helper()
	for i := 0; i < count; i++ {
		if err := tp.s.WriteBatch([][]byte{frame}); err != nil {
			t.Fatalf("send on %s: %v", tp.name, err)
		}
	}
}

// take returns and forgets the frames captured so far that carry UDP
// destination port dport, waiting up to d for want of them.
func (tp *tap) take(dport uint16, want int, d time.Duration) [][]byte {
	count := func() int {
		tp.mu.Lock()
		defer tp.mu.Unlock()
		n := 0
		for _, f := range tp.got {
			if udpDst(f) == dport {
				n++
			}
		}
		return n
	}
	_ = waitfor.Until(d, func() error { // the caller checks what it got
		if n := count(); n < want {
			return fmt.Errorf("%d of %d frames", n, want)
		}
		return nil
	})
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var match, rest [][]byte
	for _, f := range tp.got {
		if udpDst(f) == dport {
			match = append(match, f)
		} else {
			rest = append(rest, f)
		}
	}
	tp.got = rest
	return match
}

// udpDst is the UDP destination port of an IPv4 frame (tagged or not), 0
// for anything else.
func udpDst(f []byte) uint16 {
	off := 12
	for len(f) >= off+2 && (be16(f[off:]) == 0x8100 || be16(f[off:]) == 0x88a8) {
		off += 4
	}
	if len(f) < off+2+20 || be16(f[off:]) != 0x0800 {
		return 0
	}
	ip := f[off+2:]
	ihl := int(ip[0]&0xf) * 4
	if ip[9] != 17 || len(ip) < ihl+4 {
		return 0
	}
	return be16(ip[ihl+2:])
}

func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// udpTo builds a UDP frame from 02:..:01 to 02:..:02 with destination port
// dport.
func udpTo(dport uint16) []byte {
	return packet.Build(packet.Spec{
		EthDst: packet.MAC("02:00:00:00:00:02"), EthSrc: packet.MAC("02:00:00:00:00:01"),
		IPv4: &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		UDP:  &packet.UDP{Src: 1000, Dst: dport}, Payload: make([]byte, 32),
	})
}

// txPackets is the netdev's transmitted packets counter.
func txPackets(t *testing.T, name string) uint64 {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Statistics.TxPackets
}
