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
	// words are the same bits as Key words: (index, bits) pairs.
	words []wordBits
}

// wordBits are the bits of a field in one word of a Key.
type wordBits struct {
	w    uint8
	bits uint64
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
		sp := fieldSpan{off: lo, bits: slices.Clone(kb[lo : hi+1])}
		for w, bits := range k.Words() {
			if bits != 0 {
				sp.words = append(sp.words, wordBits{uint8(w), bits})
			}
		}
		fieldSpans[f] = sp
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
//   - BAD_PREREQ: a field whose prerequisite is missing (FieldDesc.Prereq,
//     OpenFlow 1.3.5 table 12: eth_type matched exactly to one of the listed
//     values, ip_proto exactly, vlan_vid with VIDPresent for vlan_pcp,
//     icmpv6_type 135 or 136 for the ND fields). Fields that share storage are
//     told apart by the prerequisites: with eth_type IPv4 the first four
//     bytes of L3Src are ipv4_src, with ARP arp_spa, with IPv6 ipv6_src;
//   - BAD_MASK: a partial mask on a field that cannot be masked.
func ValidateMatch(m *Match) error {
	kw, mw, af := m.Key.Words(), m.Mask.Words(), anyFieldBits.Words()
	for i := range kw {
		if kw[i]&^af[i] != 0 || mw[i]&^af[i] != 0 || kw[i]&^mw[i] != 0 {
			return badBits(m)
		}
	}
	var allowed Key
	aw := allowed.Words()
	tagged := matchTagged(m)
	for _, f := range supportedFields {
		sp := &fieldSpans[f]
		none, full := true, true
		for _, wb := range sp.words {
			got := mw[wb.w] & wb.bits
			none = none && got == 0
			full = full && got == wb.bits
		}
		if none {
			continue // not matched: its bits in the mask are zero, allowed or not
		}
		d := &fieldDescs[f]
		if !prereqMet(&d.Prereq, m, tagged) {
			continue
		}
		for _, wb := range sp.words {
			aw[wb.w] |= wb.bits
		}
		if !d.Maskable && !full {
			return Errorf(ErrBadMatch, BadMatchBadMask, "field %s cannot be masked", d.Name)
		}
	}
	for i := range mw {
		if mw[i]&^aw[i] != 0 {
			mb, ab := m.Mask.bytes(), allowed.bytes()
			for j := i * 8; j < i*8+8; j++ {
				if mb[j]&^ab[j] != 0 {
					return Errorf(ErrBadMatch, BadMatchBadPrereq, "match on %s lacks its prerequisite", fieldAt(j))
				}
			}
		}
	}
	return nil
}

// badBits returns the error of a match with a key or mask bit outside every
// field or a key bit outside the mask, naming the first such byte's field.
func badBits(m *Match) error {
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
	panic("pipeline: badBits of a match without bad bits")
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
	if len(pre.ICMPv6Types) > 0 && (m.Mask.ICMPType != 0xff || !slices.Contains(pre.ICMPv6Types, m.Key.ICMPType)) {
		return false
	}
	if pre.InPort && m.Mask.InPort == 0 {
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
// action list, as Open vSwitch's ofpacts_check walks a copy of the flow: m
// is the entry's match as the actions so far changed it (push_mpls makes
// eth_type MPLS and forgets the IP fields, pop_mpls sets the eth_type it
// names, ...), nil when nothing is known (group buckets, PACKET_OUT): then
// no prerequisite is checked. tagged says whether the packet is known to
// carry a VLAN tag at this point.
type actionState struct {
	m      *Match
	tagged bool
}

func newActionState(m *Match) actionState {
	if m == nil {
		return actionState{}
	}
	c := *m
	return actionState{m: &c, tagged: matchTagged(m)}
}

// ethType returns the packet's eth_type if it is known.
func (st *actionState) ethType() (uint16, bool) {
	if st.m.Mask.EthType != 0xffff {
		return 0, false
	}
	return st.m.Key.EthType, true
}

// isMPLS reports whether the packet is known to be MPLS.
func (st *actionState) isMPLS() bool {
	et, ok := st.ethType()
	return ok && isMPLSType(et)
}

// mplsBoS returns the top label's bottom-of-stack bit if it is known.
func (st *actionState) mplsBoS() (bos, known bool) {
	const bit = 1 << 8
	if !st.isMPLS() || st.m.Mask.MPLS[0]&bit == 0 {
		return false, false
	}
	return st.m.Key.MPLS[0]&bit != 0, true
}

// setEthType makes the packet's eth_type et (known: true) or unknown, and
// forgets every field that depends on the eth_type (the IP, ARP, MPLS, PBB
// and ipv6_exthdr fields): the header they describe is not there any more,
// or not where it was.
func (st *actionState) setEthType(et uint16, known bool) {
	for _, f := range supportedFields {
		d := &fieldDescs[f]
		if len(d.Prereq.EthTypes) > 0 {
			z := make([]byte, d.Len)
			d.put(&st.m.Key, z)
			d.put(&st.m.Mask, z)
		}
	}
	st.m.Key.EthType, st.m.Mask.EthType = 0, 0
	if known {
		st.m.Key.EthType, st.m.Mask.EthType = et, 0xffff
	}
}

func isMPLSType(et uint16) bool { return et == EthTypeMPLS || et == EthTypeMPLSMcast }
func isTPID(et uint16) bool     { return et == EthTypeVLAN || et == EthTypeQinQ }

// ValidateActions checks an action list that executes in list order (an
// apply-actions instruction) against the entry's match m, as OpenFlow 1.3.5
// sections 5.12 and 7.2.5 require, and returns an *Error. The state of the
// packet follows the actions (a pushed VLAN tag, the eth_type after
// push_mpls or pop_mpls, ...).
//
//   - BAD_ACTION/BAD_TYPE: a type not in ActionTypes (experimenter);
//   - BAD_ACTION/BAD_OUT_PORT: output to port 0, OFPP_ANY, OFPP_TABLE, or a
//     number above OFPP_MAX that is not a reserved port. Ports that do not
//     exist (yet) are allowed, as the spec says;
//   - BAD_ACTION/BAD_OUT_GROUP: a group above OFPG_MAX, or (when p is not
//     nil) a group that does not exist;
//   - BAD_ACTION/BAD_ARGUMENT: push_vlan with an ethertype other than 0x8100
//     or 0x88a8, push_mpls other than 0x8847 or 0x8848, push_pbb other than
//     0x88e7; pop_mpls to a VLAN TPID or to a value below 0x0600 (an 802.3
//     length, not an ethertype);
//   - BAD_ACTION/BAD_SET_TYPE, BAD_SET_ARGUMENT: set_field of a field that
//     cannot be set (ipv6_exthdr, in_port, in_phy_port, metadata,
//     tcp_flags), a value beyond the field's width, eth_type set to a VLAN
//     TPID (tags are pushed and popped);
//   - BAD_ACTION/MATCH_INCONSISTENT ("Action can't apply for this match, or
//     Set-Field missing prerequisite"): set_field whose field's
//     prerequisite the packet does not meet (OpenFlow 1.3.5 table 12);
//     pop_vlan, set vlan_vid or vlan_pcp on a packet not known to be tagged;
//     set/dec nw_ttl on a packet not known to be IPv4 or IPv6; pop_mpls,
//     set/dec mpls_ttl, copy_ttl_out/in on a packet not known to be MPLS
//     (nicflow copies TTLs between labels and between the bottom label and
//     IP, it parses no IP-in-IP); pop_mpls of the bottom label (mpls_bos=1)
//     to an MPLS ethertype, or of a label that is not the bottom one
//     (mpls_bos=0) to a non-MPLS ethertype; pop_pbb on a packet not known
//     to be PBB (0x88e7). After set_field eth_type to another kind of
//     ethertype nothing is known of the packet's headers behind it (see
//     setEthType); after set_field ip_proto nothing of the transport header
//     (see actionState.setIPProto); after set_field mpls_bos the top label
//     is known to be the bottom of the stack, or not, as set. With m nil
//     these checks are skipped.
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
// executes them (after the apply-actions, on the packet as they left it),
// and goto_table to a later, valid table (BAD_INSTRUCTION/BAD_TABLE_ID). Any
// write-metadata mask is supported. With p nil, references to groups and
// meters are not checked.
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

// setOrder returns acts in the order an action set executes them (see
// ActionSet), keeping every action so each is validated.
func setOrder(acts []Action) []Action {
	out := slices.Clone(acts)
	slices.SortStableFunc(out, func(a, b Action) int { return cmp.Compare(setRank(&a), setRank(&b)) })
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

func inconsistent(format string, args ...any) error {
	return Errorf(ErrBadAction, BadActionMatchInconsist, format, args...)
}

func validateAction(a *Action, st *actionState, p *Pipeline, ctx actionContext) error {
	if !slices.Contains(actionTypes, a.Type) {
		return Errorf(ErrBadAction, BadActionBadType, "action type %d not supported", a.Type)
	}
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
		if !isTPID(a.EtherType) {
			return Errorf(ErrBadAction, BadActionBadArgument, "push_vlan ethertype %#04x", a.EtherType)
		}
		st.tagged = true
	case ActionPopVLAN:
		if known && !st.tagged {
			return inconsistent("pop_vlan on a packet not known to be tagged")
		}
		st.tagged = false
	case ActionPushMPLS:
		if !isMPLSType(a.EtherType) {
			return Errorf(ErrBadAction, BadActionBadArgument, "push_mpls ethertype %#04x (0x8847 or 0x8848)", a.EtherType)
		}
		if known {
			// The new label is the bottom of the stack when the packet had
			// no label; the IP header is now behind the label stack.
			et, ok := st.ethType()
			st.setEthType(a.EtherType, true)
			if ok {
				st.m.Mask.MPLS[0] |= 1 << 8
				if !isMPLSType(et) {
					st.m.Key.MPLS[0] |= 1 << 8
				}
			}
		}
	case ActionPopMPLS:
		if isTPID(a.EtherType) || a.EtherType < 0x0600 {
			return Errorf(ErrBadAction, BadActionBadArgument, "pop_mpls ethertype %#04x", a.EtherType)
		}
		if known {
			if !st.isMPLS() {
				return inconsistent("pop_mpls on a packet not known to be MPLS")
			}
			if bos, ok := st.mplsBoS(); ok && bos == isMPLSType(a.EtherType) {
				if bos {
					return inconsistent("pop_mpls of the bottom label (mpls_bos=1) to MPLS ethertype %#04x", a.EtherType)
				}
				return inconsistent("pop_mpls of a label above others (mpls_bos=0) to non-MPLS ethertype %#04x", a.EtherType)
			}
			st.setEthType(a.EtherType, true)
		}
	case ActionSetMPLSTTL, ActionDecMPLSTTL, ActionCopyTTLOut, ActionCopyTTLIn:
		if known && !st.isMPLS() {
			return inconsistent("action type %d on a packet not known to be MPLS", a.Type)
		}
	case ActionPushPBB:
		if a.EtherType != EthTypePBB {
			return Errorf(ErrBadAction, BadActionBadArgument, "push_pbb ethertype %#04x (0x88e7)", a.EtherType)
		}
		if known {
			// The frame, with its VLAN tags, becomes the payload of a
			// backbone frame with an I-TAG and no tag of its own.
			st.setEthType(EthTypePBB, true)
			st.tagged = false
		}
	case ActionPopPBB:
		if known {
			if et, ok := st.ethType(); !ok || et != EthTypePBB {
				return inconsistent("pop_pbb on a packet not known to be PBB (eth_type 0x88e7)")
			}
			// What comes out is the customer frame: nothing is known of it.
			st.setEthType(0, false)
			st.tagged = false
		}
	case ActionSetField:
		return validateSetField(a, st)
	case ActionSetNwTTL, ActionDecNwTTL:
		if known && !prereqMet(&Prereq{EthTypes: ipAny}, st.m, st.tagged) {
			return inconsistent("IP TTL action on a packet not known to be IPv4 or IPv6")
		}
	case ActionSetQueue:
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
	if a.Field == FieldEthType {
		return setEthType(u16(v), st)
	}
	if st.m == nil {
		return nil
	}
	if !prereqMet(&d.Prereq, st.m, st.tagged) || (a.Field == FieldVlanVID && !st.tagged) {
		return inconsistent("set_field %s without its prerequisite", d.Name)
	}
	switch a.Field {
	case FieldIPProto:
		st.setIPProto(v[0])
	case FieldMPLSBoS:
		// pop_mpls checks the bottom of stack against its ethertype.
		st.m.Key.MPLS[0] = st.m.Key.MPLS[0]&^(1<<8) | uint32(v[0]&1)<<8
		st.m.Mask.MPLS[0] |= 1 << 8
	}
	return nil
}

// setIPProto applies set_field ip_proto=p to st: the packet's ip_proto is
// p from now on. Unless it was known to be p already, what was known of
// the transport header (ports, ICMP type and code, the ND fields,
// tcp_flags: every field whose prerequisite names an ip_proto) is
// forgotten: the bytes behind the IP header stay, but they are read as the
// header of another protocol now (softpath/packet.Apply parses the packet
// again), so a field of the old protocol can no longer be set and a field
// of the new one can.
func (st *actionState) setIPProto(p uint8) {
	if st.m.Mask.IPProto == 0xff && st.m.Key.IPProto == p {
		return
	}
	for _, f := range supportedFields {
		if d := &fieldDescs[f]; d.Prereq.IPProto != 0 {
			z := make([]byte, d.Len)
			d.put(&st.m.Key, z)
			d.put(&st.m.Mask, z)
		}
	}
	st.m.Key.IPProto, st.m.Mask.IPProto = p, 0xff
}

// setEthType checks set_field eth_type=et and applies it to st. Only the
// ethertype changes (the headers behind it stay: the Ryu conformance suite
// rewrites IPv4, IPv6 and ARP to 0x8848 and expects exactly that), so
// unless the old and new ethertypes are of one kind (MPLS unicast and
// multicast) the eth_type is unknown afterwards and no field of the new or
// the old one can be set. A VLAN TPID is refused: tags are pushed and
// popped, and Key.EthType is the ethertype after them.
func setEthType(et uint16, st *actionState) error {
	if isTPID(et) {
		return Errorf(ErrBadAction, BadActionBadSetArgument, "set_field eth_type %#04x: VLAN tags are pushed and popped", et)
	}
	if st.m == nil {
		return nil
	}
	kind := func(t uint16) uint16 {
		if isMPLSType(t) {
			return EthTypeMPLS
		}
		return t
	}
	if old, ok := st.ethType(); ok && kind(old) == kind(et) {
		st.m.Key.EthType = et
		return nil
	}
	st.setEthType(0, false)
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
