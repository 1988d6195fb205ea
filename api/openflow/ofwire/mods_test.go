package ofwire

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func TestInstructionsRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   pipeline.Instructions
	}{
		{"none", pipeline.Instructions{}},
		{"goto", pipeline.Instructions{Goto: true, GotoTable: 3}},
		{"write_metadata", pipeline.Instructions{WriteMetadata: true, Metadata: 0x1234, MetadataMask: 0xffff}},
		{"apply", pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(1), pipeline.Output(2)}}},
		{"apply empty", pipeline.Instructions{HasApply: true}},
		{"write", pipeline.Instructions{HasWrite: true, Write: []pipeline.Action{{Type: pipeline.ActionGroup, Group: 1}}}},
		{"clear", pipeline.Instructions{Clear: true}},
		{"meter", pipeline.Instructions{Meter: 5}},
		{"all", pipeline.Instructions{
			Meter: 1, HasApply: true, Apply: everyAction(), Clear: true,
			HasWrite: true, Write: []pipeline.Action{pipeline.Output(3)},
			WriteMetadata: true, Metadata: 1, MetadataMask: 1, Goto: true, GotoTable: 31,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendInstructions(nil, &tt.in)
			got, err := DecodeInstructions(b)
			if err != nil {
				t.Fatalf("DecodeInstructions(%x): %v", b, err)
			}
			if diff := cmp.Diff(tt.in, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func inst(typ uint16, body ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestDecodeInstructionErrors(t *testing.T) {
	bi := pipeline.ErrBadInstruction
	tests := []struct {
		name string
		in   []byte
		typ  pipeline.ErrorType
		code uint16
	}{
		{"truncated", []byte{0, 1}, bi, pipeline.BadInstBadLen},
		{"unknown type", inst(7, 0, 0, 0, 0), bi, pipeline.BadInstUnknownInst},
		{"type 0", inst(0, 0, 0, 0, 0), bi, pipeline.BadInstUnknownInst},
		{"experimenter", inst(0xffff, 0, 0, 0, 1), bi, pipeline.BadInstBadExperimenter},
		{"length 4", inst(5), bi, pipeline.BadInstBadLen},
		{"length beyond data", []byte{0, 4, 0, 16, 0, 0, 0, 0}, bi, pipeline.BadInstBadLen},
		{"goto length 16", inst(1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), bi, pipeline.BadInstBadLen},
		{"write_metadata length 16", inst(2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), bi, pipeline.BadInstBadLen},
		{"clear length 16", inst(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), bi, pipeline.BadInstBadLen},
		{"goto beyond tables", inst(1, 32, 0, 0, 0), bi, pipeline.BadInstBadTableID},
		{"duplicate apply", cat(inst(4, 0, 0, 0, 0), inst(4, 0, 0, 0, 0)), bi, BadInstDupInst},
		{"duplicate goto", cat(inst(1, 1, 0, 0, 0), inst(1, 2, 0, 0, 0)), bi, BadInstDupInst},
		{"bad action inside", inst(4, append([]byte{0, 0, 0, 0}, act(99, 0, 0, 0, 0)...)...), pipeline.ErrBadAction, pipeline.BadActionBadType},
		{"meter 0", inst(6, 0, 0, 0, 0), pipeline.ErrMeterModFailed, pipeline.MeterModInvalidMeter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeInstructions(tt.in)
			checkPErr(t, err, tt.typ, tt.code)
		})
	}
}

func sampleFlowMod() *pipeline.FlowMod {
	fm := &pipeline.FlowMod{
		Command: pipeline.FlowAdd, Table: 0, Priority: 100, Cookie: 0xc0ffee, CookieMask: 0,
		IdleTimeout: 10, HardTimeout: 20, Flags: pipeline.FlagSendFlowRem, BufferID: NoBuffer,
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}},
	}
	fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	return fm
}

func TestFlowModGolden(t *testing.T) {
	fm := sampleFlowMod()
	// Built by hand from the spec (ofp_flow_mod, 1.3.5 section 7.3.4.1).
	want := cat(
		[]byte{0x04, 14, 0, 88, 0, 0, 0, 7},                           // header: version 4, FLOW_MOD, length 88, xid 7
		[]byte{0, 0, 0, 0, 0, 0xc0, 0xff, 0xee},                       // cookie
		[]byte{0, 0, 0, 0, 0, 0, 0, 0},                                // cookie_mask
		[]byte{0, 0},                                                  // table_id, command ADD
		[]byte{0, 10, 0, 20},                                          // idle, hard timeout
		[]byte{0, 100},                                                // priority
		[]byte{0xff, 0xff, 0xff, 0xff},                                // buffer_id NO_BUFFER
		[]byte{0xff, 0xff, 0xff, 0xff},                                // out_port ANY
		[]byte{0xff, 0xff, 0xff, 0xff},                                // out_group ANY
		[]byte{0, 1, 0, 0},                                            // flags SEND_FLOW_REM, pad
		[]byte{0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0},    // match in_port=1
		[]byte{0, 4, 0, 24, 0, 0, 0, 0},                               // apply_actions
		[]byte{0, 0, 0, 16, 0, 0, 0, 2, 0xff, 0xff, 0, 0, 0, 0, 0, 0}, // output:2
	)
	got := Marshal(of.TypeFlowMod, 7, AppendFlowMod(nil, fm))
	if !bytes.Equal(got, want) {
		t.Errorf("flow_mod =\n%x\nwant\n%x", got, want)
	}
	dec, err := DecodeFlowMod(want[HeaderLen:])
	if err != nil {
		t.Fatalf("DecodeFlowMod: %v", err)
	}
	if diff := cmp.Diff(fm, dec); diff != "" {
		t.Errorf("DecodeFlowMod (-want +got):\n%s", diff)
	}
}

func TestDecodeFlowModErrors(t *testing.T) {
	base := AppendFlowMod(nil, sampleFlowMod())
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), base...)) }
	fixedWith := func(match, instr []byte) []byte {
		return append(append(append([]byte(nil), base[:FlowModFixedLen]...), match...), instr...)
	}
	tests := []struct {
		name string
		in   []byte
		typ  pipeline.ErrorType
		code uint16
	}{
		{"short", base[:30], pipeline.ErrBadRequest, BadRequestBadLen},
		{"bad command", mod(func(b []byte) []byte { b[17] = 9; return b }), pipeline.ErrFlowModFailed, pipeline.FlowModBadCommand},
		{"add to table all", mod(func(b []byte) []byte { b[16] = 0xff; return b }), pipeline.ErrFlowModFailed, pipeline.FlowModBadTableID},
		{"add to table 40", mod(func(b []byte) []byte { b[16] = 40; return b }), pipeline.ErrFlowModFailed, pipeline.FlowModBadTableID},
		{"unknown flag", mod(func(b []byte) []byte { b[36] = 0x80; return b }), pipeline.ErrFlowModFailed, pipeline.FlowModBadFlags},
		{"bad match", fixedWith(rawMatch(oxm(41, false, 0, 0)), nil), pipeline.ErrBadMatch, pipeline.BadMatchBadField},
		{"goto backwards", mod(func(b []byte) []byte {
			b[16] = 2
			return append(b, inst(1, 1, 0, 0, 0)...)
		}), pipeline.ErrBadInstruction, pipeline.BadInstBadTableID},
		{"output to TABLE", fixedWith(rawMatch(), inst(4, append([]byte{0, 0, 0, 0}, act(0, 0xff, 0xff, 0xff, 0xf9, 0, 0, 0, 0, 0, 0, 0, 0)...)...)),
			pipeline.ErrBadAction, pipeline.BadActionBadOutPort},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeFlowMod(tt.in)
			checkPErr(t, err, tt.typ, tt.code)
		})
	}
	// Deleting from every table is fine.
	del := mod(func(b []byte) []byte { b[16], b[17] = 0xff, byte(pipeline.FlowDelete); return b })
	if _, err := DecodeFlowMod(del); err != nil {
		t.Errorf("delete from all tables: %v", err)
	}
}

