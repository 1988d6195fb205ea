package tcflower

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// The tests in this file run the Handle against nltest fakes that answer
// the way the kernel lays its replies out (net/sched/cls_api.c,
// cls_flower.c, act_api.c), built with mdlayher/netlink's attribute
// encoder rather than the codec under test.

// fakeHandle returns a Handle whose requests go to fn, one request at a
// time, with device names from testLinks.
func fakeHandle(t *testing.T, fn func(req netlink.Message) []netlink.Message) *Handle {
	t.Helper()
	c := nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
		if len(reqs) == 0 {
			return nil, io.EOF // a read after the replies ran out
		}
		return fn(reqs[0]), nil
	})
	h := newHandle(c)
	h.lk = testLinks
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// reply builds a message answering req.
func reply(req netlink.Message, typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) netlink.Message {
	return netlink.Message{
		Header: netlink.Header{Type: typ, Flags: flags, Sequence: req.Header.Sequence, PID: req.Header.PID},
		Data:   data,
	}
}

// ack is the kernel's acknowledgement of req (error code 0).
func ack(req netlink.Message) netlink.Message {
	return reply(req, netlink.Error, 0, make([]byte, 4))
}

// nlerr is the kernel's refusal of req with errno and an extended-ack
// message (NLMSGERR_ATTR_MSG) after the echoed request.
func nlerr(req netlink.Message, errno unix.Errno, msg string) netlink.Message {
	b := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	orig, err := req.MarshalBinary()
	if err != nil {
		panic(err)
	}
	b = append(b, orig...)
	if msg == "" {
		return reply(req, netlink.Error, 0, b)
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NLMSGERR_ATTR_MSG, msg)
	tlvs, _ := ae.Encode()
	return reply(req, netlink.Error, netlink.AcknowledgeTLVs, append(b, tlvs...))
}

func mustEncode(ae *netlink.AttributeEncoder) []byte {
	b, err := ae.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

func nested(fn func(ae *netlink.AttributeEncoder)) func() ([]byte, error) {
	return func() ([]byte, error) {
		ae := netlink.NewAttributeEncoder()
		fn(ae)
		return ae.Encode()
	}
}

func le32(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.NativeEndian.AppendUint32(b, v)
	}
	return b
}

func le64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.NativeEndian.AppendUint64(b, v)
	}
	return b
}

// kernelAction describes one action of a dumped filter.
type kernelAction struct {
	kind    string
	cookie  []byte
	parms   []byte // the kind's parameters attribute
	extra   func(o *netlink.AttributeEncoder)
	pkts    uint64
	bytes   uint64
	hwPkts  uint64
	hwBytes uint64
	drops   uint32
	tm      [4]uint64 // install, lastuse, expires, firstuse, in clock ticks
}

// encodeKernelAction lays out an action as tcf_action_dump_1 does: kind,
// stats, cookie, in_hw_count, then the options with the kind's
// parameters and its struct tcf_t.
func encodeKernelAction(a kernelAction) func(ae *netlink.AttributeEncoder) {
	return func(ae *netlink.AttributeEncoder) {
		ae.String(nl.TCA_ACT_KIND, a.kind)
		ae.Do(nl.TCA_ACT_STATS, nested(func(s *netlink.AttributeEncoder) {
			// struct gnet_stats_basic is 16 bytes with its padding.
			s.Bytes(nl.TCA_STATS_BASIC, append(le64(a.bytes), le32(uint32(a.pkts), 0)...))
			if a.pkts > 0xFFFFFFFF {
				s.Uint64(nl.TCA_STATS_PKT64, a.pkts)
			}
			s.Bytes(nl.TCA_STATS_BASIC_HW, append(le64(a.hwBytes), le32(uint32(a.hwPkts), 0)...))
			s.Bytes(nl.TCA_STATS_QUEUE, le32(0, 0, a.drops, 0, 0))
		}))
		if a.cookie != nil {
			ae.Bytes(nl.TCA_ACT_COOKIE, a.cookie)
		}
		ae.Uint32(nl.TCA_ACT_IN_HW_COUNT, 0)
		ae.Do(nl.TCA_ACT_OPTIONS, nested(func(o *netlink.AttributeEncoder) {
			parmsType, tmType := uint16(2), uint16(1)
			switch a.kind {
			case "csum":
				parmsType, tmType = nl.TCA_CSUM_PARMS, nl.TCA_CSUM_TM
			case "police":
				parmsType, tmType = nl.TCA_POLICE_TBF, nl.TCA_POLICE_TM
			case "pedit":
				parmsType = nl.TCA_PEDIT_PARMS_EX // with extended keys
			}
			o.Bytes(parmsType, a.parms)
			if a.extra != nil {
				a.extra(o)
			}
			o.Bytes(tmType, le64(a.tm[:]...))
		}))
	}
}

