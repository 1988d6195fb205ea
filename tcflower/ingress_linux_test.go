//go:build linux

package tcflower

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// addIngress installs f in the device's own ingress (tcflower installs
// filters in shared blocks only): a test's stand-in for a filter someone
// else put there.
func addIngress(h *Handle, ifindex int, f *Filter) error {
	body, err := encodeFilterMsg(h.links(), 0, f)
	if err != nil {
		return err
	}
	copy(body, ingressMsg(ifindex, f.Handle, nl.Info(f.Pref, f.Protocol)).Append(nil))
	_, err = h.request("add a filter to a device's own ingress", nl.RTM_NEWTFILTER, netlink.Create|netlink.Excl, body)
	return err
}

// addMatchall adds a matchall filter (pass) at pref to the own ingress of
// link (the kernel refuses it on a shared block: EOPNOTSUPP).
func addMatchall(t *testing.T, nlh *vnl.Handle, link vnl.Link, pref uint16) {
	t.Helper()
	f := &vnl.MatchAll{
		FilterAttrs: vnl.FilterAttrs{LinkIndex: link.Attrs().Index, Parent: vnl.HANDLE_MIN_INGRESS, Priority: pref, Protocol: unix.ETH_P_ALL},
		Actions:     []vnl.Action{&vnl.GenericAction{ActionAttrs: vnl.ActionAttrs{Action: vnl.TC_ACT_OK}}},
	}
	if err := nlh.FilterAdd(f); err != nil {
		t.Fatalf("add a matchall filter to %s: %v", link.Attrs().Name, err)
	}
}

// TestKernelIngress reads and deletes filters through a device: through
// p1, bound to block 7, DumpIngress sees the block's filters (and the
// kernel refuses a delete); p3's own clsact holds a nicflow filter and a
// matchall, and DeleteIngress takes the flower filter only.
func TestKernelIngress(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	p3, _ := tp.veth(t, "p3", "h3")
	p1 := tp.p1.Attrs().Index
	cookie := EncodeCookie(CookieInfo{Version: CookieVersion, Table: 0, FlowID: 3, Priority: 10})
	f := &Filter{Pref: 10, Protocol: EthPAll, Flags: FlagSkipHW, Cookie: cookie, Actions: []Action{dropAction}}
	if _, err := tp.h.Add(testBlock, f); err != nil {
		t.Fatalf("Add: %v", err)
	}

	links, err := tp.h.Links()
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	want := []Link{{1, "lo"}}
	for _, l := range []vnl.Link{tp.p1, tp.p2, p3} {
		want = append(want, Link{l.Attrs().Index, l.Attrs().Name})
	}
	if diff := cmp.Diff(want, links, cmpopts.SortSlices(func(a, b Link) bool { return a.Index < b.Index })); diff != "" {
		t.Errorf("Links of the switch namespace (-want +got):\n%s", diff)
	}

	viaDev, other, err := tp.h.DumpIngress(p1)
	if err != nil {
		t.Fatalf("DumpIngress(p1): %v", err)
	}
	viaBlock, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	filters := func(ds []Dumped) (fs []Filter) {
		for _, d := range ds {
			fs = append(fs, d.Filter)
		}
		return fs
	}
	if diff := cmp.Diff(filters(viaBlock), filters(viaDev), cmpopts.EquateEmpty()); diff != "" || len(viaDev) != 1 {
		t.Errorf("DumpIngress(p1) = %d filters, Dump(block 7) %d (-block +dev):\n%s", len(viaDev), len(viaBlock), diff)
	}
	if other != 0 {
		t.Errorf("DumpIngress(p1) counted %d filters of other classifiers, want none", other)
	}
	// The kernel changes a shared block's filters only through the block.
	err = tp.h.DeleteIngress(p1, 0, 10, viaDev[0].Filter.Handle)
	t.Logf("DeleteIngress through a device bound to a shared block: %v", err)
	if !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("DeleteIngress(p1) = %v, want EOPNOTSUPP (the block is shared)", err)
	}

	// p3: its own clsact.
	ix3 := p3.Attrs().Index
	clsact := &vnl.GenericQdisc{QdiscAttrs: vnl.QdiscAttrs{LinkIndex: ix3, Handle: vnl.MakeHandle(0xffff, 0), Parent: vnl.HANDLE_CLSACT}, QdiscType: "clsact"}
	if err := tp.swNL.QdiscAdd(clsact); err != nil {
		t.Fatalf("add clsact to p3: %v", err)
	}
	if kind, block, err := tp.h.IngressBlock(ix3); err != nil || kind != QdiscClsact || block != 0 {
		t.Errorf("IngressBlock(p3) = %q, %d, %v; want clsact without a shared block", kind, block, err)
	}
	own := &Filter{Pref: 10, Handle: 1, Protocol: EthPAll, Flags: FlagSkipHW, Cookie: cookie, Actions: []Action{dropAction}}
	if err := addIngress(tp.h, ix3, own); err != nil {
		t.Fatalf("add a filter to p3's own ingress: %v", err)
	}
	addMatchall(t, tp.swNL, p3, 20)
	got, other, err := tp.h.DumpIngress(ix3)
	if err != nil || len(got) != 1 || other != 1 {
		t.Fatalf("DumpIngress(p3) = %d flower, %d other, %v; want 1 and 1", len(got), other, err)
	}
	if diff := cmp.Diff(*own, got[0].Filter, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("p3's own filter (-want +got):\n%s", diff)
	}
	if err := tp.h.DeleteIngress(ix3, 0, 10, 1); err != nil {
		t.Fatalf("DeleteIngress(p3): %v", err)
	}
	if got, other, err := tp.h.DumpIngress(ix3); err != nil || len(got) != 0 || other != 1 {
		t.Errorf("after DeleteIngress, DumpIngress(p3) = %d flower, %d other, %v; want 0 and the matchall", len(got), other, err)
	}
	if err := tp.h.DeleteIngress(ix3, 0, 10, 1); !errors.Is(err, unix.ENOENT) {
		t.Errorf("DeleteIngress of the deleted filter = %v, want ENOENT", err)
	}
	if d, err := tp.h.Dump(testBlock); err != nil || len(d) != 1 {
		t.Errorf("block 7 after p3's delete: %d filters, %v; want its 1 filter untouched", len(d), err)
	}

	// A device that does not exist.
	const noDev = 999999
	if _, _, err := tp.h.IngressBlock(noDev); !errors.Is(err, unix.ENODEV) {
		t.Errorf("IngressBlock of no device = %v, want ENODEV", err)
	}
	if got, other, err := tp.h.DumpIngress(noDev); err != nil || len(got) != 0 || other != 0 {
		t.Errorf("DumpIngress of no device = %d, %d, %v; want nothing", len(got), other, err)
	}
}