func TestGroupModRoundTrip(t *testing.T) {
	gm := &pipeline.GroupMod{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeSelect, ID: 7, Buckets: []pipeline.Bucket{
		{Weight: 10, WatchPort: pipeline.PortAny, WatchGroup: pipeline.GroupAny, Actions: []pipeline.Action{pipeline.Output(1)}},
		{Weight: 20, WatchPort: 2, WatchGroup: pipeline.GroupAny, Actions: []pipeline.Action{pipeline.SetField(pipeline.FieldEthDst, []byte{1, 2, 3, 4, 5, 6}), pipeline.Output(2)}},
		{Weight: 0, WatchPort: pipeline.PortAny, WatchGroup: pipeline.GroupAny},
	}}
	b := AppendGroupMod(nil, gm)
	// Golden start: command ADD, type SELECT, pad, group 7, then the first
	// bucket: len 32, weight 10, watch_port ANY, watch_group ANY, pad.
	wantStart := []byte{0, 0, 1, 0, 0, 0, 0, 7, 0, 32, 0, 10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}
	if !bytes.HasPrefix(b, wantStart) {
		t.Errorf("group_mod starts %x, want %x", b[:len(wantStart)], wantStart)
	}
	got, err := DecodeGroupMod(b)
	if err != nil {
		t.Fatalf("DecodeGroupMod: %v", err)
	}
	if diff := cmp.Diff(gm, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	errs := []struct {
		name string
		in   []byte
		typ  pipeline.ErrorType
		code uint16
	}{
		{"short", b[:4], pipeline.ErrBadRequest, BadRequestBadLen},
		{"bad command", append([]byte{0, 9}, b[2:]...), pipeline.ErrGroupModFailed, pipeline.GroupModBadCommand},
		{"bad type", append([]byte{0, 0, 9}, b[3:]...), pipeline.ErrGroupModFailed, pipeline.GroupModBadType},
		{"group ALL on add", append([]byte{0, 0, 1, 0, 0xff, 0xff, 0xff, 0xfc}, b[8:]...), pipeline.ErrGroupModFailed, pipeline.GroupModInvalidGroup},
		{"bucket length 8", append(append([]byte{}, b[:8]...), 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), pipeline.ErrGroupModFailed, pipeline.GroupModBadBucket},
		{"bucket beyond data", b[:30], pipeline.ErrGroupModFailed, pipeline.GroupModBadBucket},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeGroupMod(tt.in)
			checkPErr(t, err, tt.typ, tt.code)
		})
	}
}

