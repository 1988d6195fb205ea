package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

// InstrExperimenter is OFPIT_EXPERIMENTER.
const InstrExperimenter pipeline.InstructionType = 0xffff

func badInst(code uint16, format string, args ...any) *pipeline.Error {
	return errf(pipeline.ErrBadInstruction, code, format, args...)
}

// DecodeInstructions decodes an instruction list. Errors are
// *pipeline.Error of type OFPET_BAD_INSTRUCTION, or OFPET_BAD_ACTION for an
// action inside write/apply-actions.
func DecodeInstructions(b []byte) (pipeline.Instructions, error) {
	var in pipeline.Instructions
	var seen [7]bool
	for len(b) > 0 {
		if len(b) < 4 {
			return in, badInst(pipeline.BadInstBadLen, "instruction header truncated: %d bytes", len(b))
		}
		t, n := pipeline.InstructionType(be16(b)), int(be16(b[2:]))
		if t == InstrExperimenter {
			return in, badInst(pipeline.BadInstBadExperimenter, "experimenter instruction not supported")
		}
		if t < pipeline.InstrGotoTable || t > pipeline.InstrMeter {
			return in, badInst(pipeline.BadInstUnknownInst, "instruction type %d unknown", t)
		}
		if n < 8 || n%8 != 0 || n > len(b) {
			return in, badInst(pipeline.BadInstBadLen, "instruction type %d: length %d invalid (%d bytes left)", t, n, len(b))
		}
		if seen[t] {
			return in, badInst(BadInstDupInst, "instruction type %d appears twice", t)
		}
		seen[t] = true
		body := b[:n]
		b = b[n:]
		switch t {
		case pipeline.InstrGotoTable:
			if n != 8 {
				return in, badInst(pipeline.BadInstBadLen, "goto_table length %d", n)
			}
			in.Goto, in.GotoTable = true, body[4]
			if int(in.GotoTable) >= pipeline.NumTables {
				return in, badInst(pipeline.BadInstBadTableID, "goto_table %d: only %d tables", in.GotoTable, pipeline.NumTables)
			}
		case pipeline.InstrWriteMetadata:
			if n != 24 {
				return in, badInst(pipeline.BadInstBadLen, "write_metadata length %d", n)
			}
			in.WriteMetadata, in.Metadata, in.MetadataMask = true, be64(body[8:]), be64(body[16:])
		case pipeline.InstrWriteActions, pipeline.InstrApplyActions:
			acts, err := DecodeActions(body[8:])
			if err != nil {
				return in, err
			}
			if t == pipeline.InstrWriteActions {
				in.Write, in.HasWrite = acts, true
			} else {
				in.Apply, in.HasApply = acts, true
			}
		case pipeline.InstrClearActions:
			if n != 8 {
				return in, badInst(pipeline.BadInstBadLen, "clear_actions length %d", n)
			}
			in.Clear = true
		case pipeline.InstrMeter:
			if n != 8 {
				return in, badInst(pipeline.BadInstBadLen, "meter length %d", n)
			}
			in.Meter = be32(body[4:])
			if in.Meter == 0 || in.Meter > pipeline.MeterMax && in.Meter != pipeline.MeterSlowpath && in.Meter != pipeline.MeterController {
				return in, errf(pipeline.ErrMeterModFailed, pipeline.MeterModInvalidMeter, "meter instruction with meter id %#x", in.Meter)
			}
		}
	}
	return in, nil
}

// AppendInstructions appends in in wire format, in the order of execution.
func AppendInstructions(b []byte, in *pipeline.Instructions) []byte {
	if in.Meter != 0 {
		b = put16(b, uint16(pipeline.InstrMeter))
		b = put16(b, 8)
		b = put32(b, in.Meter)
	}
	if in.HasApply {
		b = appendActionsInst(b, pipeline.InstrApplyActions, in.Apply)
	}
	if in.Clear {
		b = put16(b, uint16(pipeline.InstrClearActions))
		b = put16(b, 8)
		b = appendZeros(b, 4)
	}
	if in.HasWrite {
		b = appendActionsInst(b, pipeline.InstrWriteActions, in.Write)
	}
	if in.WriteMetadata {
		b = put16(b, uint16(pipeline.InstrWriteMetadata))
		b = put16(b, 24)
		b = appendZeros(b, 4)
		b = put64(b, in.Metadata)
		b = put64(b, in.MetadataMask)
	}
	if in.Goto {
		b = put16(b, uint16(pipeline.InstrGotoTable))
		b = put16(b, 8)
		b = append(b, in.GotoTable, 0, 0, 0)
	}
	return b
}

func appendActionsInst(b []byte, t pipeline.InstructionType, acts []pipeline.Action) []byte {
	start := len(b)
	b = put16(b, uint16(t))
	b = put16(b, 0)
	b = appendZeros(b, 4)
	b = AppendActions(b, acts)
	n := len(b) - start
	b[start+2], b[start+3] = byte(n>>8), byte(n)
	return b
}
