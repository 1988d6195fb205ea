package ofwire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func everyAction() []pipeline.Action {
	acts := []pipeline.Action{
		pipeline.Output(2),
		{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: 128},
		{Type: pipeline.ActionOutput, Port: pipeline.PortInPort, MaxLen: 0},
		{Type: pipeline.ActionCopyTTLOut},
		{Type: pipeline.ActionCopyTTLIn},
		{Type: pipeline.ActionSetMPLSTTL, TTL: 9},
		{Type: pipeline.ActionDecMPLSTTL},
		{Type: pipeline.ActionPushVLAN, EtherType: 0x88a8},
		{Type: pipeline.ActionPopVLAN},
		{Type: pipeline.ActionPushMPLS, EtherType: 0x8847},
		{Type: pipeline.ActionPopMPLS, EtherType: 0x0800},
		{Type: pipeline.ActionSetQueue, Queue: 7},
		{Type: pipeline.ActionGroup, Group: 42},
		{Type: pipeline.ActionSetNwTTL, TTL: 64},
		{Type: pipeline.ActionDecNwTTL},
		{Type: pipeline.ActionPushPBB, EtherType: 0x88e7},
		{Type: pipeline.ActionPopPBB},
	}
	for _, f := range pipeline.Fields() {
		if f.Desc().Settable {
			acts = append(acts, pipeline.SetField(f, sampleValue(f)))
		}
	}
	return acts
}

