//go:build linux

package tcflower

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// Kernel tests: they talk to the running kernel in network namespaces of
// their own. They need root, and all but the block tests need cls_flower and
// the tc actions, which the host kernel lacks: there they skip, and
// test/vm/run.sh runs them in Debian's 6.1 kernel.

// topo is a switch namespace whose ports p1 and p2 (veth) are bound to
// block 7, their peers h1 and h2 in a host namespace, and a tcflower
// Handle in the switch namespace.
type topo struct {
	sw, host       *netns.NS
	swNL, hostNL   *vnl.Handle
	h              *Handle
	p1, p2, h1, h2 vnl.Link
}

const testBlock = 7

func newTopo(t testing.TB) *topo {
	t.Helper()
	tp := &topo{sw: netns.New(t, "tfsw"), host: netns.New(t, "tfh")}
	tp.swNL, tp.hostNL = tp.sw.Netlink(), tp.host.Netlink()
	tp.p1, tp.h1 = tp.veth(t, "p1", "h1")
	tp.p2, tp.h2 = tp.veth(t, "p2", "h2")
	var err error
	if tp.h, err = OpenNetNS(int(tp.sw.Handle())); err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = tp.h.Close() })
	for _, p := range []vnl.Link{tp.p1, tp.p2} {
		if err := tp.h.BindBlock(p.Attrs().Index, testBlock); err != nil {
			t.Fatalf("BindBlock(%s): %v", p.Attrs().Name, err)
		}
	}
	return tp
}

// veth creates sw/name <-> host/peer, both up.
func (tp *topo) veth(t testing.TB, name, peer string) (vnl.Link, vnl.Link) {
	t.Helper()
	la := vnl.NewLinkAttrs()
	la.Name = name
	if err := tp.swNL.LinkAdd(&vnl.Veth{LinkAttrs: la, PeerName: peer, PeerNamespace: vnl.NsFd(tp.host.Handle())}); err != nil {
		t.Fatalf("add veth %s/%s: %v", name, peer, err)
	}
	a, err := tp.swNL.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	b, err := tp.hostNL.LinkByName(peer)
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.swNL.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	if err := tp.hostNL.LinkSetUp(b); err != nil {
		t.Fatal(err)
	}
	return a, b
}

// addVxlan adds a flow-based (external) vxlan device vxlan0 to the switch
// namespace, the target of tunnel_key and the indev of decap filters.
func (tp *topo) addVxlan(t testing.TB) {
	t.Helper()
	la := vnl.NewLinkAttrs()
	la.Name = "vxlan0"
	if err := tp.swNL.LinkAdd(&vnl.Vxlan{LinkAttrs: la, FlowBased: true, Port: 4789}); err != nil {
		t.Fatalf("add vxlan0: %v", err)
	}
	l, err := tp.swNL.LinkByName("vxlan0")
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.swNL.LinkSetUp(l); err != nil {
		t.Fatal(err)
	}
}

var flowerProbe struct {
	once sync.Once
	err  error
}

// requireFlower skips unless the kernel installs a flower filter with a
// gact action: it tries once, in a namespace of its own.
func requireFlower(t testing.TB) {
	t.Helper()
	netns.Require(t)
	flowerProbe.once.Do(func() { flowerProbe.err = probeFlower(t) })
	if flowerProbe.err != nil {
		where := "run the kernel tests in the VM harness: test/vm/run.sh"
		if vmtest.InVM() {
			where = "the VM kernel should have it: check test/vm/modules.txt"
		}
		t.Skipf("kernel cannot install flower filters (%v); %s", flowerProbe.err, where)
	}
}