// kernelFilterMsg lays out a filter as tcf_fill_node and fl_dump do. A nil
// opts gives the head message the kernel sends first for each chain/pref.
func kernelFilterMsg(kind string, block, chain uint32, pref uint16, handle uint32, opts func(o *netlink.AttributeEncoder)) []byte {
	b := nl.TcMsg{Ifindex: nl.TCMIfindexMagicBlock, Parent: block, Handle: handle, Info: nl.Info(pref, EthPAll)}.Append(nil)
	ae := netlink.NewAttributeEncoder()
	ae.String(nl.TCA_KIND, kind)
	ae.Uint32(nl.TCA_CHAIN, chain)
	if opts != nil {
		ae.Do(nl.TCA_OPTIONS, nested(opts))
	}
	return append(b, mustEncode(ae)...)
}

func tcGenBytes(index uint32, verdict int32, extra ...uint32) []byte {
	return le32(append([]uint32{index, 0, uint32(verdict), 1, 1}, extra...)...)
}

// vlanMirredFilter is a flower filter of chain 0 as Linux 6.1 dumps it:
// an 802.1Q match (ETH_TYPE holds the inner type, the TPID is not
// reported), flags with TCA_CLS_FLAGS_IN_HW, a mirred redirect and a goto
// chain with stats.
func vlanMirredFilter(o *netlink.AttributeEncoder) {
	o.String(nl.TCA_FLOWER_INDEV, "p1")
	o.Bytes(nl.TCA_FLOWER_KEY_ETH_DST, []byte{2, 0, 0, 0, 0, 2})
	o.Bytes(nl.TCA_FLOWER_KEY_ETH_DST_MASK, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	o.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, []byte{0x08, 0x00})
	o.Uint16(nl.TCA_FLOWER_KEY_VLAN_ID, 100)
	o.Bytes(nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE, []byte{0x08, 0x00})
	o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_SKIP_SW|nl.TCA_CLS_FLAGS_IN_HW)
	o.Uint32(nl.TCA_FLOWER_IN_HW_COUNT, 1)
	o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
		l.Do(1, nested(encodeKernelAction(kernelAction{
			kind: "mirred", cookie: cookie8, parms: tcGenBytes(11, nl.TC_ACT_STOLEN, nl.TCA_EGRESS_REDIR, 5),
			pkts: 10, bytes: 1000, hwPkts: 7, hwBytes: 700, tm: [4]uint64{500, 30, 0, 400},
		})))
		l.Do(2, nested(encodeKernelAction(kernelAction{
			kind: "gact", cookie: cookie8, parms: tcGenBytes(12, nl.TC_ACT_GOTO_CHAIN|1),
			pkts: 10, bytes: 1000, hwPkts: 7, hwBytes: 700, tm: [4]uint64{500, 20, 0, 400},
		})))
	}))
}

