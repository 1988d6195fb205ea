package pipeline

import "slices"

// ActionType is an OpenFlow 1.3 action type (OFPAT_*), numbered as on the wire.
type ActionType uint16

// The action types nicflow executes.
const (
	ActionOutput       ActionType = 0
	ActionSetMPLSTTL   ActionType = 15
	ActionDecMPLSTTL   ActionType = 16
	ActionPushVLAN     ActionType = 17
	ActionPopVLAN      ActionType = 18
	ActionPushMPLS     ActionType = 19
	ActionPopMPLS      ActionType = 20
	ActionSetQueue     ActionType = 21
	ActionGroup        ActionType = 22
	ActionSetNwTTL     ActionType = 23
	ActionDecNwTTL     ActionType = 24
	ActionSetField     ActionType = 25
	ActionCopyTTLOut   ActionType = 11
	ActionCopyTTLIn    ActionType = 12
	ActionPushPBB      ActionType = 26
	ActionPopPBB       ActionType = 27
	ActionExperimenter ActionType = 0xffff
)

// actionTypes are the action types validation accepts (every OpenFlow 1.3
// action but experimenter ones), in wire order: what TABLE_FEATURES and
// GROUP_FEATURES advertise.
var actionTypes = []ActionType{
	ActionOutput, ActionCopyTTLOut, ActionCopyTTLIn, ActionSetMPLSTTL, ActionDecMPLSTTL,
	ActionPushVLAN, ActionPopVLAN, ActionPushMPLS, ActionPopMPLS, ActionSetQueue, ActionGroup,
	ActionSetNwTTL, ActionDecNwTTL, ActionSetField, ActionPushPBB, ActionPopPBB,
}

// ActionTypes returns the action types nicflow accepts in flow entries,
// group buckets and PACKET_OUT, in wire order. Any other type is refused
// with BAD_ACTION/BAD_TYPE (ValidateActions).
func ActionTypes() []ActionType { return slices.Clone(actionTypes) }

// Reserved port numbers (OFPP_*).
const (
	PortMax        uint32 = 0xffffff00
	PortInPort     uint32 = 0xfffffff8
	PortTable      uint32 = 0xfffffff9
	PortNormal     uint32 = 0xfffffffa
	PortFlood      uint32 = 0xfffffffb
	PortAll        uint32 = 0xfffffffc
	PortController uint32 = 0xfffffffd
	PortLocal      uint32 = 0xfffffffe
	PortAny        uint32 = 0xffffffff
)

// GroupAny and GroupAll are the OFPG_ANY / OFPG_ALL wildcards.
const (
	GroupMax uint32 = 0xffffff00
	GroupAll uint32 = 0xfffffffc
	GroupAny uint32 = 0xffffffff
)

// ControllerMaxLenNoBuffer is OFPCML_NO_BUFFER.
const ControllerMaxLenNoBuffer = 0xffff

// Action is one OpenFlow action. It is a flat, comparable value (no
// pointers) so action lists can be compared and copied cheaply; only the
// fields of its Type are meaningful.
type Action struct {
	Type ActionType

	Port   uint32 // Output: port number (may be reserved)
	MaxLen uint16 // Output to CONTROLLER: bytes to send

	Group     uint32 // Group
	Queue     uint32 // SetQueue
	EtherType uint16 // PushVLAN, PushMPLS, PopMPLS, PushPBB
	TTL       uint8  // SetNwTTL, SetMPLSTTL

	// SetField: the field and its value in network byte order, left-aligned
	// in Value (Field.Desc().Len bytes are used).
	Field Field
	Value [16]byte
}

// Output returns an output action.
func Output(port uint32) Action {
	return Action{Type: ActionOutput, Port: port, MaxLen: ControllerMaxLenNoBuffer}
}

// SetField returns a set_field action for f with value v (network order).
func SetField(f Field, v []byte) Action {
	a := Action{Type: ActionSetField, Field: f}
	copy(a.Value[:], v)
	return a
}

// FieldValue returns the set_field value as Field.Desc().Len bytes.
func (a *Action) FieldValue() []byte {
	d := a.Field.Desc()
	if d == nil {
		return nil
	}
	return a.Value[:d.Len]
}

// Instructions is a flow entry's instruction set. The order of execution is
// fixed by the spec: meter, apply-actions, clear-actions, write-actions,
// write-metadata, goto-table.
type Instructions struct {
	Meter uint32 // 0: none

	Apply    []Action
	HasApply bool

	Clear bool

	// Write is the action list of write-actions, merged into the action set.
	Write    []Action
	HasWrite bool

	WriteMetadata bool
	Metadata      uint64
	MetadataMask  uint64

	Goto      bool
	GotoTable uint8
}

// InstructionType is an OpenFlow instruction type (OFPIT_*).
type InstructionType uint16

