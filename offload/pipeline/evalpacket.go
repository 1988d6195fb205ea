package pipeline

// This file models the packet-modifying actions on the key for Evaluate:
// afterwards the key is what a parser (softpath/packet.Parse, whose
// conventions the Key documents) makes of the packet the fast path
// produces, or the packet is marked inexact where the key cannot know
// (see EvaluateWith).

// MPLSDepthMax is the deepest Key.MPLSDepth: parsers read at most this many
// label stack entries looking for the bottom of stack (a deeper stack, or
// one without a bottom, has MPLSDepth MPLSDepthMax and no payload fields).
const MPLSDepthMax = 8

// maxFrameLen is the longest frame a parser reads (longer frames are parsed
// as cut there).
const maxFrameLen = 0xffff

// MPLS label stack entry bits.
const (
	lseBoS   = 1 << 8
	lseTTL   = 0xff
	pbbITag  = 18 // what push_pbb adds: ethertype, I-TAG TCI, C-DA, C-SA
	mplsLSE  = 4
	vlanTag  = 4
	ndSolNum = 135
	ndAdvNum = 136
)

func ethTypeIsTPID(et uint16) bool { return et == EthTypeVLAN || et == EthTypeQinQ }
func ethTypeIsMPLS(et uint16) bool { return et == EthTypeMPLS || et == EthTypeMPLSMcast }
func icmpIsND(typ, code uint8) bool {
	return (typ == ndSolNum || typ == ndAdvNum) && code == 0
}

// l3Flags are the Parsed flags that describe the L3 and L4 headers.
const l3Flags = ParsedNoL3 | ParsedNoL4 | ParsedNoND | ParsedNDSLL | ParsedNDTLL | ParsedMPLSIPv4 | ParsedMPLSIPv6

// Key predicates: does the packet have the header?

func (k *Key) short() bool { return k.Parsed&ParsedShort != 0 }
func (k *Key) ip4() bool {
	return k.EthType == EthTypeIPv4 && k.Parsed&(ParsedShort|ParsedNoL3) == 0
}
func (k *Key) ip6() bool {
	return k.EthType == EthTypeIPv6 && k.Parsed&(ParsedShort|ParsedNoL3) == 0
}
func (k *Key) ip() bool { return k.ip4() || k.ip6() }
func (k *Key) arp() bool {
	return k.EthType == EthTypeARP && k.Parsed&(ParsedShort|ParsedNoL3) == 0
}
func (k *Key) tagged() bool { return k.VlanVID&VIDPresent != 0 }
func (k *Key) qinq() bool   { return k.Vlan2VID&VIDPresent != 0 }

// l4 reports whether the packet has the transport header of proto.
func (k *Key) l4(proto uint8) bool {
	switch {
	case proto == ProtoICMP && !k.ip4(), proto == ProtoICMPv6 && !k.ip6(), !k.ip():
		return false
	}
	return k.IPProto == proto && k.Parsed&ParsedNoL4 == 0
}

func (k *Key) nd() bool {
	return k.l4(ProtoICMPv6) && icmpIsND(k.ICMPType, k.ICMPCode) && k.Parsed&ParsedNoND == 0
}

func (k *Key) mpls() bool { return ethTypeIsMPLS(k.EthType) && k.MPLSDepth > 0 && !k.short() }
func (k *Key) pbb() bool {
	return k.EthType == EthTypePBB && k.Parsed&(ParsedShort|ParsedNoITag) == 0
}

// outerTags is the number of tags before the ethertype.
func (k *Key) outerTags() int {
	switch {
	case k.qinq():
		return 2
	case k.tagged():
		return 1
	}
	return 0
}

// clearL3 zeroes the L3 and L4 fields and their flags.
func (k *Key) clearL3() {
	k.IPDSCP, k.IPECN, k.IPProto, k.ICMPType, k.ICMPCode = 0, 0, 0, 0, 0
	k.TCPFlags, k.TpSrc, k.TpDst, k.ArpOp, k.IPv6Flabel = 0, 0, 0, 0, 0
	k.L3Src, k.L3Dst, k.NDTarget = [16]byte{}, [16]byte{}, [16]byte{}
	k.ArpSHA, k.ArpTHA = [6]byte{}, [6]byte{}
	k.IPTTL, k.IPv6Exthdr = 0, 0
	k.Parsed &^= l3Flags
}

