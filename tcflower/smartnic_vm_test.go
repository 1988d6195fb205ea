//go:build linux

package tcflower

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// Tests of the simulated SmartNIC (test/vm/netdevsim: netdevsim patched to
// offload flower in switchdev mode the way mlx5 does), driven through the
// project's own codec. They run only in the VM harness:
//
//	NICFLOW_VM_PKGS=tcflower NICFLOW_VM_RUN=SmartNIC test/vm/run.sh

// smartNIC is a netdevsim device in switchdev mode with its PF and VF
// representor links and a tc handle.
type smartNIC struct {
	h    *Handle
	dev  *vmtest.Netdevsim
	pf   vnl.Link
	reps []vnl.Link
}

func newSmartNIC(t *testing.T, id, vfs int) *smartNIC {
	t.Helper()
	vmtest.Require(t)
	requireFlower(t)
	// Created first, so deleted last: the device goes with filters still
	// installed, which the driver must survive.
	dev := vmtest.NewNetdevsim(t, id, vfs)
	dev.SetSwitchdev(t)
	s := &smartNIC{dev: dev}
	var err error
	if s.pf, err = vnl.LinkByName(dev.PF); err != nil {
		t.Fatal(err)
	}
	for _, name := range dev.Representors(t) {
		l, err := vnl.LinkByName(name)
		if err != nil {
			t.Fatal(err)
		}
		s.reps = append(s.reps, l)
	}
	if s.h, err = Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.h.Close() })
	return s
}

func (s *smartNIC) bind(t *testing.T, l vnl.Link, block uint32) {
	t.Helper()
	if err := s.h.BindBlock(l.Attrs().Index, block); err != nil {
		t.Fatalf("BindBlock(%s, %d): %v", l.Attrs().Name, block, err)
	}
}

// addVethPair adds a veth pair in the current namespace, deleted when the
// test ends, and returns its first end.
func addVethPair(t *testing.T, name, peer string) vnl.Link {
	t.Helper()
	la := vnl.NewLinkAttrs()
	la.Name = name
	if err := vnl.LinkAdd(&vnl.Veth{LinkAttrs: la, PeerName: peer}); err != nil {
		t.Fatalf("add veth %s/%s: %v", name, peer, err)
	}
	l, err := vnl.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = vnl.LinkDel(l) })
	return l
}

// snCookie is a nicflow action cookie for flow id n.
func snCookie(n uint64) []byte {
	return EncodeCookie(CookieInfo{Version: CookieVersion, Table: 0, FlowID: n, Priority: 100})
}

func udpKeys(port uint16) Keys {
	return Keys{EthType: EthTypeIPv4, IPProto: unix.IPPROTO_UDP, HasIPProto: true, DstPort: port, DstPortMask: 0xFFFF}
}

func redirectTo(dev string) Action {
	return Action{Kind: KindMirred, Mirred: &Mirred{Dev: dev, Redirect: true}}
}

func mirrorTo(dev string) Action {
	return Action{Kind: KindMirred, Mirred: &Mirred{Dev: dev}}
}

// hwFilter is a skip_sw filter at pref with cookie c.
func hwFilter(chain uint32, pref uint16, c []byte, keys Keys, acts ...Action) *Filter {
	return &Filter{Chain: chain, Pref: pref, Protocol: EthPAll, Flags: FlagSkipSW, Cookie: c, Keys: keys, Actions: acts}
}

// wantInHW fails unless the add succeeded in hardware on n devices.
func wantInHW(t *testing.T, what string, inst Installed, err error, n uint32) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !inst.InHW || inst.InHWCount != n {
		t.Fatalf("%s: installed %+v, want in_hw on %d device(s)", what, inst, n)
	}
}

