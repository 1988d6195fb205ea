package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestEvaluateInvalidTTL: a TTL decrement of a TTL of 0 or 1 ends the
// packet; with OFPC_INVALID_TTL_TO_CONTROLLER ("Send packets with invalid
// TTL to the controller", OpenFlow 1.3.5 section 7.3.2) it goes to the
// controller with OFPR_INVALID_TTL ("Packet has invalid TTL") first. OpenFlow
// 1.3.5 section 5.12, Change-TTL actions: decrement IP TTL "Decrement the
// IPv4 TTL or IPv6 Hop Limit field and update the IP checksum. Only applies
// to IPv4 and IPv6 packets."; decrement MPLS TTL "Decrement the MPLS TTL.
// Only applies to packets with an existing MPLS shim header."
func TestEvaluateInvalidTTL(t *testing.T) {
	ip := Key{InPort: 9, EthType: EthTypeIPv4, IPProto: ProtoUDP}
	mpls := Key{InPort: 9, EthType: EthTypeMPLS, MPLSDepth: 1}
	with := func(k Key, f func(*Key)) Key { f(&k); return k }
	decNw := Action{Type: ActionDecNwTTL}
	decMPLS := Action{Type: ActionDecMPLSTTL}
	ctl := func(k Key) OutputEvent {
		return OutputEvent{Port: PortController, Key: k, Len: 100, MaxLen: ControllerMaxLenNoBuffer, Reason: ReasonInvalidTTL}
	}
	out := func(port uint32, k Key) OutputEvent { return OutputEvent{Port: port, Key: k, Len: 100} }
	// Table 0 decrements and outputs to 1, writes output:2 and goes to
	// table 1, which outputs to 3.
	pipelineOf := func(typ uint16, dec Action) []*FlowMod {
		t0 := addMod(0, 1, mt(exact(FieldEthType, uint64(typ))), dec, Output(1))
		t0.Instr.Write, t0.Instr.HasWrite, t0.Instr.Goto, t0.Instr.GotoTable = []Action{Output(2)}, true, true, 1
		return []*FlowMod{t0, addMod(1, 1, Match{}, Output(3))}
	}
	tests := []struct {
		name  string
		flows []*FlowMod
		key   Key
		opts  EvalOptions
		want  Result
	}{
		{"ip ttl 2 is decremented", pipelineOf(EthTypeIPv4, decNw), with(ip, func(k *Key) { k.IPTTL = 2 }), EvalOptions{},
			Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{
				out(1, with(ip, func(k *Key) { k.IPTTL = 1 })), out(3, with(ip, func(k *Key) { k.IPTTL = 1 })), out(2, with(ip, func(k *Key) { k.IPTTL = 1 })),
			}}},
		{"ip ttl 1 ends the packet", pipelineOf(EthTypeIPv4, decNw), with(ip, func(k *Key) { k.IPTTL = 1 }), EvalOptions{},
			Result{Hits: []Hit{{0, 1}}}},
		{"ip ttl 0 goes to the controller", pipelineOf(EthTypeIPv4, decNw), ip, EvalOptions{InvalidTTLToController: true},
			Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{ctl(ip)}}},
		{"mpls ttl 1 goes to the controller", pipelineOf(EthTypeMPLS, decMPLS), with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 1 }),
			EvalOptions{InvalidTTLToController: true},
			Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{ctl(with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 1 }))}}},
		{"mpls ttl 64 is decremented", pipelineOf(EthTypeMPLS, decMPLS), with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 64 }), EvalOptions{},
			Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{
				out(1, with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 63 })), out(3, with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 63 })),
				out(2, with(mpls, func(k *Key) { k.MPLS[0] = 1<<8 | 63 })),
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			for _, fm := range tt.flows {
				mustAdd(t, p, fm)
			}
			got := p.Snapshot().EvaluateWith(tt.key, 100, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EvaluateWith (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEvaluateTTLInBucket: an expired TTL in a group bucket ends that
// bucket's copy only.
func TestEvaluateTTLInBucket(t *testing.T) {
	p := New()
	mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{
		{Actions: []Action{{Type: ActionDecMPLSTTL}, Output(1)}, WatchPort: PortAny, WatchGroup: GroupAny},
		{Actions: []Action{Output(2)}, WatchPort: PortAny, WatchGroup: GroupAny},
	}})
	mustAdd(t, p, addMod(0, 1, mt(exact(FieldEthType, EthTypeMPLS)), Action{Type: ActionGroup, Group: 1}, Output(3)))
	k := Key{InPort: 9, EthType: EthTypeMPLS, MPLSDepth: 1, MPLS: [3]uint32{1<<8 | 1}}
	got := p.Snapshot().Evaluate(k, 100)
	var ports []uint32
	for _, o := range got.Outputs {
		ports = append(ports, o.Port)
	}
	if diff := cmp.Diff([]uint32{2, 3}, ports); diff != "" {
		t.Errorf("output ports (-want +got):\n%s", diff)
	}
}

