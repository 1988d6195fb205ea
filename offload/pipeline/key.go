// Package pipeline is nicflow's model of an OpenFlow 1.3 pipeline: the packed
// flow key, matches, actions, instructions, flow entries, groups and meters,
// and the flow-table semantics of FLOW_MOD, GROUP_MOD and METER_MOD.
//
// It is the one source of truth that every execution tier (the Go fast path,
// kernel tc, NIC hardware) is derived from. It is pure: no I/O, no logging.
// A linear reference evaluator (Lookup, Evaluate) defines the semantics the
// faster tiers are tested against.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/..., go.uber.org/zap.
package pipeline

import (
	"encoding/binary"
	"net/netip"
)

// Key is a packed, comparable flow key: every header field a rule can match.
// The same struct serves as a mask (a set bit means "this bit is matched").
//
// Fields that OpenFlow keeps apart but that can never appear in one packet
// share storage, as in Open vSwitch: IPv4 addresses and ARP SPA/TPA live in
// the first four bytes of L3Src/L3Dst, IPv6 addresses use all sixteen;
// ARP SHA/THA and the IPv6 ND link-layer addresses share ArpSHA/ArpTHA;
// ICMPv4 and ICMPv6 type and code share ICMPType/ICMPCode; TCP, UDP and SCTP
// ports share TpSrc/TpDst. OpenFlow's prerequisites (eth_type, ip_proto)
// keep a rule from confusing them.
type Key struct {
	InPort uint32
	// PBBISID is the 24-bit I-SID of an 802.1ah I-TAG (eth_type 0x88e7).
	PBBISID  uint32
	Metadata uint64
	TunnelID uint64

	EthDst  [6]byte
	EthSrc  [6]byte
	EthType uint16 // the innermost ethertype (after VLAN tags)
	// VlanVID is the OpenFlow vlan_vid: VID | VIDPresent when the frame is
	// tagged, 0 when it is not.
	VlanVID uint16
	VlanPCP uint8

	IPDSCP   uint8 // 6 bits
	IPECN    uint8 // 2 bits
	IPProto  uint8
	ICMPType uint8
	ICMPCode uint8
	TCPFlags uint16
	TpSrc    uint16
	TpDst    uint16
	ArpOp    uint16

	IPv6Flabel uint32
	L3Src      [16]byte
	L3Dst      [16]byte
	NDTarget   [16]byte
	ArpSHA     [6]byte
	ArpTHA     [6]byte

	// MPLS holds the label stack entries of the top MPLSStackMax labels as
	// on the wire (label<<12 | tc<<9 | bos<<8 | ttl), top first; MPLSDepth
	// is how many of them the packet has. mpls_label, mpls_tc and mpls_bos
	// are bits of MPLS[0]; the TTL and the deeper labels are no OpenFlow
	// field (nothing can match them) but let the actions that pop and copy
	// TTLs be modeled on the key.
	MPLS      [MPLSStackMax]uint32
	MPLSDepth uint8
	// IPTTL is the IPv4 TTL or IPv6 hop limit: no OpenFlow 1.3 field, but
	// the TTL actions are modeled on it and tc flower can match it.
	IPTTL uint8
	// IPv6Exthdr is the ipv6_exthdr pseudo-field: the OFPIEH_* flags of the
	// extension headers the packet carries.
	IPv6Exthdr uint16
}

// MPLSStackMax is how many labels a Key holds (deeper labels are in the
// packet only).
const MPLSStackMax = 3

// The OFPIEH_* flags of ipv6_exthdr (OpenFlow 1.3.5 section 7.2.3.8).
const (
	IEHNoNext = 1 << 0 // next header is IPPROTO_NONE
	IEHESP    = 1 << 1 // encrypted security payload
	IEHAuth   = 1 << 2 // authentication header
	IEHDest   = 1 << 3 // one or two destination options headers
	IEHFrag   = 1 << 4 // fragment header
	IEHRouter = 1 << 5 // router header
	IEHHop    = 1 << 6 // hop-by-hop header
	IEHUnrep  = 1 << 7 // unexpected repeats encountered
	IEHUnseq  = 1 << 8 // unexpected sequencing encountered
)

// VIDPresent is OFPVID_PRESENT: set in Key.VlanVID when the frame has a tag.
const VIDPresent = 0x1000

// Ethertypes and IP protocols the pipeline knows about.
const (
	EthTypeIPv4 = 0x0800
	EthTypeARP  = 0x0806
	EthTypeVLAN = 0x8100
	EthTypeQinQ = 0x88a8
	EthTypeIPv6 = 0x86dd
	// EthTypeMPLS and EthTypeMPLSMcast are MPLS unicast and multicast.
	EthTypeMPLS      = 0x8847
	EthTypeMPLSMcast = 0x8848
	// EthTypePBB is the 802.1ah I-TAG.
	EthTypePBB = 0x88e7

	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// And returns k & m, field by field.
func (k *Key) And(m *Key) Key {
	var r Key
	kb, mb, rb := k.bytes(), m.bytes(), r.bytes()
	for i := range rb {
		rb[i] = kb[i] & mb[i]
	}
	return r
}

// IsZero reports whether every field of k is zero (as a mask: matches all).
func (k *Key) IsZero() bool { return *k == Key{} }

// IPv4Src returns the IPv4 source address held in L3Src.
func (k *Key) IPv4Src() netip.Addr { return netip.AddrFrom4([4]byte(k.L3Src[:4])) }

// IPv4Dst returns the IPv4 destination address held in L3Dst.
func (k *Key) IPv4Dst() netip.Addr { return netip.AddrFrom4([4]byte(k.L3Dst[:4])) }

// Match is a rule's match: a key and a mask. Key bits outside Mask are zero
// (Normalize enforces it), so two matches are equal exactly when their
// structs are equal.
type Match struct {
	Key  Key
	Mask Key
}

// Normalize clears key bits that the mask does not cover.
func (m *Match) Normalize() { m.Key = m.Key.And(&m.Mask) }

// Matches reports whether packet key p satisfies m.
func (m *Match) Matches(p *Key) bool { return p.And(&m.Mask) == m.Key }

// Overlaps reports whether some packet could match both a and b.
func (m *Match) Overlaps(b *Match) bool {
	common := m.Mask.And(&b.Mask)
	return m.Key.And(&common) == b.Key.And(&common)
}

// Covers reports whether every packet matching b also matches m
// (m is equal to or more general than b).
func (m *Match) Covers(b *Match) bool {
	// m's mask must be a subset of b's mask, and b's key must agree with m on it.
	if b.Mask.And(&m.Mask) != m.Mask {
		return false
	}
	return b.Key.And(&m.Mask) == m.Key
}

// Has reports whether the match constrains field f at all.
func (m *Match) Has(f Field) bool {
	d := f.Desc()
	if d == nil {
		return false
	}
	for _, b := range d.get(&m.Mask) {
		if b != 0 {
			return true
		}
	}
	return false
}

// Get returns the value and mask of field f in network byte order.
func (m *Match) Get(f Field) (value, mask []byte) {
	d := f.Desc()
	return d.get(&m.Key), d.get(&m.Mask)
}

// Set sets field f to value under mask (nil mask: exact). Both are in network
// byte order and must be f's length; the caller validates (see Field.Desc).
func (m *Match) Set(f Field, value, mask []byte) {
	d := f.Desc()
	if mask == nil {
		mask = d.ones()
	}
	v := make([]byte, len(value))
	for i := range value {
		v[i] = value[i] & mask[i]
	}
	d.put(&m.Key, v)
	d.put(&m.Mask, mask)
}

func u16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func u32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func u64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }
