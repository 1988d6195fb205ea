package openflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// These tests prove that TABLE_FEATURES and GROUP_FEATURES say exactly what
// the switch accepts: every advertised match field (masked where the has-mask
// bit says so), wildcard, set-field, action, instruction and next table is
// used in a FLOW_MOD (or GROUP_MOD) built from the advertised bytes, decoded
// as the switch decodes it and applied to a real pipeline; every item not
// advertised is refused.

// advertised returns the table features of table t as a controller decodes
// them from the reply.
func advertised(t *testing.T, table uint8) ofwire.TableFeatures {
	t.Helper()
	tf := tableFeatures(table, pipeline.NumTables, 1000)
	got, err := ofwire.DecodeTableFeatures(ofwire.AppendTableFeatures(nil, &tf))
	if err != nil || len(got) != 1 {
		t.Fatalf("DecodeTableFeatures: %d entries, %v", len(got), err)
	}
	return got[0]
}

// testPipeline is a pipeline with group 1 and meter 1, so group and meter
// references resolve.
func testPipeline(t *testing.T) *pipeline.Pipeline {
	t.Helper()
	p := pipeline.New()
	if _, err := p.GroupMod(&pipeline.GroupMod{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: 1}, testTime); err != nil {
		t.Fatal(err)
	}
	if _, err := p.MeterMod(&pipeline.MeterMod{Command: pipeline.MeterAdd, ID: 1, Flags: pipeline.MeterKbps,
		Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 1000}}}, testTime); err != nil {
		t.Fatal(err)
	}
	return p
}

// install decodes a FLOW_MOD body for table table (match and instructions
// as wire bytes) as the switch does and applies it to a fresh pipeline.
func install(t *testing.T, table uint8, match, instr []byte) error {
	t.Helper()
	fixed := make([]byte, ofwire.FlowModFixedLen)
	fixed[16] = table
	binary.BigEndian.PutUint16(fixed[22:], 100)
	binary.BigEndian.PutUint32(fixed[24:], ofwire.NoBuffer)
	binary.BigEndian.PutUint32(fixed[28:], pipeline.PortAny)
	binary.BigEndian.PutUint32(fixed[32:], pipeline.GroupAny)
	fm, err := ofwire.DecodeFlowMod(slices.Concat(fixed, match, instr))
	if err != nil {
		return err
	}
	_, err = testPipeline(t).FlowMod(fm, testTime)
	return err
}

// oxmValue returns a value for an advertised OXM header: 1 in the last byte
// (vlan_vid: VID 1 with OFPVID_PRESENT), and as its mask the same bits.
func oxmValue(h uint32) (value, mask []byte) {
	n := int(h & 0xff)
	if h&0x100 != 0 {
		n /= 2
	}
	value = make([]byte, n)
	value[n-1] = 1
	if pipeline.Field(h>>9&0x7f) == pipeline.FieldVlanVID {
		value[0] = 0x10
	}
	return value, slices.Clone(value)
}

// prereqOXMs returns the OXM TLVs of the prerequisites of field f.
func prereqOXMs(f pipeline.Field) []byte {
	m := pipeline.Match{}
	if d := f.Desc(); d != nil {
		m = d.PrereqMatch()
	}
	return ofwire.AppendOXMs(nil, &m)
}

// oxmTLV encodes one OXM TLV with header h.
func oxmTLV(h uint32, value, mask []byte) []byte {
	return slices.Concat(binary.BigEndian.AppendUint32(nil, h), value, mask)
}

// matchBytes wraps OXM TLVs in an ofp_match.
func matchBytes(oxms ...[]byte) []byte {
	body := slices.Concat(oxms...)
	b := binary.BigEndian.AppendUint16(nil, ofwire.MatchTypeOXM)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	b = append(b, body...)
	return append(b, make([]byte, (8-len(b)%8)%8)...)
}

func instrBytes(in pipeline.Instructions) []byte { return ofwire.AppendInstructions(nil, &in) }

func codeOf(err error) string {
	var e *pipeline.Error
	if errors.As(err, &e) {
		return ofwire.ErrorName(e.Type, e.Code)
	}
	return fmt.Sprint(err)
}