var vlanMirredDumped = Dumped{
	Filter: Filter{
		Pref: 10, Protocol: EthPAll, Handle: 1, Flags: FlagSkipSW, Cookie: cookie8,
		Keys: Keys{
			Indev: "p1", EthType: EthType8021Q, VlanID: 100, HasVlanID: true, VlanEthType: EthTypeIPv4,
			DstMAC: [6]byte{2, 0, 0, 0, 0, 2}, DstMACMask: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		},
		Actions: []Action{
			{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}},
			{Kind: KindGact, Gact: &Gact{Verdict: VerdictGotoChain, Chain: 1}},
		},
	},
	Installed: Installed{Handle: 1, InHW: true, InHWCount: 1},
	Stats: Stats{
		Packets: 10, Bytes: 1000, HWPackets: 7, HWBytes: 700,
		Installed: 5 * time.Second, LastUsed: 200 * time.Millisecond, FirstUsed: 4 * time.Second,
	},
	ActionStats: []Stats{
		{Packets: 10, Bytes: 1000, HWPackets: 7, HWBytes: 700, Installed: 5 * time.Second, LastUsed: 300 * time.Millisecond, FirstUsed: 4 * time.Second},
		{Packets: 10, Bytes: 1000, HWPackets: 7, HWBytes: 700, Installed: 5 * time.Second, LastUsed: 200 * time.Millisecond, FirstUsed: 4 * time.Second},
	},
}

// policeFilter is a filter of chain 1 with a packet-rate policer that
// dropped packets, a pedit with extended keys and a csum.
func policeFilter(o *netlink.AttributeEncoder) {
	o.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, []byte{0x08, 0x00})
	o.Uint8(nl.TCA_FLOWER_KEY_IP_PROTO, 17)
	o.Bytes(nl.TCA_FLOWER_KEY_UDP_DST, []byte{0x12, 0xb5})
	o.Bytes(nl.TCA_FLOWER_KEY_UDP_DST_MASK, []byte{0xff, 0xff})
	o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_SKIP_HW|nl.TCA_CLS_FLAGS_NOT_IN_HW)
	o.Uint32(nl.TCA_FLOWER_IN_HW_COUNT, 0)
	o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
		tbf := le32(3, uint32(nl.TC_ACT_SHOT), 0, 0, 0)
		tbf = append(tbf, make([]byte, 24+12)...) // rate, peakrate, refcnt, bindcnt, capab
		l.Do(1, nested(encodeKernelAction(kernelAction{
			kind: "police", parms: tbf, pkts: 1 << 33, bytes: 1 << 40, drops: 4,
			extra: func(o *netlink.AttributeEncoder) {
				o.Uint64(nl.TCA_POLICE_PKTRATE64, 1000)
				o.Uint64(nl.TCA_POLICE_PKTBURST64, 1562500) // 100 packets at 1000/s in 64 ns ticks
				o.Uint32(nl.TCA_POLICE_RESULT, nl.TC_ACT_PIPE)
			},
		})))
		pedit := append(tcGenBytes(4, nl.TC_ACT_PIPE), 1, 0, 0, 0)
		pedit = append(pedit, 0xff, 0xff, 0, 0) // mask 0xffff0000 in network order
		pedit = append(pedit, 0, 0, 0x1f, 0x90) // val 0x00001f90
		pedit = append(pedit, le32(0, 0, 0, 0)...)
		l.Do(2, nested(encodeKernelAction(kernelAction{
			kind: "pedit", parms: pedit, pkts: 1 << 33, bytes: 1 << 40,
			extra: func(o *netlink.AttributeEncoder) {
				o.Do(nl.TCA_PEDIT_KEYS_EX, nested(func(k *netlink.AttributeEncoder) {
					k.Do(nl.TCA_PEDIT_KEY_EX, nested(func(x *netlink.AttributeEncoder) {
						x.Uint16(nl.TCA_PEDIT_KEY_EX_HTYPE, nl.TCA_PEDIT_KEY_EX_HDR_TYPE_UDP)
						x.Uint16(nl.TCA_PEDIT_KEY_EX_CMD, nl.TCA_PEDIT_KEY_EX_CMD_SET)
					}))
				}))
			},
		})))
		l.Do(3, nested(encodeKernelAction(kernelAction{
			kind: "csum", parms: append(tcGenBytes(5, nl.TC_ACT_PIPE), le32(uint32(CsumUDP))...), pkts: 5,
		})))
	}))
}