func TestMeterModRoundTrip(t *testing.T) {
	mm := &pipeline.MeterMod{Command: pipeline.MeterAdd, Flags: pipeline.MeterKbps | pipeline.MeterBurst, ID: 3, Bands: []pipeline.Band{
		{Type: pipeline.BandDrop, Rate: 1000, BurstSize: 100},
		{Type: pipeline.BandDSCPRemark, Rate: 500, BurstSize: 50, PrecLevel: 2},
	}}
	b := AppendMeterMod(nil, mm)
	want := cat(
		[]byte{0, 0, 0, 5, 0, 0, 0, 3},
		[]byte{0, 1, 0, 16, 0, 0, 0x03, 0xe8, 0, 0, 0, 100, 0, 0, 0, 0},
		[]byte{0, 2, 0, 16, 0, 0, 0x01, 0xf4, 0, 0, 0, 50, 2, 0, 0, 0},
	)
	if !bytes.Equal(b, want) {
		t.Errorf("meter_mod = %x, want %x", b, want)
	}
	got, err := DecodeMeterMod(b)
	if err != nil {
		t.Fatalf("DecodeMeterMod: %v", err)
	}
	if diff := cmp.Diff(mm, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	errs := []struct {
		name string
		in   []byte
		typ  pipeline.ErrorType
		code uint16
	}{
		{"bad command", append([]byte{0, 7}, b[2:]...), pipeline.ErrMeterModFailed, pipeline.MeterModBadCommand},
		{"bad flags", append([]byte{0, 0, 0, 0x30}, b[4:]...), pipeline.ErrMeterModFailed, pipeline.MeterModBadFlags},
		{"meter 0", append([]byte{0, 0, 0, 5, 0, 0, 0, 0}, b[8:]...), pipeline.ErrMeterModFailed, pipeline.MeterModInvalidMeter},
		{"bad band type", append(append([]byte{}, b[:8]...), 0, 9, 0, 16, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0), pipeline.ErrMeterModFailed, pipeline.MeterModBadBand},
		{"band truncated", b[:20], pipeline.ErrBadRequest, BadRequestBadLen},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeMeterMod(tt.in)
			checkPErr(t, err, tt.typ, tt.code)
		})
	}
}

