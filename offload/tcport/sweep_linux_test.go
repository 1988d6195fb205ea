//go:build linux

package tcport

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// sweepNS is a fresh network namespace with a tcflower Handle and a
// vishvananda handle in it (no ip tool needed: the VM has none).
type sweepNS struct {
	h   *tcflower.Handle
	nlh *vnl.Handle
}

func newSweepNS(t testing.TB) *sweepNS {
	t.Helper()
	ns := netns.New(t, "tcsw")
	s := &sweepNS{nlh: ns.Netlink()}
	var err error
	if s.h, err = tcflower.OpenNetNS(int(ns.Handle())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.h.Close() })
	return s
}

// veth adds the veth pair name/name+"p", both up, and returns name's index.
func (s *sweepNS) veth(t testing.TB, name string) int {
	t.Helper()
	la := vnl.NewLinkAttrs()
	la.Name = name
	if err := s.nlh.LinkAdd(&vnl.Veth{LinkAttrs: la, PeerName: name + "p"}); err != nil {
		t.Fatalf("add veth %s: %v", name, err)
	}
	for _, n := range []string{name, name + "p"} {
		l, err := s.nlh.LinkByName(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.nlh.LinkSetUp(l); err != nil {
			t.Fatal(err)
		}
	}
	l, err := s.nlh.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}

func (s *sweepNS) bind(t *testing.T, ifindex int, block uint32) {
	t.Helper()
	if err := s.h.BindBlock(ifindex, block); err != nil {
		t.Fatalf("BindBlock(%d, %d): %v", ifindex, block, err)
	}
}

// add installs a drop filter carrying cookie (nil: none) in block.
func (s *sweepNS) add(t *testing.T, block uint32, pref uint16, cookie []byte) {
	t.Helper()
	f := &tcflower.Filter{
		Pref: pref, Protocol: tcflower.EthPAll, Flags: tcflower.FlagSkipHW, Cookie: cookie,
		Actions: []tcflower.Action{{Kind: tcflower.KindGact, Gact: &tcflower.Gact{Verdict: tcflower.VerdictShot}}},
	}
	if _, err := s.h.Add(block, f); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			t.Skipf("no tc flower in this kernel: %v", err)
		}
		t.Fatalf("add a filter to block %d: %v", block, err)
	}
}

// ingress describes a netdev's ingress: "none", or "clsact block B: N filters".
func (s *sweepNS) ingress(t *testing.T, ifindex int) string {
	t.Helper()
	kind, block, err := s.h.IngressBlock(ifindex)
	if err != nil {
		t.Fatalf("IngressBlock(%d): %v", ifindex, err)
	}
	if kind == "" {
		return "none"
	}
	fs, other, err := s.h.DumpIngress(ifindex)
	if err != nil {
		t.Fatalf("DumpIngress(%d): %v", ifindex, err)
	}
	return fmt.Sprintf("%s block %#x: %d filters", kind, block, len(fs)+other)
}

func nicflowCookie(flow uint64) []byte {
	return tcflower.EncodeCookie(tcflower.CookieInfo{Version: tcflower.CookieVersion, FlowID: flow})
}