// TestEvaluateModel checks the key model of the new actions on hand-made
// keys (the softpath differential test checks it against the parser).
func TestEvaluateModel(t *testing.T) {
	ip := Key{InPort: 9, EthDst: [6]byte{2, 0, 0, 0, 0, 2}, EthSrc: [6]byte{2, 0, 0, 0, 0, 1}, EthType: EthTypeIPv4,
		IPProto: ProtoUDP, IPTTL: 33, TpDst: 53, VlanVID: VIDPresent | 5, VlanPCP: 6}
	with := func(k Key, f func(*Key)) Key { f(&k); return k }
	pushMPLS := Action{Type: ActionPushMPLS, EtherType: EthTypeMPLS}
	tests := []struct {
		name    string
		key     Key
		acts    []Action
		want    Key
		wantLen int
		inexact bool
	}{
		{"push_mpls onto ipv4: explicit null, ip ttl, bottom of stack", ip, []Action{pushMPLS},
			with(ip, func(k *Key) {
				k.EthType, k.MPLS, k.MPLSDepth, k.Parsed = EthTypeMPLS, [3]uint32{1<<8 | 33}, 1, ParsedMPLSIPv4
			}), 104, false},
		{"push_mpls twice copies the top entry", ip, []Action{pushMPLS, setf(FieldMPLSLabel, 77), pushMPLS},
			with(ip, func(k *Key) {
				k.EthType, k.MPLS, k.MPLSDepth, k.Parsed = EthTypeMPLS, [3]uint32{77<<12 | 33, 77<<12 | 1<<8 | 33}, 2, ParsedMPLSIPv4
			}), 108, false},
		{"push and pop mpls", ip, []Action{pushMPLS, {Type: ActionPopMPLS, EtherType: EthTypeIPv4}}, ip, 100, false},
		{"pop the ipv4 payload as ipv6: not parsed", ip, []Action{pushMPLS, {Type: ActionPopMPLS, EtherType: EthTypeIPv6}},
			Key{InPort: 9, EthDst: ip.EthDst, EthSrc: ip.EthSrc, EthType: EthTypeIPv6, VlanVID: ip.VlanVID, VlanPCP: ip.VlanPCP,
				Parsed: ParsedNoL3}, 100, false},
		{"copy_ttl_in then dec", ip, []Action{pushMPLS, {Type: ActionSetMPLSTTL, TTL: 9}, {Type: ActionCopyTTLIn}},
			with(ip, func(k *Key) {
				k.EthType, k.MPLS, k.MPLSDepth, k.Parsed, k.IPTTL = EthTypeMPLS, [3]uint32{1<<8 | 9}, 1, ParsedMPLSIPv4, 9
			}), 104, false},
		{"push_pbb moves the tag into the customer frame", ip, []Action{{Type: ActionPushPBB, EtherType: EthTypePBB}},
			with(ip, func(k *Key) {
				k.EthType, k.VlanVID, k.VlanPCP = EthTypePBB, 0, 0
				k.PBBInnerDst, k.PBBInnerSrc, k.PBBInnerType, k.PBBInnerVID, k.PBBInnerPCP = ip.EthDst, ip.EthSrc, EthTypeIPv4, ip.VlanVID, ip.VlanPCP
			}), 118, false},
		{"push_pbb, set pbb_isid and eth_dst, pop_pbb", ip, []Action{{Type: ActionPushPBB, EtherType: EthTypePBB},
			setf(FieldPBBISID, 0x123456), setf(FieldEthDst, 0xffffffffffff), {Type: ActionPopPBB}}, ip, 100, false},
		{"set_field on a missing header changes nothing", with(ip, func(k *Key) { k.Parsed = ParsedNoL4 }),
			[]Action{setf(FieldUDPDst, 1), setf(FieldTCPDst, 2), setf(FieldMPLSLabel, 3), setf(FieldArpOp, 1)},
			with(ip, func(k *Key) { k.Parsed = ParsedNoL4 }), 100, false},
		{"pop_vlan brings up the second tag", with(ip, func(k *Key) { k.Vlan2VID, k.Vlan2PCP = VIDPresent|9, 1 }),
			[]Action{{Type: ActionPopVLAN}}, with(ip, func(k *Key) { k.VlanVID, k.VlanPCP = VIDPresent|9, 1 }), 96, false},
		{"eth_type of ipv4 to arp: not parsed", ip, []Action{setf(FieldEthType, EthTypeARP)},
			Key{InPort: 9, EthDst: ip.EthDst, EthSrc: ip.EthSrc, EthType: EthTypeARP, VlanVID: ip.VlanVID, VlanPCP: ip.VlanPCP,
				Parsed: ParsedNoL3}, 100, false},
		{"eth_type of an unknown payload to ipv4 is inexact", with(ip, func(k *Key) { k.EthType, k.IPProto, k.IPTTL, k.TpDst = 0x88b5, 0, 0, 0 }),
			[]Action{setf(FieldEthType, EthTypeIPv4)},
			Key{InPort: 9, EthDst: ip.EthDst, EthSrc: ip.EthSrc, EthType: EthTypeIPv4, VlanVID: ip.VlanVID, VlanPCP: ip.VlanPCP,
				Parsed: ParsedNoL3}, 100, true},
		// set_field ip_proto (Table 12: OXM_OF_IP_PROTO, "IPv4 or IPv6
		// protocol number"): the transport header is read again.
		{"ip_proto of tcp to udp keeps the ports", with(ip, func(k *Key) { k.IPProto, k.TpSrc, k.TpDst, k.TCPFlags = ProtoTCP, 11111, 2222, 0x12 }),
			[]Action{setf(FieldIPProto, ProtoUDP)}, with(ip, func(k *Key) { k.TpSrc, k.TpDst = 11111, 2222 }), 100, false},
		{"ip_proto of tcp to itself changes nothing", with(ip, func(k *Key) { k.IPProto, k.TCPFlags = ProtoTCP, 0x12 }),
			[]Action{setf(FieldIPProto, ProtoTCP)}, with(ip, func(k *Key) { k.IPProto, k.TCPFlags = ProtoTCP, 0x12 }), 100, false},
		{"ip_proto of udp to gre forgets the ports", ip, []Action{setf(FieldIPProto, 47)},
			with(ip, func(k *Key) { k.IPProto, k.TpDst = 47, 0 }), 100, false},
		{"ip_proto of udp to tcp is inexact", ip, []Action{setf(FieldIPProto, ProtoTCP)},
			with(ip, func(k *Key) { k.IPProto, k.TpDst = ProtoTCP, 0 }), 100, true},
		{"ip_proto of a udp header cut short to gre", with(ip, func(k *Key) { k.TpDst, k.Parsed = 0, ParsedNoL4 }),
			[]Action{setf(FieldIPProto, 47)}, with(ip, func(k *Key) { k.IPProto, k.TpDst = 47, 0 }), 100, false},
		{"ip_proto of a udp header cut short to sctp is inexact", with(ip, func(k *Key) { k.TpDst, k.Parsed = 0, ParsedNoL4 }),
			[]Action{setf(FieldIPProto, ProtoSCTP)}, with(ip, func(k *Key) { k.IPProto, k.TpDst = ProtoSCTP, 0 }), 100, true},
		{"ip_proto of icmpv6 to tcp forgets the nd fields", with(ip, func(k *Key) {
			k.EthType, k.IPProto, k.TpDst, k.ICMPType, k.NDTarget, k.ArpSHA, k.Parsed = EthTypeIPv6, ProtoICMPv6, 0, 135, [16]byte{1}, [6]byte{2}, ParsedNDSLL
		}), []Action{setf(FieldIPProto, 47)}, with(ip, func(k *Key) { k.EthType, k.IPProto, k.TpDst = EthTypeIPv6, 47, 0 }), 100, false},
		{"ip_proto of ipv6 to an extension header is inexact", with(ip, func(k *Key) { k.EthType = EthTypeIPv6 }),
			[]Action{setf(FieldIPProto, 60)}, with(ip, func(k *Key) { k.EthType = EthTypeIPv6 }), 100, true},
		{"ip_proto of ipv6 without one is inexact", with(ip, func(k *Key) { k.EthType, k.IPProto, k.TpDst = EthTypeIPv6, 0, 0 }),
			[]Action{setf(FieldIPProto, 47)}, with(ip, func(k *Key) { k.EthType, k.IPProto, k.TpDst = EthTypeIPv6, 0, 0 }), 100, true},
		{"ip_proto of mpls changes nothing", with(ip, func(k *Key) {
			k.EthType, k.MPLS, k.MPLSDepth, k.Parsed = EthTypeMPLS, [3]uint32{1 << 8}, 1, ParsedMPLSIPv4
		}),
			[]Action{setf(FieldIPProto, ProtoTCP)},
			with(ip, func(k *Key) {
				k.EthType, k.MPLS, k.MPLSDepth, k.Parsed = EthTypeMPLS, [3]uint32{1 << 8}, 1, ParsedMPLSIPv4
			}), 100, false},
		// set_field mpls_bos (Table 12: OXM_OF_MPLS_BOS, "The BoS bit in
		// the first MPLS shim header"): the stack is read again.
		{"mpls_bos cleared: the payload is read as entries", ip, []Action{pushMPLS, setf(FieldMPLSBoS, 0)},
			with(ip, func(k *Key) {
				*k = Key{InPort: 9, EthDst: ip.EthDst, EthSrc: ip.EthSrc, VlanVID: ip.VlanVID, VlanPCP: ip.VlanPCP,
					EthType: EthTypeMPLS, MPLS: [3]uint32{33}, MPLSDepth: 1}
			}), 104, true},
		{"mpls_bos set on the top of two", ip, []Action{pushMPLS, pushMPLS, setf(FieldMPLSBoS, 1)},
			with(ip, func(k *Key) {
				*k = Key{InPort: 9, EthDst: ip.EthDst, EthSrc: ip.EthSrc, VlanVID: ip.VlanVID, VlanPCP: ip.VlanPCP,
					EthType: EthTypeMPLS, MPLS: [3]uint32{1<<8 | 33}, MPLSDepth: 1}
			}), 108, false},
		{"push_mpls onto an unknown payload is inexact", with(ip, func(k *Key) { k.EthType, k.IPProto, k.IPTTL, k.TpDst = 0x88b5, 0, 0, 0 }),
			[]Action{pushMPLS}, with(ip, func(k *Key) {
				k.EthType, k.IPProto, k.IPTTL, k.TpDst, k.MPLS, k.MPLSDepth = EthTypeMPLS, 0, 0, 0, [3]uint32{1 << 8}, 1
			}), 104, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pk := packet{key: tt.key, length: 100}
			for i := range tt.acts {
				pk.modify(&tt.acts[i])
			}
			if diff := cmp.Diff(tt.want, pk.key); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
			if pk.length != tt.wantLen || pk.inexact != tt.inexact {
				t.Errorf("length %d, inexact %v; want %d, %v", pk.length, pk.inexact, tt.wantLen, tt.inexact)
			}
		})
	}
}
