package pipeline

import (
	"cmp"
	"slices"
)

// fieldSpan is where a field lives in a Key's bytes: from off, the bits
// set in bits (its storage limited to its real width).
type fieldSpan struct {
	off  int
	bits []byte
}

// supportedFields, fieldSpans and anyFieldBits (the union of every field's
// bits) are computed once from the field table.
var (
	supportedFields = Fields()
	fieldSpans      [len(fieldDescs)]fieldSpan
	anyFieldBits    Key
)

func init() {
	for _, f := range supportedFields {
		d := f.Desc()
		var k Key
		d.put(&k, d.ones())
		kb, ab := k.bytes(), anyFieldBits.bytes()
		lo, hi := -1, 0
		for i, b := range kb {
			if b != 0 {
				if lo < 0 {
					lo = i
				}
				hi = i
			}
			ab[i] |= b
		}
		fieldSpans[f] = fieldSpan{off: lo, bits: slices.Clone(kb[lo : hi+1])}
	}
}

// ValidateMatch checks a flow entry's (or a delete's or stats request's)
// match as OpenFlow 1.3.5 section 7.2.3 requires and returns an *Error of
// type BAD_MATCH:
//
//   - BAD_VALUE / BAD_MASK: a key or mask bit outside every field (beyond a
//     field's width, e.g. bit 13 of vlan_vid or bit 6 of ip_dscp);
//   - BAD_WILDCARDS: a key bit set where the mask is 0 (the spec's rule for
//     masked OXM TLVs; nicflow rejects rather than normalizes, so a Match
//     that passes is normalized and two equal entries compare equal);
//   - BAD_PREREQ: a field whose prerequisite is missing (FieldDesc.Prereq:
//     eth_type matched exactly to one of the listed values, ip_proto exactly,
//     vlan_vid with VIDPresent for vlan_pcp). Fields that share storage are
//     told apart by the prerequisites: with eth_type IPv4 the first four
//     bytes of L3Src are ipv4_src, with ARP arp_spa, with IPv6 ipv6_src;
//   - BAD_MASK: a partial mask on a field that cannot be masked.
func ValidateMatch(m *Match) error {
	kb, mb, af := m.Key.bytes(), m.Mask.bytes(), anyFieldBits.bytes()
	for i := range kb {
		if kb[i]&^af[i] != 0 {
			return Errorf(ErrBadMatch, BadMatchBadValue, "match value %s outside the field's width", fieldAt(i))
		}
		if mb[i]&^af[i] != 0 {
			return Errorf(ErrBadMatch, BadMatchBadMask, "match mask %s outside the field's width", fieldAt(i))
		}
		if kb[i]&^mb[i] != 0 {
			return Errorf(ErrBadMatch, BadMatchBadWildcards, "match value of %s has bits outside its mask", fieldAt(i))
		}
	}
	var allowed Key
	ab := allowed.bytes()
	tagged := matchTagged(m)
	for _, f := range supportedFields {
		d := &fieldDescs[f]
		if !prereqMet(&d.Prereq, m, tagged) {
			continue
		}
		sp := &fieldSpans[f]
		none, full := true, true
		for j, b := range sp.bits {
			ab[sp.off+j] |= b
			got := mb[sp.off+j] & b
			none = none && got == 0
			full = full && got == b
		}
		if !d.Maskable && !none && !full {
			return Errorf(ErrBadMatch, BadMatchBadMask, "field %s cannot be masked", d.Name)
		}
	}
	for i := range mb {
		if mb[i]&^ab[i] != 0 {
			return Errorf(ErrBadMatch, BadMatchBadPrereq, "match on %s lacks its prerequisite", fieldAt(i))
		}
	}
	return nil
}

// fieldAt names the fields stored at byte i of a Key (for messages).
func fieldAt(i int) string {
	name := ""
	for _, f := range supportedFields {
		if sp := &fieldSpans[f]; i >= sp.off && i < sp.off+len(sp.bits) && sp.bits[i-sp.off] != 0 {
			if name != "" {
				name += "/"
			}
			name += f.String()
		}
	}
	if name == "" {
		return "padding"
	}
	return name
}

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// matchTagged reports whether m only matches VLAN-tagged packets.
func matchTagged(m *Match) bool {
	return m.Mask.VlanVID&VIDPresent != 0 && m.Key.VlanVID&VIDPresent != 0
}

