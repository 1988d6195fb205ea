package openflow

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
	"time"

	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func oxm(field uint8, hasMask bool, payload ...byte) []byte {
	h := uint32(ofwire.OXMClassBasic)<<16 | uint32(field)<<9 | uint32(len(payload))
	if hasMask {
		h |= 0x100
	}
	return append(binary.BigEndian.AppendUint32(nil, h), payload...)
}

func rawMatch(oxms ...[]byte) []byte {
	body := bytes.Join(oxms, nil)
	b := binary.BigEndian.AppendUint16(nil, ofwire.MatchTypeOXM)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	b = append(b, body...)
	return append(b, make([]byte, (8-len(b)%8)%8)...)
}

func tlv(typ uint16, body ...byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, typ)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	return append(b, body...)
}

// applyActions wraps actions in an apply-actions instruction.
func applyActions(acts ...[]byte) []byte {
	return tlv(uint16(pipeline.InstrApplyActions), append([]byte{0, 0, 0, 0}, bytes.Join(acts, nil)...)...)
}

func output(port uint32) []byte {
	return tlv(0, append(binary.BigEndian.AppendUint32(nil, port), 0xff, 0xff, 0, 0, 0, 0, 0, 0)...)
}

// flowModMsg builds an add FLOW_MOD to table 0 with the given match and
// instructions.
func flowModMsg(xid uint32, match, instr []byte) []byte {
	fixed := make([]byte, 40)
	binary.BigEndian.PutUint16(fixed[22:], 100)               // priority
	binary.BigEndian.PutUint32(fixed[24:], ofwire.NoBuffer)   // buffer_id
	binary.BigEndian.PutUint32(fixed[28:], pipeline.PortAny)  // out_port
	binary.BigEndian.PutUint32(fixed[32:], pipeline.GroupAny) // out_group
	return ofwire.Marshal(of.TypeFlowMod, xid, fixed, match, instr)
}

func multipartMsg(xid uint32, typ uint16, body []byte) []byte {
	return ofwire.AppendMultipartRequest(nil, xid, ofp.MultipartType(typ), 0, body)
}

var (
	ethIPv4 = oxm(5, false, 0x08, 0x00)
	inPort1 = oxm(0, false, 0, 0, 0, 1)
)