func probeFlower(t testing.TB) error {
	ns := netns.New(t, "tfprobe")
	nlh := ns.Netlink()
	la := vnl.NewLinkAttrs()
	la.Name = "probe0"
	if err := nlh.LinkAdd(&vnl.Veth{LinkAttrs: la, PeerName: "probe1"}); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	l, err := nlh.LinkByName("probe0")
	if err != nil {
		return err
	}
	h, err := OpenNetNS(int(ns.Handle()))
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.BindBlock(l.Attrs().Index, 1); err != nil {
		return err
	}
	_, err = h.Add(1, &Filter{Pref: 1, Protocol: EthPAll, Flags: FlagSkipHW,
		Actions: []Action{{Kind: KindGact, Gact: &Gact{Verdict: VerdictShot}}}})
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
		return err
	}
	if err != nil {
		return fmt.Errorf("unexpected probe failure: %w", err)
	}
	return nil
}

var dropAction = Action{Kind: KindGact, Gact: &Gact{Verdict: VerdictShot}}

func TestKernelBindBlock(t *testing.T) {
	// Needs no flower: clsact and shared blocks are in every kernel.
	tp := newTopo(t)
	p1 := tp.p1.Attrs().Index
	if err := tp.h.BindBlock(p1, testBlock); err != nil {
		t.Errorf("binding again to the same block: %v, want nil (idempotent)", err)
	}
	err := tp.h.BindBlock(p1, testBlock+1)
	var e *Error
	if !errors.As(err, &e) || e.Errno != unix.EEXIST || !strings.Contains(e.Message, "block 7") {
		t.Errorf("binding to another block = %v, want EEXIST naming block 7", err)
	}
	dumped, err := tp.h.Dump(testBlock)
	if err != nil || len(dumped) != 0 {
		t.Errorf("Dump of an empty block = %v, %v; want none", dumped, err)
	}
	for i := 0; i < 2; i++ { // the second time there is nothing to remove
		if err := tp.h.UnbindBlock(p1); err != nil {
			t.Fatalf("UnbindBlock #%d: %v", i+1, err)
		}
	}
	if kind, _, err := tp.h.ingressQdisc(p1); err != nil || kind != "" {
		t.Errorf("after UnbindBlock the ingress qdisc is %q (%v), want none", kind, err)
	}
	if err := tp.h.BindBlock(p1, testBlock+1); err != nil {
		t.Errorf("binding to another block after unbinding: %v", err)
	}
}

// sendUDP writes one Ethernet/IPv4/UDP frame to dst:port from dev (in the
// host namespace) with payload, through an AF_PACKET socket.
func (tp *topo) sendUDP(t testing.TB, from, to vnl.Link, port uint16, payload []byte) {
	t.Helper()
	frame := udpFrame(from.Attrs().HardwareAddr, to.Attrs().HardwareAddr, port, payload)
	err := tp.host.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: from.Attrs().Index, Halen: 6}
		copy(sa.Addr[:], to.Attrs().HardwareAddr)
		return unix.Sendto(fd, frame, 0, sa)
	})
	if err != nil {
		t.Fatalf("send on %s: %v", from.Attrs().Name, err)
	}
}

// listen opens an AF_PACKET socket on dev in the host namespace; wait
// returns true once a frame holding marker arrives.
func (tp *topo) listen(t testing.TB, dev vnl.Link) (wait func(marker []byte, d time.Duration) bool) {
	t.Helper()
	var fd int
	err := tp.host.Do(func() error {
		var err error
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: dev.Attrs().Index})
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", dev.Attrs().Name, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return func(marker []byte, d time.Duration) bool {
		tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
		_ = unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		buf := make([]byte, 2048)
		for end := time.Now().Add(d); time.Now().Before(end); {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err == nil && bytes.Contains(buf[:n], marker) {
				return true
			}
		}
		return false
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func udpFrame(src, dst net.HardwareAddr, port uint16, payload []byte) []byte {
	udpLen := 8 + len(payload)
	b := append([]byte{}, dst...)
	b = append(b, src...)
	b = append(b, 0x08, 0x00)
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+udpLen))
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 40000)
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = binary.BigEndian.AppendUint16(b, 0) // no checksum
	return append(b, payload...)
}