// prereqMet reports whether m (with the packet tagged or not, as actions
// may have changed it) satisfies pre.
func prereqMet(pre *Prereq, m *Match, tagged bool) bool {
	if len(pre.EthTypes) > 0 && (m.Mask.EthType != 0xffff || !slices.Contains(pre.EthTypes, m.Key.EthType)) {
		return false
	}
	if pre.IPProto != 0 && (m.Mask.IPProto != 0xff || m.Key.IPProto != pre.IPProto) {
		return false
	}
	return !pre.VlanTag || tagged
}

// actionContext says where an action list is used.
type actionContext uint8

const (
	ctxFlow      actionContext = iota // a flow entry's instructions
	ctxPacketOut                      // PACKET_OUT: OFPP_TABLE allowed
	ctxBucket                         // a group bucket
)

// actionState is what validation knows about the packet while it walks an
// action list: the match (nil: unknown, prerequisites are not checked) and
// whether the packet is VLAN-tagged at this point.
type actionState struct {
	m      *Match
	tagged bool
}

// ValidateActions checks an action list that executes in list order (an
// apply-actions instruction) against the entry's match m, as OpenFlow 1.3.5
// section 7.2.5 requires, and returns an *Error:
//
//   - BAD_ACTION/BAD_TYPE: an action nicflow does not execute (MPLS, PBB,
//     copy TTL, experimenter);
//   - BAD_ACTION/BAD_OUT_PORT: output to port 0, OFPP_ANY, OFPP_TABLE, or a
//     number above OFPP_MAX that is not a reserved port. Ports that do not
//     exist (yet) are allowed, as the spec says;
//   - BAD_ACTION/BAD_OUT_GROUP: a group above OFPG_MAX, or (when p is not
//     nil) a group that does not exist;
//   - BAD_ACTION/BAD_ARGUMENT: push_vlan with an ethertype other than 0x8100
//     or 0x88a8;
//   - BAD_ACTION/BAD_SET_TYPE, BAD_SET_ARGUMENT: set_field of a field that
//     cannot be set, or a value beyond the field's width;
//   - BAD_ACTION/MATCH_INCONSISTENT: set_field whose field's prerequisite the
//     match does not state; pop_vlan, set vlan_vid or vlan_pcp on a packet
//     not known to be tagged (matched with VIDPresent, or after a push_vlan
//     earlier in the list; this is what Open vSwitch does); set/dec nw_ttl
//     without an IP eth_type. With m nil these checks are skipped.
func ValidateActions(acts []Action, m *Match, p *Pipeline) error {
	st := newActionState(m)
	return validateList(acts, &st, p, ctxFlow)
}

// ValidatePacketOutActions is ValidateActions for a PACKET_OUT, where m
// describes the packet (e.g. in_port and the parsed headers, or nil) and
// output to OFPP_TABLE is allowed.
func ValidatePacketOutActions(acts []Action, m *Match, p *Pipeline) error {
	st := newActionState(m)
	return validateList(acts, &st, p, ctxPacketOut)
}

// ValidateInstructions checks the instructions of an entry of table t with
// match m: a meter that exists in p (METER_MOD_FAILED/UNKNOWN_METER), the
// apply-actions in list order, the write-actions in the order the action set
// executes them (after the apply-actions), and goto_table to a later, valid
// table (BAD_INSTRUCTION/BAD_TABLE_ID). Any write-metadata mask is
// supported. With p nil, references to groups and meters are not checked.
func ValidateInstructions(in *Instructions, t uint8, m *Match, p *Pipeline) error {
	if in.Meter != 0 && p != nil && p.meters[in.Meter] == nil {
		return Errorf(ErrMeterModFailed, MeterModUnknownMeter, "meter %d does not exist", in.Meter)
	}
	st := newActionState(m)
	if err := validateList(in.Apply, &st, p, ctxFlow); err != nil {
		return err
	}
	if err := validateList(setOrder(in.Write), &st, p, ctxFlow); err != nil {
		return err
	}
	if in.Goto && (in.GotoTable <= t || in.GotoTable >= NumTables) {
		return Errorf(ErrBadInstruction, BadInstBadTableID, "goto_table %d from table %d", in.GotoTable, t)
	}
	return nil
}

func newActionState(m *Match) actionState {
	st := actionState{m: m}
	if m != nil {
		st.tagged = matchTagged(m)
	}
	return st
}

// setOrder returns acts in the order an action set executes them (see
// ActionSet), keeping every action so each is validated.
func setOrder(acts []Action) []Action {
	rank := func(a Action) int {
		if a.Type == ActionSetField {
			return 2*slotSetTTL - 1
		}
		if s, ok := setSlot(a.Type); ok {
			return 2 * s
		}
		return 2 * setSlots
	}
	out := slices.Clone(acts)
	slices.SortStableFunc(out, func(a, b Action) int { return cmp.Compare(rank(a), rank(b)) })
	return out
}