// clearPayload zeroes everything after the Ethernet header and tags.
func (k *Key) clearPayload() {
	k.clearL3()
	k.MPLS, k.MPLSDepth = [MPLSStackMax]uint32{}, 0
	k.clearPBB()
	k.Parsed &^= ParsedNoITag
}

func (k *Key) clearPBB() {
	k.PBBISID = 0
	k.PBBInnerDst, k.PBBInnerSrc = [6]byte{}, [6]byte{}
	k.PBBInnerType, k.PBBInnerVID, k.PBBInnerPCP = 0, 0, 0
	k.Parsed &^= ParsedInnerQinQ | ParsedInnerVlanSTag
}

// payload says what the key knows of the bytes after an ethertype.
type payload uint8

const (
	payUnknown payload = iota
	payIPv4            // an IPv4 header that parses
	payIPv6            // an IPv6 header that parses
	payARP             // an Ethernet/IPv4 ARP packet
	payNotIP           // bytes that parse neither as IPv4 nor as IPv6
	payShort           // fewer than 4 bytes: no header parses
	payMPLS            // a label stack (the key's)
	payPBB             // an I-TAG and customer frame (the key's)
)

// payloadOf returns what follows the key's ethertype.
func (k *Key) payloadOf() payload {
	switch {
	case k.ip4():
		return payIPv4
	case k.ip6():
		return payIPv6
	case k.arp():
		return payARP
	case k.mpls():
		return payMPLS
	case ethTypeIsMPLS(k.EthType) && !k.short():
		return payShort // not one complete entry
	case k.pbb():
		return payPBB
	}
	return payUnknown
}

// reread sets the key to what a parser makes of payload p read under
// ethertype et (the key's L3 fields describe p where p is IP or ARP); it
// reports false when the key cannot know.
func (k *Key) reread(p payload, et uint16) bool {
	keepL3 := false
	exact := true
	switch {
	case et == EthTypeIPv4 || et == EthTypeIPv6:
		want := payIPv4
		if et == EthTypeIPv6 {
			want = payIPv6
		}
		switch p {
		case want:
			keepL3 = true
		case payIPv4, payIPv6, payARP, payNotIP, payShort:
			// The version nibble (0 for ARP's hardware type) or the length
			// fails the parser.
		default:
			exact = false
		}
	case et == EthTypeARP:
		switch p {
		case payARP:
			keepL3 = true
		case payIPv4, payIPv6, payShort: // hardware type 0x4..., 0x6...
		default:
			exact = false
		}
	case ethTypeIsMPLS(et):
		switch p {
		case payMPLS:
			k.EthType = et
			return true
		case payShort:
		default:
			exact = false
		}
	case ethTypeIsTPID(et), et == EthTypePBB:
		switch {
		case p == payPBB && et == EthTypePBB:
			k.EthType = et
			return true
		case p != payShort:
			exact = false
		}
	}
	if keepL3 {
		// The L3 fields describe p and stay; what carried them goes.
		k.MPLS, k.MPLSDepth = [MPLSStackMax]uint32{}, 0
		k.clearPBB()
		k.Parsed &^= ParsedNoITag | ParsedMPLSIPv4 | ParsedMPLSIPv6
		k.EthType = et
		return exact
	}
	k.clearPayload()
	k.EthType = et
	switch {
	case et == EthTypeIPv4 || et == EthTypeIPv6 || et == EthTypeARP:
		k.Parsed |= ParsedNoL3
	case et == EthTypePBB:
		k.Parsed |= ParsedNoITag
	}
	return exact
}

// speculate is what a parser makes of payload p after a bottom of stack:
// IP by the version nibble, nothing else.
func (k *Key) speculate(p payload) bool {
	switch p {
	case payIPv4:
		k.Parsed |= ParsedMPLSIPv4
		return true
	case payIPv6:
		k.Parsed |= ParsedMPLSIPv6
		return true
	}
	k.clearL3()
	return p == payARP || p == payNotIP || p == payShort
}

