package packet

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Spec describes a frame for Build, outermost header first. Every section
// is optional (nil: absent); Build writes exactly the headers given, in the
// order Ethernet, VLAN tags, PBB I-TAG and customer header, MPLS label
// stack, L3, L4, payload, padding, and fills in what a real stack would
// compute (lengths, protocol numbers, checksums) unless a field overrides
// it.
//
// Example, a TCP SYN in a VLAN:
//
//	frame := packet.Build(packet.Spec{
//		EthDst: packet.MAC("02:00:00:00:00:02"),
//		EthSrc: packet.MAC("02:00:00:00:00:01"),
//		VLANs:  []packet.VLAN{{VID: 10}},
//		IPv4:   &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
//		TCP:    &packet.TCP{Src: 1234, Dst: 80, Flags: packet.TCPSyn},
//		MinLen: 60,
//	})
type Spec struct {
	EthDst, EthSrc [6]byte
	// VLANs are the tags after the MACs, outermost first.
	VLANs []VLAN
	// EthType is the ethertype after the tags (the customer's tags under
	// PBB); 0: that of the L3 section (IPv4, IPv6 or ARP), or 0x88b5 (local
	// experimental) without one. With an MPLS stack it is the stack's
	// ethertype: 0x8848, or else 0x8847.
	EthType uint16

	// PBB, when set, makes the frame an 802.1ah backbone frame: EthDst,
	// EthSrc and VLANs are the B-DA, B-SA and B-TAG, followed by ethertype
	// 0x88e7, the I-TAG and the customer frame (PBB.Dst, PBB.Src, PBB.VLANs,
	// then the ethertype and the rest).
	PBB *PBB

	// MPLS is a label stack after the tags, top first; the L3 section (or
	// Payload) follows it. Build sets the bottom-of-stack bit on the last
	// entry only, or on none with MPLSNoBoS.
	MPLS      []MPLS
	MPLSNoBoS bool

	// At most one L3 section.
	IPv4 *IPv4
	IPv6 *IPv6
	ARP  *ARP

	// At most one L4 section, inside IPv4 or IPv6.
	TCP    *TCP
	UDP    *UDP
	SCTP   *SCTP
	ICMPv4 *ICMPv4
	ICMPv6 *ICMPv6

	// Payload follows the innermost header (L4, L3 or Ethernet) and is
	// covered by its lengths and checksums.
	Payload []byte
	// MinLen pads the frame with zeros to at least MinLen bytes (60 is the
	// Ethernet minimum without FCS). Padding is outside the IP packet.
	MinLen int
}

// PBB is an 802.1ah I-TAG and the customer header after it.
type PBB struct {
	ISID     uint32 // 24 bits
	PCP      uint8  // I-PCP, 3 bits
	DEI, UCA bool
	Dst, Src [6]byte // C-DA, C-SA
	VLANs    []VLAN  // the customer's tags, outermost first
}

// MPLS is a label stack entry (the bottom-of-stack bit is Build's).
type MPLS struct {
	Label uint32 // 20 bits
	TC    uint8  // 3 bits
	TTL   uint8
}

// LSE returns the entry as on the wire, with bottom of stack bos.
func (m MPLS) LSE(bos bool) uint32 {
	v := m.Label&0xfffff<<12 | uint32(m.TC&7)<<9 | uint32(m.TTL)
	if bos {
		v |= mplsBoS
	}
	return v
}

// VLAN is an 802.1Q / 802.1ad tag.
type VLAN struct {
	TPID uint16 // 0: 0x8100
	VID  uint16 // 12 bits
	PCP  uint8  // 3 bits
	DEI  bool
}

// IPv4 is an IPv4 header. The header checksum is computed.
type IPv4 struct {
	Src, Dst  netip.Addr // IPv4 addresses; the zero Addr is 0.0.0.0
	DSCP, ECN uint8
	TTL       uint8 // 0: 64
	ID        uint16
	DF, MF    bool
	// FragOffset is the fragment offset in 8-byte units (non-zero: a
	// non-first fragment).
	FragOffset uint16
	// Proto is the protocol; 0: that of the L4 section (or 0 without
	// one). Another one puts the L4 section under it, its checksum
	// computed over a pseudo header with Proto (as os-ken's packet library
	// builds it).
	Proto    uint8
	Options  []byte // zero-padded to a multiple of 4 bytes (IHL follows)
	TotalLen uint16 // 0: computed
}

