package pipeline

import (
	"testing"
)

func TestFlowModValidation(t *testing.T) {
	tcp := mt(ipv4Type, exact(FieldIPProto, ProtoTCP))
	tagged := mt(masked(FieldVlanVID, VIDPresent, VIDPresent))
	withInstr := func(fm *FlowMod, in Instructions) *FlowMod { fm.Instr = in; return fm }
	write := func(acts ...Action) Instructions { return Instructions{Write: acts, HasWrite: true} }

	tests := []struct {
		name string
		fm   *FlowMod
		want code
	}{
		// FLOW_MOD_FAILED
		{"ok", addMod(0, 1, tcp, Output(1)), noError},
		{"bad command", &FlowMod{Command: 9, OutPort: PortAny, OutGroup: GroupAny}, code{ErrFlowModFailed, FlowModBadCommand}},
		{"bad flags", func() *FlowMod { fm := addMod(0, 1, Match{}); fm.Flags = 1 << 7; return fm }(), code{ErrFlowModFailed, FlowModBadFlags}},
		{"table too big", addMod(NumTables, 1, Match{}), code{ErrFlowModFailed, FlowModBadTableID}},
		{"table all for add", addMod(TableAll, 1, Match{}), code{ErrFlowModFailed, FlowModBadTableID}},
		{"table all for modify", delMod(FlowModify, TableAll, 1, Match{}), code{ErrFlowModFailed, FlowModBadTableID}},
		{"table all for delete", delMod(FlowDelete, TableAll, 1, Match{}), noError},
		{"table all for delete strict", delMod(FlowDeleteStrict, TableAll, 1, Match{}), noError},

		// BAD_MATCH
		{"value outside mask", addMod(0, 1, Match{Key: Key{InPort: 1}}), code{ErrBadMatch, BadMatchBadWildcards}},
		{"masked value bit outside mask", addMod(0, 1, Match{Key: Key{Metadata: 3}, Mask: Key{Metadata: 1}}), code{ErrBadMatch, BadMatchBadWildcards}},
		{"vlan mask beyond 13 bits", addMod(0, 1, Match{Mask: Key{VlanVID: 0xffff}}), code{ErrBadMatch, BadMatchBadMask}},
		{"dscp value beyond 6 bits", addMod(0, 1, Match{Key: Key{EthType: EthTypeIPv4, IPDSCP: 0x40}, Mask: Key{EthType: 0xffff, IPDSCP: 0xff}}), code{ErrBadMatch, BadMatchBadValue}},
		{"ipv4 without eth_type", addMod(0, 1, mt(exact(FieldIPv4Src, 1))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"ipv4 with ipv6 eth_type", addMod(0, 1, Match{Key: Key{EthType: EthTypeIPv6}, Mask: Key{EthType: 0xffff, L3Src: [16]byte{0xff}}}), noError},
		{"ipv6 bytes with ipv4 eth_type", addMod(0, 1, Match{Key: Key{EthType: EthTypeIPv4}, Mask: Key{EthType: 0xffff, L3Src: [16]byte{15: 0xff}}}), code{ErrBadMatch, BadMatchBadPrereq}},
		{"arp_spa with arp", addMod(0, 1, mt(exact(FieldEthType, EthTypeARP), exact(FieldArpSPA, 1))), noError},
		{"tcp_dst without ip_proto", addMod(0, 1, mt(ipv4Type, exact(FieldTCPDst, 80))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"tcp_dst with udp", addMod(0, 1, mt(ipv4Type, exact(FieldIPProto, ProtoUDP), exact(FieldTCPDst, 80))), noError}, // same storage: it is udp_dst
		{"tcp_dst with ip_proto", addMod(0, 1, mt(ipv4Type, exact(FieldIPProto, ProtoTCP), exact(FieldTCPDst, 80))), noError},
		{"tcp_dst on ipv6", addMod(0, 1, mt(exact(FieldEthType, EthTypeIPv6), exact(FieldIPProto, ProtoTCP), exact(FieldTCPDst, 80))), noError},
		{"icmpv4 on ipv6", addMod(0, 1, mt(exact(FieldEthType, EthTypeIPv6), exact(FieldIPProto, ProtoICMP), exact(FieldICMPv4Type, 8))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"ip_proto without eth_type", addMod(0, 1, mt(exact(FieldIPProto, ProtoTCP))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"masked eth_type", addMod(0, 1, Match{Key: Key{EthType: 0x0800}, Mask: Key{EthType: 0xff00}}), code{ErrBadMatch, BadMatchBadMask}},
		{"masked in_port", addMod(0, 1, Match{Key: Key{InPort: 1}, Mask: Key{InPort: 0xff}}), code{ErrBadMatch, BadMatchBadMask}},
		{"vlan_pcp without vlan", addMod(0, 1, mt(exact(FieldVlanPCP, 3))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"vlan_pcp with untagged", addMod(0, 1, mt(exact(FieldVlanVID, 0), exact(FieldVlanPCP, 3))), code{ErrBadMatch, BadMatchBadPrereq}},
		{"vlan_pcp with tagged", addMod(0, 1, mt(masked(FieldVlanVID, VIDPresent, VIDPresent), exact(FieldVlanPCP, 3))), noError},
		{"delete checks the match", delMod(FlowDelete, 0, 0, mt(exact(FieldTCPDst, 1))), code{ErrBadMatch, BadMatchBadPrereq}},

		// BAD_INSTRUCTION
		{"goto backwards", withInstr(addMod(3, 1, Match{}), Instructions{Goto: true, GotoTable: 2}), code{ErrBadInstruction, BadInstBadTableID}},
		{"goto self", withInstr(addMod(3, 1, Match{}), Instructions{Goto: true, GotoTable: 3}), code{ErrBadInstruction, BadInstBadTableID}},
		{"goto beyond", withInstr(addMod(3, 1, Match{}), Instructions{Goto: true, GotoTable: NumTables}), code{ErrBadInstruction, BadInstBadTableID}},
		{"goto forward", withInstr(addMod(3, 1, Match{}), Instructions{Goto: true, GotoTable: NumTables - 1}), noError},
		{"write metadata full mask", withInstr(addMod(0, 1, Match{}), Instructions{WriteMetadata: true, Metadata: 1, MetadataMask: ^uint64(0)}), noError},
		{"modify checks goto", withInstr(delMod(FlowModify, 3, 0, Match{}), Instructions{Goto: true, GotoTable: 1}), code{ErrBadInstruction, BadInstBadTableID}},

		// meters
		{"unknown meter", withInstr(addMod(0, 1, Match{}), Instructions{Meter: 5}), code{ErrMeterModFailed, MeterModUnknownMeter}},
		{"known meter", withInstr(addMod(0, 1, Match{}), Instructions{Meter: 1}), noError},

		// BAD_ACTION
		{"output port 0", addMod(0, 1, Match{}, Output(0)), code{ErrBadAction, BadActionBadOutPort}},
		{"output port any", addMod(0, 1, Match{}, Output(PortAny)), code{ErrBadAction, BadActionBadOutPort}},
		{"output table in a flow", addMod(0, 1, Match{}, Output(PortTable)), code{ErrBadAction, BadActionBadOutPort}},
		{"output above max", addMod(0, 1, Match{}, Output(PortMax+1)), code{ErrBadAction, BadActionBadOutPort}},
		{"output max", addMod(0, 1, Match{}, Output(PortMax)), noError},
		{"output missing port is fine", addMod(0, 1, Match{}, Output(4242)), noError},
		{"output reserved", addMod(0, 1, Match{}, Output(PortInPort), Output(PortNormal), Output(PortFlood), Output(PortAll), Output(PortController), Output(PortLocal)), noError},
		{"bad output in write", withInstr(addMod(0, 1, Match{}), write(Output(0))), code{ErrBadAction, BadActionBadOutPort}},
		{"missing group", addMod(0, 1, Match{}, groupAction(99)), code{ErrBadAction, BadActionBadOutGroup}},
		{"group above max", addMod(0, 1, Match{}, groupAction(GroupAll)), code{ErrBadAction, BadActionBadOutGroup}},
		{"existing group", addMod(0, 1, Match{}, groupAction(1)), noError},
		{"push_vlan bad ethertype", addMod(0, 1, Match{}, Action{Type: ActionPushVLAN, EtherType: 0x0800}), code{ErrBadAction, BadActionBadArgument}},
		{"push_vlan 88a8", addMod(0, 1, Match{}, Action{Type: ActionPushVLAN, EtherType: EthTypeQinQ}), noError},
		{"pop_vlan untagged", addMod(0, 1, Match{}, Action{Type: ActionPopVLAN}), code{ErrBadAction, BadActionMatchInconsist}},
		{"pop_vlan tagged", addMod(0, 1, tagged, Action{Type: ActionPopVLAN}), noError},
		{"pop_vlan after push", addMod(0, 1, Match{}, Action{Type: ActionPushVLAN, EtherType: EthTypeVLAN}, Action{Type: ActionPopVLAN}), noError},
		{"pop_vlan twice", addMod(0, 1, tagged, Action{Type: ActionPopVLAN}, Action{Type: ActionPopVLAN}), code{ErrBadAction, BadActionMatchInconsist}},
		{"set vlan_vid untagged", addMod(0, 1, Match{}, setf(FieldVlanVID, VIDPresent|5)), code{ErrBadAction, BadActionMatchInconsist}},
		{"set vlan_pcp after push", addMod(0, 1, Match{}, Action{Type: ActionPushVLAN, EtherType: EthTypeVLAN}, setf(FieldVlanPCP, 5)), noError},
		{"write set vlan_vid runs after push", withInstr(addMod(0, 1, Match{}), write(setf(FieldVlanVID, 5), Action{Type: ActionPushVLAN, EtherType: EthTypeVLAN})), noError},
		{"set ipv4 without ipv4 match", addMod(0, 1, Match{}, setf(FieldIPv4Dst, 1)), code{ErrBadAction, BadActionMatchInconsist}},
		{"set ipv4 with ipv4 match", addMod(0, 1, mt(ipv4Type), setf(FieldIPv4Dst, 1)), noError},
		{"set tcp_dst on udp", addMod(0, 1, mt(ipv4Type, exact(FieldIPProto, ProtoUDP)), setf(FieldTCPDst, 1)), code{ErrBadAction, BadActionMatchInconsist}},
		{"set ip_proto without eth_type", addMod(0, 1, Match{}, setf(FieldIPProto, 6)), code{ErrBadAction, BadActionMatchInconsist}},
		{"set ipv6_exthdr", addMod(0, 1, mt(exact(FieldEthType, EthTypeIPv6)), setf(FieldIPv6Exthdr, 1)), code{ErrBadAction, BadActionBadSetType}},
		{"set unknown field", addMod(0, 1, Match{}, Action{Type: ActionSetField, Field: Field(40)}), code{ErrBadAction, BadActionBadSetType}},
		{"set dscp too big", addMod(0, 1, mt(ipv4Type), setf(FieldIPDSCP, 64)), code{ErrBadAction, BadActionBadSetArgument}},
		{"set_field value too long", addMod(0, 1, Match{}, Action{Type: ActionSetField, Field: FieldEthDst, Value: [16]byte{7: 1}}), code{ErrBadAction, BadActionBadSetLen}},
		{"dec_nw_ttl without ip", addMod(0, 1, Match{}, Action{Type: ActionDecNwTTL}), code{ErrBadAction, BadActionMatchInconsist}},
		{"dec_nw_ttl with ip", addMod(0, 1, mt(ipv4Type), Action{Type: ActionDecNwTTL}), noError},
		{"unsupported action", addMod(0, 1, Match{}, Action{Type: ActionExperimenter}), code{ErrBadAction, BadActionBadType}},
		{"openflow 1.1 set_mpls_label", addMod(0, 1, Match{}, Action{Type: 13}), code{ErrBadAction, BadActionBadType}},
		{"delete ignores bad instructions", withInstr(delMod(FlowDelete, 0, 0, Match{}), Instructions{Goto: true}), noError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			mustMeter(t, p, &MeterMod{Command: MeterAdd, ID: 1, Flags: MeterKbps, Bands: []Band{{Type: BandDrop, Rate: 1000}}})
			mustGroup(t, p, &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1})
			ch, err := p.FlowMod(tt.fm, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Fatalf("error = %+v (%v), want %+v", got, err, tt.want)
			}
			if err != nil && (!ch.Empty() || p.FlowCount(TableAll) != 0) {
				t.Errorf("failed mod changed the pipeline: %+v", ch)
			}
		})
	}
}

func TestValidateActionsWithoutContext(t *testing.T) {
	// No match: prerequisites are unknown and not checked; no pipeline:
	// groups are not looked up.
	acts := []Action{setf(FieldIPv4Dst, 1), Action{Type: ActionPopVLAN}, groupAction(5)}
	if err := ValidateActions(acts, nil, nil); err != nil {
		t.Errorf("ValidateActions(nil match, nil pipeline) = %v, want nil", err)
	}
	if got, want := codeOf(t, ValidateActions([]Action{Output(0)}, nil, nil)), (code{ErrBadAction, BadActionBadOutPort}); got != want {
		t.Errorf("output 0: %+v, want %+v", got, want)
	}
	m := mt(ipv4Type)
	if got, want := codeOf(t, ValidateActions(acts, &m, nil)), (code{ErrBadAction, BadActionMatchInconsist}); got != want {
		t.Errorf("pop_vlan with an ipv4 match: %+v, want %+v", got, want)
	}
}

func TestValidatePacketOutAllowsTable(t *testing.T) {
	if err := ValidatePacketOutActions([]Action{Output(PortTable)}, nil, New()); err != nil {
		t.Errorf("packet-out to TABLE: %v", err)
	}
	if got, want := codeOf(t, ValidateActions([]Action{Output(PortTable)}, nil, New())), (code{ErrBadAction, BadActionBadOutPort}); got != want {
		t.Errorf("flow output to TABLE: %+v, want %+v", got, want)
	}
}

// TestValidateMatchAcceptsEveryFieldWithPrereqs matches every field exactly
// with its prerequisites (OpenFlow 1.3.5 table 12), and checks that the
// match is refused with BAD_PREREQ when any one of them is left out.
func TestValidateMatchAcceptsEveryFieldWithPrereqs(t *testing.T) {
	for _, f := range Fields() {
		d := f.Desc()
		t.Run(d.Name, func(t *testing.T) {
			m := d.PrereqMatch()
			if !d.PrereqMet(&m) {
				t.Errorf("PrereqMatch() = %+v does not meet %s's prerequisites", m, d.Name)
			}
			m.Set(f, d.Ones(), nil)
			if err := ValidateMatch(&m); err != nil {
				t.Errorf("exact %s with its prerequisites: %v", d.Name, err)
			}
			pre := d.PrereqMatch()
			for _, p := range Fields() {
				if !pre.Has(p) || p == f || (f == FieldInPhyPort && p == FieldInPort) {
					continue // in_phy_port shares in_port's storage
				}
				without := m
				pd := p.Desc()
				z := make([]byte, pd.Len)
				pd.Put(&without.Key, z)
				pd.Put(&without.Mask, z)
				if got, want := codeOf(t, ValidateMatch(&without)), (code{ErrBadMatch, BadMatchBadPrereq}); got != want {
					t.Errorf("%s without %s: %+v, want %+v", d.Name, pd.Name, got, want)
				}
			}
		})
	}
}
