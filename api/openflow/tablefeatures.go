package openflow

import (
	"fmt"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// What TABLE_FEATURES and GROUP_FEATURES advertise is derived from the one
// source, pipeline's validation, so it cannot drift from what FLOW_MOD and
// GROUP_MOD accept (tablefeatures_test.go installs every advertised item and
// checks that the rest is refused):
//
//   - actions (apply, write, and every group type's bucket actions):
//     pipeline.ActionTypes, the types ValidateActions accepts;
//   - instructions: pipeline.InstructionTypes, goto_table only before the
//     last table, the next tables being every later one;
//   - match: every field of pipeline.Fields, with the has-mask bit for a
//     FieldDesc.Maskable field; wildcards: every field (a match may omit
//     any); set-fields (apply and write): the FieldDesc.Settable fields;
//   - metadata: every bit may be matched and written.

var groupFeatures = func() ofwire.GroupFeatures {
	var acts uint32
	for _, a := range pipeline.ActionTypes() {
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

// tableFeatures describes table t of n (see above).
func tableFeatures(t, n uint8, maxEntries uint32) ofwire.TableFeatures {
	acts := pipeline.ActionTypes()
	tf := ofwire.TableFeatures{
		TableID:       t,
		Name:          fmt.Sprintf("table%d", t),
		MetadataMatch: ^uint64(0),
		MetadataWrite: ^uint64(0),
		MaxEntries:    maxEntries,
		WriteActions:  acts,
		ApplyActions:  acts,
	}
	for _, it := range pipeline.InstructionTypes() {
		if it != pipeline.InstrGotoTable || t+1 < n {
			tf.Instructions = append(tf.Instructions, it)
		}
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
