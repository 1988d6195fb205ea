package softpath_test

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/packet"
)

var (
	diffCases = flag.Int("diff-cases", 0, "random packets TestEvaluateMatchesFastPath runs (0: 4000, 1000 under the race detector)")
	diffSeed  = flag.Int64("diff-seed", 12, "seed of TestEvaluateMatchesFastPath's random packets")
)

// TestEvaluateMatchesFastPath runs random frames (tags, PBB, MPLS stacks,
// IPv4, IPv6 with extension headers, ARP, ND, TCP, UDP, SCTP, ICMP, some
// cut short) through a datapath whose only flow applies a random action
// list (pushes, pops, TTL actions, set_field of every settable field,
// ip_proto mostly to protocols the parser reads, outputs in between), some
// of it written to the action set or run through a group of two buckets,
// and checks each frame sent against the reference
// evaluator: Parse of the frame is the evaluator's key (unless the
// evaluator says it cannot know, Inexact), its length the evaluator's, and
// expired TTLs reach the controller exactly when the evaluator says.
func TestEvaluateMatchesFastPath(t *testing.T) {
	rng := rand.New(rand.NewSource(*diffSeed))
	// One datapath per OFPC_INVALID_TTL_TO_CONTROLLER setting; each case
	// installs its own flow.
	tbs := [2]*testbed{newTestbed(t, 3, softpath.Config{}), newTestbed(t, 3, softpath.Config{InvalidTTLToController: true})}
	exact, inexact, compared := 0, 0, 0 // outputs compared, cases not compared
	cases := *diffCases
	if cases == 0 {
		cases = 4000
		if raceEnabled {
			cases = 1000
		}
	}
	for i := 0; i < cases; i++ {
		frame, desc := randFrame(rng)
		in := pipeline.Instructions{Apply: randActions(rng), HasApply: true}
		var buckets [][]pipeline.Action
		switch rng.Intn(4) {
		case 0:
			// A tail of the list goes to the action set instead.
			n := rng.Intn(len(in.Apply))
			in.Write, in.HasWrite, in.Apply = in.Apply[n:], true, in.Apply[:n]
		case 1:
			// A group of two buckets (action sets of their own) in between.
			buckets = [][]pipeline.Action{randActions(rng), randActions(rng)}
			n := rng.Intn(len(in.Apply))
			in.Apply = append(in.Apply[:n:n], append([]pipeline.Action{{Type: pipeline.ActionGroup, Group: 1}}, in.Apply[n:]...)...)
		}
		toCtl := rng.Intn(2) == 0
		tb := tbs[0]
		if toCtl {
			tb = tbs[1]
		}
		e, x := diffOne(t, tb, frame, in, buckets, toCtl)
		exact += e
		inexact += x
		compared++
		if t.Failed() {
			t.Fatalf("case %d: frame %s (% x), apply %s, write %s, buckets %v, invalid ttl to controller %v",
				i, desc, frame, actString(in.Apply), actString(in.Write), buckets, toCtl)
		}
	}
	t.Logf("%d cases, %d outputs compared, %d cases inexact (not compared)", compared, exact, inexact)
	if inexact*4 > compared || 2*exact < compared {
		t.Errorf("too few cases compared: %d outputs compared, %d of %d cases inexact", exact, inexact, compared)
	}
}

// diffOne runs one case and returns the number of outputs compared and
// 1 if the evaluator could not follow the packet (Result.Inexact).
func diffOne(t *testing.T, tb *testbed, frame []byte, in pipeline.Instructions, buckets [][]pipeline.Action, toCtl bool) (int, int) {
	t.Helper()
	const inPort = 4
	tb.setTable(0, nil)
	clear(tb.snap.Groups)
	if buckets != nil {
		var bs []pipeline.Bucket
		for _, acts := range buckets {
			bs = append(bs, bucket(0, pipeline.PortAny, acts...))
		}
		tb.group(1, pipeline.GroupTypeAll, bs...)
	}
	tb.flow(0, 1, pipeline.Match{}, in)
	tb.install()
	tb.send(t, inPort, frame)

	var k pipeline.Key
	packet.Parse(frame, inPort, &k)
	res := tb.snap.EvaluateWith(k, len(frame), pipeline.EvalOptions{InvalidTTLToController: toCtl})

	got := map[uint32][][]byte{}
	for no, p := range tb.ports {
		got[no] = p.Sent()
	}
	var ups []softpath.PacketIn
	ups, tb.ups = tb.ups, nil
	if res.Inexact {
		// The evaluator lost track of the packet somewhere: what follows
		// (outputs, TTL expiry) may differ.
		return 0, 1
	}
	nExact := 0
	for _, o := range res.Outputs {
		var f []byte
		switch o.Port {
		case pipeline.PortController:
			if len(ups) == 0 {
				t.Errorf("no packet-in for the evaluator's %+v", o)
				return 0, 0
			}
			if ups[0].Reason != uint8(o.Reason) {
				t.Errorf("packet-in reason %d, want %d", ups[0].Reason, o.Reason)
			}
			f, ups = ups[0].Data, ups[1:]
		default:
			if len(got[o.Port]) == 0 {
				t.Errorf("port %d got no frame for the evaluator's output (key %+v)", o.Port, o.Key)
				return 0, 0
			}
			f, got[o.Port] = got[o.Port][0], got[o.Port][1:]
		}
		nExact++
		if len(f) != o.Len {
			t.Errorf("output to %#x: %d bytes, the evaluator says %d", o.Port, len(f), o.Len)
		}
		var pk pipeline.Key
		packet.Parse(f, inPort, &pk)
		pk.Metadata, pk.TunnelID = o.Key.Metadata, o.Key.TunnelID
		if diff := cmp.Diff(o.Key, pk); diff != "" {
			t.Errorf("output to %#x (% x): key (-evaluator +parser):\n%s", o.Port, f, diff)
		}
	}
	for no, fs := range got {
		if len(fs) > 0 {
			t.Errorf("port %d got %d frames the evaluator does not send", no, len(fs))
		}
	}
	if len(ups) > 0 {
		t.Errorf("%d packet-ins the evaluator does not send", len(ups))
	}
	return nExact, 0
}