// TestSweepInTheVM binds v1 and v2 to a nicflow block (one nicflow filter)
// and v3 to a block of one foreign filter; a sweep keeping v1 unbinds v2
// only, and the block keeps its filter for v1; a sweep keeping none
// unbinds v1 too and the kernel frees the block. Rebind then takes a
// netdev over from a nicflow block and refuses the foreign one.
func TestSweepInTheVM(t *testing.T) {
	vmtest.Require(t)
	s := newSweepNS(t)
	v1, v2, v3 := s.veth(t, "v1"), s.veth(t, "v2"), s.veth(t, "v3")
	const ours, foreign, next = 0x4000_1234, 77, 0x4000_5678
	s.bind(t, v1, ours)
	s.bind(t, v2, ours)
	s.bind(t, v3, foreign)
	s.add(t, ours, 10, nicflowCookie(0))
	s.add(t, foreign, 10, []byte{0xa1, 0xb2, 0xc3, 0xd4})
	s.add(t, foreign, 20, nil)

	links, err := s.h.Links()
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	if len(links) != 7 { // lo and three pairs
		t.Fatalf("Links = %v, want lo and the three veth pairs", links)
	}

	// Keep v1.
	r, err := Sweep(s.h, func(i int) bool { return i == v1 })
	if err != nil {
		t.Fatalf("Sweep keeping v1: %v", err)
	}
	want := SweepReport{Checked: 6, Swept: []Swept{{Name: "v2", Ifindex: v2, Block: ours, Filters: 1}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Sweep keeping v1 (-want +got):\n%s", diff)
	}
	wantIngress := map[string]string{
		"v1": "clsact block 0x40001234: 1 filters", // deleting v2's clsact left the block alive for v1
		"v2": "none",
		"v3": "clsact block 0x4d: 2 filters",
	}
	gotIngress := map[string]string{"v1": s.ingress(t, v1), "v2": s.ingress(t, v2), "v3": s.ingress(t, v3)}
	if diff := cmp.Diff(wantIngress, gotIngress); diff != "" {
		t.Errorf("ingress after the sweep keeping v1 (-want +got):\n%s", diff)
	}
	if d, err := s.h.Dump(ours); err != nil || len(d) != 1 {
		t.Errorf("Dump(block %#x) = %d filters, %v; want its filter, for v1", ours, len(d), err)
	}

	// Keep none.
	r, err = Sweep(s.h, nil)
	if err != nil {
		t.Fatalf("Sweep keeping none: %v", err)
	}
	want = SweepReport{Checked: 7, Swept: []Swept{{Name: "v1", Ifindex: v1, Block: ours, Filters: 1}}}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("Sweep keeping none (-want +got):\n%s", diff)
	}
	if got := s.ingress(t, v1); got != "none" {
		t.Errorf("v1's ingress after the sweep = %s, want none", got)
	}
	if got := s.ingress(t, v3); got != wantIngress["v3"] {
		t.Errorf("v3's ingress after the sweep = %s, want %s", got, wantIngress["v3"])
	}
	d, err := s.h.Dump(ours)
	t.Logf("Dump of block %#x after its last binding went: %d filters, error %v", ours, len(d), err)
	if err != nil || len(d) != 0 {
		t.Errorf("Dump(block %#x) after its last binding went = %d filters, %v; want none (the block is freed)", ours, len(d), err)
	}
	// The block is gone, not merely empty: a filter cannot be added to it.
	f := &tcflower.Filter{Pref: 10, Protocol: tcflower.EthPAll, Flags: tcflower.FlagSkipHW,
		Actions: []tcflower.Action{{Kind: tcflower.KindGact, Gact: &tcflower.Gact{Verdict: tcflower.VerdictShot}}}}
	_, err = s.h.Add(ours, f)
	t.Logf("Add to the freed block: %v", err)
	if err == nil {
		t.Errorf("Add to block %#x after its last binding went succeeded, want an error (no such block)", ours)
	}

	// Rebind: v2 left on a stale nicflow block is taken over; v3 is not.
	s.bind(t, v2, ours)
	s.add(t, ours, 10, nicflowCookie(0))
	s.add(t, ours, 20, nicflowCookie(5))
	taken, err := Rebind(s.h, "v2", v2, next)
	if err != nil {
		t.Fatalf("Rebind(v2): %v", err)
	}
	if diff := cmp.Diff(&Swept{Name: "v2", Ifindex: v2, Block: ours, Filters: 2}, taken); diff != "" {
		t.Errorf("Rebind(v2) took over (-want +got):\n%s", diff)
	}
	if got := s.ingress(t, v2); got != "clsact block 0x40005678: 0 filters" {
		t.Errorf("v2's ingress after Rebind = %s, want bound to %#x", got, next)
	}
	taken, err = Rebind(s.h, "v3", v3, next)
	t.Logf("Rebind(v3): %v", err)
	if taken != nil || !errors.Is(err, unix.EEXIST) {
		t.Errorf("Rebind(v3) = %+v, %v; want EEXIST", taken, err)
	}
	if got := s.ingress(t, v3); got != wantIngress["v3"] {
		t.Errorf("v3's ingress after a refused Rebind = %s, want %s", got, wantIngress["v3"])
	}
	if taken, err := Rebind(s.h, "v2", v2, next); taken != nil || err != nil {
		t.Errorf("Rebind(v2) again = %+v, %v; want nothing to do", taken, err)
	}
}