// wantRefused fails unless err is the kernel's refusal with errno and an
// extack containing msg ("" : no extack at all).
func wantRefused(t *testing.T, what string, err error, errno unix.Errno, msg string) {
	t.Helper()
	t.Logf("%s: %v", what, err)
	var e *Error
	switch {
	case !errors.As(err, &e):
		t.Errorf("%s: err = %v, want the kernel's %v", what, err, errno)
	case e.Errno != errno:
		t.Errorf("%s: errno %v (%q), want %v", what, e.Errno, e.Message, errno)
	case msg == "" && e.Message != "":
		t.Errorf("%s: extack %q, want none", what, e.Message)
	case !strings.Contains(e.Message, msg):
		t.Errorf("%s: extack %q, want it to contain %q", what, e.Message, msg)
	}
}

// held returns the cookies of the filters link holds in the simulated
// hardware.
func held(t *testing.T, l vnl.Link) [][]byte {
	t.Helper()
	fs, err := vmtest.SmartNICFilters(l.Attrs().Name)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, f := range fs {
		out = append(out, f.Cookie)
	}
	return out
}

func holds(t *testing.T, l vnl.Link, c []byte) bool {
	t.Helper()
	for _, h := range held(t, l) {
		if bytes.Equal(h, c) {
			return true
		}
	}
	return false
}