func wantCode(t *testing.T, what string, err error, typ pipeline.ErrorType, code uint16) {
	t.Helper()
	var e *pipeline.Error
	if !errors.As(err, &e) || e.Type != typ || e.Code != code {
		t.Errorf("%s: %s, want %s", what, codeOf(err), ofwire.ErrorName(typ, code))
	}
}

// testTime is when the test's flows are added.
var testTime = time.Unix(1_700_000_000, 0)

var outputTo1 = pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(1)}}

func TestAdvertisedMatchInstalls(t *testing.T) {
	tf := advertised(t, 0)
	inMatch := map[pipeline.Field]uint32{}
	for _, h := range tf.Match {
		f := pipeline.Field(h >> 9 & 0x7f)
		if h>>16 != ofwire.OXMClassBasic {
			t.Errorf("match header %#08x: class is not OFPXMC_OPENFLOW_BASIC", h)
			continue
		}
		inMatch[f] = h
		n := int(h & 0xff)
		if h&0x100 != 0 {
			n /= 2
		}
		exact := h&^0x1ff | uint32(n)
		masked := exact&^0xff | 0x100 | uint32(2*n)
		v, m := oxmValue(h)
		if err := install(t, 0, matchBytes(prereqOXMs(f), oxmTLV(exact, v, nil)), instrBytes(outputTo1)); err != nil {
			t.Errorf("match %s (exact): %s", f, codeOf(err))
		}
		err := install(t, 0, matchBytes(prereqOXMs(f), oxmTLV(masked, v, m)), instrBytes(outputTo1))
		if h&0x100 != 0 && err != nil {
			t.Errorf("match %s (masked, advertised with has-mask): %s", f, codeOf(err))
		}
		if h&0x100 == 0 {
			wantCode(t, fmt.Sprintf("match %s masked (advertised without has-mask)", f), err, pipeline.ErrBadMatch, pipeline.BadMatchBadMask)
		}
	}
	for _, h := range tf.Wildcards {
		f := pipeline.Field(h >> 9 & 0x7f)
		if _, ok := inMatch[f]; !ok {
			t.Errorf("wildcard %s is not a match field", f)
		}
		// A wildcarded field is one the match leaves out: its
		// prerequisites alone install.
		if err := install(t, 0, matchBytes(prereqOXMs(f)), instrBytes(outputTo1)); err != nil {
			t.Errorf("wildcard %s: %s", f, codeOf(err))
		}
	}
	if len(tf.Wildcards) != len(tf.Match) {
		t.Errorf("%d wildcards for %d match fields: every field may be left out", len(tf.Wildcards), len(tf.Match))
	}
	for f := pipeline.Field(0); f < 128; f++ {
		if _, ok := inMatch[f]; ok {
			continue
		}
		err := install(t, 0, matchBytes(prereqOXMs(f), oxmTLV(uint32(ofwire.OXMClassBasic)<<16|uint32(f)<<9|4, []byte{0, 0, 0, 1}, nil)), instrBytes(outputTo1))
		wantCode(t, fmt.Sprintf("match on field %d, not advertised", f), err, pipeline.ErrBadMatch, pipeline.BadMatchBadField)
	}
	if _, ok := inMatch[pipeline.FieldMPLSLabel]; !ok {
		t.Errorf("mpls_label is not advertised")
	}
}

// setFieldMatch is the match a set_field of f needs: f's prerequisites,
// and for vlan_vid a VLAN tag (OpenFlow 1.3.5 7.2.5: set_field vlan_vid
// rewrites an existing tag; push_vlan adds one).
func setFieldMatch(f pipeline.Field) []byte {
	oxms := prereqOXMs(f)
	if f == pipeline.FieldVlanVID {
		oxms = append(oxms, oxmTLV(ofwire.OXMHeader(pipeline.FieldVlanVID, true, 4), []byte{0x10, 0}, []byte{0x10, 0})...)
	}
	return matchBytes(oxms)
}