// TestKernelForwarding installs chain 0 "indev p1: goto chain 1" and chain
// 1 "indev p1 udp dport 9999: redirect to p2" in the block shared by p1 and
// p2, sends a frame into p1 and expects it out of p2, counted by both
// filters' actions, with the cookie and the flags read back.
func TestKernelForwarding(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	cookie := []byte{0xa1, 0xb2, 0xc3, 0xd4}
	gotoF := &Filter{
		Chain: 0, Pref: 10, Protocol: EthPAll, Flags: FlagSkipHW, Cookie: cookie,
		Keys:    Keys{Indev: "p1"},
		Actions: []Action{{Kind: KindGact, Gact: &Gact{Verdict: VerdictGotoChain, Chain: 1}}},
	}
	fwdF := &Filter{
		Chain: 1, Pref: 10, Protocol: EthPAll, Flags: FlagSkipHW, Cookie: cookie,
		Keys: Keys{Indev: "p1", EthType: EthTypeIPv4, IPProto: ipProtoUDP, HasIPProto: true,
			DstPort: 9999, DstPortMask: 0xffff},
		Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}},
	}
	for _, f := range []*Filter{fwdF, gotoF} {
		inst, err := tp.h.Add(testBlock, f)
		if err != nil {
			t.Fatalf("Add %s: %v", f, err)
		}
		if inst.Handle == 0 || inst.InHW || inst.InHWCount != 0 {
			t.Errorf("Add %s = %+v, want a handle, not in hardware", f, inst)
		}
		f.Handle = inst.Handle
	}
	wait := tp.listen(t, tp.h2)
	marker := []byte("nicflow-tcflower-forwarding")
	tp.sendUDP(t, tp.h1, tp.h2, 9999, marker)
	if !wait(marker, 3*time.Second) {
		t.Fatal("the frame sent into p1 did not come out of p2")
	}
	dumped, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if len(dumped) != 2 {
		t.Fatalf("Dump returned %d filters, want 2", len(dumped))
	}
	byChain := map[uint32]Dumped{}
	for _, d := range dumped {
		byChain[d.Filter.Chain] = d
	}
	for _, want := range []*Filter{gotoF, fwdF} {
		d := byChain[want.Chain]
		if diff := cmp.Diff(*want, d.Filter, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("dumped chain %d (-want +got):\n%s", want.Chain, diff)
		}
		if d.DecodeErr != nil {
			t.Errorf("chain %d: %v", want.Chain, d.DecodeErr)
		}
		if d.Installed.InHW || d.Installed.Handle != want.Handle {
			t.Errorf("chain %d installed = %+v", want.Chain, d.Installed)
		}
		if len(d.ActionStats) != 1 || d.Stats.Packets < 1 || d.Stats.Bytes < uint64(len(marker)) || d.Stats.HWPackets != 0 {
			t.Errorf("chain %d stats = %+v, want the frame counted in software", want.Chain, d.ActionStats)
		}
		if d.Stats.Installed < d.Stats.LastUsed || d.Stats.LastUsed > 3*time.Second {
			t.Errorf("chain %d times = installed %v last used %v first used %v", want.Chain, d.Stats.Installed, d.Stats.LastUsed, d.Stats.FirstUsed)
		}
	}
	if p := byChain[1].Stats.Packets; p != 1 {
		t.Errorf("the udp filter counted %d packets, want 1", p)
	}
}

