package packet

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Parse fills k from frame (k is fully overwritten; InPort = inPort;
// Metadata and TunnelID zero) and returns the layout.
//
// It never fails: truncated or malformed headers stop parsing at the last
// complete layer and the fields beyond stay zero. The layers are Ethernet
// (14 bytes), each VLAN tag (4), the IPv4 header with its options, the IPv6
// fixed header, the IPv6 extension header chain (ip_proto is set only when
// the whole chain is present), the ARP packet (28 bytes, Ethernet/IPv4 only),
// and the TCP (20), UDP (8), SCTP (12), ICMPv4 (8) or ICMPv6 (4) header,
// which must lie within the IP packet (Layout.End). ND fields need the
// 24-byte NS/NA body; options are read up to the first malformed one.
//
// Conventions beyond those of pipeline.Key:
//   - eth_type is the ethertype after at most two tags (802.1Q or 802.1ad,
//     in any order); a third tag, or a truncated tag, leaves its TPID as
//     eth_type. An 802.3 length field is kept as is.
//   - vlan_vid/vlan_pcp come from the outer tag.
//   - IPv4 with a version other than 4 or IHL < 5, and IPv6 with a version
//     other than 6, are not parsed beyond Ethernet.
//   - ICMP type/code go to ICMPType/ICMPCode only (TpSrc/TpDst stay 0);
//     ICMPv4 is parsed only in IPv4 and ICMPv6 only in IPv6.
//   - IPv6 hop-by-hop, routing, destination options, fragment and AH
//     headers are skipped. A non-first fragment (IPv4 or IPv6) has ip_proto
//     but no L4 fields; a first fragment is parsed like an unfragmented
//     packet.
//   - ND: only NS (135) and NA (136) with code 0; the first source (type 1)
//     and target (type 2) link-layer address options of length 1 fill
//     ArpSHA and ArpTHA, in either message.
//   - Checksums are not verified.
func Parse(frame []byte, inPort uint32, k *pipeline.Key) Layout {
	*k = pipeline.Key{InPort: inPort}
	var l Layout
	if len(frame) > maxFrame {
		frame = frame[:maxFrame]
	}
	if len(frame) < ethLen {
		return l
	}
	copy(k.EthDst[:], frame[0:6])
	copy(k.EthSrc[:], frame[6:12])
	et := be16(frame[12:])
	off := ethLen
	for isTPID(et) && l.VLANs < 2 && len(frame) >= off+vlanLen {
		tci := be16(frame[off:])
		if l.VLANs == 0 {
			k.VlanVID = tci&vidMask | pipeline.VIDPresent
			k.VlanPCP = uint8(tci >> 13)
		}
		et = be16(frame[off+2:])
		off += vlanLen
		l.VLANs++
	}
	k.EthType = et
	l.L2Len = uint16(off)
	switch et {
	case pipeline.EthTypeIPv4:
		parseIPv4(frame, off, &l, k)
	case pipeline.EthTypeIPv6:
		parseIPv6(frame, off, &l, k)
	case pipeline.EthTypeARP:
		parseARP(frame, off, &l, k)
	}
	return l
}

func isTPID(et uint16) bool { return et == pipeline.EthTypeVLAN || et == pipeline.EthTypeQinQ }

func parseIPv4(b []byte, off int, l *Layout, k *pipeline.Key) {
	if len(b) < off+ipv4MinLen {
		return
	}
	vihl := b[off]
	hlen := int(vihl&0x0f) * 4
	if vihl>>4 != 4 || hlen < ipv4MinLen || len(b) < off+hlen {
		return
	}
	tos := b[off+1]
	k.IPDSCP = tos >> 2
	k.IPECN = tos & 3
	k.IPProto = b[off+9]
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
		return
	}
	parseL4(b[:end], off+hlen, false, l, k)
}