// TestMalformedMessages sends one bad message per case on a fresh
// channel and checks the OFPT_ERROR type, code and data (the first 64
// bytes of the offending message), then that the channel still answers
// ECHO (or, when the framing was lost, that it is closed).
func TestMalformedMessages(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	br, bm, ba, bi := pipeline.ErrBadRequest, pipeline.ErrBadMatch, pipeline.ErrBadAction, pipeline.ErrBadInstruction
	packetOut := func(xid, buffer uint32, acts []byte, data string) []byte {
		b := binary.BigEndian.AppendUint32(nil, buffer)
		b = binary.BigEndian.AppendUint32(b, pipeline.PortController)
		b = binary.BigEndian.AppendUint16(b, uint16(len(acts)))
		b = append(b, 0, 0, 0, 0, 0, 0)
		return ofwire.Marshal(of.TypePacketOut, xid, b, acts, []byte(data))
	}
	tests := []struct {
		name   string
		msg    []byte
		typ    pipeline.ErrorType
		code   uint16
		closes bool
	}{
		{"length below header", []byte{4, 2, 0, 4, 0, 0, 0, 10}, br, ofwire.BadRequestBadLen, true},
		{"length 0", []byte{4, 2, 0, 0, 0, 0, 0, 11}, br, ofwire.BadRequestBadLen, true},
		{"features request with a body", ofwire.Marshal(of.TypeFeaturesRequest, 12, make([]byte, 8)), br, ofwire.BadRequestBadLen, false},
		{"barrier with a body", ofwire.Marshal(of.TypeBarrierRequest, 13, []byte{1}), br, ofwire.BadRequestBadLen, false},
		{"flow_mod shorter than fixed part", ofwire.Marshal(of.TypeFlowMod, 14, make([]byte, 20)), br, ofwire.BadRequestBadLen, false},
		{"set_config short", ofwire.Marshal(of.TypeSetConfig, 15, []byte{0, 0}), br, ofwire.BadRequestBadLen, false},
		{"role request short", ofwire.Marshal(of.TypeRoleRequest, 16, []byte{0, 0, 0, 2}), br, ofwire.BadRequestBadLen, false},
		{"multipart short", ofwire.Marshal(of.TypeMultipartRequest, 17, []byte{0, 0}), br, ofwire.BadRequestBadLen, false},
		{"bad version", []byte{1, 2, 0, 8, 0, 0, 0, 18}, br, ofwire.BadRequestBadVersion, false},
		{"version 1.4", []byte{5, 5, 0, 8, 0, 0, 0, 19}, br, ofwire.BadRequestBadVersion, false},
		{"unknown type", ofwire.Marshal(of.Type(200), 20), br, ofwire.BadRequestBadType, false},
		{"packet_in from controller", ofwire.Marshal(of.TypePacketIn, 21, make([]byte, 32)), br, ofwire.BadRequestBadType, false},
		{"experimenter", ofwire.Marshal(of.TypeExperiment, 22, make([]byte, 8)), br, ofwire.BadRequestBadExperimenter, false},
		{"bad OXM field", flowModMsg(23, rawMatch(oxm(41, false, 0, 0)), nil), bm, pipeline.BadMatchBadField, false},
		{"bad OXM length", flowModMsg(24, rawMatch(oxm(0, false, 0, 0, 1)), nil), bm, pipeline.BadMatchBadLen, false},
		{"match length beyond message", flowModMsg(25, []byte{0, 1, 0, 64, 0, 0, 0, 0}, nil), bm, pipeline.BadMatchBadLen, false},
		{"standard match", flowModMsg(26, append([]byte{0, 0, 0, 88}, make([]byte, 84)...), nil), bm, pipeline.BadMatchBadType, false},
		{"duplicate field", flowModMsg(27, rawMatch(inPort1, inPort1), nil), bm, pipeline.BadMatchDupField, false},
		{"mask on in_port", flowModMsg(28, rawMatch(oxm(0, true, 0, 0, 0, 1, 0, 0, 0, 1)), nil), bm, pipeline.BadMatchBadMask, false},
		{"bad prereq", flowModMsg(29, rawMatch(oxm(12, false, 10, 0, 0, 1)), nil), bm, pipeline.BadMatchBadPrereq, false},
		{"bad value", flowModMsg(30, rawMatch(ethIPv4, oxm(9, false, 4)), nil), bm, pipeline.BadMatchBadValue, false},
		{"unknown action", flowModMsg(31, rawMatch(), applyActions(tlv(99, 0, 0, 0, 0))), ba, pipeline.BadActionBadType, false},
		{"action bad length", flowModMsg(32, rawMatch(), applyActions(tlv(0, 0, 0, 0, 2))), ba, pipeline.BadActionBadLen, false},
		{"bad output port", flowModMsg(33, rawMatch(), applyActions(output(0))), ba, pipeline.BadActionBadOutPort, false},
		{"output to ANY", flowModMsg(34, rawMatch(), applyActions(output(pipeline.PortAny))), ba, pipeline.BadActionBadOutPort, false},
		{"unknown instruction", flowModMsg(35, rawMatch(), tlv(9, 0, 0, 0, 0)), bi, pipeline.BadInstUnknownInst, false},
		{"instruction bad length", flowModMsg(36, rawMatch(), tlv(5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), bi, pipeline.BadInstBadLen, false},
		{"duplicate instruction", flowModMsg(37, rawMatch(), append(applyActions(), applyActions()...)), bi, ofwire.BadInstDupInst, false},
		{"goto beyond tables", flowModMsg(38, rawMatch(), tlv(1, 99, 0, 0, 0)), bi, pipeline.BadInstBadTableID, false},
		{"unknown multipart type", multipartMsg(39, 99, nil), br, ofwire.BadRequestBadMultipart, false},
		{"experimenter multipart", multipartMsg(40, 0xffff, make([]byte, 8)), br, ofwire.BadRequestBadExperimenter, false},
		{"desc request with body", multipartMsg(41, 0, make([]byte, 8)), br, ofwire.BadRequestBadLen, false},
		{"table features set", multipartMsg(42, 12, make([]byte, 64)), pipeline.ErrTableFeaturesFailed, ofwire.TableFeaturesEperm, false},
		{"packet_out with buffer id", packetOut(43, 7, output(1), ""), br, ofwire.BadRequestBufferUnknown, false},
		{"packet_out actions beyond message", ofwire.Marshal(of.TypePacketOut, 44, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd, 0, 64, 0, 0, 0, 0, 0, 0}), br, ofwire.BadRequestBadLen, false},
		{"packet_out bad action", packetOut(45, ofwire.NoBuffer, tlv(99, 0, 0, 0, 0), "x"), ba, pipeline.BadActionBadType, false},
		{"set_config bad flags", ofwire.Marshal(of.TypeSetConfig, 46, []byte{0, 7, 0, 128}), pipeline.ErrSwitchConfigFailed, ofwire.SwitchConfigBadFlags, false},
		{"role request bad role", ofwire.Marshal(of.TypeRoleRequest, 47, ofwire.AppendRole(nil, ofwire.RoleRequest{Role: 9})), pipeline.ErrRoleRequestFailed, ofwire.RoleRequestBadRole, false},
		{"table_mod bad config", ofwire.Marshal(of.TypeTableMod, 48, []byte{0, 0, 0, 0, 0, 0, 0, 8}), pipeline.ErrTableModFailed, ofwire.TableModBadConfig, false},
		{"group_mod bad type", ofwire.Marshal(of.TypeGroupMod, 49, []byte{0, 0, 7, 0, 0, 0, 0, 1}), pipeline.ErrGroupModFailed, pipeline.GroupModBadType, false},
		{"meter_mod bad flags", ofwire.Marshal(of.TypeMeterMod, 50, []byte{0, 0, 0, 0x40, 0, 0, 0, 1}), pipeline.ErrMeterModFailed, pipeline.MeterModBadFlags, false},
		{"port_mod bad port", ofwire.Marshal(of.TypePortMod, 51, make([]byte, 32)), pipeline.ErrPortModFailed, ofwire.PortModBadPort, false},
		{"flow_mod with a long body", flowModMsg(52, rawMatch(inPort1, oxm(3, false, 1, 2, 3, 4, 5, 6), oxm(4, false, 1, 2, 3, 4, 5, 6), ethIPv4,
			oxm(11, false, 1, 2, 3, 4), oxm(12, false, 1, 2, 3, 4), oxm(30, false, 1)), nil), bm, pipeline.BadMatchBadPrereq, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, addr)
			rc.send(tt.msg)
			h, body := rc.readType(of.TypeError)
			xid := binary.BigEndian.Uint32(tt.msg[4:8])
			if h.Xid != xid {
				t.Errorf("error xid %d, want %d", h.Xid, xid)
			}
			e, err := ofwire.DecodeError(body)
			if err != nil {
				t.Fatal(err)
			}
			if e.Type != tt.typ || e.Code != tt.code {
				t.Errorf("error %s, want %s", ofwire.ErrorName(e.Type, e.Code), ofwire.ErrorName(tt.typ, tt.code))
			}
			want := tt.msg[:min(len(tt.msg), ofwire.ErrorDataLen)]
			if !bytes.Equal(e.Data, want) {
				t.Errorf("error data %x, want %x", e.Data, want)
			}
			if tt.closes {
				if _, _, err := rc.tryRead(2 * time.Second); err == nil || os.IsTimeout(err) {
					t.Errorf("channel still open after a framing error (%v)", err)
				}
				return
			}
			rc.echo(1000)
		})
	}
	// Nothing the datapath should not have seen reached it.
	for _, c := range dp.Calls() {
		if c == "flow_mod" || c == "packet_out" {
			t.Errorf("datapath got a %s from a malformed message", c)
		}
	}
}
