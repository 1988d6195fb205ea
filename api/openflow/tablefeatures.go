package openflow

import (
	"fmt"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// actionTypes are the actions the decoder accepts, in wire order.
var actionTypes = []pipeline.ActionType{
	pipeline.ActionOutput, pipeline.ActionCopyTTLOut, pipeline.ActionCopyTTLIn,
	pipeline.ActionSetMPLSTTL, pipeline.ActionDecMPLSTTL, pipeline.ActionPushVLAN,
	pipeline.ActionPopVLAN, pipeline.ActionPushMPLS, pipeline.ActionPopMPLS,
	pipeline.ActionSetQueue, pipeline.ActionGroup, pipeline.ActionSetNwTTL,
	pipeline.ActionDecNwTTL, pipeline.ActionSetField, pipeline.ActionPushPBB, pipeline.ActionPopPBB,
}

var groupFeatures = func() ofwire.GroupFeatures {
	var acts uint32
	for _, a := range actionTypes {
		acts |= 1 << a
	}
	const maxGroups = 1 << 16
	return ofwire.GroupFeatures{
		Types:        1<<pipeline.GroupTypeAll | 1<<pipeline.GroupTypeSelect | 1<<pipeline.GroupTypeIndirect | 1<<pipeline.GroupTypeFastFailover,
		Capabilities: 1 | 2 | 4, // select weight, select liveness, chaining
		MaxGroups:    [4]uint32{maxGroups, maxGroups, maxGroups, maxGroups},
		Actions:      [4]uint32{acts, acts, acts, acts},
	}
}()

var meterFeatures = ofwire.MeterFeatures{
	MaxMeter:     1 << 16,
	BandTypes:    1<<pipeline.BandDrop | 1<<pipeline.BandDSCPRemark,
	Capabilities: uint32(pipeline.MeterKbps | pipeline.MeterPktps | pipeline.MeterBurst | pipeline.MeterStats),
	MaxBands:     8,
}

// tableFeatures describes table t of n: every instruction (goto_table
// only before the last table), every decoded action, every supported
// field for match and wildcards, the settable ones for set_field.
func tableFeatures(t, n uint8, maxEntries uint32) ofwire.TableFeatures {
	tf := ofwire.TableFeatures{
		TableID:       t,
		Name:          fmt.Sprintf("table%d", t),
		MetadataMatch: ^uint64(0),
		MetadataWrite: ^uint64(0),
		MaxEntries:    maxEntries,
		WriteActions:  actionTypes,
		ApplyActions:  actionTypes,
	}
	tf.Instructions = []pipeline.InstructionType{
		pipeline.InstrWriteMetadata, pipeline.InstrWriteActions, pipeline.InstrApplyActions,
		pipeline.InstrClearActions, pipeline.InstrMeter,
	}
	if t+1 < n {
		tf.Instructions = append([]pipeline.InstructionType{pipeline.InstrGotoTable}, tf.Instructions...)
	}
	for next := int(t) + 1; next < int(n); next++ {
		tf.NextTables = append(tf.NextTables, uint8(next))
	}
	for _, f := range pipeline.Fields() {
		d := f.Desc()
		if d.Maskable {
			tf.Match = append(tf.Match, ofwire.OXMHeader(f, true, 2*d.Len))
		} else {
			tf.Match = append(tf.Match, ofwire.OXMHeader(f, false, d.Len))
		}
		tf.Wildcards = append(tf.Wildcards, ofwire.OXMHeader(f, false, d.Len))
		if d.Settable {
			tf.WriteSetfield = append(tf.WriteSetfield, ofwire.OXMHeader(f, false, d.Len))
		}
	}
	tf.ApplySetfield = tf.WriteSetfield
	return tf
}