// TestSmartNICPerPortBlock is the layout nicflow uses on a SmartNIC: each
// port's ingress on a block of its own, filters without indev (or with
// indev naming the port itself).
func TestSmartNICPerPortBlock(t *testing.T) {
	s := newSmartNIC(t, 40, 3)
	rep0, rep1, rep2 := s.reps[0], s.reps[1], s.reps[2]
	const b0, b1, b2 = 401, 402, 403
	s.bind(t, rep0, b0)
	s.bind(t, rep1, b1)
	r1 := rep1.Attrs().Name
	drop := dropAction

	t.Run("Accepted", func(t *testing.T) {
		c := snCookie(1)
		inst, err := s.h.Add(b0, hwFilter(0, 1, c, udpKeys(1001), drop))
		wantInHW(t, "skip_sw udp drop", inst, err, 1)
		f, err := vmtest.SmartNICFilterByCookie(rep0.Attrs().Name, c)
		if err != nil {
			t.Fatal(err)
		}
		if f.Chain != 0 || f.Prio != 1 {
			t.Errorf("held filter %+v, want chain 0 prio 1", f)
		}
		if got := held(t, rep1); len(got) != 0 {
			t.Errorf("%s holds %x, want nothing (the filter is on %s's block)", r1, got, rep0.Attrs().Name)
		}
		d, err := s.h.Get(b0, 0, 1, inst.Handle)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Installed.InHW || !bytes.Equal(d.Filter.Cookie, c) {
			t.Errorf("Get: installed %+v cookie %x, want in_hw and %x", d.Installed, d.Filter.Cookie, c)
		}
	})

	t.Run("IndevOtherPort", func(t *testing.T) {
		k := udpKeys(1002)
		k.Indev = r1
		_, err := s.h.Add(b0, hwFilter(0, 2, snCookie(2), k, drop))
		wantRefused(t, "indev "+r1+" on "+rep0.Attrs().Name, err, unix.EOPNOTSUPP, "Can't match on the ingress filter port")
		if holds(t, rep0, snCookie(2)) {
			t.Error("the refused filter is held")
		}
	})

	t.Run("IndevOwnPort", func(t *testing.T) {
		k := udpKeys(1003)
		k.Indev = rep0.Attrs().Name
		inst, err := s.h.Add(b0, hwFilter(0, 3, snCookie(3), k, drop))
		wantInHW(t, "indev naming its own port", inst, err, 1)
	})

	t.Run("Pedit", func(t *testing.T) {
		// IPv6 traffic class: bits of the first word.
		tclass := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditIP6, Offset: 0, Mask: 0xF00FFFFF, Val: 0x00b00000}}}}
		k := Keys{EthType: EthTypeIPv6}
		_, err := s.h.Add(b0, hwFilter(0, 4, snCookie(4), k, tclass, redirectTo(r1)))
		wantRefused(t, "pedit of the IPv6 traffic class", err, unix.EOPNOTSUPP, "netdevsim: pedit of the IPv6 header is offloaded only for hop limit, src and dst")

		// IPv4 TTL (byte 8) and the header checksum: offloaded.
		ttl := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditIP4, Offset: 8, Mask: 0x00FFFFFF, Val: 0x40000000}}}}
		csum := Action{Kind: KindCsum, Csum: &Csum{Flags: CsumIPv4Hdr}}
		inst, err := s.h.Add(b0, hwFilter(0, 5, snCookie(5), udpKeys(1005), ttl, csum, redirectTo(r1)))
		wantInHW(t, "pedit of the IPv4 TTL + csum + redirect", inst, err, 1)

		// A rewrite that neither forwards nor drops (mlx5's rule).
		_, err = s.h.Add(b0, hwFilter(0, 6, snCookie(6), udpKeys(1006), ttl))
		wantRefused(t, "pedit alone", err, unix.EOPNOTSUPP, "Rule must have at least one forward/drop action")
	})

	t.Run("Mirred", func(t *testing.T) {
		inst, err := s.h.Add(b0, hwFilter(0, 7, snCookie(7), udpKeys(1007), redirectTo(r1)))
		wantInHW(t, "redirect to another representor", inst, err, 1)
		inst, err = s.h.Add(b0, hwFilter(0, 8, snCookie(8), udpKeys(1008), mirrorTo(s.pf.Attrs().Name), redirectTo(r1)))
		wantInHW(t, "mirror to the PF + redirect to a representor", inst, err, 1)

		veth := addVethPair(t, "snv0", "snv1")
		_, err = s.h.Add(b0, hwFilter(0, 9, snCookie(9), udpKeys(1009), redirectTo(veth.Attrs().Name)))
		wantRefused(t, "redirect to a veth", err, unix.EOPNOTSUPP, "netdevsim: devices are not on same switch HW, can't offload forwarding")
	})

	t.Run("KeysAndChains", func(t *testing.T) {
		k := Keys{EthType: EthTypeIPv4, NumVlans: 0, HasNumVlans: true}
		_, err := s.h.Add(b0, hwFilter(0, 10, snCookie(10), k, drop))
		wantRefused(t, "num_of_vlans", err, unix.EOPNOTSUPP, "num_of_vlans")

		gotoChain := func(n uint32) Action {
			return Action{Kind: KindGact, Gact: &Gact{Verdict: VerdictGotoChain, Chain: n}}
		}
		inst, err := s.h.Add(b0, hwFilter(0, 11, snCookie(11), udpKeys(1011), gotoChain(3)))
		wantInHW(t, "goto chain 3", inst, err, 1)
		_, err = s.h.Add(b0, hwFilter(0, 12, snCookie(12), udpKeys(1012), gotoChain(4)))
		wantRefused(t, "goto chain 4", err, unix.EOPNOTSUPP, "Requested destination chain is out of supported range")
		_, err = s.h.Add(b0, hwFilter(4, 12, snCookie(13), udpKeys(1012), drop))
		wantRefused(t, "filter in chain 4", err, unix.EOPNOTSUPP, "Requested chain is out of supported range")
		inst, err = s.h.Add(b0, hwFilter(3, 12, snCookie(14), udpKeys(1012), drop))
		wantInHW(t, "filter in chain 3", inst, err, 1)
	})

	t.Run("Counters", func(t *testing.T) {
		rep := rep0.Attrs().Name
		c := snCookie(20)
		inst, err := s.h.Add(b0, hwFilter(0, 20, c, udpKeys(1020), drop))
		wantInHW(t, "counted filter", inst, err, 1)
		get := func() Stats {
			t.Helper()
			d, err := s.h.Get(b0, 0, 20, inst.Handle)
			if err != nil {
				t.Fatal(err)
			}
			return d.Stats
		}
		if st := get(); st.HWPackets != 0 || st.HWBytes != 0 {
			t.Errorf("fresh filter: hw %d packets %d bytes, want 0", st.HWPackets, st.HWBytes)
		}
		// 10 frames, 1000 bytes on the wire: the device counts 1000-10*14.
		if err := vmtest.SetSmartNICCounters(rep, c, 10, 1000, 0); err != nil {
			t.Fatal(err)
		}
		st := get()
		if st.HWPackets != 10 || st.HWBytes != 860 || st.Packets != 10 || st.Bytes != 860 {
			t.Errorf("after 10/1000: hw %d/%d total %d/%d, want 10/860 (bytes without Ethernet headers)", st.HWPackets, st.HWBytes, st.Packets, st.Bytes)
		}
		if st.LastUsed > 2*time.Second {
			t.Errorf("last used %v ago, want about now", st.LastUsed)
		}
		// A second read adds nothing: the device reports deltas.
		if st := get(); st.HWPackets != 10 || st.HWBytes != 860 {
			t.Errorf("second read: hw %d/%d, want 10/860 (no double counting)", st.HWPackets, st.HWBytes)
		}
		// 15 more frames, 1600 more bytes: the deltas accumulate.
		if err := vmtest.SetSmartNICCounters(rep, c, 25, 2600, 0); err != nil {
			t.Fatal(err)
		}
		if st := get(); st.HWPackets != 25 || st.HWBytes != 2600-25*vmtest.SmartNICUncountedBytes {
			t.Errorf("after 25/2600: hw %d/%d, want 25/%d", st.HWPackets, st.HWBytes, 2600-25*vmtest.SmartNICUncountedBytes)
		}
		ds, err := s.h.Dump(b0)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, d := range ds {
			if bytes.Equal(d.Filter.Cookie, c) {
				found = true
				if d.Stats.HWPackets != 25 || d.Stats.HWBytes != 2250 {
					t.Errorf("Dump: hw %d/%d, want 25/2250", d.Stats.HWPackets, d.Stats.HWBytes)
				}
			}
		}
		if !found {
			t.Errorf("Dump of block %d has no filter with cookie %x", b0, c)
		}
		// Hardware counters never go down.
		if err := vmtest.SetSmartNICCounters(rep, c, 24, 2600, 0); err == nil {
			t.Error("counters set lower: accepted")
		}
		if f, err := vmtest.SmartNICFilterByCookie(rep, c); err != nil || f.Packets != 25 || f.Bytes != 2600 {
			t.Errorf("debugfs shows %+v, %v; want 25 packets 2600 bytes", f, err)
		}
	})

	t.Run("Capacity", func(t *testing.T) {
		s.bind(t, rep2, b2)
		const n = 3
		vmtest.SetSmartNICCapacity(t, n)
		var last Installed
		for i := 0; i < n; i++ {
			inst, err := s.h.Add(b2, hwFilter(0, uint16(30+i), snCookie(uint64(30+i)), udpKeys(uint16(1030+i)), drop))
			wantInHW(t, fmt.Sprintf("filter %d of %d", i+1, n), inst, err, 1)
			last = inst
		}
		_, err := s.h.Add(b2, hwFilter(0, 40, snCookie(40), udpKeys(1040), drop))
		wantRefused(t, fmt.Sprintf("filter %d of %d", n+1, n), err, unix.ENOSPC, "netdevsim: flow table full")
		// Without skip_sw the kernel runs it in software instead.
		soft := hwFilter(0, 41, snCookie(41), udpKeys(1041), drop)
		soft.Flags = 0
		inst, err := s.h.Add(b2, soft)
		if err != nil || inst.InHW {
			t.Errorf("filter without flags past capacity: %+v, %v; want installed not in hw", inst, err)
		}
		// Deleting one frees its slot.
		if err := s.h.Delete(b2, 0, uint16(30+n-1), last.Handle); err != nil {
			t.Fatal(err)
		}
		inst, err = s.h.Add(b2, hwFilter(0, 40, snCookie(40), udpKeys(1040), drop))
		wantInHW(t, "after a delete", inst, err, 1)
		if got := len(held(t, rep2)); got != n {
			t.Errorf("%s holds %d filters, want %d", rep2.Attrs().Name, got, n)
		}
	})
}