// modify models a packet-modifying action (not output, group, set_queue
// or a TTL decrement).
func (pk *packet) modify(a *Action) {
	k := &pk.key
	if a.Type == ActionSetField && a.Field == FieldTunnelID {
		FieldTunnelID.Desc().put(k, a.FieldValue())
		return
	}
	if k.short() {
		return // no Ethernet header: nothing applies
	}
	switch a.Type {
	case ActionSetField:
		pk.setField(a)
	case ActionPushVLAN:
		pk.pushVLAN(a.EtherType)
	case ActionPopVLAN:
		pk.popVLAN()
	case ActionSetNwTTL:
		if k.ip() {
			k.IPTTL = a.TTL
		}
	case ActionPushMPLS:
		pk.pushMPLS(a.EtherType)
	case ActionPopMPLS:
		pk.popMPLS(a.EtherType)
	case ActionSetMPLSTTL:
		if k.mpls() {
			k.MPLS[0] = k.MPLS[0]&^lseTTL | uint32(a.TTL)
		}
	case ActionCopyTTLOut:
		pk.copyTTLOut()
	case ActionCopyTTLIn:
		pk.copyTTLIn()
	case ActionPushPBB:
		pk.pushPBB(a.EtherType)
	case ActionPopPBB:
		pk.popPBB()
	}
}

// decTTL models dec_nw_ttl or dec_mpls_ttl; it reports true when the TTL
// expired (0 or 1): the packet is left unchanged and goes no further.
func (pk *packet) decTTL(t ActionType) bool {
	k := &pk.key
	switch {
	case t == ActionDecNwTTL && k.ip():
		if k.IPTTL <= 1 {
			return true
		}
		k.IPTTL--
	case t == ActionDecMPLSTTL && k.mpls():
		ttl := k.MPLS[0] & lseTTL
		if ttl <= 1 {
			return true
		}
		k.MPLS[0] = k.MPLS[0]&^lseTTL | (ttl - 1)
	}
	return false
}

// grow accounts for n bytes more (less if negative), marking the packet
// inexact when it outgrows what a parser reads.
func (pk *packet) grow(n int) {
	pk.length += n
	if pk.length > maxFrameLen || pk.length-n > maxFrameLen {
		pk.inexact = true
	}
}

func (pk *packet) setField(a *Action) {
	k := &pk.key
	d := a.Field.Desc()
	if a.Field == FieldMPLSBoS {
		pk.setBoS(a.Value[0]&1 != 0)
		return
	}
	if d == nil || !d.Settable {
		return
	}
	v := a.FieldValue()
	ones := d.ones()
	for i := range v {
		v[i] &= ones[i]
	}
	ok := false
	switch a.Field {
	case FieldEthDst, FieldEthSrc:
		ok = true
	case FieldEthType:
		if et := u16(v); et != k.EthType {
			pk.inexact = !k.reread(k.payloadOf(), et) || pk.inexact
		}
		return
	case FieldVlanVID:
		if k.tagged() {
			k.VlanVID = VIDPresent | u16(v)&0x0fff
		}
		return
	case FieldVlanPCP:
		ok = k.tagged()
	case FieldIPDSCP, FieldIPECN:
		ok = k.ip()
	case FieldIPProto:
		pk.setIPProto(v[0])
		return
	case FieldIPv4Src, FieldIPv4Dst:
		ok = k.ip4()
	case FieldIPv6Src, FieldIPv6Dst, FieldIPv6Flabel:
		ok = k.ip6()
	case FieldTCPSrc, FieldTCPDst:
		ok = k.l4(ProtoTCP)
	case FieldUDPSrc, FieldUDPDst:
		ok = k.l4(ProtoUDP)
	case FieldSCTPSrc, FieldSCTPDst:
		ok = k.l4(ProtoSCTP)
	case FieldICMPv4Type, FieldICMPv4Code:
		ok = k.l4(ProtoICMP)
	case FieldICMPv6Type, FieldICMPv6Code:
		if !k.l4(ProtoICMPv6) {
			return
		}
		wasND := icmpIsND(k.ICMPType, k.ICMPCode)
		d.put(k, v)
		switch icmpIsND(k.ICMPType, k.ICMPCode) {
		case wasND:
			// NS and NA read the same body and options.
		case false:
			k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
			k.Parsed &^= ParsedNoND | ParsedNDSLL | ParsedNDTLL
		default:
			pk.inexact = true // the message body decides
		}
		return
	case FieldIPv6NDTarget:
		ok = k.nd()
	case FieldIPv6NDSLL:
		ok = k.nd() && k.Parsed&ParsedNDSLL != 0
	case FieldIPv6NDTLL:
		ok = k.nd() && k.Parsed&ParsedNDTLL != 0
	case FieldArpOp, FieldArpSPA, FieldArpTPA, FieldArpSHA, FieldArpTHA:
		ok = k.arp()
	case FieldMPLSLabel, FieldMPLSTC:
		ok = k.mpls()
	case FieldPBBISID:
		ok = k.pbb()
	}
	if ok {
		d.put(k, v)
	}
}