// The instruction types.
const (
	InstrGotoTable     InstructionType = 1
	InstrWriteMetadata InstructionType = 2
	InstrWriteActions  InstructionType = 3
	InstrApplyActions  InstructionType = 4
	InstrClearActions  InstructionType = 5
	InstrMeter         InstructionType = 6
)

// InstructionTypes returns the instruction types Instructions holds (every
// OpenFlow 1.3 instruction but experimenter ones), in wire order. Every
// write-metadata mask is supported.
func InstructionTypes() []InstructionType {
	return []InstructionType{InstrGotoTable, InstrWriteMetadata, InstrWriteActions, InstrApplyActions, InstrClearActions, InstrMeter}
}

// ActionSet is the per-packet action set that write-actions fills and that
// runs when the pipeline ends. It holds at most one action of each type
// (set-field: one per field) and executes them in the order of OpenFlow
// 1.3.5 section 5.10: copy TTL inwards; pop (pop_vlan, pop_pbb, pop_mpls:
// outermost header first, the reverse of the push order); push-MPLS;
// push-PBB; push-VLAN; copy TTL outwards; decrement TTL (dec_nw_ttl, then
// dec_mpls_ttl, as Open vSwitch); set (set_field in field order, then
// set_nw_ttl, set_mpls_ttl, which Open vSwitch also runs with the
// set-fields); qos (set_queue); group; output (dropped when a group is
// there).
type ActionSet struct {
	// slots indexed by setSlot; set-field actions are kept per field.
	actions [setSlots]Action
	has     [setSlots]bool
	fields  [43]Action
	hasF    [43]bool
}

const (
	slotCopyTTLIn = iota
	slotPopVLAN
	slotPopPBB
	slotPopMPLS
	slotPushMPLS
	slotPushPBB
	slotPushVLAN
	slotCopyTTLOut
	slotDecNwTTL
	slotDecMPLSTTL
	slotSetField // the set-field actions, per field (no action of its own)
	slotSetNwTTL
	slotSetMPLSTTL
	slotQueue
	slotGroup
	slotOutput
	setSlots
)

// Write merges a write-actions list into the set (each kind replaces the one
// already there; set_field replaces per field).
func (s *ActionSet) Write(acts []Action) {
	for _, a := range acts {
		if a.Type == ActionSetField {
			if int(a.Field) < len(s.fields) {
				s.fields[a.Field] = a
				s.hasF[a.Field] = true
			}
			continue
		}
		if slot, ok := setSlot(a.Type); ok {
			s.actions[slot] = a
			s.has[slot] = true
		}
	}
}

// Clear empties the set.
func (s *ActionSet) Clear() { *s = ActionSet{} }

// Empty reports whether the set holds no action.
func (s *ActionSet) Empty() bool {
	return s.has == [setSlots]bool{} && s.hasF == [43]bool{}
}

// List returns the set's actions in execution order, appended to dst. When a
// group action is present the output action is dropped, as the spec says.
func (s *ActionSet) List(dst []Action) []Action {
	for slot := 0; slot < setSlots; slot++ {
		if slot == slotSetField {
			for f := range s.fields {
				if s.hasF[f] {
					dst = append(dst, s.fields[f])
				}
			}
			continue
		}
		if !s.has[slot] {
			continue
		}
		if slot == slotOutput && s.has[slotGroup] {
			continue
		}
		dst = append(dst, s.actions[slot])
	}
	return dst
}

// setSlot returns the slot of an action type in the action set; false for
// set_field (kept per field) and types that have none.
func setSlot(t ActionType) (int, bool) {
	switch t {
	case ActionCopyTTLIn:
		return slotCopyTTLIn, true
	case ActionPopVLAN:
		return slotPopVLAN, true
	case ActionPopPBB:
		return slotPopPBB, true
	case ActionPopMPLS:
		return slotPopMPLS, true
	case ActionPushMPLS:
		return slotPushMPLS, true
	case ActionPushPBB:
		return slotPushPBB, true
	case ActionPushVLAN:
		return slotPushVLAN, true
	case ActionCopyTTLOut:
		return slotCopyTTLOut, true
	case ActionDecNwTTL:
		return slotDecNwTTL, true
	case ActionDecMPLSTTL:
		return slotDecMPLSTTL, true
	case ActionSetNwTTL:
		return slotSetNwTTL, true
	case ActionSetMPLSTTL:
		return slotSetMPLSTTL, true
	case ActionSetQueue:
		return slotQueue, true
	case ActionGroup:
		return slotGroup, true
	case ActionOutput:
		return slotOutput, true
	}
	return 0, false
}

// setRank orders actions as an action set executes them (List's order,
// set-fields by field); types without a place sort last.
func setRank(a *Action) int {
	if a.Type == ActionSetField {
		return slotSetField<<8 | int(a.Field)
	}
	if s, ok := setSlot(a.Type); ok {
		return s << 8
	}
	return setSlots << 8
}