// TestSmartNICSharedBlock shows why nicflow binds each port to its own
// block on a SmartNIC: in a shared block the kernel offers a filter to
// every bound port, so a filter keyed on indev is refused by the others,
// and a port without offload (a veth) makes every skip_sw add fail.
func TestSmartNICSharedBlock(t *testing.T) {
	s := newSmartNIC(t, 41, 2)
	rep0, rep1 := s.reps[0], s.reps[1]
	const shared, mixed = 411, 412
	s.bind(t, rep0, shared)
	s.bind(t, rep1, shared)

	k := udpKeys(2001)
	k.Indev = rep0.Attrs().Name
	_, err := s.h.Add(shared, hwFilter(0, 1, snCookie(1), k, dropAction))
	wantRefused(t, "indev in a block shared by two representors", err, unix.EOPNOTSUPP, "Can't match on the ingress filter port")

	c := snCookie(2)
	inst, err := s.h.Add(shared, hwFilter(0, 2, c, udpKeys(2002), dropAction))
	wantInHW(t, "no indev in a shared block", inst, err, 2)
	for _, r := range []vnl.Link{rep0, rep1} {
		if !holds(t, r, c) {
			t.Errorf("%s does not hold the shared filter", r.Attrs().Name)
		}
	}
	// Each port counts its own frames; the kernel adds them up.
	if err := vmtest.SetSmartNICCounters(rep0.Attrs().Name, c, 3, 300, 0); err != nil {
		t.Fatal(err)
	}
	if err := vmtest.SetSmartNICCounters(rep1.Attrs().Name, c, 2, 200, 0); err != nil {
		t.Fatal(err)
	}
	d, err := s.h.Get(shared, 0, 2, inst.Handle)
	if err != nil {
		t.Fatal(err)
	}
	if d.Stats.HWPackets != 5 || d.Stats.HWBytes != 500-5*vmtest.SmartNICUncountedBytes {
		t.Errorf("shared filter: hw %d/%d, want 5/%d", d.Stats.HWPackets, d.Stats.HWBytes, 500-5*vmtest.SmartNICUncountedBytes)
	}

	// A block with a veth: the kernel refuses skip_sw before asking any
	// driver (block->nooffloaddevcnt), with no extack.
	veth := addVethPair(t, "snv2", "snv3")
	s.bind(t, s.pf, mixed)
	s.bind(t, veth, mixed)
	_, err = s.h.Add(mixed, hwFilter(0, 1, snCookie(3), udpKeys(2003), dropAction))
	wantRefused(t, "skip_sw in a block with a veth", err, unix.EOPNOTSUPP, "")
	// Without flags the PF takes it and the veth runs it in software.
	f := hwFilter(0, 2, snCookie(4), udpKeys(2004), dropAction)
	f.Flags = 0
	inst, err = s.h.Add(mixed, f)
	wantInHW(t, "no flags in a block with a veth", inst, err, 1)
}