func parseIPv6(b []byte, off int, l *Layout, k *pipeline.Key) {
	if len(b) < off+ipv6Len || b[off]>>4 != 6 {
		return
	}
	w := be32(b[off:])
	tc := uint8(w >> 20)
	k.IPDSCP = tc >> 2
	k.IPECN = tc & 3
	k.IPv6Flabel = w & 0xfffff
	copy(k.L3Src[:], b[off+8:off+24])
	copy(k.L3Dst[:], b[off+24:off+40])
	end := len(b)
	if pl := int(be16(b[off+4:])); pl != 0 && off+ipv6Len+pl <= end {
		end = off + ipv6Len + pl
	}
	l.L3 = uint16(off)
	l.End = uint16(end)
	b = b[:end]
	nh := b[off+6]
	o := off + ipv6Len
	// Every extension header is at least 8 bytes, so the loop ends.
	for {
		var n int
		switch nh {
		case ipv6HopByHop, ipv6Routing, ipv6DestOpts:
			if len(b) < o+8 {
				return
			}
			n = (int(b[o+1]) + 1) * 8
		case ipv6AH:
			if len(b) < o+8 {
				return
			}
			n = (int(b[o+1]) + 2) * 4
		case ipv6Fragment:
			n = 8
		default:
			k.IPProto = nh
			parseL4(b, o, true, l, k)
			return
		}
		if len(b) < o+n || n < 8 {
			return
		}
		switch nh {
		case ipv6Routing:
			if b[o+3] != 0 {
				l.Routed = true
			}
		case ipv6Fragment:
			if be16(b[o+2:])&0xfff8 != 0 {
				l.Frag = true
				k.IPProto = b[o]
				return
			}
		}
		nh = b[o]
		o += n
	}
}

// parseL4 parses the transport header at off; b ends at the end of the IP
// packet. k.IPProto is set.
func parseL4(b []byte, off int, v6 bool, l *Layout, k *pipeline.Key) {
	switch k.IPProto {
	case pipeline.ProtoTCP:
		if len(b) < off+tcpLen {
			return
		}
		k.TCPFlags = be16(b[off+12:]) & 0x0fff
	case pipeline.ProtoUDP:
		if len(b) < off+udpLen {
			return
		}
	case pipeline.ProtoSCTP:
		if len(b) < off+sctpLen {
			return
		}
	case pipeline.ProtoICMP:
		if v6 || len(b) < off+icmpv4Len {
			return
		}
		k.ICMPType = b[off]
		k.ICMPCode = b[off+1]
		l.L4 = uint16(off)
		return
	case pipeline.ProtoICMPv6:
		if !v6 || len(b) < off+icmpv6Len {
			return
		}
		k.ICMPType = b[off]
		k.ICMPCode = b[off+1]
		l.L4 = uint16(off)
		parseND(b, l, k)
		return
	default:
		return
	}
	k.TpSrc = be16(b[off:])
	k.TpDst = be16(b[off+2:])
	l.L4 = uint16(off)
}

// parseND fills the ND fields of an ICMPv6 NS/NA at l.L4; b ends at l.End.
// The ND fields of k and l must be zero.
func parseND(b []byte, l *Layout, k *pipeline.Key) {
	off := int(l.L4)
	if t := b[off]; t != ndSolicit && t != ndAdvert || b[off+1] != 0 || len(b) < off+ndLen {
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
				}
			case ndOptTLL:
				if l.NDTLL == 0 {
					l.NDTLL = uint16(o + 2)
					copy(k.ArpTHA[:], b[o+2:o+8])
				}
			}
		}
		o += n
	}
}

func parseARP(b []byte, off int, l *Layout, k *pipeline.Key) {
	if len(b) < off+arpLen {
		return
	}
	a := b[off : off+arpLen]
	if be16(a[0:]) != 1 || be16(a[2:]) != pipeline.EthTypeIPv4 || a[4] != macLen || a[5] != 4 {
		return
	}
	k.ArpOp = be16(a[6:])
	copy(k.ArpSHA[:], a[8:14])
	copy(k.L3Src[:4], a[14:18])
	copy(k.ArpTHA[:], a[18:24])
	copy(k.L3Dst[:4], a[24:28])
	l.L3 = uint16(off)
	l.End = uint16(off + arpLen)
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

func put16(b []byte, v uint16) { binary.BigEndian.PutUint16(b, v) }
func put32(b []byte, v uint32) { binary.BigEndian.PutUint32(b, v) }