func ipv6ChainProto(p uint8) bool {
	switch p {
	case ProtoHopByHop, ProtoRouting, ProtoFragment, ProtoESP, ProtoAH, ProtoNoNext, ProtoDestOpts:
		return true
	}
	return false
}

// transportLen returns the length of the transport header of protocol p
// that the parser reads in IPv4 (v6 false) or IPv6, 0 for a protocol it
// does not read.
func transportLen(p uint8, v6 bool) int {
	switch {
	case p == ProtoTCP:
		return 20
	case p == ProtoUDP:
		return 8
	case p == ProtoSCTP:
		return 12
	case p == ProtoICMP && !v6:
		return 8
	case p == ProtoICMPv6 && v6:
		return 4
	}
	return 0
}

// setIPProto models set_field ip_proto=p: the IPv4 protocol or the IPv6
// next header that names the upper layer is rewritten and the packet read
// again, the bytes after the IP header (and its extension headers) as the
// header of protocol p. The key knows what comes of that when neither
// protocol is one the parser reads, when the old header was read and the
// new one lies within it at the same offsets (TCP read as UDP or SCTP, SCTP
// as UDP: the ports), and, in IPv6, when neither value is an extension
// header, ESP or no next header (they change the chain and its
// ipv6_exthdr flags). Otherwise the packet becomes inexact. An IPv6 packet
// whose chain the parser did not finish has ip_proto 0 and is left alone
// (so is a fragment whose next header is 0: the key cannot tell them
// apart).
func (pk *packet) setIPProto(p uint8) {
	k := &pk.key
	if !k.ip() || k.IPProto == p {
		return
	}
	v6 := k.ip6()
	old := k.IPProto
	if v6 && (old == 0 || ipv6ChainProto(old) || ipv6ChainProto(p)) {
		pk.inexact = true
		return
	}
	oldLen, newLen := transportLen(old, v6), transportLen(p, v6)
	read := oldLen != 0 && k.Parsed&ParsedNoL4 == 0
	ports := read && old != ProtoICMP && old != ProtoICMPv6 && newLen <= oldLen &&
		(p == ProtoUDP || p == ProtoSCTP)
	switch {
	case ports:
		// The ports stay where they were; the rest of the old header
		// covers the new one.
	case newLen != 0:
		pk.inexact = true // the bytes after the IP header decide
	}
	src, dst := k.TpSrc, k.TpDst
	k.IPProto = p
	k.TpSrc, k.TpDst, k.TCPFlags, k.ICMPType, k.ICMPCode = 0, 0, 0, 0, 0
	k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
	k.Parsed &^= ParsedNoL4 | ParsedNoND | ParsedNDSLL | ParsedNDTLL
	if ports {
		k.TpSrc, k.TpDst = src, dst
	}
}

// setBoS models set_field mpls_bos: the stack and the payload are read
// anew.
func (pk *packet) setBoS(bos bool) {
	k := &pk.key
	if !k.mpls() || (k.MPLS[0]&lseBoS != 0) == bos {
		return
	}
	if !bos {
		pk.inexact = true // the payload is read as entries
		k.MPLS[0] &^= lseBoS
		k.clearL3()
		return
	}
	// The top entry becomes the bottom: the rest is payload, parsed as IP
	// by its first nibble (a parser tries it).
	k.MPLS[0] |= lseBoS
	if k.MPLSDepth >= 2 {
		if n := k.MPLS[1] >> 28; n == 4 || n == 6 {
			pk.inexact = true
		}
	}
	k.MPLS[1], k.MPLS[2], k.MPLSDepth = 0, 0, 1
	k.clearL3()
}

