// Package packet is the software fast path's view of a frame: Parse extracts
// a pipeline.Key and the header offsets (Layout) from an Ethernet frame
// (VLAN tags, IPv4, IPv6 and its extension headers, ARP, TCP, UDP, SCTP,
// ICMP, ND, MPLS label stacks, PBB I-TAGs and the customer frame behind
// them), and Apply executes the OpenFlow actions that modify a packet
// (set_field, push/pop of VLAN, MPLS and PBB headers, IP and MPLS TTLs) in
// place, fixing checksums incrementally and keeping the Key and Layout in
// step with the bytes: after Apply the key is what Parse makes of the new
// frame.
//
// Every header chain is bounded: two VLAN tags (per Ethernet header),
// pipeline.MPLSDepthMax label stack entries, MaxIPv6ExtHeaders extension
// headers, one PBB I-TAG (a PBB frame inside a PBB frame is not parsed).
//
// Both are hot-path code: they never allocate (except Apply's error paths
// and a push on a frame without spare capacity), use no maps and no
// reflection, and never panic on any frame, however malformed, as long as
// the Layout passed to Apply is the one Parse (or an earlier Apply) produced
// for that frame.
//
// Build constructs frames with correct checksums for tests of this and
// other packages.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline, go.uber.org/zap.
package packet

import "errors"

// Layout holds the header offsets Parse found, for the rewriters in Apply.
// Offsets are from the start of the frame; an offset of 0 means "absent"
// (no header can start at 0 except Ethernet's). The zero value means
// "not parsed".
type Layout struct {
	L2Len uint16 // bytes of Ethernet header incl. VLAN tags (its ethertype ends there); 0 if the frame is shorter than 14 bytes
	// L3 is the offset of the L3 header when a complete IPv4 header
	// (options included), IPv6 fixed header or Ethernet/IPv4 ARP packet is
	// present, else 0: L2Len for a plain frame, the payload after the
	// bottom of an MPLS stack, or the customer frame's L3 in a PBB frame.
	L3 uint16
	// Proto is the offset of the byte that holds Key.IPProto, when the
	// parser found one: the IPv4 protocol (L3+9), or the next header field
	// that names what follows the IPv6 extension header chain (the fixed
	// header's when there is none; the fragment header's in a non-first
	// fragment; the one naming ESP or no next header). 0 when L3 is 0 and
	// for an IPv6 chain the parser did not finish (no ip_proto).
	Proto uint16
	// L4 is the offset of the TCP, UDP, SCTP, ICMPv4 or ICMPv6 header when
	// one was parsed (complete and not in a non-first fragment), else 0.
	L4 uint16
	// End is the end of the L3 packet: L3 + the IPv4 total length or IPv6
	// header + payload length, when the frame holds that many bytes (any
	// Ethernet padding after it is excluded); otherwise (truncated frame,
	// bogus length, IPv6 jumbogram) the frame length. L3+28 for ARP. 0 if
	// L3 is 0.
	End uint16

	// NDTarget is the offset of the 16-byte target address of an ICMPv6
	// neighbor solicitation or advertisement (code 0), else 0.
	NDTarget uint16
	// NDSLL and NDTLL are the offsets of the 6-byte link-layer address in
	// the first source / target link-layer address option of an ND message,
	// else 0.
	NDSLL, NDTLL uint16

	// MPLS is the offset of the top label stack entry of an MPLS frame with
	// at least one complete entry, else 0; MPLSLabels is the number of
	// entries read (Key.MPLSDepth). The bottom of stack, if among them, is
	// the last; the payload after it is at L3 when it parsed as IP.
	MPLS       uint16
	MPLSLabels uint8

	// PBB is the offset of the I-TAG TCI (after ethertype 0x88e7) of a PBB
	// frame whose I-TAG, customer MACs and ethertype are complete, else 0.
	// The customer frame starts at PBB+4 (C-DA); InnerL2Len is the offset
	// after its ethertype, InnerVLANs its tag count.
	PBB        uint16
	InnerL2Len uint16
	InnerVLANs uint8

	VLANs uint8 // number of VLAN tags parsed (0..2)
	// Frag is set for an IPv4 or IPv6 non-first fragment (no L4 fields).
	Frag bool
	// Routed is set when an IPv6 routing header with segments left > 0 is
	// present: the L4 pseudo header then uses the final destination, not
	// the IPv6 destination address, so rewriting ipv6_dst leaves the L4
	// checksum alone.
	Routed bool
}

// ErrUnsupported is returned (wrapped with the action) by Apply for an
// action or set_field field it does not execute (output, group, tunnel_id,
// a push with an ethertype of another header, ...); the caller handles
// those or refuses them.
var ErrUnsupported = errors.New("unsupported action")

// ErrTTLExpired is returned (not wrapped) by Apply for dec_nw_ttl when the
// IPv4 TTL or IPv6 hop limit is 0 or 1, and for dec_mpls_ttl when the top
// MPLS TTL is: the packet is left unchanged and the caller drops it or
// sends it to the controller (OFPR_INVALID_TTL).
var ErrTTLExpired = errors.New("ttl expired")

// MaxIPv6ExtHeaders bounds the IPv6 extension header chain Parse walks: a
// longer chain is incomplete (no ip_proto, no L4). RFC 2460's recommended
// order has at most seven headers.
const MaxIPv6ExtHeaders = 10

// maxFrame is the largest frame Parse looks at: offsets are uint16, bytes
// beyond this are ignored.
const maxFrame = 0xffff

// Header sizes and protocol numbers used by the parser and rewriters.
const (
	ethLen     = 14
	vlanLen    = 4
	ipv4MinLen = 20
	ipv6Len    = 40
	arpLen     = 28
	tcpLen     = 20
	udpLen     = 8
	sctpLen    = 12
	icmpv4Len  = 8
	icmpv6Len  = 4
	ndLen      = 24 // ICMPv6 header, reserved/flags, target
	mplsLen    = 4  // a label stack entry
	itagLen    = 4  // the I-TAG TCI after ethertype 0x88e7
	// pbbPushLen is what push_pbb adds: ethertype, I-TAG TCI, C-DA, C-SA.
	pbbPushLen = 2 + itagLen + 2*macLen

	mplsBoS  = 1 << 8 // bottom-of-stack bit of an LSE
	mplsTTL  = 0xff
	isidMask = 0xffffff

	ndSolicit   = 135
	ndAdvert    = 136
	ndOptSLL    = 1
	ndOptTLL    = 2
	ndOptLLLen  = 8
	macLen      = 6
	vidMask     = 0x0fff
	vlanTCIMask = 0xefff // VID and PCP, not DEI
)
