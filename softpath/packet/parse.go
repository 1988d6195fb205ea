package packet

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Parse fills k from frame (k is fully overwritten; InPort = inPort;
// Metadata and TunnelID zero) and returns the layout.
//
// It never fails: truncated or malformed headers stop parsing at the last
// complete layer and the fields beyond stay zero (k.Parsed says which
// promised header was missing). The layers are Ethernet (14 bytes), each
// VLAN tag (4), then by ethertype: the IPv4 header with its options, the
// IPv6 fixed header and its extension header chain (ip_proto is set only
// when the whole chain is present), the ARP packet (28 bytes,
// Ethernet/IPv4 only), an MPLS label stack, or a PBB I-TAG with the
// customer frame it carries; after IP, the TCP (20), UDP (8), SCTP (12),
// ICMPv4 (8) or ICMPv6 (4) header, which must lie within the IP packet
// (Layout.End). ND fields need the 24-byte NS/NA body; options are read up
// to the first malformed one.
//
// Conventions beyond those of pipeline.Key:
//   - eth_type is the ethertype after at most two tags (802.1Q or 802.1ad,
//     in any order); a third tag, or a truncated tag, leaves its TPID as
//     eth_type. An 802.3 length field is kept as is.
//   - vlan_vid/vlan_pcp come from the outer tag, Vlan2VID/Vlan2PCP from
//     the second.
//   - IPv4 with a version other than 4 or IHL < 5, and IPv6 with a version
//     other than 6, are not parsed beyond Ethernet (ParsedNoL3).
//   - IPTTL is the IPv4 TTL or the IPv6 hop limit.
//   - ICMP type/code go to ICMPType/ICMPCode only (TpSrc/TpDst stay 0);
//     ICMPv4 is parsed only in IPv4 and ICMPv6 only in IPv6.
//   - IPv6 extension headers (hop-by-hop, routing, destination options,
//     fragment, AH) are walked, at most MaxIPv6ExtHeaders (10) of them (a longer
//     chain is incomplete). ipv6_exthdr gets a flag for each complete one,
//     NONEXT when the chain ends in next header 59 and ESP when it reaches
//     an ESP header (50); either ends the chain with ip_proto 59 / 50. UNREP
//     is set when a header occurs again, UNSEQ when one comes out of RFC
//     2460's recommended order: hop-by-hop, destination options (followed by
//     a routing header), routing, fragment, AH, ESP, destination options
//     (before the upper layer). Hop-by-hop must be first, a destination
//     options header may occur once in each of its two places.
//   - A non-first fragment (IPv4 or IPv6) has ip_proto but no L4 fields; a
//     first fragment is parsed like an unfragmented packet.
//   - ND: only NS (135) and NA (136) with code 0; the first source (type 1)
//     and target (type 2) link-layer address options of length 1 fill
//     ArpSHA and ArpTHA, in either message.
//   - MPLS (eth_type 0x8847 or 0x8848): the label stack entries are read
//     up to the bottom of stack, at most pipeline.MPLSDepthMax (8) of them; the top
//     MPLSStackMax go to Key.MPLS, their count to MPLSDepth. After the
//     bottom of stack the payload is parsed speculatively as IPv4 or IPv6
//     when its version nibble is 4 or 6 (MPLS does not say what it
//     carries): its fields fill the L3/L4 fields (ParsedMPLSIPv4/IPv6), so
//     a pop_mpls to IP needs no reparse, but no OpenFlow match can see them
//     (their prerequisites need an IP eth_type).
//   - PBB (eth_type 0x88e7, usually after an 802.1ad B-TAG): the I-TAG's
//     I-SID fills pbb_isid; the customer frame it carries (C-DA, C-SA, at
//     most two tags, ethertype) fills the hidden PBBInner* fields, and its
//     payload (IP, ARP, MPLS as above) the usual fields. A PBB frame inside
//     the customer frame is not parsed further.
//   - Checksums are not verified.
func Parse(frame []byte, inPort uint32, k *pipeline.Key) Layout {
	*k = pipeline.Key{InPort: inPort}
	var l Layout
	if len(frame) > maxFrame {
		frame = frame[:maxFrame]
	}
	if len(frame) < ethLen {
		k.Parsed = pipeline.ParsedShort
		return l
	}
	copy(k.EthDst[:], frame[0:6])
	copy(k.EthSrc[:], frame[6:12])
	et, off := be16(frame[12:]), ethLen
	if isTPID(et) {
		et, off, l.VLANs = parseTags(frame, 12, &k.VlanVID, &k.VlanPCP, &k.Vlan2VID, &k.Vlan2PCP, &k.Parsed,
			pipeline.ParsedVlanSTag, pipeline.ParsedVlan2STag)
	}
	k.EthType = et
	l.L2Len = uint16(off)
	switch et {
	case pipeline.EthTypeIPv4:
		if !parseIPv4(frame, off, &l, k) {
			k.Parsed |= pipeline.ParsedNoL3
		}
	case pipeline.EthTypePBB:
		parsePBB(frame, off, &l, k)
	default:
		parsePayload(frame, et, off, &l, k)
	}
	return l
}

// parseTags reads the ethertype at off and up to two VLAN tags after it,
// filling the outer and second tag's VID (| VIDPresent) and PCP, and
// setting flag stag1 / stag2 in *flags for an 802.1ad one. It returns the
// ethertype after the tags, the offset after it and the tag count.
func parseTags(b []byte, off int, vid *uint16, pcp *uint8, vid2 *uint16, pcp2 *uint8, flags *uint16, stag1, stag2 uint16) (uint16, int, uint8) {
	et := be16(b[off:])
	off += 2
	var n uint8
	for isTPID(et) && n < 2 && len(b) >= off+vlanLen {
		tci := be16(b[off:])
		stag := stag1
		if n == 0 {
			*vid = tci&vidMask | pipeline.VIDPresent
			*pcp = uint8(tci >> 13)
		} else {
			*vid2 = tci&vidMask | pipeline.VIDPresent
			*pcp2 = uint8(tci >> 13)
			stag = stag2
		}
		if et == pipeline.EthTypeQinQ {
			*flags |= stag
		}
		et = be16(b[off+2:])
		off += vlanLen
		n++
	}
	return et, off, n
}

// parsePayload parses the header of ethertype et at off (IPv4, IPv6, ARP
// or an MPLS stack).
func parsePayload(b []byte, et uint16, off int, l *Layout, k *pipeline.Key) {
	switch et {
	case pipeline.EthTypeIPv4:
		if !parseIPv4(b, off, l, k) {
			k.Parsed |= pipeline.ParsedNoL3
		}
	case pipeline.EthTypeIPv6:
		if !parseIPv6(b, off, l, k) {
			k.Parsed |= pipeline.ParsedNoL3
		}
	case pipeline.EthTypeARP:
		if !parseARP(b, off, l, k) {
			k.Parsed |= pipeline.ParsedNoL3
		}
	case pipeline.EthTypeMPLS, pipeline.EthTypeMPLSMcast:
		parseMPLS(b, off, l, k)
	}
}

func isTPID(et uint16) bool { return et == pipeline.EthTypeVLAN || et == pipeline.EthTypeQinQ }

func isMPLS(et uint16) bool { return et == pipeline.EthTypeMPLS || et == pipeline.EthTypeMPLSMcast }

// parseMPLS reads the label stack at off and, after its bottom, the
// payload if it looks like IP.
func parseMPLS(b []byte, off int, l *Layout, k *pipeline.Key) {
	l.MPLS = uint16(off)
	n := 0
	bos := false
	for n < pipeline.MPLSDepthMax && len(b) >= off+mplsLen {
		lse := be32(b[off:])
		if n < pipeline.MPLSStackMax {
			k.MPLS[n] = lse
		}
		n++
		off += mplsLen
		if lse&mplsBoS != 0 {
			bos = true
			break
		}
	}
	k.MPLSDepth = uint8(n)
	l.MPLSLabels = uint8(n)
	if n == 0 {
		l.MPLS = 0
	}
	if !bos || len(b) <= off {
		return
	}
	switch b[off] >> 4 {
	case 4:
		if parseIPv4(b, off, l, k) {
			k.Parsed |= pipeline.ParsedMPLSIPv4
		}
	case 6:
		if parseIPv6(b, off, l, k) {
			k.Parsed |= pipeline.ParsedMPLSIPv6
		}
	}
}

// parsePBB reads the I-TAG at off (after ethertype 0x88e7) and the
// customer frame after it.
func parsePBB(b []byte, off int, l *Layout, k *pipeline.Key) {
	if len(b) < off+itagLen+2*macLen+2 {
		k.Parsed |= pipeline.ParsedNoITag
		return
	}
	k.PBBISID = be32(b[off:]) & isidMask
	c := off + itagLen
	copy(k.PBBInnerDst[:], b[c:c+6])
	copy(k.PBBInnerSrc[:], b[c+6:c+12])
	var vid2 uint16
	var pcp2 uint8
	et, end, n := parseTags(b, c+12, &k.PBBInnerVID, &k.PBBInnerPCP, &vid2, &pcp2, &k.Parsed, pipeline.ParsedInnerVlanSTag, 0)
	if n == 2 {
		k.Parsed |= pipeline.ParsedInnerQinQ
	}
	k.PBBInnerType = et
	l.PBB = uint16(off)
	l.InnerL2Len = uint16(end)
	l.InnerVLANs = n
	if et != pipeline.EthTypePBB {
		parsePayload(b, et, end, l, k)
	}
}

// parseIPv4 parses the IPv4 header at off and what follows; it reports
// whether the header was complete and well formed (nothing is set
// otherwise).
func parseIPv4(b []byte, off int, l *Layout, k *pipeline.Key) bool {
	if len(b) < off+ipv4MinLen {
		return false
	}
	vihl := b[off]
	hlen := int(vihl&0x0f) * 4
	if vihl>>4 != 4 || hlen < ipv4MinLen || len(b) < off+hlen {
		return false
	}
	tos := b[off+1]
	k.IPDSCP = tos >> 2
	k.IPECN = tos & 3
	k.IPTTL = b[off+8]
	k.IPProto = b[off+9]
	l.Proto = uint16(off + 9)
	copy(k.L3Src[:4], b[off+12:off+16])
	copy(k.L3Dst[:4], b[off+16:off+20])
	end := len(b)
	if tl := int(be16(b[off+2:])); tl >= hlen && off+tl <= end {
		end = off + tl
	}
	l.L3 = uint16(off)
	l.End = uint16(end)
	if be16(b[off+6:])&0x1fff != 0 {
		l.Frag = true
		markNoL4(k, false)
		return true
	}
	parseL4(b[:end], off+hlen, false, l, k)
	return true
}

// Ranks of the IPv6 extension headers in RFC 2460's recommended order
// (section 4.1), for OFPIEH_UNSEQ, and the flag of each.
const (
	rankHop = iota
	rankDestFirst
	rankRouting
	rankFragment
	rankAH
	rankESP
	rankDestLast
)

// parseIPv6 parses the IPv6 header at off and what follows; it reports
// whether the fixed header was complete and well formed (nothing is set
// otherwise).
func parseIPv6(b []byte, off int, l *Layout, k *pipeline.Key) bool {
	if len(b) < off+ipv6Len || b[off]>>4 != 6 {
		return false
	}
	w := be32(b[off:])
	tc := uint8(w >> 20)
	k.IPDSCP = tc >> 2
	k.IPECN = tc & 3
	k.IPv6Flabel = w & 0xfffff
	k.IPTTL = b[off+7]
	copy(k.L3Src[:], b[off+8:off+24])
	copy(k.L3Dst[:], b[off+24:off+40])
	end := len(b)
	if pl := int(be16(b[off+4:])); pl != 0 && off+ipv6Len+pl <= end {
		end = off + ipv6Len + pl
	}
	l.L3 = uint16(off)
	l.End = uint16(end)
	b = b[:end]
	nh, nhOff := b[off+6], off+6 // the next header and where it is
	o := off + ipv6Len
	var seen uint8 // ranks seen, for UNREP
	last := -1     // rank of the previous header, for UNSEQ
	for i := 0; ; i++ {
		var n, rank int
		var flag uint16
		switch nh {
		case pipeline.ProtoHopByHop, pipeline.ProtoRouting, pipeline.ProtoDestOpts, pipeline.ProtoAH:
			if len(b) < o+8 {
				return true
			}
			switch nh {
			case pipeline.ProtoHopByHop:
				n, rank, flag = (int(b[o+1])+1)*8, rankHop, pipeline.IEHHop
			case pipeline.ProtoRouting:
				n, rank, flag = (int(b[o+1])+1)*8, rankRouting, pipeline.IEHRouter
			case pipeline.ProtoDestOpts:
				n, rank, flag = (int(b[o+1])+1)*8, rankDestLast, pipeline.IEHDest
				if b[o] == pipeline.ProtoRouting {
					rank = rankDestFirst
				}
			default:
				n, rank, flag = (int(b[o+1])+2)*4, rankAH, pipeline.IEHAuth
			}
		case pipeline.ProtoFragment:
			n, rank, flag = 8, rankFragment, pipeline.IEHFrag
		case pipeline.ProtoESP:
			// The rest is encrypted: ESP ends the chain.
			exthdrOrder(k, &seen, &last, rankESP, i)
			k.IPv6Exthdr |= pipeline.IEHESP
			k.IPProto, l.Proto = nh, uint16(nhOff)
			return true
		case pipeline.ProtoNoNext:
			k.IPv6Exthdr |= pipeline.IEHNoNext
			k.IPProto, l.Proto = nh, uint16(nhOff)
			return true
		default:
			k.IPProto, l.Proto = nh, uint16(nhOff)
			parseL4(b, o, true, l, k)
			return true
		}
		if i == MaxIPv6ExtHeaders || len(b) < o+n || n < 8 {
			return true // incomplete chain: no ip_proto
		}
		exthdrOrder(k, &seen, &last, rank, i)
		k.IPv6Exthdr |= flag
		switch nh {
		case pipeline.ProtoRouting:
			if b[o+3] != 0 {
				l.Routed = true
			}
		case pipeline.ProtoFragment:
			if be16(b[o+2:])&0xfff8 != 0 {
				l.Frag = true
				k.IPProto, l.Proto = b[o], uint16(o)
				markNoL4(k, true)
				return true
			}
		}
		nh, nhOff = b[o], o
		o += n
	}
}

// exthdrOrder sets UNREP and UNSEQ for the i-th extension header, of the
// given rank.
func exthdrOrder(k *pipeline.Key, seen *uint8, last *int, rank, i int) {
	if *seen&(1<<rank) != 0 {
		k.IPv6Exthdr |= pipeline.IEHUnrep
	}
	if rank < *last || rank == rankHop && i != 0 {
		k.IPv6Exthdr |= pipeline.IEHUnseq
	}
	*seen |= 1 << rank
	*last = rank
}

// markNoL4 sets ParsedNoL4 when k.IPProto names a transport header Parse
// reads (in IPv6 if v6) and it is not there.
func markNoL4(k *pipeline.Key, v6 bool) {
	switch k.IPProto {
	case pipeline.ProtoTCP, pipeline.ProtoUDP, pipeline.ProtoSCTP:
	case pipeline.ProtoICMP:
		if v6 {
			return
		}
	case pipeline.ProtoICMPv6:
		if !v6 {
			return
		}
	default:
		return
	}
	k.Parsed |= pipeline.ParsedNoL4
}

// parseL4 parses the transport header at off; b ends at the end of the IP
// packet. k.IPProto is set.
func parseL4(b []byte, off int, v6 bool, l *Layout, k *pipeline.Key) {
	need := 0
	switch k.IPProto {
	case pipeline.ProtoTCP:
		need = tcpLen
	case pipeline.ProtoUDP:
		need = udpLen
	case pipeline.ProtoSCTP:
		need = sctpLen
	case pipeline.ProtoICMP:
		if v6 {
			return
		}
		need = icmpv4Len
	case pipeline.ProtoICMPv6:
		if !v6 {
			return
		}
		need = icmpv6Len
	default:
		return
	}
	if len(b) < off+need {
		k.Parsed |= pipeline.ParsedNoL4
		return
	}
	l.L4 = uint16(off)
	switch k.IPProto {
	case pipeline.ProtoICMP:
		k.ICMPType = b[off]
		k.ICMPCode = b[off+1]
		return
	case pipeline.ProtoICMPv6:
		k.ICMPType = b[off]
		k.ICMPCode = b[off+1]
		parseND(b, l, k)
		return
	case pipeline.ProtoTCP:
		k.TCPFlags = be16(b[off+12:]) & 0x0fff
	}
	k.TpSrc = be16(b[off:])
	k.TpDst = be16(b[off+2:])
}

// isND reports whether an ICMPv6 type and code make a neighbor
// solicitation or advertisement.
func isND(typ, code uint8) bool { return (typ == ndSolicit || typ == ndAdvert) && code == 0 }

// parseND fills the ND fields of an ICMPv6 NS/NA at l.L4; b ends at l.End.
// The ND fields and flags of k and l must be zero.
func parseND(b []byte, l *Layout, k *pipeline.Key) {
	off := int(l.L4)
	if !isND(b[off], b[off+1]) {
		return
	}
	if len(b) < off+ndLen {
		k.Parsed |= pipeline.ParsedNoND
		return
	}
	l.NDTarget = uint16(off + 8)
	copy(k.NDTarget[:], b[off+8:off+24])
	for o := off + ndLen; len(b) >= o+2; {
		n := int(b[o+1]) * 8
		if n == 0 || len(b) < o+n {
			return
		}
		if n == ndOptLLLen {
			switch b[o] {
			case ndOptSLL:
				if l.NDSLL == 0 {
					l.NDSLL = uint16(o + 2)
					copy(k.ArpSHA[:], b[o+2:o+8])
					k.Parsed |= pipeline.ParsedNDSLL
				}
			case ndOptTLL:
				if l.NDTLL == 0 {
					l.NDTLL = uint16(o + 2)
					copy(k.ArpTHA[:], b[o+2:o+8])
					k.Parsed |= pipeline.ParsedNDTLL
				}
			}
		}
		o += n
	}
}

// parseARP parses an Ethernet/IPv4 ARP packet at off; it reports whether
// it was one.
func parseARP(b []byte, off int, l *Layout, k *pipeline.Key) bool {
	if len(b) < off+arpLen {
		return false
	}
	a := b[off : off+arpLen]
	if be16(a[0:]) != 1 || be16(a[2:]) != pipeline.EthTypeIPv4 || a[4] != macLen || a[5] != 4 {
		return false
	}
	k.ArpOp = be16(a[6:])
	copy(k.ArpSHA[:], a[8:14])
	copy(k.L3Src[:4], a[14:18])
	copy(k.ArpTHA[:], a[18:24])
	copy(k.L3Dst[:4], a[24:28])
	l.L3 = uint16(off)
	l.End = uint16(off + arpLen)
	return true
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