func (pk *packet) pushVLAN(tpid uint16) {
	if !ethTypeIsTPID(tpid) {
		return
	}
	k := &pk.key
	pk.grow(vlanTag)
	// OpenFlow 1.3.5 section 5.12.1: VLAN ID and priority are copied from
	// the existing outer tag, 0 without one.
	if k.qinq() {
		// The second tag goes beyond the parser's two: its TPID becomes the
		// ethertype. Popping it back is inexact (popVLAN).
		k.EthType = EthTypeVLAN
		if k.Parsed&ParsedVlan2STag != 0 {
			k.EthType = EthTypeQinQ
		}
		k.clearPayload()
	}
	if k.tagged() {
		k.Vlan2VID, k.Vlan2PCP = k.VlanVID, k.VlanPCP
		k.Parsed &^= ParsedVlan2STag
		if k.Parsed&ParsedVlanSTag != 0 {
			k.Parsed |= ParsedVlan2STag
		}
	} else {
		k.VlanVID, k.VlanPCP = VIDPresent, 0
	}
	k.Parsed &^= ParsedVlanSTag
	if tpid == EthTypeQinQ {
		k.Parsed |= ParsedVlanSTag
	}
}

func (pk *packet) popVLAN() {
	k := &pk.key
	if !k.tagged() {
		return
	}
	pk.grow(-vlanTag)
	if k.qinq() && ethTypeIsTPID(k.EthType) {
		pk.inexact = true // a third tag comes up
	}
	k.VlanVID, k.VlanPCP = k.Vlan2VID, k.Vlan2PCP
	k.Vlan2VID, k.Vlan2PCP = 0, 0
	k.Parsed &^= ParsedVlanSTag
	if k.Parsed&ParsedVlan2STag != 0 {
		k.Parsed ^= ParsedVlan2STag | ParsedVlanSTag
	}
}

func (pk *packet) pushMPLS(et uint16) {
	if !ethTypeIsMPLS(et) {
		return
	}
	k := &pk.key
	pk.grow(mplsLSE)
	if k.mpls() {
		// Section 5.12.1: label, TC and TTL from the existing outer entry.
		top := k.MPLS[0] &^ lseBoS
		copy(k.MPLS[1:], k.MPLS[:MPLSStackMax-1])
		k.MPLS[0] = top
		if k.MPLSDepth == MPLSDepthMax {
			k.clearL3() // the bottom of stack is out of the parser's reach
		} else {
			k.MPLSDepth++
		}
		k.EthType = et
		return
	}
	// Section 5.12.1: the TTL from the IP TTL, everything else (and the
	// TTL of a packet that is not IP) 0.
	lse := uint32(lseBoS)
	if k.ip() {
		lse |= uint32(k.IPTTL)
	}
	p := k.payloadOf()
	if p == payPBB || p == payMPLS {
		p = payUnknown
	}
	k.MPLS = [MPLSStackMax]uint32{lse}
	k.MPLSDepth = 1
	k.clearPBB()
	k.Parsed &^= ParsedNoITag | ParsedNoL3
	k.EthType = et
	if !k.speculate(p) {
		pk.inexact = true
	}
}

