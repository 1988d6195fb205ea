package ofwire

import (
	"fmt"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Error codes the pipeline package does not define, numbered as in the
// OpenFlow 1.3.5 spec.
const (
	// OFPET_HELLO_FAILED
	HelloFailedIncompatible uint16 = 0
	HelloFailedEperm        uint16 = 1

	// OFPET_BAD_REQUEST
	BadRequestBadVersion      uint16 = 0
	BadRequestBadType         uint16 = 1
	BadRequestBadMultipart    uint16 = 2
	BadRequestBadExperimenter uint16 = 3
	BadRequestBadExpType      uint16 = 4
	BadRequestEperm           uint16 = 5
	BadRequestBadLen          uint16 = 6
	BadRequestBufferEmpty     uint16 = 7
	BadRequestBufferUnknown   uint16 = 8
	BadRequestBadTableID      uint16 = 9
	BadRequestIsSlave         uint16 = 10
	BadRequestBadPort         uint16 = 11
	BadRequestBadPacket       uint16 = 12
	BadRequestMultipartBufOvf uint16 = 13

	// BadInstDupInst is OFPBIC_DUP_INST: OpenFlow 1.4 numbers it 9 in
	// OFPET_BAD_INSTRUCTION; 1.3 has no code of its own, so nicflow uses
	// the later spec's number.
	BadInstDupInst uint16 = 9

	// OFPET_PORT_MOD_FAILED
	PortModBadPort      = pipeline.PortModBadPort
	PortModBadHWAddr    = pipeline.PortModBadHWAddr
	PortModBadConfig    = pipeline.PortModBadConfig
	PortModBadAdvertise = pipeline.PortModBadAdvertise
	PortModEperm        = pipeline.PortModEperm

	// OFPET_TABLE_MOD_FAILED
	TableModBadTable  uint16 = 0
	TableModBadConfig uint16 = 1
	TableModEperm     uint16 = 2

	// OFPET_SWITCH_CONFIG_FAILED
	SwitchConfigBadFlags = pipeline.SwitchConfigBadFlags
	SwitchConfigBadLen   = pipeline.SwitchConfigBadLen
	SwitchConfigEperm    = pipeline.SwitchConfigEperm

	// OFPET_ROLE_REQUEST_FAILED
	RoleRequestStale   uint16 = 0
	RoleRequestUnsup   uint16 = 1
	RoleRequestBadRole uint16 = 2

	// OFPET_TABLE_FEATURES_FAILED
	TableFeaturesBadTable    uint16 = 0
	TableFeaturesBadMetadata uint16 = 1
	TableFeaturesBadType     uint16 = 2
	TableFeaturesBadLen      uint16 = 3
	TableFeaturesBadArgument uint16 = 4
	TableFeaturesEperm       uint16 = 5
)

// ErrorDataLen is how much of an offending message an error carries.
const ErrorDataLen = 64

func errf(t pipeline.ErrorType, code uint16, format string, args ...any) *pipeline.Error {
	return pipeline.Errorf(t, code, format, args...)
}

func badLen(format string, args ...any) *pipeline.Error {
	return errf(pipeline.ErrBadRequest, BadRequestBadLen, format, args...)
}

// ErrorMsg is a decoded OFPT_ERROR.
type ErrorMsg struct {
	Type pipeline.ErrorType
	Code uint16
	Data []byte
}

func (e *ErrorMsg) Error() string {
	return fmt.Sprintf("openflow error %s", ErrorName(e.Type, e.Code))
}

// AppendError appends an OFPT_ERROR message answering the message in
// offending: its first ErrorDataLen bytes go into the data field.
func AppendError(b []byte, xid uint32, t pipeline.ErrorType, code uint16, offending []byte) []byte {
	if len(offending) > ErrorDataLen {
		offending = offending[:ErrorDataLen]
	}
	return ErrorData(b, xid, t, code, offending)
}

// ErrorData appends an OFPT_ERROR message with data as is (HELLO_FAILED
// carries text).
func ErrorData(b []byte, xid uint32, t pipeline.ErrorType, code uint16, data []byte) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypeError, Xid: xid}.Append(b)
	b = put16(b, uint16(t))
	b = put16(b, code)
	b = append(b, data...)
	return finishAt(b, start)
}

// DecodeError decodes an OFPT_ERROR body.
func DecodeError(body []byte) (*ErrorMsg, error) {
	if len(body) < 4 {
		return nil, badLen("error message body of %d bytes", len(body))
	}
	return &ErrorMsg{Type: pipeline.ErrorType(be16(body)), Code: be16(body[2:]), Data: body[4:]}, nil
}

func finishAt(b []byte, start int) []byte {
	n := len(b) - start
	b[start+2] = byte(n >> 8)
	b[start+3] = byte(n)
	return b
}

var errorTypeNames = map[pipeline.ErrorType]string{
	pipeline.ErrHelloFailed:         "OFPET_HELLO_FAILED",
	pipeline.ErrBadRequest:          "OFPET_BAD_REQUEST",
	pipeline.ErrBadAction:           "OFPET_BAD_ACTION",
	pipeline.ErrBadInstruction:      "OFPET_BAD_INSTRUCTION",
	pipeline.ErrBadMatch:            "OFPET_BAD_MATCH",
	pipeline.ErrFlowModFailed:       "OFPET_FLOW_MOD_FAILED",
	pipeline.ErrGroupModFailed:      "OFPET_GROUP_MOD_FAILED",
	pipeline.ErrPortModFailed:       "OFPET_PORT_MOD_FAILED",
	pipeline.ErrTableModFailed:      "OFPET_TABLE_MOD_FAILED",
	pipeline.ErrQueueOpFailed:       "OFPET_QUEUE_OP_FAILED",
	pipeline.ErrSwitchConfigFailed:  "OFPET_SWITCH_CONFIG_FAILED",
	pipeline.ErrRoleRequestFailed:   "OFPET_ROLE_REQUEST_FAILED",
	pipeline.ErrMeterModFailed:      "OFPET_METER_MOD_FAILED",
	pipeline.ErrTableFeaturesFailed: "OFPET_TABLE_FEATURES_FAILED",
}

// ErrorName renders an error type and code as "OFPET_BAD_MATCH(4),code=9".
func ErrorName(t pipeline.ErrorType, code uint16) string {
	name, ok := errorTypeNames[t]
	if !ok {
		name = "OFPET"
	}
	return fmt.Sprintf("%s(%d) code %d", name, t, code)
}