var (
	diffMACs = [][6]byte{packet.MAC("02:00:00:00:00:01"), packet.MAC("02:00:00:00:00:02"), packet.MAC("ff:ff:ff:ff:ff:ff")}
	diffIP4  = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.7")}
	diffIP6  = []netip.Addr{netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("fe80::2")}
)

// randFrame returns a random frame and a description of it.
func randFrame(rng *rand.Rand) ([]byte, string) {
	pick := func(n int) int { return rng.Intn(n) }
	mac := func() [6]byte { return diffMACs[pick(len(diffMACs))] }
	tags := func() []packet.VLAN {
		var vs []packet.VLAN
		for range []int{0, 0, 0, 1, 1, 2, 3}[pick(7)] {
			v := packet.VLAN{VID: uint16(pick(4096)), PCP: uint8(pick(8))}
			if pick(2) == 0 {
				v.TPID = pipeline.EthTypeQinQ
			}
			vs = append(vs, v)
		}
		return vs
	}
	s := packet.Spec{EthDst: mac(), EthSrc: mac(), VLANs: tags(), MinLen: []int{0, 60}[pick(2)]}
	if pick(6) == 0 {
		s.PBB = &packet.PBB{ISID: uint32(pick(1 << 24)), PCP: uint8(pick(8)), UCA: pick(2) == 0, Dst: mac(), Src: mac(), VLANs: tags()}
	}
	if pick(3) == 0 {
		n := 1 + pick(5)
		for range n {
			s.MPLS = append(s.MPLS, packet.MPLS{Label: uint32(pick(1 << 20)), TC: uint8(pick(8)), TTL: []uint8{0, 1, 2, 64, 255}[pick(5)]})
		}
		s.MPLSNoBoS = pick(10) == 0
		if pick(4) == 0 {
			s.EthType = pipeline.EthTypeMPLSMcast
		}
	}
	ttl := []uint8{1, 2, 64, 255}[pick(4)]
	switch pick(6) {
	case 0, 1:
		s.IPv4 = &packet.IPv4{Src: diffIP4[pick(2)], Dst: diffIP4[pick(2)], DSCP: uint8(pick(64)), ECN: uint8(pick(4)), TTL: ttl}
		if pick(8) == 0 {
			s.IPv4.FragOffset = 10
		}
	case 2, 3:
		s.IPv6 = &packet.IPv6{Src: diffIP6[pick(2)], Dst: diffIP6[pick(2)], DSCP: uint8(pick(64)), FlowLabel: uint32(pick(1 << 20)), HopLimit: ttl}
		exts := []packet.IPv6Ext{{Type: 0, Data: make([]byte, 6)}, {Type: 60, Data: make([]byte, 6)},
			{Type: 43, Data: []byte{4, 0}}, {Type: 44, ID: 7}, {Type: 51, Data: make([]byte, 14)}}
		for range pick(3) {
			s.IPv6.Ext = append(s.IPv6.Ext, exts[pick(len(exts))])
		}
	case 4:
		s.ARP = &packet.ARP{Op: uint16(1 + pick(2)), SHA: mac(), THA: mac(), SPA: diffIP4[pick(2)], TPA: diffIP4[pick(2)]}
	default:
		s.Payload = []byte("not ip, not arp: a payload")
		if len(s.MPLS) == 0 && s.PBB == nil {
			s.EthType = []uint16{0x88b5, pipeline.EthTypeIPv4, pipeline.EthTypeMPLS, pipeline.EthTypePBB}[pick(4)]
		}
	}
	if s.IPv4 != nil || s.IPv6 != nil {
		s.Payload = []byte("payload!")
		switch pick(6) {
		case 0:
			s.TCP = &packet.TCP{Src: uint16(pick(65536)), Dst: 80, Flags: packet.TCPSyn}
		case 1:
			s.UDP = &packet.UDP{Src: 53, Dst: uint16(pick(65536))}
		case 2:
			s.SCTP = &packet.SCTP{Src: 2905, Dst: uint16(pick(65536)), Tag: 1}
		case 3:
			if s.IPv4 != nil {
				s.ICMPv4 = &packet.ICMPv4{Type: 8}
			} else {
				s.ICMPv6 = &packet.ICMPv6{Type: []uint8{128, 135, 136}[pick(3)], Target: diffIP6[pick(2)],
					Options: []packet.NDOption{packet.SLL(mac()), packet.TLL(mac())}[:pick(3)]}
				s.Payload = nil
			}
		}
	}
	f := packet.Build(s)
	desc := fmt.Sprintf("%+v", s)
	if pick(8) == 0 {
		n := pick(len(f) + 1)
		f = f[:n:n]
		desc += fmt.Sprintf(" cut at %d", n)
	}
	return f, desc
}

