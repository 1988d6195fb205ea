package pipeline

import "fmt"

// ErrorType is OFPET_*.
type ErrorType uint16

// The error types nicflow sends.
const (
	ErrHelloFailed         ErrorType = 0
	ErrBadRequest          ErrorType = 1
	ErrBadAction           ErrorType = 2
	ErrBadInstruction      ErrorType = 3
	ErrBadMatch            ErrorType = 4
	ErrFlowModFailed       ErrorType = 5
	ErrGroupModFailed      ErrorType = 6
	ErrPortModFailed       ErrorType = 7
	ErrTableModFailed      ErrorType = 8
	ErrQueueOpFailed       ErrorType = 9
	ErrSwitchConfigFailed  ErrorType = 10
	ErrRoleRequestFailed   ErrorType = 11
	ErrMeterModFailed      ErrorType = 12
	ErrTableFeaturesFailed ErrorType = 13
)

// Error codes, per type, as the OpenFlow 1.3.5 spec numbers them.
const (
	// OFPET_BAD_MATCH
	BadMatchBadType       uint16 = 0
	BadMatchBadLen        uint16 = 1
	BadMatchBadTag        uint16 = 2
	BadMatchBadDLAddrMask uint16 = 3
	BadMatchBadNWAddrMask uint16 = 4
	BadMatchBadWildcards  uint16 = 5
	BadMatchBadField      uint16 = 6
	BadMatchBadValue      uint16 = 7
	BadMatchBadMask       uint16 = 8
	BadMatchBadPrereq     uint16 = 9
	BadMatchDupField      uint16 = 10
	BadMatchEperm         uint16 = 11

	// OFPET_BAD_ACTION
	BadActionBadType          uint16 = 0
	BadActionBadLen           uint16 = 1
	BadActionBadExperimenter  uint16 = 2
	BadActionBadExpType       uint16 = 3
	BadActionBadOutPort       uint16 = 4
	BadActionBadArgument      uint16 = 5
	BadActionEperm            uint16 = 6
	BadActionTooMany          uint16 = 7
	BadActionBadQueue         uint16 = 8
	BadActionBadOutGroup      uint16 = 9
	BadActionMatchInconsist   uint16 = 10
	BadActionUnsupportedOrder uint16 = 11
	BadActionBadTag           uint16 = 12
	BadActionBadSetType       uint16 = 13
	BadActionBadSetLen        uint16 = 14
	BadActionBadSetArgument   uint16 = 15

	// OFPET_BAD_INSTRUCTION
	BadInstUnknownInst       uint16 = 0
	BadInstUnsupInst         uint16 = 1
	BadInstBadTableID        uint16 = 2
	BadInstUnsupMetadata     uint16 = 3
	BadInstUnsupMetadataMask uint16 = 4
	BadInstBadExperimenter   uint16 = 5
	BadInstBadExpType        uint16 = 6
	BadInstBadLen            uint16 = 7
	BadInstEperm             uint16 = 8

	// OFPET_FLOW_MOD_FAILED
	FlowModUnknown    uint16 = 0
	FlowModTableFull  uint16 = 1
	FlowModBadTableID uint16 = 2
	FlowModOverlap    uint16 = 3
	FlowModEperm      uint16 = 4
	FlowModBadTimeout uint16 = 5
	FlowModBadCommand uint16 = 6
	FlowModBadFlags   uint16 = 7

	// OFPET_GROUP_MOD_FAILED
	GroupModGroupExists         uint16 = 0
	GroupModInvalidGroup        uint16 = 1
	GroupModWeightUnsupported   uint16 = 2
	GroupModOutOfGroups         uint16 = 3
	GroupModOutOfBuckets        uint16 = 4
	GroupModChainingUnsupported uint16 = 5
	GroupModWatchUnsupported    uint16 = 6
	GroupModLoop                uint16 = 7
	GroupModUnknownGroup        uint16 = 8
	GroupModChainedGroup        uint16 = 9
	GroupModBadType             uint16 = 10
	GroupModBadCommand          uint16 = 11
	GroupModBadBucket           uint16 = 12
	GroupModBadWatch            uint16 = 13
	GroupModEperm               uint16 = 14

	// OFPET_METER_MOD_FAILED
	MeterModUnknown      uint16 = 0
	MeterModMeterExists  uint16 = 1
	MeterModInvalidMeter uint16 = 2
	MeterModUnknownMeter uint16 = 3
	MeterModBadCommand   uint16 = 4
	MeterModBadFlags     uint16 = 5
	MeterModBadRate      uint16 = 6
	MeterModBadBurst     uint16 = 7
	MeterModBadBand      uint16 = 8
	MeterModBadBandValue uint16 = 9
	MeterModOutOfMeters  uint16 = 10
	MeterModOutOfBands   uint16 = 11

	// OFPET_PORT_MOD_FAILED
	PortModBadPort      uint16 = 0
	PortModBadHWAddr    uint16 = 1
	PortModBadConfig    uint16 = 2
	PortModBadAdvertise uint16 = 3
	PortModEperm        uint16 = 4

	// OFPET_SWITCH_CONFIG_FAILED
	SwitchConfigBadFlags uint16 = 0
	SwitchConfigBadLen   uint16 = 1
	SwitchConfigEperm    uint16 = 2
)

// Error is an OpenFlow error: the OFPT_ERROR type and code to send back, and
// a human explanation for logs and the CLI.
type Error struct {
	Type ErrorType
	Code uint16
	Msg  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("openflow error type %d code %d: %s", e.Type, e.Code, e.Msg)
}

// Errorf returns an *Error.
func Errorf(t ErrorType, code uint16, format string, args ...any) *Error {
	return &Error{Type: t, Code: code, Msg: fmt.Sprintf(format, args...)}
}