// TestKernelEveryAction installs each codec test filter, every key and
// action kind, and reads it back from the kernel.
func TestKernelEveryAction(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	tp.addVxlan(t)
	for _, tc := range codecCases {
		t.Run(tc.name, func(t *testing.T) {
			f := tc.f
			f.Flags = FlagSkipHW // veth cannot offload: keep them in software
			inst, err := tp.h.Add(testBlock, &f)
			if err != nil {
				t.Fatalf("Add %s: %v", &f, err)
			}
			f.Handle = inst.Handle
			d := tp.find(t, f.Chain, f.Pref, f.Handle)
			if d.DecodeErr != nil {
				t.Fatalf("decode: %v", d.DecodeErr)
			}
			want := asInstalled(f, d.Filter)
			if diff := cmp.Diff(want, d.Filter, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("read back (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKernelRandomFilters installs random filters of every key and action
// and reads them back: the codec and the kernel agree on each attribute.
func TestKernelRandomFilters(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	tp.addVxlan(t)
	r := rand.New(rand.NewPCG(3, 4))
	n := 400
	if testing.Short() {
		n = 50
	}
	want := map[[3]uint32]Filter{}
	for i := 0; i < n; i++ {
		f := randFilter(r)
		f.Handle, f.Flags = uint32(i+1), FlagSkipHW
		for _, a := range f.Actions {
			if a.Police != nil {
				a.Police.Index = 0 // a shared index would keep the first filter's rate
			}
		}
		if _, err := tp.h.Add(testBlock, f); err != nil {
			t.Fatalf("Add %s: %v", f, err)
		}
		want[[3]uint32{f.Chain, uint32(f.Pref), f.Handle}] = *f
	}
	dumped, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if len(dumped) != n {
		t.Errorf("Dump returned %d filters, want %d", len(dumped), n)
	}
	for _, d := range dumped {
		if d.DecodeErr != nil {
			t.Errorf("decode: %v", d.DecodeErr)
			continue
		}
		w := want[[3]uint32{d.Filter.Chain, uint32(d.Filter.Pref), d.Filter.Handle}]
		if diff := cmp.Diff(asInstalled(w, d.Filter), d.Filter, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Errorf("filter %s read back (-want +got):\n%s", &w, diff)
		}
	}
}

// asInstalled is want as the kernel reports it (Filter.AsInstalled) with,
// for policers that asked for no index, the index the kernel picked.
func asInstalled(want, got Filter) Filter {
	want = want.AsInstalled()
	for i, a := range want.Actions {
		if a.Police == nil || a.Police.Index != 0 || i >= len(got.Actions) || got.Actions[i].Police == nil {
			continue
		}
		p := *a.Police
		p.Index = got.Actions[i].Police.Index
		want.Actions[i].Police = &p
	}
	return want
}

// find dumps the block and returns the filter at chain/pref/handle.
func (tp *topo) find(t testing.TB, chain uint32, pref uint16, handle uint32) Dumped {
	t.Helper()
	dumped, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	for _, d := range dumped {
		if f := d.Filter; f.Chain == chain && f.Pref == pref && f.Handle == handle {
			return d
		}
	}
	t.Fatalf("no filter chain %d pref %d handle %#x in the dump of %d", chain, pref, handle, len(dumped))
	return Dumped{}
}

func TestKernelReplaceDelete(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	f := &Filter{Chain: 2, Pref: 5, Protocol: EthPAll, Handle: 1, Flags: FlagSkipHW,
		Keys: Keys{EthType: EthTypeIPv4}, Actions: []Action{dropAction}, Cookie: []byte{1}}
	if _, err := tp.h.Add(testBlock, f); err != nil {
		t.Fatalf("Add: %v", err)
	}

	// Adding it again is refused, with the kernel's reason.
	_, err := tp.h.Add(testBlock, f)
	var e *Error
	if !errors.As(err, &e) || e.Errno != unix.EEXIST || !strings.Contains(e.Message, "already exists") {
		t.Errorf("second Add = %v, want EEXIST with the kernel's message", err)
	}

	// Replace swaps the actions and the cookie in place.
	g := *f
	g.Actions = []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}}
	g.Cookie = []byte{2, 2}
	inst, err := tp.h.Replace(testBlock, &g)
	if err != nil || inst.Handle != 1 {
		t.Fatalf("Replace = %+v, %v; want handle 1", inst, err)
	}
	if d := tp.find(t, 2, 5, 1); !cmp.Equal(g, d.Filter, cmpopts.EquateEmpty()) {
		t.Errorf("after Replace read %s, want %s", &d.Filter, &g)
	}

	// A second filter in another pref of the chain, one in chain 3.
	h := g
	h.Pref, h.Handle = 6, 0
	if _, err := tp.h.Add(testBlock, &h); err != nil {
		t.Fatal(err)
	}
	k := g
	k.Chain, k.Handle = 3, 0
	if _, err := tp.h.Add(testBlock, &k); err != nil {
		t.Fatal(err)
	}

	if err := tp.h.Delete(testBlock, 2, 5, 1); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := tp.h.Delete(testBlock, 2, 5, 1); !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		t.Errorf("deleting it again = %v, want ENOENT or EINVAL", err)
	}
	if n := tp.count(t); n != 2 {
		t.Errorf("%d filters after Delete, want 2", n)
	}
	if err := tp.h.DeleteChain(testBlock, 2); err != nil {
		t.Fatalf("DeleteChain: %v", err)
	}
	if err := tp.h.DeleteChain(testBlock, 2); err != nil {
		t.Errorf("flushing an empty chain: %v", err)
	}
	dumped, err := tp.h.Dump(testBlock)
	if err != nil || len(dumped) != 1 || dumped[0].Filter.Chain != 3 {
		t.Errorf("after DeleteChain the dump is %v, %v; want the chain 3 filter only", dumped, err)
	}
}

func (tp *topo) count(t testing.TB) int {
	t.Helper()
	dumped, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	return len(dumped)
}

func TestKernelRefusals(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	if _, err := tp.h.Add(testBlock, &Filter{Pref: 1, Protocol: EthPAll, Flags: FlagSkipHW, Actions: []Action{dropAction}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		f       *Filter
		errno   unix.Errno
		message string
	}{
		{"protocol differs within a pref", &Filter{Pref: 1, Protocol: EthTypeIPv4, Flags: FlagSkipHW, Actions: []Action{dropAction}},
			unix.EINVAL, "priority/protocol"},
		{"no protocol", &Filter{Pref: 2, Flags: FlagSkipHW, Actions: []Action{dropAction}},
			unix.EINVAL, "protocol must be specified"},
		{"skip_sw on a block no device offloads", &Filter{Pref: 3, Protocol: EthPAll, Flags: FlagSkipSW, Actions: []Action{dropAction}},
			0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tp.h.Add(testBlock, tt.f)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Add = %v, want a kernel refusal", err)
			}
			t.Logf("refused: %v", err)
			if tt.errno != 0 && (e.Errno != tt.errno || !strings.Contains(e.Message, tt.message)) {
				t.Errorf("Add = %+v, want errno %v with a message containing %q", e, tt.errno, tt.message)
			}
		})
	}
}

// TestKernelNetdevsimRefusal binds a netdevsim port (an offload-capable
// device whose driver refuses flower) to a block: skip_sw is refused with
// the driver's extack, and a filter without flags runs in software,
// flagged not in hardware.
func TestKernelNetdevsimRefusal(t *testing.T) {
	vmtest.Require(t)
	requireFlower(t)
	nsim := vmtest.NewNetdevsim(t, 21, 0)
	l, err := vnl.LinkByName(nsim.PF)
	if err != nil {
		t.Fatal(err)
	}
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const block = 21
	if err := h.BindBlock(l.Attrs().Index, block); err != nil {
		t.Fatalf("BindBlock: %v", err)
	}
	t.Cleanup(func() { _ = h.UnbindBlock(l.Attrs().Index) })
	_, err = h.Add(block, &Filter{Pref: 1, Protocol: EthPAll, Flags: FlagSkipSW, Keys: Keys{EthType: EthTypeIPv4}, Actions: []Action{dropAction}})
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(e.Message, "netdevsim") {
		t.Errorf("skip_sw Add = %v, want EOPNOTSUPP with netdevsim's message", err)
	}
	inst, err := h.Add(block, &Filter{Pref: 2, Protocol: EthPAll, Keys: Keys{EthType: EthTypeIPv4}, Actions: []Action{dropAction}})
	if err != nil {
		t.Fatalf("Add without flags: %v", err)
	}
	if inst.InHW || inst.InHWCount != 0 {
		t.Errorf("Add without flags = %+v, want not in hardware", inst)
	}
}

func TestKernelDumpMany(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := 1; i <= n; i++ {
		f := &Filter{Chain: uint32(i % 3), Pref: uint16(10 + i%4), Protocol: EthPAll, Handle: uint32(i), Flags: FlagSkipHW,
			Keys:    Keys{EthType: EthTypeIPv4, IPv4Dst: [4]byte{10, byte(i >> 8), byte(i), 0}, IPv4DstMask: [4]byte{255, 255, 255, 0}},
			Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}},
			Cookie:  binary.BigEndian.AppendUint32(nil, uint32(i))}
		if _, err := tp.h.Add(testBlock, f); err != nil {
			t.Fatalf("Add #%d: %v", i, err)
		}
	}
	dumped, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if len(dumped) != n {
		t.Fatalf("Dump returned %d filters, want %d", len(dumped), n)
	}
	seen := map[uint32]bool{}
	for _, d := range dumped {
		i := binary.BigEndian.Uint32(d.Filter.Cookie)
		if d.Filter.Handle != i || d.Filter.Keys.IPv4Dst[2] != byte(i) || seen[i] {
			t.Fatalf("filter %s: cookie %d does not match it or came twice", &d.Filter, i)
		}
		seen[i] = true
	}
}