var policeDumped = Dumped{
	Filter: Filter{
		Chain: 1, Pref: 20, Protocol: EthPAll, Handle: 2, Flags: FlagSkipHW,
		Keys: Keys{EthType: EthTypeIPv4, IPProto: 17, HasIPProto: true, DstPort: 4789, DstPortMask: 0xffff},
		Actions: []Action{
			{Kind: KindPolice, Police: &Police{PktRate: 1000, PktBurst: 100, Index: 3}},
			{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditUDP, Offset: 0, Mask: 0xffff0000, Val: 0x1f90}}}},
			{Kind: KindCsum, Csum: &Csum{Flags: CsumUDP}},
		},
	},
	Installed:   Installed{Handle: 2},
	Stats:       Stats{Packets: 1 << 33, Bytes: 1 << 40, Drops: 4},
	ActionStats: []Stats{{Packets: 1 << 33, Bytes: 1 << 40, Drops: 4}, {Packets: 1 << 33, Bytes: 1 << 40}, {Packets: 5}},
}

func TestDumpDecodesKernelReplies(t *testing.T) {
	skbedit := func(o *netlink.AttributeEncoder) {
		o.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, []byte{0x08, 0x00})
		o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_NOT_IN_HW)
		o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
			l.Do(1, nested(encodeKernelAction(kernelAction{kind: "skbedit", parms: tcGenBytes(1, nl.TC_ACT_PIPE)})))
		}))
	}
	var got []netlink.Message
	h := fakeHandle(t, func(req netlink.Message) []netlink.Message {
		got = append(got, req)
		msgs := []netlink.Message{
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 0, 10, 0, nil)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 0, 10, 1, vlanMirredFilter)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("u32", 7, 0, 15, 0x800, func(o *netlink.AttributeEncoder) { o.Uint32(1, 1) })),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 1, 20, 0, nil)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 1, 20, 2, policeFilter)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 2, 30, 3, skbedit)),
			reply(req, netlink.Done, 0, nil),
		}
		msgs, _ = nltest.Multipart(msgs)
		return msgs
	})
	dumped, err := h.Dump(7)
	if err != nil {
		t.Fatalf("Dump: %v", err)
	}
	if len(got) != 1 || got[0].Header.Type != nl.RTM_GETTFILTER || got[0].Header.Flags != netlink.Request|netlink.Dump {
		t.Fatalf("requests = %+v, want one RTM_GETTFILTER dump", got)
	}
	if want := blockMsg(7, 0, 0).Append(nil); string(got[0].Data) != string(want) {
		t.Errorf("dump request body = %x, want %x", got[0].Data, want)
	}
	if len(dumped) != 3 {
		t.Fatalf("Dump returned %d filters, want 3: %+v", len(dumped), dumped)
	}
	if dumped[2].DecodeErr == nil || !errors.Is(dumped[2].DecodeErr, errUnsupported) || !strings.Contains(dumped[2].DecodeErr.Error(), "skbedit") {
		t.Errorf("skbedit filter DecodeErr = %v, want an unsupported-action error", dumped[2].DecodeErr)
	}
	if f := dumped[2].Filter; f.Chain != 2 || f.Pref != 30 || f.Handle != 3 {
		t.Errorf("undecodable filter identity = chain %d pref %d handle %d, want 2 30 3", f.Chain, f.Pref, f.Handle)
	}
	opts := []cmp.Option{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(Dumped{}, "DecodeErr")}
	if diff := cmp.Diff([]Dumped{vlanMirredDumped, policeDumped}, dumped[:2], opts...); diff != "" {
		t.Errorf("Dump (-want +got):\n%s", diff)
	}
	if sw := dumped[0].Stats.SWPackets(); sw != 3 {
		t.Errorf("software packets = %d, want 10 - 7 = 3", sw)
	}
}