// randActions returns a random action list ending with an output.
func randActions(rng *rand.Rand) []pipeline.Action {
	pick := func(n int) int { return rng.Intn(n) }
	ets := []uint16{pipeline.EthTypeIPv4, pipeline.EthTypeIPv6, pipeline.EthTypeARP, pipeline.EthTypeMPLS,
		pipeline.EthTypeMPLSMcast, pipeline.EthTypeVLAN, pipeline.EthTypePBB, 0x88b5}
	var fields []pipeline.Field
	for _, f := range pipeline.Fields() {
		if f.Desc().Settable && f != pipeline.FieldTunnelID {
			fields = append(fields, f)
		}
	}
	var acts []pipeline.Action
	for range 1 + pick(6) {
		var a pipeline.Action
		switch pick(15) {
		case 0:
			a = pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: []uint16{0x8100, 0x88a8}[pick(2)]}
		case 1:
			a = pipeline.Action{Type: pipeline.ActionPopVLAN}
		case 2:
			a = pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: []uint16{0x8847, 0x8848}[pick(2)]}
		case 3:
			// Mostly what a controller pops to: MPLS above the bottom, IP at it.
			a = pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: ets[pick(len(ets))]}
			if pick(2) == 0 {
				a.EtherType = []uint16{pipeline.EthTypeMPLS, pipeline.EthTypeIPv4, pipeline.EthTypeIPv6}[pick(3)]
			}
		case 4:
			a = pipeline.Action{Type: pipeline.ActionPushPBB, EtherType: pipeline.EthTypePBB}
		case 5:
			a = pipeline.Action{Type: pipeline.ActionPopPBB}
		case 6:
			a = pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: uint8(pick(4))}
		case 7:
			a = pipeline.Action{Type: pipeline.ActionDecMPLSTTL}
		case 8:
			a = pipeline.Action{Type: []pipeline.ActionType{pipeline.ActionCopyTTLIn, pipeline.ActionCopyTTLOut}[pick(2)]}
		case 9:
			a = pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: uint8(pick(4))}
		case 10:
			a = pipeline.Action{Type: pipeline.ActionDecNwTTL}
		case 11:
			a = pipeline.Output(uint32(1 + pick(3)))
		default:
			f := fields[pick(len(fields))]
			v := make([]byte, f.Desc().Len)
			rng.Read(v)
			switch {
			case f == pipeline.FieldEthType:
				binary.BigEndian.PutUint16(v, ets[pick(len(ets))])
			case f == pipeline.FieldIPProto && pick(4) != 0:
				// Mostly protocols the parser reads, extension headers,
				// ESP and no next header.
				v[0] = []uint8{6, 17, 132, 1, 58, 0, 43, 44, 50, 51, 59, 60}[pick(12)]
			}
			a = pipeline.SetField(f, v)
		}
		acts = append(acts, a)
	}
	return append(acts, pipeline.Output(uint32(1+pick(3))))
}

func actString(acts []pipeline.Action) string {
	s := ""
	for _, a := range acts {
		switch a.Type {
		case pipeline.ActionSetField:
			s += fmt.Sprintf("set_field:%v=%x ", a.Field, a.FieldValue())
		case pipeline.ActionOutput:
			s += fmt.Sprintf("output:%d ", a.Port)
		default:
			s += fmt.Sprintf("type%d(et %#x ttl %d) ", a.Type, a.EtherType, a.TTL)
		}
	}
	return s
}