// setFieldAction encodes a set_field action of the OXM header h.
func setFieldAction(h uint32, value []byte) []byte {
	n := 4 + 4 + len(value)
	n += (8 - n%8) % 8
	b := binary.BigEndian.AppendUint16(nil, uint16(pipeline.ActionSetField))
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = append(binary.BigEndian.AppendUint32(b, h), value...)
	return append(b, make([]byte, n-len(b))...)
}

// instrWith wraps raw action bytes in an apply-actions or write-actions
// instruction.
func instrWith(typ pipeline.InstructionType, acts ...[]byte) []byte {
	body := slices.Concat(acts...)
	b := binary.BigEndian.AppendUint16(nil, uint16(typ))
	b = binary.BigEndian.AppendUint16(b, uint16(8+len(body)))
	return append(append(b, 0, 0, 0, 0), body...)
}

func TestAdvertisedSetFieldsInstall(t *testing.T) {
	tf := advertised(t, 0)
	for _, list := range []struct {
		name  string
		instr pipeline.InstructionType
		hs    []uint32
	}{
		{"apply", pipeline.InstrApplyActions, tf.ApplySetfield},
		{"write", pipeline.InstrWriteActions, tf.WriteSetfield},
	} {
		adv := map[pipeline.Field]bool{}
		for _, h := range list.hs {
			f := pipeline.Field(h >> 9 & 0x7f)
			adv[f] = true
			if h&0x100 != 0 {
				t.Errorf("%s set-field %s advertised with has-mask: set_field takes no mask", list.name, f)
			}
			v, _ := oxmValue(h)
			if err := install(t, 0, setFieldMatch(f), instrWith(list.instr, setFieldAction(h, v))); err != nil {
				t.Errorf("%s set_field %s: %s", list.name, f, codeOf(err))
			}
		}
		for f := pipeline.Field(0); f < 128; f++ {
			if adv[f] {
				continue
			}
			n := 4
			if d := f.Desc(); d != nil {
				n = d.Len
			}
			h := ofwire.OXMHeader(f, false, n)
			v, _ := oxmValue(h)
			err := install(t, 0, setFieldMatch(f), instrWith(list.instr, setFieldAction(h, v)))
			wantCode(t, fmt.Sprintf("%s set_field of field %d, not advertised", list.name, f), err, pipeline.ErrBadAction, pipeline.BadActionBadSetType)
		}
		for _, f := range []pipeline.Field{pipeline.FieldMPLSLabel, pipeline.FieldMPLSTC, pipeline.FieldPBBISID, pipeline.FieldEthType} {
			if !adv[f] {
				t.Errorf("%s set-field %s is not advertised", list.name, f)
			}
		}
	}
}

// actionExamples gives, per action type, an action of that type and a match
// (OXM TLVs) the action is consistent with. An advertised type without an
// example fails the test: add one.
var actionExamples = map[pipeline.ActionType]struct {
	match []byte
	a     pipeline.Action
}{
	pipeline.ActionOutput:     {nil, pipeline.Output(1)},
	pipeline.ActionCopyTTLOut: {ethMPLS, pipeline.Action{Type: pipeline.ActionCopyTTLOut}},
	pipeline.ActionCopyTTLIn:  {ethMPLS, pipeline.Action{Type: pipeline.ActionCopyTTLIn}},
	pipeline.ActionSetMPLSTTL: {ethMPLS, pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: 9}},
	pipeline.ActionDecMPLSTTL: {ethMPLS, pipeline.Action{Type: pipeline.ActionDecMPLSTTL}},
	pipeline.ActionPushVLAN:   {nil, pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN}},
	pipeline.ActionPopVLAN:    {oxm(6, true, 0x10, 0, 0x10, 0), pipeline.Action{Type: pipeline.ActionPopVLAN}},
	pipeline.ActionPushMPLS:   {ethIPv4, pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: pipeline.EthTypeMPLS}},
	pipeline.ActionPopMPLS:    {ethMPLS, pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: pipeline.EthTypeIPv4}},
	pipeline.ActionSetQueue:   {nil, pipeline.Action{Type: pipeline.ActionSetQueue, Queue: 1}},
	pipeline.ActionGroup:      {nil, pipeline.Action{Type: pipeline.ActionGroup, Group: 1}},
	pipeline.ActionSetNwTTL:   {ethIPv4, pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: 9}},
	pipeline.ActionDecNwTTL:   {ethIPv4, pipeline.Action{Type: pipeline.ActionDecNwTTL}},
	pipeline.ActionSetField:   {ethIPv4, pipeline.SetField(pipeline.FieldIPv4Src, []byte{10, 0, 0, 1})},
	pipeline.ActionPushPBB:    {nil, pipeline.Action{Type: pipeline.ActionPushPBB, EtherType: pipeline.EthTypePBB}},
	pipeline.ActionPopPBB:     {oxm(5, false, 0x88, 0xe7), pipeline.Action{Type: pipeline.ActionPopPBB}},
}