func validateList(acts []Action, st *actionState, p *Pipeline, ctx actionContext) error {
	for i := range acts {
		if err := validateAction(&acts[i], st, p, ctx); err != nil {
			return err
		}
	}
	return nil
}

func validateAction(a *Action, st *actionState, p *Pipeline, ctx actionContext) error {
	known := st.m != nil
	switch a.Type {
	case ActionOutput:
		if !validOutPort(a.Port, ctx) {
			return Errorf(ErrBadAction, BadActionBadOutPort, "output to invalid port %#x", a.Port)
		}
	case ActionGroup:
		if a.Group > GroupMax {
			return Errorf(ErrBadAction, BadActionBadOutGroup, "group %#x is not a valid group id", a.Group)
		}
		if p != nil && p.groups[a.Group] == nil {
			return Errorf(ErrBadAction, BadActionBadOutGroup, "group %d does not exist", a.Group)
		}
	case ActionPushVLAN:
		if a.EtherType != EthTypeVLAN && a.EtherType != EthTypeQinQ {
			return Errorf(ErrBadAction, BadActionBadArgument, "push_vlan ethertype %#04x", a.EtherType)
		}
		st.tagged = true
	case ActionPopVLAN:
		if known && !st.tagged {
			return Errorf(ErrBadAction, BadActionMatchInconsist, "pop_vlan on a packet the match does not require to be tagged")
		}
		st.tagged = false
	case ActionSetField:
		return validateSetField(a, st)
	case ActionSetNwTTL, ActionDecNwTTL:
		if known && !prereqMet(&Prereq{EthTypes: ipAny}, st.m, st.tagged) {
			return Errorf(ErrBadAction, BadActionMatchInconsist, "IP TTL action without an IP eth_type match")
		}
	case ActionSetQueue:
	default:
		return Errorf(ErrBadAction, BadActionBadType, "action type %d not supported", a.Type)
	}
	return nil
}

func validateSetField(a *Action, st *actionState) error {
	d := a.Field.Desc()
	if d == nil || !d.Settable {
		return Errorf(ErrBadAction, BadActionBadSetType, "set_field of %s not supported", a.Field)
	}
	v, ones := a.FieldValue(), d.ones()
	for i := range v {
		if v[i]&^ones[i] != 0 {
			return Errorf(ErrBadAction, BadActionBadSetArgument, "set_field %s value %x beyond the field", d.Name, v)
		}
	}
	if !allZero(a.Value[d.Len:]) {
		return Errorf(ErrBadAction, BadActionBadSetLen, "set_field %s value longer than %d bytes", d.Name, d.Len)
	}
	if st.m == nil {
		return nil
	}
	if !prereqMet(&d.Prereq, st.m, st.tagged) || (a.Field == FieldVlanVID && !st.tagged) {
		return Errorf(ErrBadAction, BadActionMatchInconsist, "set_field %s without its prerequisite in the match", d.Name)
	}
	return nil
}

// validOutPort reports whether an output action may name port.
func validOutPort(port uint32, ctx actionContext) bool {
	switch {
	case port == 0 || port == PortAny:
		return false
	case port <= PortMax:
		return true
	case port == PortTable:
		return ctx == ctxPacketOut
	}
	switch port {
	case PortInPort, PortNormal, PortFlood, PortAll, PortController, PortLocal:
		return true
	}
	return false
}

// validateFlowMod checks everything about fm that does not depend on which
// entries it selects.
func (p *Pipeline) validateFlowMod(fm *FlowMod) error {
	isDelete := fm.Command == FlowDelete || fm.Command == FlowDeleteStrict
	if fm.Command > FlowDeleteStrict {
		return Errorf(ErrFlowModFailed, FlowModBadCommand, "flow_mod command %d", fm.Command)
	}
	if fm.Flags&^knownFlowFlags != 0 {
		return Errorf(ErrFlowModFailed, FlowModBadFlags, "flow_mod flags %#x", fm.Flags)
	}
	if fm.Table >= NumTables && !(isDelete && fm.Table == TableAll) {
		return Errorf(ErrFlowModFailed, FlowModBadTableID, "table %d", fm.Table)
	}
	if err := ValidateMatch(&fm.Match); err != nil {
		return err
	}
	if isDelete {
		return nil
	}
	return ValidateInstructions(&fm.Instr, fm.Table, &fm.Match, p)
}