// IPv6 is an IPv6 header and its extension headers. The L4 checksum's
// pseudo header always uses Dst, even after a routing header with segments
// left (where a real sender would use the final destination).
type IPv6 struct {
	Src, Dst  netip.Addr // IPv6 addresses; the zero Addr is ::
	DSCP, ECN uint8
	FlowLabel uint32 // 20 bits
	HopLimit  uint8  // 0: 64
	// Proto is the upper-layer protocol after the extension headers; 0:
	// that of the L4 section, or 59 (no next header) without one. The L4
	// checksum's pseudo header carries it (see IPv4.Proto).
	Proto      uint8
	Ext        []IPv6Ext
	PayloadLen uint16 // 0: computed
}

// IPv6Ext is an IPv6 extension header. Build chains the next-header fields.
type IPv6Ext struct {
	// Type is the header's protocol number: 0 hop-by-hop options, 43
	// routing, 44 fragment, 51 authentication (AH), 60 destination options.
	Type uint8
	// Data is the body after the next-header and length bytes (for routing:
	// routing type, segments left, ...), zero-padded to the header's unit
	// (8 bytes, 4 for AH). Unused for the fragment header.
	Data []byte
	// Fragment header fields.
	FragOffset uint16 // in 8-byte units
	More       bool
	ID         uint32
}

// ARP is an Ethernet/IPv4 ARP packet.
type ARP struct {
	Op       uint16 // 1 request, 2 reply
	SHA, THA [6]byte
	SPA, TPA netip.Addr // IPv4
}

// TCP flag bits (Flags is 12 bits wide: NS, 3 reserved bits, then these).
const (
	TCPFin uint16 = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
)

// TCP is a TCP header; the checksum is computed over the pseudo header.
type TCP struct {
	Src, Dst uint16
	Seq, Ack uint32
	Flags    uint16 // 12 bits
	Window   uint16
	Options  []byte // zero-padded to a multiple of 4 bytes (data offset follows)
}

// UDP is a UDP header; length and checksum are computed.
type UDP struct {
	Src, Dst   uint16
	NoChecksum bool // leave the checksum zero ("none", IPv4)
}

// SCTP is an SCTP common header; chunks go in Spec.Payload. The CRC32c is
// computed.
type SCTP struct {
	Src, Dst uint16
	Tag      uint32
}

// ICMPv4 is an ICMP header; the checksum is computed.
type ICMPv4 struct {
	Type, Code uint8
	Rest       [4]byte // the rest of the header (echo: identifier, sequence)
}

// ICMPv6 is an ICMPv6 header, optionally a neighbor discovery message; the
// checksum is computed over the pseudo header.
type ICMPv6 struct {
	Type, Code uint8
	// Rest are the 4 bytes after the checksum (echo: identifier and
	// sequence; NS: reserved; NA: flags).
	Rest [4]byte
	// Target, when valid, follows Rest (NS/NA target address).
	Target netip.Addr
	// Options follow Target (ND options).
	Options []NDOption
}

// NDOption is a neighbor discovery option; its length is Data rounded up
// to 8-byte units with the type and length bytes.
type NDOption struct {
	Type uint8 // 1 source, 2 target link-layer address
	Data []byte
}

// SLL returns a source link-layer address option.
func SLL(mac [6]byte) NDOption { return NDOption{Type: ndOptSLL, Data: mac[:]} }

// TLL returns a target link-layer address option.
func TLL(mac [6]byte) NDOption { return NDOption{Type: ndOptTLL, Data: mac[:]} }

// MAC parses a MAC address such as "02:00:00:00:00:01"; it panics on a
// malformed one (for tests and literals).
func MAC(s string) [6]byte {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		panic(fmt.Sprintf("packet.MAC(%q): not a 48-bit MAC address", s))
	}
	return [6]byte(hw)
}