var ethMPLS = oxm(5, false, 0x88, 0x47)

// actionOfType returns the wire bytes of an action of type typ that has
// no example (8 bytes, as the fixed actions).
func actionOfType(typ uint16) []byte {
	return append(binary.BigEndian.AppendUint16(nil, typ), 0, 8, 0, 0, 0, 0)
}

func TestAdvertisedActionsInstall(t *testing.T) {
	for _, table := range []uint8{0, pipeline.NumTables - 1} {
		tf := advertised(t, table)
		for _, list := range []struct {
			name  string
			instr pipeline.InstructionType
			types []pipeline.ActionType
		}{
			{"apply", pipeline.InstrApplyActions, tf.ApplyActions},
			{"write", pipeline.InstrWriteActions, tf.WriteActions},
		} {
			for _, typ := range list.types {
				ex, ok := actionExamples[typ]
				if !ok {
					t.Errorf("table %d: %s action type %d advertised, the test has no example of it", table, list.name, typ)
					continue
				}
				if err := install(t, table, matchBytes(ex.match), instrWith(list.instr, ofwire.AppendAction(nil, &ex.a))); err != nil {
					t.Errorf("table %d: %s %s: %s", table, list.name, ofwire.FormatAction(&ex.a), codeOf(err))
				}
			}
			for typ := 0; typ <= 0xffff; typ++ {
				if slices.Contains(list.types, pipeline.ActionType(typ)) {
					continue
				}
				if typ > 64 && typ != 0xffff {
					continue
				}
				err := install(t, table, matchBytes(), instrWith(list.instr, actionOfType(uint16(typ))))
				want := pipeline.BadActionBadType
				if typ == 0xffff {
					want = pipeline.BadActionBadExperimenter
				}
				wantCode(t, fmt.Sprintf("table %d: %s action type %d, not advertised", table, list.name, typ), err, pipeline.ErrBadAction, want)
			}
		}
	}
	for _, typ := range []pipeline.ActionType{pipeline.ActionPushMPLS, pipeline.ActionPopMPLS, pipeline.ActionSetMPLSTTL, pipeline.ActionDecMPLSTTL} {
		if !slices.Contains(advertised(t, 0).ApplyActions, typ) {
			t.Errorf("action type %d is not advertised", typ)
		}
	}
}