// BenchmarkAdd measures installing filters one request each (the figure
// the "10,000 rules through nicflowd vs tc -batch" benchmark compares).
func BenchmarkAdd(b *testing.B) {
	requireFlower(b)
	tp := newTopo(b)
	f := &Filter{Pref: 10, Protocol: EthPAll, Flags: FlagSkipHW,
		Keys:    Keys{EthType: EthTypeIPv4, IPv4DstMask: [4]byte{255, 255, 255, 255}},
		Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}},
		Cookie:  make([]byte, 8)}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.Handle = uint32(i + 1)
		binary.BigEndian.PutUint32(f.Keys.IPv4Dst[:], uint32(i))
		if _, err := tp.h.Add(testBlock, f); err != nil {
			b.Fatalf("Add #%d: %v", i, err)
		}
	}
}

// TestKernelGetRemoveKeepCounters checks that Get reads one filter's
// counters and that Remove hands back the counters the filter had when it
// went: the tc tier folds them into the rule's totals.
func TestKernelGetRemoveKeepCounters(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	f := &Filter{
		Chain: 0, Pref: 20, Protocol: EthPAll, Flags: FlagSkipHW,
		Keys: Keys{Indev: "p1", EthType: EthTypeIPv4, IPProto: ipProtoUDP, HasIPProto: true,
			DstPort: 7777, DstPortMask: 0xffff},
		Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}},
	}
	inst, err := tp.h.Add(testBlock, f)
	if err != nil {
		t.Fatal(err)
	}
	wait := tp.listen(t, tp.h2)
	const sent = 3
	for i := 0; i < sent; i++ {
		marker := []byte(fmt.Sprintf("nicflow-get-remove-%d", i))
		tp.sendUDP(t, tp.h1, tp.h2, 7777, marker)
		if !wait(marker, 3*time.Second) {
			t.Fatalf("frame %d was not forwarded", i)
		}
	}
	d, err := tp.h.Get(testBlock, 0, 20, inst.Handle)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if d.Stats.Packets != sent || d.Installed.Handle != inst.Handle {
		t.Errorf("Get = handle %#x, %d packets; want handle %#x, %d", d.Installed.Handle, d.Stats.Packets, inst.Handle, sent)
	}
	d, err = tp.h.Remove(testBlock, 0, 20, inst.Handle)
	if err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if d.Stats.Packets != sent || d.Stats.Bytes == 0 {
		t.Errorf("Remove returned %d packets %d bytes, want %d packets", d.Stats.Packets, d.Stats.Bytes, sent)
	}
	if n := tp.count(t); n != 0 {
		t.Errorf("%d filters after Remove, want 0", n)
	}
	_, err = tp.h.Remove(testBlock, 0, 20, inst.Handle)
	if !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
		t.Errorf("removing it again = %v, want ENOENT or EINVAL", err)
	}
	if _, err := tp.h.Get(testBlock, 0, 20, inst.Handle); err == nil {
		t.Error("Get of a removed filter: no error")
	}
}