// Build returns the frame spec describes, with 32 bytes of spare capacity
// (room for a push_pbb, a push_mpls and two push_vlan). It panics on a contradictory spec (two L3 or
// two L4 sections, an L4 section without IP, an IPv6 address where an
// IPv4 one belongs): it is meant for tests.
func Build(spec Spec) []byte {
	if count(spec.IPv4 != nil, spec.IPv6 != nil, spec.ARP != nil) > 1 {
		panic("packet.Build: more than one L3 section")
	}
	nL4 := count(spec.TCP != nil, spec.UDP != nil, spec.SCTP != nil, spec.ICMPv4 != nil, spec.ICMPv6 != nil)
	if nL4 > 1 {
		panic("packet.Build: more than one L4 section")
	}
	if nL4 > 0 && spec.IPv4 == nil && spec.IPv6 == nil {
		panic("packet.Build: L4 section without IPv4 or IPv6")
	}

	proto, l4 := buildL4(&spec)
	noUDP := spec.UDP != nil && spec.UDP.NoChecksum
	var l3 []byte
	ethType := spec.EthType
	var et uint16 = 0x88b5
	switch {
	case spec.IPv4 != nil:
		et = pipeline.EthTypeIPv4
		l3 = buildIPv4(spec.IPv4, proto, l4, noUDP)
	case spec.IPv6 != nil:
		et = pipeline.EthTypeIPv6
		l3 = buildIPv6(spec.IPv6, proto, l4, noUDP)
	case spec.ARP != nil:
		et = pipeline.EthTypeARP
		l3 = buildARP(spec.ARP)
	}
	if ethType == 0 {
		ethType = et
	}

	b := make([]byte, 0, 64+len(l3)+len(l4))
	b = append(b, spec.EthDst[:]...)
	b = append(b, spec.EthSrc[:]...)
	b = appendTags(b, spec.VLANs)
	if p := spec.PBB; p != nil {
		b = binary.BigEndian.AppendUint16(b, pipeline.EthTypePBB)
		tci := uint32(p.PCP&7)<<29 | p.ISID&isidMask
		if p.DEI {
			tci |= 1 << 28
		}
		if p.UCA {
			tci |= 1 << 27
		}
		b = binary.BigEndian.AppendUint32(b, tci)
		b = append(b, p.Dst[:]...)
		b = append(b, p.Src[:]...)
		b = appendTags(b, p.VLANs)
	}
	if len(spec.MPLS) > 0 {
		if ethType != pipeline.EthTypeMPLSMcast {
			ethType = pipeline.EthTypeMPLS
		}
		b = binary.BigEndian.AppendUint16(b, ethType)
		for i, m := range spec.MPLS {
			b = binary.BigEndian.AppendUint32(b, m.LSE(i == len(spec.MPLS)-1 && !spec.MPLSNoBoS))
		}
	} else {
		b = binary.BigEndian.AppendUint16(b, ethType)
	}
	b = append(b, l3...)
	b = append(b, l4...)
	if l3 == nil && l4 == nil {
		b = append(b, spec.Payload...)
	}
	for len(b) < spec.MinLen {
		b = append(b, 0)
	}
	out := make([]byte, len(b), len(b)+32)
	copy(out, b)
	return out
}

// appendTags appends VLAN tags (TPID 0: 0x8100).
func appendTags(b []byte, tags []VLAN) []byte {
	for _, v := range tags {
		tpid := v.TPID
		if tpid == 0 {
			tpid = pipeline.EthTypeVLAN
		}
		tci := v.VID&vidMask | uint16(v.PCP&7)<<13
		if v.DEI {
			tci |= 1 << 12
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, tci)
	}
	return b
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}