func (pk *packet) popMPLS(et uint16) {
	k := &pk.key
	if !k.mpls() {
		return
	}
	pk.grow(-mplsLSE)
	switch {
	case k.MPLS[0]&lseBoS != 0:
		p := payNotIP // the parser tried IP by the version nibble
		switch {
		case k.Parsed&ParsedMPLSIPv4 != 0:
			p = payIPv4
		case k.Parsed&ParsedMPLSIPv6 != 0:
			p = payIPv6
		}
		k.MPLS, k.MPLSDepth = [MPLSStackMax]uint32{}, 0
		if !k.reread(p, et) {
			pk.inexact = true
		}
	case k.MPLSDepth == 1:
		// The next entry is incomplete: fewer than 4 bytes follow.
		k.MPLS, k.MPLSDepth = [MPLSStackMax]uint32{}, 0
		k.reread(payShort, et)
	case ethTypeIsMPLS(et):
		if k.MPLSDepth > MPLSStackMax {
			pk.inexact = true // the entry that moves up is not in the key
		}
		copy(k.MPLS[:], k.MPLS[1:])
		k.MPLS[MPLSStackMax-1] = 0
		k.MPLSDepth--
		k.EthType = et
	default:
		pk.inexact = true // the next entry is read as another protocol
		k.clearPayload()
		k.EthType = et
	}
}

func (pk *packet) copyTTLOut() {
	k := &pk.key
	if !k.mpls() {
		return
	}
	var ttl uint32
	switch {
	case k.MPLS[0]&lseBoS == 0:
		if k.MPLSDepth < 2 {
			return
		}
		ttl = k.MPLS[1] & lseTTL
	case k.Parsed&(ParsedMPLSIPv4|ParsedMPLSIPv6) != 0:
		ttl = uint32(k.IPTTL)
	default:
		return
	}
	k.MPLS[0] = k.MPLS[0]&^lseTTL | ttl
}

func (pk *packet) copyTTLIn() {
	k := &pk.key
	if !k.mpls() {
		return
	}
	ttl := k.MPLS[0] & lseTTL
	switch {
	case k.MPLS[0]&lseBoS == 0:
		if k.MPLSDepth >= 2 {
			k.MPLS[1] = k.MPLS[1]&^lseTTL | ttl
		}
	case k.Parsed&(ParsedMPLSIPv4|ParsedMPLSIPv6) != 0:
		k.IPTTL = uint8(ttl)
	}
}

func (pk *packet) pushPBB(et uint16) {
	if et != EthTypePBB {
		return
	}
	k := &pk.key
	pk.grow(pbbITag)
	nested := k.EthType == EthTypePBB
	// Section 5.12.1: I-SID from the existing I-SID, C-DA and C-SA from the
	// MACs (which stay as B-DA and B-SA); the tags go into the customer
	// frame.
	isid := uint32(0)
	if k.pbb() {
		isid = k.PBBISID
	}
	innerQinQ, innerSTag := k.qinq(), k.Parsed&ParsedVlanSTag != 0
	inner := *k
	if nested {
		k.clearPayload() // the parser reads one I-TAG
	}
	k.clearPBB()
	k.Parsed &^= ParsedNoITag
	k.PBBISID = isid
	k.PBBInnerDst, k.PBBInnerSrc, k.PBBInnerType = inner.EthDst, inner.EthSrc, inner.EthType
	k.PBBInnerVID, k.PBBInnerPCP = inner.VlanVID, inner.VlanPCP
	if innerQinQ {
		k.Parsed |= ParsedInnerQinQ
	}
	if innerSTag {
		k.Parsed |= ParsedInnerVlanSTag
	}
	k.VlanVID, k.VlanPCP, k.Vlan2VID, k.Vlan2PCP = 0, 0, 0, 0
	k.Parsed &^= ParsedVlanSTag | ParsedVlan2STag
	k.EthType = EthTypePBB
}

func (pk *packet) popPBB() {
	k := &pk.key
	if !k.pbb() {
		return
	}
	pk.grow(-(pbbITag + vlanTag*k.outerTags()))
	if k.Parsed&ParsedInnerQinQ != 0 || k.PBBInnerType == EthTypePBB {
		pk.inexact = true // the second customer tag, or a nested I-TAG
	}
	k.EthDst, k.EthSrc, k.EthType = k.PBBInnerDst, k.PBBInnerSrc, k.PBBInnerType
	k.VlanVID, k.VlanPCP, k.Vlan2VID, k.Vlan2PCP = k.PBBInnerVID, k.PBBInnerPCP, 0, 0
	k.Parsed &^= ParsedVlanSTag | ParsedVlan2STag
	if k.Parsed&ParsedInnerVlanSTag != 0 {
		k.Parsed |= ParsedVlanSTag
	}
	k.clearPBB()
}