func TestAdvertisedInstructionsInstall(t *testing.T) {
	examples := map[pipeline.InstructionType]pipeline.Instructions{
		pipeline.InstrGotoTable:     {Goto: true, GotoTable: 0}, // GotoTable set per table below
		pipeline.InstrWriteMetadata: {WriteMetadata: true, Metadata: 0xf0, MetadataMask: 0xff},
		pipeline.InstrWriteActions:  {HasWrite: true, Write: []pipeline.Action{pipeline.Output(1)}},
		pipeline.InstrApplyActions:  outputTo1,
		pipeline.InstrClearActions:  {Clear: true},
		pipeline.InstrMeter:         {Meter: 1},
	}
	for _, table := range []uint8{0, 1, pipeline.NumTables - 1} {
		tf := advertised(t, table)
		for _, it := range tf.Instructions {
			in, ok := examples[it]
			if !ok {
				t.Errorf("table %d: instruction type %d advertised, the test has no example of it", table, it)
				continue
			}
			if it == pipeline.InstrGotoTable {
				in.GotoTable = tf.NextTables[0]
			}
			if err := install(t, table, matchBytes(), instrBytes(in)); err != nil {
				t.Errorf("table %d: instruction %d: %s", table, it, codeOf(err))
			}
		}
		if !slices.Contains(tf.Instructions, pipeline.InstrGotoTable) {
			err := install(t, table, matchBytes(), instrBytes(pipeline.Instructions{Goto: true, GotoTable: table}))
			if err == nil {
				t.Errorf("table %d: goto_table not advertised, but goto_table %d installs", table, table)
			}
		}
		for it := pipeline.InstructionType(0); it < 16; it++ {
			if slices.Contains(tf.Instructions, it) || it == pipeline.InstrGotoTable {
				continue
			}
			err := install(t, table, matchBytes(), []byte{0, byte(it), 0, 8, 0, 0, 0, 0})
			wantCode(t, fmt.Sprintf("table %d: instruction type %d, not advertised", table, it), err, pipeline.ErrBadInstruction, pipeline.BadInstUnknownInst)
		}
		for next := 0; next < pipeline.NumTables; next++ {
			err := install(t, table, matchBytes(), instrBytes(pipeline.Instructions{Goto: true, GotoTable: uint8(next)}))
			if adv := slices.Contains(tf.NextTables, uint8(next)); adv != (err == nil) {
				t.Errorf("table %d: goto_table %d advertised %v, installs: %s", table, next, adv, codeOf(err))
			}
		}
		if tf.MetadataMatch != ^uint64(0) || tf.MetadataWrite != ^uint64(0) {
			t.Errorf("table %d: metadata match %#x write %#x, want every bit", table, tf.MetadataMatch, tf.MetadataWrite)
		}
	}
}

// TestAdvertisedGroupFeatures checks GROUP_FEATURES the same way: every
// advertised group type installs, and every advertised bucket action of
// each type; every other type and action is refused.
func TestAdvertisedGroupFeatures(t *testing.T) {
	b := ofwire.AppendGroupFeatures(nil, &groupFeatures)
	if len(b) != 40 {
		t.Fatalf("group features body is %d bytes, want 40", len(b))
	}
	types := binary.BigEndian.Uint32(b)
	groupMod := func(typ pipeline.GroupType, acts []byte) error {
		bucket := make([]byte, 16)
		binary.BigEndian.PutUint16(bucket[0:], uint16(16+len(acts)))
		binary.BigEndian.PutUint16(bucket[2:], 1) // weight (select)
		binary.BigEndian.PutUint32(bucket[4:], 1) // watch port (fast failover)
		binary.BigEndian.PutUint32(bucket[8:], pipeline.GroupAny)
		body := []byte{0, byte(pipeline.GroupAdd), byte(typ), 0, 0, 0, 0, 2}
		gm, err := ofwire.DecodeGroupMod(slices.Concat(body, bucket, acts))
		if err != nil {
			return err
		}
		_, err = testPipeline(t).GroupMod(gm, testTime)
		return err
	}
	for typ := pipeline.GroupType(0); typ < 8; typ++ {
		err := groupMod(typ, nil)
		if adv := types&(1<<typ) != 0; adv != (err == nil) {
			t.Errorf("group type %d: advertised %v, installs: %s", typ, adv, codeOf(err))
		}
		if types&(1<<typ) == 0 {
			continue
		}
		acts := binary.BigEndian.Uint32(b[24+4*int(typ):])
		for a := 0; a < 32; a++ {
			var wire []byte
			ex, hasEx := actionExamples[pipeline.ActionType(a)]
			switch {
			case hasEx:
				wire = ofwire.AppendAction(nil, &ex.a)
			default:
				wire = actionOfType(uint16(a))
			}
			err := groupMod(typ, wire)
			if adv := acts&(1<<a) != 0; adv != (err == nil) {
				t.Errorf("group type %d, bucket action type %d: advertised %v, installs: %s", typ, a, adv, codeOf(err))
			}
			if acts&(1<<a) != 0 && !hasEx {
				t.Errorf("group type %d: action type %d advertised, the test has no example of it", typ, a)
			}
		}
	}
}