// TestDumpRetriesWhenInterrupted checks that Dump goes through the shared
// dump loop (rtnetlink.Dump, tested there): it starts over while the
// kernel flags the dump interrupted and returns the one sentinel when it
// always does.
func TestDumpRetriesWhenInterrupted(t *testing.T) {
	for _, tc := range []struct {
		name        string
		interrupted int // how many dumps come back flagged NLM_F_DUMP_INTR
		wantErr     error
	}{
		{"once", 1, nil},
		{"always", 100, ErrDumpInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			h := fakeHandle(t, func(req netlink.Message) []netlink.Message {
				tries++
				var flags netlink.HeaderFlags
				if tries <= tc.interrupted {
					flags = netlink.DumpInterrupted
				}
				msgs, _ := nltest.Multipart([]netlink.Message{
					reply(req, nl.RTM_NEWTFILTER, flags, kernelFilterMsg("flower", 7, 0, 10, 1, vlanMirredFilter)),
					reply(req, netlink.Done, flags, nil),
				})
				return msgs
			})
			dumped, err := h.Dump(7)
			if !errors.Is(err, tc.wantErr) || !errors.Is(err, rtnetlink.ErrDumpInterrupted) != (tc.wantErr == nil) {
				t.Fatalf("Dump error = %v, want %v", err, tc.wantErr)
			}
			if want := min(tc.interrupted+1, rtnetlink.MaxDumpTries); tries != want {
				t.Errorf("dumped %d times, want %d", tries, want)
			}
			if tc.wantErr == nil && len(dumped) != 1 {
				t.Errorf("Dump returned %d filters, want 1", len(dumped))
			}
		})
	}
}

func TestAddReadsTheEcho(t *testing.T) {
	f := codecCases[0].f
	var req netlink.Message
	h := fakeHandle(t, func(r netlink.Message) []netlink.Message {
		req = r
		// The kernel echoes the new filter (NLM_F_ECHO) with the handle
		// it picked and the offload state, then acknowledges.
		echo := reply(r, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 0, 10, 0x42, func(o *netlink.AttributeEncoder) {
			o.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, []byte{0x08, 0x00})
			o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_SKIP_HW|nl.TCA_CLS_FLAGS_NOT_IN_HW)
			o.Uint32(nl.TCA_FLOWER_IN_HW_COUNT, 0)
		}))
		return []netlink.Message{echo, ack(r)}
	})
	inst, err := h.Add(7, &f)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	if diff := cmp.Diff(Installed{Handle: 0x42}, inst); diff != "" {
		t.Errorf("Installed (-want +got):\n%s", diff)
	}
	wantFlags := netlink.Request | netlink.Acknowledge | netlink.Echo | netlink.Create | netlink.Excl
	if req.Header.Type != nl.RTM_NEWTFILTER || req.Header.Flags != wantFlags {
		t.Errorf("request type %d flags %s, want %d %s", req.Header.Type, req.Header.Flags, nl.RTM_NEWTFILTER, wantFlags)
	}
	body, _ := encodeFilterMsg(testLinks, 7, &f)
	if string(req.Data) != string(body) {
		t.Errorf("request body differs from the encoder's:\n got %x\nwant %x", req.Data, body)
	}

	// Replace asks for NLM_F_REPLACE instead of NLM_F_EXCL.
	f.Handle = 0x42
	if _, err := h.Replace(7, &f); err != nil {
		t.Fatalf("Replace: %v", err)
	}
	wantFlags = netlink.Request | netlink.Acknowledge | netlink.Echo | netlink.Create | netlink.Replace
	if req.Header.Flags != wantFlags {
		t.Errorf("replace flags %s, want %s", req.Header.Flags, wantFlags)
	}
}

func TestErrorKeepsExtack(t *testing.T) {
	const msg = "netdevsim: only offload of BPF classifiers supported"
	h := fakeHandle(t, func(r netlink.Message) []netlink.Message {
		return []netlink.Message{nlerr(r, unix.EOPNOTSUPP, msg)}
	})
	f := codecCases[0].f
	_, err := h.Add(7, &f)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Add error = %v (%T), want *Error", err, err)
	}
	if e.Errno != unix.EOPNOTSUPP || e.Message != msg || !strings.Contains(e.Op, "add flower filter block 7 chain 0 pref 10") {
		t.Errorf("error = %+v", e)
	}
	if !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("errors.Is(%v, EOPNOTSUPP) = false", err)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Errorf("error text %q lacks the kernel's message", err)
	}
}