// buildL4 returns the L4 protocol number and the L4 segment (header and
// payload) with the checksum field zero; the L3 builder fills it in. With
// no L4 section the segment is the payload.
func buildL4(s *Spec) (uint8, []byte) {
	var b []byte
	var proto uint8
	switch {
	case s.TCP != nil:
		t := s.TCP
		proto = pipeline.ProtoTCP
		opts := pad(t.Options, 4)
		b = binary.BigEndian.AppendUint16(b, t.Src)
		b = binary.BigEndian.AppendUint16(b, t.Dst)
		b = binary.BigEndian.AppendUint32(b, t.Seq)
		b = binary.BigEndian.AppendUint32(b, t.Ack)
		doff := uint16(tcpLen+len(opts)) / 4
		b = binary.BigEndian.AppendUint16(b, doff<<12|t.Flags&0x0fff)
		b = binary.BigEndian.AppendUint16(b, t.Window)
		b = append(b, 0, 0, 0, 0) // checksum, urgent pointer
		b = append(b, opts...)
	case s.UDP != nil:
		proto = pipeline.ProtoUDP
		b = binary.BigEndian.AppendUint16(b, s.UDP.Src)
		b = binary.BigEndian.AppendUint16(b, s.UDP.Dst)
		b = binary.BigEndian.AppendUint16(b, uint16(udpLen+len(s.Payload)))
		b = append(b, 0, 0)
	case s.SCTP != nil:
		proto = pipeline.ProtoSCTP
		b = binary.BigEndian.AppendUint16(b, s.SCTP.Src)
		b = binary.BigEndian.AppendUint16(b, s.SCTP.Dst)
		b = binary.BigEndian.AppendUint32(b, s.SCTP.Tag)
		b = append(b, 0, 0, 0, 0)
	case s.ICMPv4 != nil:
		proto = pipeline.ProtoICMP
		b = append(b, s.ICMPv4.Type, s.ICMPv4.Code, 0, 0)
		b = append(b, s.ICMPv4.Rest[:]...)
	case s.ICMPv6 != nil:
		c := s.ICMPv6
		proto = pipeline.ProtoICMPv6
		b = append(b, c.Type, c.Code, 0, 0)
		b = append(b, c.Rest[:]...)
		if c.Target.IsValid() {
			t := addr16(c.Target)
			b = append(b, t[:]...)
		}
		for _, o := range c.Options {
			body := pad(append([]byte{o.Type, 0}, o.Data...), 8)
			body[1] = uint8(len(body) / 8)
			b = append(b, body...)
		}
	default:
		if s.IPv4 == nil && s.IPv6 == nil && s.ARP == nil {
			return 0, nil
		}
	}
	return proto, append(b, s.Payload...)
}

// finishL4 fills in the checksum of segment l4 (protocol proto) given the
// pseudo-header sum ps.
func finishL4(proto uint8, l4 []byte, ps uint64, noUDPChecksum bool) {
	switch proto {
	case pipeline.ProtoTCP:
		if len(l4) >= tcpLen {
			put16(l4[16:], checksum(l4, ps))
		}
	case pipeline.ProtoUDP:
		if len(l4) >= udpLen && !noUDPChecksum {
			c := checksum(l4, ps)
			if c == 0 {
				c = 0xffff
			}
			put16(l4[6:], c)
		}
	case pipeline.ProtoSCTP:
		if len(l4) >= sctpLen {
			binary.LittleEndian.PutUint32(l4[8:], sctpCRC(l4))
		}
	case pipeline.ProtoICMP:
		if len(l4) >= 4 {
			put16(l4[2:], checksum(l4, 0))
		}
	case pipeline.ProtoICMPv6:
		if len(l4) >= 4 {
			put16(l4[2:], checksum(l4, ps))
		}
	}
}

