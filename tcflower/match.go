package tcflower

import (
	"net/netip"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// tagState is what a translation knows about a packet's outer VLAN tag.
type tagState uint8

const (
	tagUnknown tagState = iota // the match does not say
	tagNo                      // untagged (vlan_vid=NONE)
	tagYes                     // tagged, TPID in vlanState.tpid
)

// vlanState tracks the outer tag through the action list.
type vlanState struct {
	tagged   tagState
	tpid     uint16
	vid      uint16
	vidKnown bool
	pcp      uint8
	pcpKnown bool
}

// flowState is what the match pins down, for the action translation.
type flowState struct {
	inPort      uint32
	hasInPort   bool
	inTunnel    bool // in_port is a tunnel port: its metadata is released
	indev       Port
	l3          uint16 // eth_type (innermost), 0: not matched
	ipProto     uint8
	hasIPProto  bool
	tunnelID    uint32
	hasTunnelID bool
	vlan        vlanState
	dscp        uint8 // the IP DSCP, when dscpKnown (matched exactly)
	dscpKnown   bool
	ipTTL       ttlState  // the IP TTL: the packet's (matched exactly: known)
	mpls        mplsState // the top MPLS label, as matched
}

func isTPID(et uint16) bool { return et == EthType8021Q || et == EthType8021AD }

func allZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// translateMatch builds the flower keys of match m (see the package
// documentation for the mapping and its limits).
// A non-zero onPort translates it for the ingress of that port alone (see
// TranslateOn).
func translateMatch(m *pipeline.Match, env Env, onPort uint32) (Keys, flowState, error) {
	var k Keys
	var st flowState
	mask := &m.Mask
	key := m.Key.And(mask)

	if mask.Metadata != 0 {
		return k, st, notExpressible("match field metadata has no flower key (tc chains carry no metadata)")
	}
	if mask.IPv6Flabel != 0 {
		return k, st, notExpressible("match field ipv6_flabel has no flower key")
	}
	if !allZero(mask.NDTarget[:]) {
		return k, st, notExpressible("match field ipv6_nd_target has no flower key")
	}
	if mask.MPLS[1] != 0 || mask.MPLS[2] != 0 || mask.MPLSDepth != 0 {
		return k, st, notExpressible("match on MPLS labels below the top one: OpenFlow has no such field")
	}
	if mask.PBBISID != 0 {
		return k, st, notExpressible("match field pbb_isid has no flower key (802.1ah frames are parsed by the fast path only)")
	}
	if mask.IPv6Exthdr != 0 {
		return k, st, notExpressible("match field ipv6_exthdr has no flower key (the fast path alone walks the IPv6 extension header chain)")
	}
	if err := matchInPort(&k, &st, &key, mask, env, onPort); err != nil {
		return k, st, err
	}
	if mask.TunnelID != 0 {
		if uint32(mask.TunnelID) != 0xffffffff || key.TunnelID>>32 != 0 {
			return k, st, notExpressible("match tunnel_id %#x/%#x: flower matches an exact 32-bit tunnel key (enc_key_id)",
				key.TunnelID, mask.TunnelID)
		}
		k.EncKeyID, k.HasEncKeyID = uint32(key.TunnelID), true
		st.tunnelID, st.hasTunnelID = uint32(key.TunnelID), true
	}

	k.DstMAC, k.DstMACMask = key.EthDst, mask.EthDst
	k.SrcMAC, k.SrcMACMask = key.EthSrc, mask.EthSrc

	if mask.EthType != 0 {
		if mask.EthType != 0xffff {
			return k, st, notExpressible("match eth_type with mask %#04x: flower matches eth_type exactly", mask.EthType)
		}
		if isTPID(key.EthType) {
			return k, st, notExpressible("match eth_type %#04x: OpenFlow's eth_type is the inner ethertype, flower reads a VLAN TPID as a tag", key.EthType)
		}
		if key.EthType < 0x0600 {
			// 802.3 length frames: the kernel reports them as ETH_P_802_2/802_3.
			return k, st, notExpressible("match eth_type %#04x: flower matches Ethernet II ethertypes (0x0600 and up)", key.EthType)
		}
		st.l3 = key.EthType
	}
	if err := matchVLAN(&k, &st, &key, mask); err != nil {
		return k, st, err
	}
	if err := matchL3(&k, &st, &key, mask); err != nil {
		return k, st, err
	}
	if err := matchL4(&k, &st, &key, mask); err != nil {
		return k, st, err
	}
	if err := matchMPLS(&k, &st, &key, mask); err != nil {
		return k, st, err
	}
	return k, st, nil
}

// matchMPLS maps mpls_label, mpls_tc and mpls_bos (and the top label's
// TTL, which a key may carry) to flower's MPLS keys: the top label stack
// entry, each field exact.
func matchMPLS(k *Keys, st *flowState, key, mask *pipeline.Key) error {
	m, v := mask.MPLS[0], key.MPLS[0]
	st.mpls.ttl = ttlState{} // the TTL the packet comes with
	if m == 0 {
		return nil
	}
	if !isMPLS(st.l3) {
		return notExpressible("match of an MPLS field without eth_type mpls or mpls_mcast")
	}
	type field struct {
		name        string
		shift, bits uint
	}
	for _, f := range []field{{"mpls_label", 12, 20}, {"mpls_tc", 9, 3}, {"mpls_bos", 8, 1}, {"the MPLS TTL", 0, 8}} {
		all := uint32(1)<<f.bits - 1
		fm, fv := m>>f.shift&all, v>>f.shift&all
		switch fm {
		case 0:
			continue
		case all:
		default:
			return notExpressible("match %s with mask %#x: flower matches it exactly", f.name, fm)
		}
		switch f.shift {
		case 12:
			k.MPLSLabel, k.HasMPLSLabel = fv, true
			st.mpls.label, st.mpls.labelKnown = fv, true
		case 9:
			k.MPLSTC, k.HasMPLSTC = uint8(fv), true
			st.mpls.tc, st.mpls.tcKnown = uint8(fv), true
		case 8:
			k.MPLSBOS, k.HasMPLSBOS = uint8(fv), true
		default:
			k.MPLSTTL, k.HasMPLSTTL = uint8(fv), true
			st.mpls.ttl.setKnown(uint8(fv))
		}
	}
	return nil
}

func matchInPort(k *Keys, st *flowState, key, mask *pipeline.Key, env Env, onPort uint32) error {
	inPort := key.InPort
	switch {
	case onPort != 0 && key.InPort != onPort&mask.InPort:
		return notExpressible("match in_port=%s/%#x does not apply on port %d", portString(key.InPort), mask.InPort, onPort)
	case onPort != 0:
		inPort = onPort
	case mask.InPort == 0:
		return nil
	case mask.InPort != 0xffffffff:
		return notExpressible("match in_port with mask %#x has no flower key", mask.InPort)
	}
	p, ok := env.Port(inPort)
	if !ok || p.Name == "" {
		return notExpressible("match in_port=%s: no such port", portString(inPort))
	}
	if onPort == 0 {
		k.Indev = p.Name // on a block of its own the port is implied
	}
	st.inPort, st.hasInPort, st.indev = inPort, true, p
	if t := p.Tunnel; t != nil {
		st.inTunnel = true
		if t.Local.IsValid() {
			setEncAddr(k, t.Local, false)
		}
		if t.Remote.IsValid() {
			setEncAddr(k, t.Remote, true)
		}
		if t.DstPort != 0 {
			k.EncDstPort, k.EncDstPortMask = t.DstPort, 0xffff
		}
	}
	return nil
}

// setEncAddr matches the outer source (src) or destination address exactly.
func setEncAddr(k *Keys, a netip.Addr, src bool) {
	a = a.Unmap()
	switch {
	case a.Is4() && src:
		k.EncIPv4Src, k.EncIPv4SrcMask = a.As4(), [4]byte{0xff, 0xff, 0xff, 0xff}
	case a.Is4():
		k.EncIPv4Dst, k.EncIPv4DstMask = a.As4(), [4]byte{0xff, 0xff, 0xff, 0xff}
	case src:
		k.EncIPv6Src, k.EncIPv6SrcMask = a.As16(), ones16()
	default:
		k.EncIPv6Dst, k.EncIPv6DstMask = a.As16(), ones16()
	}
}

func ones16() [16]byte {
	var b [16]byte
	for i := range b {
		b[i] = 0xff
	}
	return b
}

// matchVLAN maps vlan_vid/vlan_pcp. OpenFlow's vlan_vid is VID|PRESENT for
// a tagged frame and 0 for an untagged one, under an arbitrary 13-bit mask;
// it leaves four expressible cases:
//   - untagged only (NONE): num_of_vlans 0;
//   - any tag (PRESENT/PRESENT): eth_type 802.1Q, no vlan_id;
//   - one VID (VID|PRESENT, or VID under mask 0xfff): eth_type 802.1Q vlan_id VID;
//   - nothing matched.
//
// A partial VID mask, or a mask that lets both tagged and untagged frames
// through, has no flower form.
func matchVLAN(k *Keys, st *flowState, key, mask *pipeline.Key) error {
	vm := mask.VlanVID & 0x1fff
	vk := key.VlanVID & vm
	const present = pipeline.VIDPresent
	tagged := false
	switch {
	case vm == 0:
	case vm&present != 0 && vk&present == 0:
		if vk != 0 {
			return notExpressible("match vlan_vid=%#x/%#x matches no frame", vk, vm)
		}
		k.NumVlans, k.HasNumVlans = 0, true
		st.vlan = vlanState{tagged: tagNo}
	case vm&present == 0 && vk == 0:
		return notExpressible("match vlan_vid=%#x/%#x matches untagged and tagged frames alike", vk, vm)
	default:
		tagged = true
		st.vlan = vlanState{tagged: tagYes, tpid: EthType8021Q}
		switch vm & 0xfff {
		case 0:
		case 0xfff:
			k.VlanID, k.HasVlanID = vk&0xfff, true
			st.vlan.vid, st.vlan.vidKnown = vk&0xfff, true
		default:
			return notExpressible("match vlan_vid with mask %#x: flower matches vlan_id exactly", vm)
		}
	}
	if mask.VlanPCP != 0 {
		if !tagged {
			return notExpressible("match vlan_pcp without a vlan_vid match that requires a tag")
		}
		if mask.VlanPCP&7 != 7 {
			return notExpressible("match vlan_pcp with mask %#x: flower matches vlan_prio exactly", mask.VlanPCP)
		}
		k.VlanPrio, k.HasVlanPrio = key.VlanPCP&7, true
		st.vlan.pcp, st.vlan.pcpKnown = key.VlanPCP&7, true
	}
	if tagged {
		k.EthType, k.VlanEthType = EthType8021Q, st.l3
	} else {
		k.EthType = st.l3
	}
	return nil
}

func matchL3(k *Keys, st *flowState, key, mask *pipeline.Key) error {
	ip := st.l3 == EthTypeIPv4 || st.l3 == EthTypeIPv6
	if mask.IPDSCP != 0 || mask.IPECN != 0 {
		if !ip {
			return notExpressible("match ip_dscp/ip_ecn without eth_type ipv4 or ipv6")
		}
		k.IPTOS = key.IPDSCP&0x3f<<2 | key.IPECN&3
		k.IPTOSMask = mask.IPDSCP&0x3f<<2 | mask.IPECN&3
		st.dscp, st.dscpKnown = key.IPDSCP&0x3f, mask.IPDSCP&0x3f == 0x3f
	}
	if mask.IPTTL != 0 {
		if !ip {
			return notExpressible("match of the IP TTL without eth_type ipv4 or ipv6")
		}
		k.IPTTL, k.IPTTLMask = key.IPTTL, mask.IPTTL
		if mask.IPTTL == 0xff {
			st.ipTTL.setKnown(key.IPTTL)
		}
	}
	if mask.IPProto != 0 {
		if !ip {
			return notExpressible("match ip_proto without eth_type ipv4 or ipv6")
		}
		if mask.IPProto != 0xff {
			return notExpressible("match ip_proto with mask %#x: flower matches ip_proto exactly", mask.IPProto)
		}
		k.IPProto, k.HasIPProto = key.IPProto, true
		st.ipProto, st.hasIPProto = key.IPProto, true
	}
	l3Set := !allZero(mask.L3Src[:]) || !allZero(mask.L3Dst[:])
	switch st.l3 {
	case EthTypeIPv4, EthTypeARP:
		if !allZero(mask.L3Src[4:]) || !allZero(mask.L3Dst[4:]) {
			return notExpressible("match of a 16-byte address on eth_type %#04x", st.l3)
		}
		src, srcM := [4]byte(key.L3Src[:4]), [4]byte(mask.L3Src[:4])
		dst, dstM := [4]byte(key.L3Dst[:4]), [4]byte(mask.L3Dst[:4])
		if st.l3 == EthTypeIPv4 {
			k.IPv4Src, k.IPv4SrcMask, k.IPv4Dst, k.IPv4DstMask = src, srcM, dst, dstM
		} else {
			k.ArpSIP, k.ArpSIPMask, k.ArpTIP, k.ArpTIPMask = src, srcM, dst, dstM
		}
	case EthTypeIPv6:
		k.IPv6Src, k.IPv6SrcMask = key.L3Src, mask.L3Src
		k.IPv6Dst, k.IPv6DstMask = key.L3Dst, mask.L3Dst
	default:
		if l3Set {
			return notExpressible("match of an L3 address without eth_type ipv4, ipv6 or arp")
		}
	}
	hwSet := !allZero(mask.ArpSHA[:]) || !allZero(mask.ArpTHA[:])
	switch {
	case !hwSet:
	case st.l3 == EthTypeARP:
		k.ArpSHA, k.ArpSHAMask = key.ArpSHA, mask.ArpSHA
		k.ArpTHA, k.ArpTHAMask = key.ArpTHA, mask.ArpTHA
	case st.l3 == EthTypeIPv6:
		return notExpressible("match field ipv6_nd_sll/ipv6_nd_tll has no flower key")
	default:
		return notExpressible("match arp_sha/arp_tha without eth_type arp")
	}
	if mask.ArpOp != 0 {
		if st.l3 != EthTypeARP {
			return notExpressible("match arp_op without eth_type arp")
		}
		if mask.ArpOp != 0xffff || key.ArpOp > 0xff {
			// flower keeps the low 8 bits of the opcode.
			return notExpressible("match arp_op=%d/%#x: flower matches an exact 8-bit ARP opcode", key.ArpOp, mask.ArpOp)
		}
		k.ArpOp, k.ArpOpMask = uint8(key.ArpOp), 0xff
	}
	return nil
}

func matchL4(k *Keys, st *flowState, key, mask *pipeline.Key) error {
	ip := st.l3 == EthTypeIPv4 || st.l3 == EthTypeIPv6
	proto := -1
	if st.hasIPProto {
		proto = int(st.ipProto)
	}
	if mask.TpSrc != 0 || mask.TpDst != 0 {
		if !ip || (proto != pipeline.ProtoTCP && proto != pipeline.ProtoUDP && proto != pipeline.ProtoSCTP) {
			return notExpressible("match of L4 ports without ip_proto tcp, udp or sctp")
		}
		k.SrcPort, k.SrcPortMask = key.TpSrc, mask.TpSrc
		k.DstPort, k.DstPortMask = key.TpDst, mask.TpDst
	}
	if mask.TCPFlags != 0 {
		if !ip || proto != pipeline.ProtoTCP {
			return notExpressible("match tcp_flags without ip_proto tcp")
		}
		k.TCPFlags, k.TCPFlagsMask = key.TCPFlags&0x0fff, mask.TCPFlags&0x0fff
	}
	if mask.ICMPType != 0 || mask.ICMPCode != 0 {
		v4 := st.l3 == EthTypeIPv4 && proto == pipeline.ProtoICMP
		v6 := st.l3 == EthTypeIPv6 && proto == pipeline.ProtoICMPv6
		if !v4 && !v6 {
			return notExpressible("match of ICMP type/code without ip_proto icmp or icmpv6")
		}
		k.ICMPType, k.ICMPTypeMask = key.ICMPType, mask.ICMPType
		k.ICMPCode, k.ICMPCodeMask = key.ICMPCode, mask.ICMPCode
	}
	return nil
}