func TestPacketOutRoundTrip(t *testing.T) {
	po := &PacketOut{BufferID: NoBuffer, InPort: pipeline.PortController, Actions: []pipeline.Action{pipeline.Output(pipeline.PortTable)}, Data: []byte("frame")}
	b := AppendPacketOut(nil, po)
	want := cat(
		[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 16, 0, 0, 0, 0, 0, 0},
		[]byte{0, 0, 0, 16, 0xff, 0xff, 0xff, 0xf9, 0xff, 0xff, 0, 0, 0, 0, 0, 0},
		[]byte("frame"),
	)
	if !bytes.Equal(b, want) {
		t.Errorf("packet_out = %x, want %x", b, want)
	}
	got, err := DecodePacketOut(b)
	if err != nil {
		t.Fatalf("DecodePacketOut: %v", err)
	}
	if diff := cmp.Diff(po, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := DecodePacketOut(b[:10]); err == nil {
		t.Errorf("DecodePacketOut(truncated) succeeded")
	}
	bad := append([]byte{}, b...)
	bad[9] = 40 // actions_len beyond the message
	_, err = DecodePacketOut(bad)
	checkPErr(t, err, pipeline.ErrBadRequest, BadRequestBadLen)
	bad = append([]byte{}, b...)
	copy(bad[4:8], []byte{0, 0, 0, 0})
	_, err = DecodePacketOut(bad)
	checkPErr(t, err, pipeline.ErrBadRequest, BadRequestBadPort)
}

func TestSmallMessages(t *testing.T) {
	pm := &PortMod{PortNo: 3, HWAddr: [6]byte{1, 2, 3, 4, 5, 6}, Config: 1, Mask: 1, Advertise: 0}
	b := AppendPortMod(nil, pm)
	if len(b) != 32 {
		t.Fatalf("port_mod body is %d bytes, want 32", len(b))
	}
	got, err := DecodePortMod(b)
	if err != nil {
		t.Fatalf("DecodePortMod: %v", err)
	}
	if diff := cmp.Diff(pm, got); diff != "" {
		t.Errorf("port_mod round trip (-want +got):\n%s", diff)
	}
	if _, err := DecodeTableMod([]byte{0, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Errorf("table_mod config 0: %v", err)
	}
	_, err = DecodeTableMod([]byte{0, 0, 0, 0, 0, 0, 0, 4})
	checkPErr(t, err, pipeline.ErrTableModFailed, TableModBadConfig)
	for _, flags := range []uint16{3, 7, 8, 1 << 15} { // no fragment mode 3; bits 3 and up are not 1.3's
		_, err = DecodeSwitchConfig([]byte{byte(flags >> 8), byte(flags), 0, 128})
		checkPErr(t, err, pipeline.ErrSwitchConfigFailed, SwitchConfigBadFlags)
	}
	for _, flags := range []uint16{ConfigFragNormal, ConfigFragDrop, ConfigFragReasm, ConfigFragDrop | ConfigInvalidTTLToController} {
		sc := SwitchConfig{Flags: flags, MissSendLen: 0xffe5}
		if got, err := DecodeSwitchConfig(AppendSwitchConfig(nil, sc)); err != nil || got != sc {
			t.Errorf("switch config round trip = %+v, %v; want %+v", got, err, sc)
		}
	}
	_, err = DecodeRoleRequest(AppendRole(nil, RoleRequest{Role: 4}))
	checkPErr(t, err, pipeline.ErrRoleRequestFailed, RoleRequestBadRole)
	rr := RoleRequest{Role: RoleMaster, GenerationID: 99}
	if got, err := DecodeRoleRequest(AppendRole(nil, rr)); err != nil || got != rr {
		t.Errorf("role round trip = %+v, %v; want %+v", got, err, rr)
	}
	a := AsyncConfig{PacketIn: [2]uint32{1, 2}, PortStatus: [2]uint32{3, 4}, FlowRemoved: [2]uint32{5, 6}}
	if got, err := DecodeAsyncConfig(AppendAsyncConfig(nil, a)); err != nil || got != a {
		t.Errorf("async round trip = %+v, %v; want %+v", got, err, a)
	}
	f := SwitchFeatures{DatapathID: 1, NBuffers: 2, NTables: 3, Capabilities: 0x4f}
	if got, err := DecodeFeatures(AppendFeatures(nil, &f)); err != nil || *got != f {
		t.Errorf("features round trip = %+v, %v; want %+v", got, err, f)
	}
}

func TestHello(t *testing.T) {
	hello := AppendHello(nil, 1)
	if want := []byte{4, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x10}; !bytes.Equal(hello, want) {
		t.Errorf("hello = %x, want %x", hello, want)
	}
	tests := []struct {
		name    string
		version uint8
		body    []byte
		want    bool
	}{
		{"1.3 with bitmap", 4, []byte{0, 1, 0, 8, 0, 0, 0, 0x10}, true},
		{"1.0 and 1.3 bitmap, header 1.5", 6, []byte{0, 1, 0, 8, 0, 0, 0, 0x52}, true},
		{"bitmap without 1.3", 6, []byte{0, 1, 0, 8, 0, 0, 0, 0x42}, false},
		{"1.0 without bitmap", 1, nil, false},
		{"1.4 without bitmap", 5, nil, true},
		{"1.3 without bitmap", 4, nil, true},
		{"unknown element then bitmap", 1, []byte{0, 9, 0, 4, 0, 0, 0, 0, 0, 1, 0, 8, 0, 0, 0, 0x10}, true},
		{"malformed element", 4, []byte{0, 1, 0, 2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HelloSupports13(Header{Version: tt.version}, tt.body); got != tt.want {
				t.Errorf("HelloSupports13 = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorMessage(t *testing.T) {
	offending := bytes.Repeat([]byte{0xab}, 100)
	b := AppendError(nil, 9, pipeline.ErrBadMatch, pipeline.BadMatchBadPrereq, offending)
	want := cat([]byte{4, 1, 0, 76, 0, 0, 0, 9, 0, 4, 0, 9}, offending[:64])
	if !bytes.Equal(b, want) {
		t.Errorf("error = %x, want %x", b, want)
	}
	e, err := DecodeError(b[HeaderLen:])
	if err != nil || e.Type != pipeline.ErrBadMatch || e.Code != pipeline.BadMatchBadPrereq || !bytes.Equal(e.Data, offending[:64]) {
		t.Errorf("DecodeError = %+v, %v", e, err)
	}
}