// TestSmartNICMPLSAndTTL: what the simulated SmartNIC takes of the MPLS
// and TTL mappings, as mlx5 6.1 does (test/vm/netdevsim/README.md): pedit
// of the IPv4 TTL and the IPv6 hop limit (set and add) and ip_ttl keys
// yes; MPLS keys and act_mpls push, pop and modify only over a bareudp
// device, so never on a representor; act_mpls dec_ttl never reaches a
// driver. Without skip_sw the refused filters run in software.
func TestSmartNICMPLSAndTTL(t *testing.T) {
	s := newSmartNIC(t, 45, 2)
	rep0, rep1 := s.reps[0], s.reps[1]
	const b0 = 451
	s.bind(t, rep0, b0)
	r1 := rep1.Attrs().Name
	pref := uint16(0)
	add := func(k Keys, acts ...Action) (Installed, error) {
		pref++
		return s.h.Add(b0, hwFilter(0, pref, snCookie(uint64(pref)), k, acts...))
	}
	ttlDec := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{ipAddKey(PeditIP4, 1)}}}
	hopDec := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{ipAddKey(PeditIP6, 1)}}}
	hopSet := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditIP6, Offset: 4, Mask: 0xFFFFFF00, Val: 0x40}}}}
	csum4 := Action{Kind: KindCsum, Csum: &Csum{Flags: CsumIPv4Hdr}}
	mpls := func(m MPLS) Action { return Action{Kind: KindMPLS, MPLS: &m} }
	push := MPLS{Op: MPLSPush, Proto: EthTypeMPLS, Label: 100, HasLabel: true, TTL: 64}
	mplsKeys := Keys{EthType: EthTypeMPLS, MPLSLabel: 100, HasMPLSLabel: true}

	inst, err := add(udpKeys(4001), ttlDec, csum4, redirectTo(r1))
	wantInHW(t, "dec_ttl: pedit add of the IPv4 TTL + csum + redirect", inst, err, 1)
	inst, err = add(Keys{EthType: EthTypeIPv6}, hopDec, redirectTo(r1))
	wantInHW(t, "dec_ttl: pedit add of the IPv6 hop limit + redirect", inst, err, 1)
	inst, err = add(Keys{EthType: EthTypeIPv6}, hopSet, redirectTo(r1))
	wantInHW(t, "set_nw_ttl: pedit set of the IPv6 hop limit + redirect", inst, err, 1)
	for _, k := range append(GuardKeys(TTLIPv4, 1), GuardKeys(TTLIPv6, 3)...) {
		inst, err = add(k, redirectTo(r1))
		wantInHW(t, "an ip_ttl key ("+protoName(k.EthType)+")", inst, err, 1)
	}

	const overUDP = "netdevsim: Matching on MPLS is supported only for MPLS over UDP"
	_, err = add(mplsKeys, redirectTo(r1))
	wantRefused(t, "mpls_label key", err, unix.EOPNOTSUPP, overUDP)
	_, err = add(GuardKeys(TTLMPLS, 1)[0], redirectTo(r1))
	wantRefused(t, "mpls_ttl key", err, unix.EOPNOTSUPP, overUDP)
	_, err = add(udpKeys(4002), mpls(push), redirectTo(r1))
	wantRefused(t, "mpls push + redirect to a representor", err, unix.EOPNOTSUPP, "netdevsim: mpls is supported only through a bareudp device")
	mc := push
	mc.Proto = EthTypeMPLSMC
	_, err = add(udpKeys(4003), mpls(mc), redirectTo(r1))
	wantRefused(t, "mpls push of mpls_mc", err, unix.EOPNOTSUPP, "netdevsim: mpls push is supported only for mpls_uc protocol")
	pop := MPLS{Op: MPLSPop, Proto: EthTypeIPv4}
	_, err = add(Keys{EthType: EthTypeMPLS}, mpls(pop), redirectTo(r1))
	wantRefused(t, "mpls pop first", err, unix.EOPNOTSUPP, "netdevsim: mpls pop supported only on bareudp devices")
	eth := Action{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditEth, Offset: 0, Mask: 0, Val: 0x02000000}}}}
	_, err = add(Keys{EthType: EthTypeMPLS}, eth, mpls(pop), redirectTo(r1))
	wantRefused(t, "mpls pop after a pedit", err, unix.EOPNOTSUPP, "netdevsim: mpls pop supported only as first action or with decap")
	_, err = add(Keys{EthType: EthTypeMPLS}, mpls(MPLS{Op: MPLSModify, Label: 200, HasLabel: true}), redirectTo(r1))
	wantRefused(t, "mpls modify", err, unix.EOPNOTSUPP, "netdevsim: Not implemented offload action")
	_, err = add(Keys{EthType: EthTypeMPLS}, mpls(MPLS{Op: MPLSDecTTL}), redirectTo(r1))
	wantRefused(t, "mpls dec_ttl", err, unix.EOPNOTSUPP, "Offload not supported when \"dec_ttl\" option is used")

	// Without flags the kernel runs what the device refused in software.
	soft := hwFilter(0, 200, snCookie(200), mplsKeys, mpls(MPLS{Op: MPLSDecTTL}), mpls(push), redirectTo(r1))
	soft.Flags = 0
	inst, err = s.h.Add(b0, soft)
	if err != nil || inst.InHW {
		t.Errorf("MPLS filter without flags: %+v, %v; want installed, not in hardware", inst, err)
	}
	if got, want := len(held(t, rep0)), 5; got != want {
		t.Errorf("%s holds %d filters, want the %d it took", rep0.Attrs().Name, got, want)
	}
}