// TestKernelAddBatch installs more filters than one batch holds, with
// refusals among them (a handle already taken, a protocol that differs
// within a pref, an encode error before anything is sent): each answer
// belongs to its own filter, the refusals carry the kernel's extended ack,
// and the others are installed.
func TestKernelAddBatch(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	bn := tp.h.batchN
	if tp.h.bc == nil || bn == 0 {
		t.Fatal("the handle has no batch path")
	}
	n := 3*bn + 5
	filter := func(i int) *Filter {
		return &Filter{Pref: 10, Protocol: EthPAll, Handle: uint32(i + 1), Flags: FlagSkipHW,
			Keys:    Keys{EthType: EthTypeIPv4, IPv4Dst: [4]byte{10, 9, byte(i >> 8), byte(i)}, IPv4DstMask: [4]byte{255, 255, 255, 255}},
			Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}}}
	}
	fs := make([]*Filter, n)
	for i := range fs {
		fs[i] = filter(i)
	}
	taken, badProto, noHandle := bn-1, bn+7, 2*bn+1
	if _, err := tp.h.Add(testBlock, fs[taken]); err != nil {
		t.Fatal(err)
	}
	fs[badProto].Protocol = EthTypeIPv4
	fs[noHandle].Handle = 0
	errs := tp.h.AddBatch(testBlock, fs)
	if len(errs) != n {
		t.Fatalf("AddBatch returned %d answers for %d filters", len(errs), n)
	}
	for i, err := range errs {
		var e *Error
		switch i {
		case taken:
			if !errors.As(err, &e) || e.Errno != unix.EEXIST {
				t.Errorf("filter %d (handle taken): %v, want EEXIST", i, err)
			}
		case badProto:
			if !errors.As(err, &e) || e.Errno != unix.EINVAL || !strings.Contains(e.Message, "priority/protocol") {
				t.Errorf("filter %d (protocol differs): %v, want EINVAL with the kernel's message", i, err)
			}
		case noHandle:
			if err == nil || errors.As(err, &e) {
				t.Errorf("filter %d (no handle): %v, want an error before sending", i, err)
			}
		default:
			if err != nil {
				t.Errorf("filter %d: %v", i, err)
			}
		}
	}
	if got, want := tp.count(t), n-2; got != want {
		t.Errorf("block holds %d filters, want %d", got, want)
	}
	d := tp.find(t, 0, 10, uint32(n))
	if d.Filter.Keys.IPv4Dst != fs[n-1].Keys.IPv4Dst {
		t.Errorf("last filter: %s, want dst %v", &d.Filter, fs[n-1].Keys.IPv4Dst)
	}
}

// BenchmarkAddBatch measures installing filters with AddBatch (no echo,
// acks read per batch), against BenchmarkAdd's one request each.
func BenchmarkAddBatch(b *testing.B) {
	requireFlower(b)
	tp := newTopo(b)
	fs := make([]*Filter, b.N)
	for i := range fs {
		fs[i] = &Filter{Pref: 10, Protocol: EthPAll, Handle: uint32(i + 1), Flags: FlagSkipHW,
			Keys:    Keys{EthType: EthTypeIPv4, IPv4Dst: [4]byte{byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}, IPv4DstMask: [4]byte{255, 255, 255, 255}},
			Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}},
			Cookie:  make([]byte, 8)}
	}
	b.ResetTimer()
	for i, err := range tp.h.AddBatch(testBlock, fs) {
		if err != nil {
			b.Fatalf("filter #%d: %v", i, err)
		}
	}
}