func TestDeleteRequests(t *testing.T) {
	var req netlink.Message
	h := fakeHandle(t, func(r netlink.Message) []netlink.Message {
		req = r
		return []netlink.Message{ack(r)}
	})
	chainAttr := func(chain uint32) []byte {
		ae := netlink.NewAttributeEncoder()
		ae.Uint32(nl.TCA_CHAIN, chain)
		return mustEncode(ae)
	}
	tests := []struct {
		name string
		do   func() error
		want []byte
	}{
		{"one filter", func() error { return h.Delete(7, 2, 10, 0x42) },
			append(nl.TcMsg{Ifindex: nl.TCMIfindexMagicBlock, Parent: 7, Handle: 0x42, Info: 10 << 16}.Append(nil), chainAttr(2)...)},
		{"chain", func() error { return h.DeleteChain(7, 3) },
			append(nl.TcMsg{Ifindex: nl.TCMIfindexMagicBlock, Parent: 7}.Append(nil), chainAttr(3)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); err != nil {
				t.Fatal(err)
			}
			if req.Header.Type != nl.RTM_DELTFILTER || req.Header.Flags != netlink.Request|netlink.Acknowledge {
				t.Errorf("request type %d flags %s", req.Header.Type, req.Header.Flags)
			}
			if string(req.Data) != string(tt.want) {
				t.Errorf("body = %x, want %x", req.Data, tt.want)
			}
		})
	}
	if err := h.Delete(7, 0, 0, 1); err == nil {
		t.Error("Delete with pref 0 succeeded, want an error (it would flush the chain)")
	}
}

func TestBindBlock(t *testing.T) {
	qdisc := func(kind string, block uint32) []byte {
		b := nl.TcMsg{Ifindex: 4, Handle: 0xFFFF0000, Parent: nl.TC_H_INGRESS}.Append(nil)
		ae := netlink.NewAttributeEncoder()
		ae.String(nl.TCA_KIND, kind)
		if block != 0 {
			ae.Uint32(nl.TCA_INGRESS_BLOCK, block)
		}
		return append(b, mustEncode(ae)...)
	}
	tests := []struct {
		name      string
		existing  []byte // the device's ingress qdisc, nil: none
		wantErrno unix.Errno
	}{
		{"new", nil, 0},
		{"already bound", qdisc("clsact", 7), 0},
		{"ingress qdisc bound", qdisc("ingress", 7), 0},
		{"bound elsewhere", qdisc("clsact", 8), unix.EEXIST},
		{"no shared block", qdisc("clsact", 0), unix.EEXIST},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reqs []netlink.Message
			h := fakeHandle(t, func(r netlink.Message) []netlink.Message {
				reqs = append(reqs, r)
				switch r.Header.Type {
				case nl.RTM_NEWQDISC:
					if tt.existing != nil {
						return []netlink.Message{nlerr(r, unix.EEXIST, "Exclusivity flag on, cannot modify")}
					}
					return []netlink.Message{ack(r)}
				case nl.RTM_GETQDISC:
					return []netlink.Message{reply(r, nl.RTM_NEWQDISC, 0, tt.existing), ack(r)}
				}
				return []netlink.Message{nlerr(r, unix.EINVAL, "unexpected")}
			})
			err := h.BindBlock(4, 7)
			if tt.wantErrno == 0 && err != nil || tt.wantErrno != 0 && !errors.Is(err, tt.wantErrno) {
				t.Fatalf("BindBlock = %v, want errno %v", err, tt.wantErrno)
			}
			want := nl.TcMsg{Ifindex: 4, Parent: nl.TC_H_CLSACT, Handle: 0xFFFF0000}.Append(nil)
			ae := netlink.NewAttributeEncoder()
			ae.String(nl.TCA_KIND, "clsact")
			ae.Uint32(nl.TCA_INGRESS_BLOCK, 7)
			want = append(want, mustEncode(ae)...)
			if reqs[0].Header.Type != nl.RTM_NEWQDISC || reqs[0].Header.Flags != netlink.Request|netlink.Acknowledge|netlink.Create|netlink.Excl || string(reqs[0].Data) != string(want) {
				t.Errorf("qdisc request = type %d flags %s body %x, want body %x", reqs[0].Header.Type, reqs[0].Header.Flags, reqs[0].Data, want)
			}
		})
	}
}