// TestSmartNICTeardown removes representors and the device while they hold
// filters: the driver frees them (the kernel destroys each filter when the
// block is unbound) and the kernel logs no warning.
func TestSmartNICTeardown(t *testing.T) {
	vmtest.Require(t)
	mark := kmsgMark(t)
	// Registered before the device, so it runs after the device is deleted.
	t.Cleanup(func() {
		if w := kmsgWarnings(t, mark); len(w) > 0 {
			t.Errorf("kernel warnings:\n%s", strings.Join(w, "\n"))
		}
	})
	s := newSmartNIC(t, 42, 2)
	s.bind(t, s.pf, 421)
	s.bind(t, s.reps[0], 422)
	s.bind(t, s.reps[1], 422)
	for i, b := range []uint32{421, 422} {
		for j := 0; j < 5; j++ {
			inst, err := s.h.Add(b, hwFilter(0, uint16(j+1), snCookie(uint64(10*i+j)), udpKeys(uint16(3000+j)), dropAction))
			if err != nil || !inst.InHW {
				t.Fatalf("add to block %d: %+v, %v", b, inst, err)
			}
		}
	}
	// Back to legacy: the representors go with their filters; the PF
	// keeps its own, and still reports and deletes them.
	s.dev.SetEswitchMode(t, "legacy")
	if got := len(held(t, s.pf)); got != 5 {
		t.Errorf("PF holds %d filters after the mode change, want 5", got)
	}
	ds, err := s.h.Dump(421)
	if err != nil || len(ds) != 5 {
		t.Fatalf("dump of the PF's block: %d filters, %v", len(ds), err)
	}
	if err := s.h.Delete(421, 0, ds[0].Filter.Pref, ds[0].Installed.Handle); err != nil {
		t.Fatal(err)
	}
	if got := len(held(t, s.pf)); got != 4 {
		t.Errorf("PF holds %d filters after a delete, want 4", got)
	}
	// In legacy mode new flower filters are refused as by stock netdevsim.
	_, err = s.h.Add(421, hwFilter(0, 9, snCookie(99), udpKeys(3999), dropAction))
	wantRefused(t, "skip_sw in legacy mode", err, unix.EOPNOTSUPP, "netdevsim: only offload of BPF classifiers supported")
	// The device itself is deleted with 4 filters held when the test ends.
}

