package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

// FlowModFixedLen is the fixed part of OFPT_FLOW_MOD after the header,
// without the match.
const FlowModFixedLen = 40

// flagsKnown are the OFPFF_* flags of OpenFlow 1.3.
const flagsKnown = pipeline.FlagSendFlowRem | pipeline.FlagCheckOverlap | pipeline.FlagResetCounts |
	pipeline.FlagNoPktCounts | pipeline.FlagNoBytCounts

// DecodeFlowMod decodes the body of an OFPT_FLOW_MOD (the bytes after the
// header) and checks it as a switch must. The buffer id is returned in
// FlowMod.BufferID; the caller answers BUFFER_UNKNOWN for anything but
// NoBuffer after applying the mod.
func DecodeFlowMod(body []byte) (*pipeline.FlowMod, error) {
	if len(body) < FlowModFixedLen+8 {
		return nil, badLen("flow_mod body of %d bytes, want at least %d", len(body), FlowModFixedLen+8)
	}
	fm := &pipeline.FlowMod{
		Cookie:      be64(body[0:]),
		CookieMask:  be64(body[8:]),
		Table:       body[16],
		Command:     pipeline.FlowModCommand(body[17]),
		IdleTimeout: be16(body[18:]),
		HardTimeout: be16(body[20:]),
		Priority:    be16(body[22:]),
		BufferID:    be32(body[24:]),
		OutPort:     be32(body[28:]),
		OutGroup:    be32(body[32:]),
		Flags:       be16(body[36:]),
	}
	if fm.Command > pipeline.FlowDeleteStrict {
		return nil, errf(pipeline.ErrFlowModFailed, pipeline.FlowModBadCommand, "flow_mod command %d", fm.Command)
	}
	del := fm.Command == pipeline.FlowDelete || fm.Command == pipeline.FlowDeleteStrict
	if fm.Table == pipeline.TableAll && !del || fm.Table != pipeline.TableAll && int(fm.Table) >= pipeline.NumTables {
		return nil, errf(pipeline.ErrFlowModFailed, pipeline.FlowModBadTableID, "flow_mod table %d", fm.Table)
	}
	if fm.Flags&^flagsKnown != 0 {
		return nil, errf(pipeline.ErrFlowModFailed, pipeline.FlowModBadFlags, "flow_mod flags %#x", fm.Flags)
	}
	m, n, err := DecodeMatch(body[FlowModFixedLen:])
	if err != nil {
		return nil, err
	}
	fm.Match = m
	in, err := DecodeInstructions(body[FlowModFixedLen+n:])
	if err != nil {
		return nil, err
	}
	if !del {
		if err := checkFlowInstructions(fm.Table, &in); err != nil {
			return nil, err
		}
	}
	fm.Instr = in
	return fm, nil
}

// checkFlowInstructions applies the checks that depend on the flow's table:
// goto_table must go forward, and output to TABLE is for PACKET_OUT only.
func checkFlowInstructions(table uint8, in *pipeline.Instructions) error {
	if in.Goto && in.GotoTable <= table {
		return badInst(pipeline.BadInstBadTableID, "goto_table %d from table %d", in.GotoTable, table)
	}
	for _, acts := range [][]pipeline.Action{in.Apply, in.Write} {
		for _, a := range acts {
			if a.Type == pipeline.ActionOutput && a.Port == pipeline.PortTable {
				return badAction(pipeline.BadActionBadOutPort, "output to TABLE in a flow entry")
			}
		}
	}
	return nil
}

// AppendFlowMod appends the body of an OFPT_FLOW_MOD.
func AppendFlowMod(b []byte, fm *pipeline.FlowMod) []byte {
	b = put64(b, fm.Cookie)
	b = put64(b, fm.CookieMask)
	b = append(b, fm.Table, uint8(fm.Command))
	b = put16(b, fm.IdleTimeout)
	b = put16(b, fm.HardTimeout)
	b = put16(b, fm.Priority)
	b = put32(b, fm.BufferID)
	b = put32(b, fm.OutPort)
	b = put32(b, fm.OutGroup)
	b = put16(b, fm.Flags)
	b = appendZeros(b, 2)
	b = AppendMatch(b, &fm.Match)
	return AppendInstructions(b, &fm.Instr)
}