// buildIPv4 builds the IPv4 header and fills in the L4 checksum.
func buildIPv4(h *IPv4, l4Proto uint8, l4 []byte, noUDP bool) []byte {
	opts := pad(h.Options, 4)
	hlen := ipv4MinLen + len(opts)
	b := make([]byte, hlen)
	b[0] = 4<<4 | uint8(hlen/4)
	b[1] = h.DSCP<<2 | h.ECN&3
	tl := h.TotalLen
	if tl == 0 {
		tl = uint16(hlen + len(l4))
	}
	put16(b[2:], tl)
	put16(b[4:], h.ID)
	frag := h.FragOffset & 0x1fff
	if h.DF {
		frag |= 0x4000
	}
	if h.MF {
		frag |= 0x2000
	}
	put16(b[6:], frag)
	b[8] = h.TTL
	if b[8] == 0 {
		b[8] = 64
	}
	b[9] = h.Proto
	if b[9] == 0 {
		b[9] = l4Proto
	}
	src, dst := addr4(h.Src), addr4(h.Dst)
	copy(b[12:], src[:])
	copy(b[16:], dst[:])
	copy(b[20:], opts)
	put16(b[10:], checksum(b, 0))
	finishL4(l4Proto, l4, pseudoSum(src[:], dst[:], b[9], len(l4)), noUDP)
	return b
}

// buildIPv6 builds the IPv6 header and extension headers and fills in the
// L4 checksum.
func buildIPv6(h *IPv6, l4Proto uint8, l4 []byte, noUDP bool) []byte {
	upper := h.Proto
	if upper == 0 {
		upper = l4Proto
	}
	if upper == 0 {
		upper = 59
	}
	var ext []byte
	for i, e := range h.Ext {
		next := upper
		if i+1 < len(h.Ext) {
			next = h.Ext[i+1].Type
		}
		var x []byte
		switch e.Type {
		case pipeline.ProtoFragment:
			x = make([]byte, 8)
			x[0] = next
			fo := e.FragOffset << 3
			if e.More {
				fo |= 1
			}
			put16(x[2:], fo)
			put32(x[4:], e.ID)
		case pipeline.ProtoAH:
			x = pad(append([]byte{next, 0}, e.Data...), 8) // 8: keep 8-byte alignment for IPv6
			x[1] = uint8(len(x)/4 - 2)
		default:
			x = pad(append([]byte{next, 0}, e.Data...), 8)
			x[1] = uint8(len(x)/8 - 1)
		}
		ext = append(ext, x...)
	}
	first := upper
	if len(h.Ext) > 0 {
		first = h.Ext[0].Type
	}
	b := make([]byte, ipv6Len, ipv6Len+len(ext))
	tc := uint32(h.DSCP<<2 | h.ECN&3)
	put32(b, 6<<28|tc<<20|h.FlowLabel&0xfffff)
	pl := h.PayloadLen
	if pl == 0 {
		pl = uint16(len(ext) + len(l4))
	}
	put16(b[4:], pl)
	b[6] = first
	b[7] = h.HopLimit
	if b[7] == 0 {
		b[7] = 64
	}
	src, dst := addr16(h.Src), addr16(h.Dst)
	copy(b[8:], src[:])
	copy(b[24:], dst[:])
	finishL4(l4Proto, l4, pseudoSum(src[:], dst[:], upper, len(l4)), noUDP)
	return append(b, ext...)
}

func buildARP(a *ARP) []byte {
	b := make([]byte, arpLen)
	put16(b[0:], 1)
	put16(b[2:], pipeline.EthTypeIPv4)
	b[4], b[5] = macLen, 4
	put16(b[6:], a.Op)
	spa, tpa := addr4(a.SPA), addr4(a.TPA)
	copy(b[8:], a.SHA[:])
	copy(b[14:], spa[:])
	copy(b[18:], a.THA[:])
	copy(b[24:], tpa[:])
	return b
}

// pad returns b zero-padded to a multiple of n bytes (a copy).
func pad(b []byte, n int) []byte {
	out := append([]byte(nil), b...)
	for len(out)%n != 0 {
		out = append(out, 0)
	}
	return out
}

func addr4(a netip.Addr) [4]byte {
	if !a.IsValid() {
		return [4]byte{}
	}
	if !a.Is4() && !a.Is4In6() {
		panic(fmt.Sprintf("packet.Build: %v is not an IPv4 address", a))
	}
	return a.Unmap().As4()
}

func addr16(a netip.Addr) [16]byte {
	if !a.IsValid() {
		return [16]byte{}
	}
	return a.As16()
}