// kmsgMark returns the sequence number the next kernel log record will
// have.
func kmsgMark(t *testing.T) uint64 {
	t.Helper()
	var last uint64
	recs := readKmsg(t)
	for _, r := range recs {
		last = r.seq + 1
	}
	t.Logf("kernel log: %d records buffered, next %d", len(recs), last)
	return last
}

type kmsgRecord struct {
	seq  uint64
	text string
}

// readKmsg reads the kernel log records buffered in /dev/kmsg.
func readKmsg(t *testing.T) []kmsgRecord {
	t.Helper()
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no kernel log: %v", err)
	}
	f := os.NewFile(uintptr(fd), "/dev/kmsg")
	defer f.Close()
	var out []kmsgRecord
	buf := make([]byte, 8192)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) {
			continue // overwritten records
		}
		if err != nil || n <= 0 {
			return out
		}
		// "prio,seq,ts,flags;text"
		head, text, ok := strings.Cut(string(buf[:n]), ";")
		if !ok {
			continue
		}
		var prio, seq uint64
		if _, err := fmt.Sscanf(head, "%d,%d,", &prio, &seq); err != nil {
			continue
		}
		out = append(out, kmsgRecord{seq: seq, text: strings.TrimSpace(text)})
	}
}

// kmsgWarnings returns the kernel log lines from mark on that report a
// kernel bug or warning.
func kmsgWarnings(t *testing.T, mark uint64) []string {
	t.Helper()
	var out []string
	for _, r := range readKmsg(t) {
		if r.seq < mark {
			continue
		}
		if strings.Contains(r.text, "WARNING:") || strings.Contains(r.text, "BUG:") || strings.Contains(r.text, "general protection") {
			out = append(out, r.text)
		}
	}
	return out
}