func TestActionsRoundTrip(t *testing.T) {
	for _, a := range everyAction() {
		t.Run(FormatAction(&a), func(t *testing.T) {
			b := AppendAction(nil, &a)
			if len(b)%8 != 0 || int(binary.BigEndian.Uint16(b[2:])) != len(b) {
				t.Fatalf("encoded action %x: bad length", b)
			}
			got, err := DecodeActions(b)
			if err != nil {
				t.Fatalf("DecodeActions(%x): %v", b, err)
			}
			if diff := cmp.Diff([]pipeline.Action{a}, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
	all := everyAction()
	got, err := DecodeActions(AppendActions(nil, all))
	if err != nil {
		t.Fatalf("DecodeActions(all): %v", err)
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("list round trip (-want +got):\n%s", diff)
	}
}

func TestActionGolden(t *testing.T) {
	tests := []struct {
		name string
		a    pipeline.Action
		want []byte
	}{
		// ofp_action_output: type 0, len 16, port, max_len, 6 pad.
		{"output", pipeline.Output(2), []byte{0, 0, 0, 16, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0}},
		// ofp_action_group: type 22, len 8, group_id.
		{"group", pipeline.Action{Type: pipeline.ActionGroup, Group: 5}, []byte{0, 22, 0, 8, 0, 0, 0, 5}},
		// ofp_action_push: type 17, len 8, ethertype, 2 pad.
		{"push_vlan", pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: 0x8100}, []byte{0, 17, 0, 8, 0x81, 0, 0, 0}},
		// ofp_action_set_field: type 25, len 16, OXM eth_dst (0x80000606), value, 2 pad.
		{"set_field eth_dst", pipeline.SetField(pipeline.FieldEthDst, []byte{0, 0x11, 0x22, 0x33, 0x44, 0x55}),
			[]byte{0, 25, 0, 16, 0x80, 0, 6, 6, 0, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0}},
		// ofp_action_push: push_mpls (19), push_pbb (26); ofp_action_pop_mpls (20): ethertype, 2 pad.
		{"push_mpls", pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: 0x8847}, []byte{0, 19, 0, 8, 0x88, 0x47, 0, 0}},
		{"push_mpls multicast", pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: 0x8848}, []byte{0, 19, 0, 8, 0x88, 0x48, 0, 0}},
		{"pop_mpls", pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: 0x0800}, []byte{0, 20, 0, 8, 0x08, 0x00, 0, 0}},
		{"push_pbb", pipeline.Action{Type: pipeline.ActionPushPBB, EtherType: 0x88e7}, []byte{0, 26, 0, 8, 0x88, 0xe7, 0, 0}},
		// ofp_action_generic: pop_pbb (27), copy_ttl_out (11), copy_ttl_in (12), dec_mpls_ttl (16), dec_nw_ttl (24): 4 pad.
		{"pop_pbb", pipeline.Action{Type: pipeline.ActionPopPBB}, []byte{0, 27, 0, 8, 0, 0, 0, 0}},
		{"copy_ttl_out", pipeline.Action{Type: pipeline.ActionCopyTTLOut}, []byte{0, 11, 0, 8, 0, 0, 0, 0}},
		{"copy_ttl_in", pipeline.Action{Type: pipeline.ActionCopyTTLIn}, []byte{0, 12, 0, 8, 0, 0, 0, 0}},
		{"dec_mpls_ttl", pipeline.Action{Type: pipeline.ActionDecMPLSTTL}, []byte{0, 16, 0, 8, 0, 0, 0, 0}},
		{"dec_nw_ttl", pipeline.Action{Type: pipeline.ActionDecNwTTL}, []byte{0, 24, 0, 8, 0, 0, 0, 0}},
		// ofp_action_mpls_ttl (15), ofp_action_nw_ttl (23): ttl, 3 pad.
		{"set_mpls_ttl", pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: 63}, []byte{0, 15, 0, 8, 63, 0, 0, 0}},
		{"set_nw_ttl", pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: 200}, []byte{0, 23, 0, 8, 200, 0, 0, 0}},
		// set_field mpls_label: OXM 0x80004404, 4 bytes, 4 pad.
		{"set_field mpls_label", pipeline.SetField(pipeline.FieldMPLSLabel, []byte{0, 0x01, 0x86, 0xa0}),
			[]byte{0, 25, 0, 16, 0x80, 0, 0x44, 4, 0, 0x01, 0x86, 0xa0, 0, 0, 0, 0}},
		// set_field mpls_tc: OXM 0x80004601, 1 byte, 7 pad.
		{"set_field mpls_tc", pipeline.SetField(pipeline.FieldMPLSTC, []byte{5}),
			[]byte{0, 25, 0, 16, 0x80, 0, 0x46, 1, 5, 0, 0, 0, 0, 0, 0, 0}},
		// set_field pbb_isid: OXM 0x80004a03, 3 bytes, 5 pad.
		{"set_field pbb_isid", pipeline.SetField(pipeline.FieldPBBISID, []byte{0xab, 0xcd, 0xef}),
			[]byte{0, 25, 0, 16, 0x80, 0, 0x4a, 3, 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0}},
		// set_field eth_type: OXM 0x80000a02, 2 bytes, 6 pad.
		{"set_field eth_type", pipeline.SetField(pipeline.FieldEthType, []byte{0x88, 0x48}),
			[]byte{0, 25, 0, 16, 0x80, 0, 0x0a, 2, 0x88, 0x48, 0, 0, 0, 0, 0, 0}},
		// set_field ipv6_src: 4+4+16 = 24 bytes, no padding.
		{"set_field ipv6_src", pipeline.SetField(pipeline.FieldIPv6Src, bytes.Repeat([]byte{1}, 16)),
			append([]byte{0, 25, 0, 24, 0x80, 0, 0x34, 16}, bytes.Repeat([]byte{1}, 16)...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendAction(nil, &tt.a); !bytes.Equal(got, tt.want) {
				t.Errorf("AppendAction = %x, want %x", got, tt.want)
			}
			got, err := DecodeActions(tt.want)
			if err != nil {
				t.Fatalf("DecodeActions(%x): %v", tt.want, err)
			}
			if diff := cmp.Diff([]pipeline.Action{tt.a}, got); diff != "" {
				t.Errorf("DecodeActions (-want +got):\n%s", diff)
			}
		})
	}
}

func act(typ uint16, body ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

func TestDecodeActionErrors(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		code uint16
	}{
		{"truncated", []byte{0, 0, 0, 16}, pipeline.BadActionBadLen},
		{"length not multiple of 8", act(0, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0), pipeline.BadActionBadLen},
		{"length beyond data", []byte{0, 0, 0, 24, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0}, pipeline.BadActionBadLen},
		{"output of 8 bytes", act(0, 0, 0, 0, 2), pipeline.BadActionBadLen},
		{"unknown type", act(99, 0, 0, 0, 0), pipeline.BadActionBadType},
		{"openflow 1.0 set_vlan_vid", act(1, 0, 0, 0, 0), pipeline.BadActionBadType},
		{"experimenter", act(0xffff, 0, 0, 0x23, 0x20), pipeline.BadActionBadExperimenter},
		{"output to port 0", act(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), pipeline.BadActionBadOutPort},
		{"output to ANY", act(0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0), pipeline.BadActionBadOutPort},
		{"output to reserved 0xffffff01", act(0, 0xff, 0xff, 0xff, 0x01, 0, 0, 0, 0, 0, 0, 0, 0), pipeline.BadActionBadOutPort},
		{"controller max_len too big", act(0, 0xff, 0xff, 0xff, 0xfd, 0xff, 0xf0, 0, 0, 0, 0, 0, 0), pipeline.BadActionBadArgument},
		{"push_vlan bad ethertype", act(17, 0x08, 0x00, 0, 0), pipeline.BadActionBadArgument},
		{"push_mpls bad ethertype", act(19, 0x81, 0x00, 0, 0), pipeline.BadActionBadArgument},
		{"group above max", act(22, 0xff, 0xff, 0xff, 0xfc), pipeline.BadActionBadOutGroup},
		{"set_field in_port", act(25, append(oxm(0, false, 0, 0, 0, 1), 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field unknown field", act(25, append(oxm(41, false, 0, 1), 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field other class", act(25, append(appendOXM(nil, 1, 1, false, 2, []byte{0, 1}), 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field masked", act(25, append(oxm(13, true, 0, 1, 0xff, 0xff), 0, 0, 0, 0, 0, 0, 0, 0)[:12]...), pipeline.BadActionBadSetArgument},
		{"set_field OXM length wrong", act(25, append(oxm(13, false, 0, 1, 0), 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetLen},
		{"set_field action too long", act(25, append(oxm(13, false, 0, 1), make([]byte, 14)...)...), pipeline.BadActionBadSetLen},
		{"set_field vlan_pcp out of range", act(25, append(oxm(7, false, 9), 0, 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetArgument},
		{"push_mpls 0x0800", act(19, 0x08, 0x00, 0, 0), pipeline.BadActionBadArgument},
		{"push_pbb 0x8847", act(26, 0x88, 0x47, 0, 0), pipeline.BadActionBadArgument},
		{"push_pbb of 16 bytes", act(26, 0x88, 0xe7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), pipeline.BadActionBadLen},
		{"pop_pbb of 16 bytes", act(27, make([]byte, 12)...), pipeline.BadActionBadLen},
		{"copy_ttl_in of 16 bytes", act(12, make([]byte, 12)...), pipeline.BadActionBadLen},
		{"openflow 1.1 set_mpls_label", act(13, 0, 0, 0, 1), pipeline.BadActionBadType},
		{"openflow 1.1 set_mpls_tc", act(14, 1, 0, 0, 0), pipeline.BadActionBadType},
		{"type 28", act(28, 0, 0, 0, 0), pipeline.BadActionBadType},
		{"set_field mpls_label beyond 20 bits", act(25, append(oxm(34, false, 0, 0x10, 0, 0), 0, 0, 0, 0)...), pipeline.BadActionBadSetArgument},
		{"set_field mpls_tc beyond 3 bits", act(25, append(oxm(35, false, 8), 0, 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetArgument},
		{"set_field mpls_bos beyond 1 bit", act(25, append(oxm(36, false, 2), 0, 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetArgument},
		{"set_field tcp_flags", act(25, append(oxm(42, false, 0, 2), 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field metadata", act(25, append(oxm(2, false, 0, 0, 0, 0, 0, 0, 0, 1), 0, 0, 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field ipv6_exthdr", act(25, append(oxm(39, false, 0, 1), 0, 0, 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field in_phy_port", act(25, append(oxm(1, false, 0, 0, 0, 1), 0, 0, 0, 0)...), pipeline.BadActionBadSetType},
		{"set_field pbb_isid masked", act(25, append(oxm(37, true, 0, 0, 1, 0xff, 0xff, 0xff), 0, 0)...), pipeline.BadActionBadSetArgument},
		{"set_field pbb_isid of 4 bytes", act(25, append(oxm(37, false, 0, 0, 0, 1), 0, 0, 0, 0)...), pipeline.BadActionBadSetLen},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeActions(tt.in)
			checkPErr(t, err, pipeline.ErrBadAction, tt.code)
		})
	}
}
