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
	"reflect"
	"unsafe"
)

// KeyWords is a Key (or a mask) seen as 64-bit machine words, for code that
// hashes or masks keys a word at a time (the fast path's classifier, the
// flow table's index).
type KeyWords [unsafe.Sizeof(Key{}) / 8]uint64

// The key must be a whole number of words and word aligned for the word view.
var (
	_ [0]struct{} = [unsafe.Sizeof(Key{}) % 8]struct{}{}
	_ [0]struct{} = [unsafe.Alignof(Key{}) % 8]struct{}{}
)

// Words returns k as words (the same memory).
func (k *Key) Words() *KeyWords { return (*KeyWords)(unsafe.Pointer(k)) }

// KeyFieldBits has every bit of a Key that belongs to a field set and its
// padding bits clear: a key's words under it carry no padding garbage.
var KeyFieldBits = func() KeyWords {
	var k Key
	v := reflect.ValueOf(&k).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			f.SetUint(^uint64(0))
		case reflect.Array:
			for j := 0; j < f.Len(); j++ {
				f.Index(j).SetUint(^uint64(0))
			}
		default:
			panic("pipeline: unexpected Key field kind " + f.Kind().String())
		}
	}
	return *k.Words()
}()

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

	// The fields below are hidden: no OpenFlow field reads or writes them
	// (no FieldDesc, so no match mask covers them). The parser records in
	// them what the reference evaluator needs to model actions on the key
	// alone (pop_vlan on two tags, pop_pbb, set_field on a header that is
	// not there); Evaluate documents what it still cannot know. They are
	// zero for a frame with at most one 802.1Q tag, no PBB and complete
	// headers, apart from ParsedNDSLL/ParsedNDTLL. With them the Key is 160
	// bytes (20 words, 2 bytes of padding at the end): any field added must
	// keep it a whole number of 8-byte words (softpath/classifier asserts
	// it; Go pads the struct to its 8-byte alignment).

	// Vlan2VID and Vlan2PCP are the second (inner) tag of a frame with two
	// VLAN tags, as VlanVID and VlanPCP hold the outer one: VID | VIDPresent,
	// and 0 with fewer tags.
	Vlan2VID uint16
	// Parsed holds Parsed* flags: what the parser found beyond what the
	// other fields say.
	Parsed uint16
	// PBBInnerDst, PBBInnerSrc, PBBInnerVID, PBBInnerPCP and PBBInnerType
	// are the customer frame's header in a PBB frame (EthType 0x88e7 with a
	// complete I-TAG): C-DA, C-SA, its outer tag (VID | VIDPresent) and its
	// ethertype after at most two tags. What pop_pbb makes the outer
	// header; zero otherwise. The customer frame's L3 and L4 fields (and
	// MPLS stack) are in the usual fields.
	PBBInnerDst  [6]byte
	PBBInnerSrc  [6]byte
	PBBInnerType uint16
	PBBInnerVID  uint16
	Vlan2PCP     uint8
	PBBInnerPCP  uint8
}

// The flags of Key.Parsed. The L3 flags describe the header of the
// innermost ethertype the key names: EthType, PBBInnerType in a PBB frame,
// or the MPLS payload.
const (
	// ParsedShort: the frame is shorter than an Ethernet header; nothing
	// is parsed.
	ParsedShort = 1 << iota
	// ParsedNoL3: the ethertype is IPv4, IPv6 or ARP but that header is
	// incomplete or malformed (L3 and L4 fields zero).
	ParsedNoL3
	// ParsedNoL4: IPProto names a transport header the parser reads (TCP,
	// UDP, SCTP; ICMP in IPv4; ICMPv6 in IPv6) but it is not there
	// (truncated, or a non-first fragment).
	ParsedNoL4
	// ParsedNoND: an ICMPv6 neighbor solicitation or advertisement (code 0)
	// too short for its target address.
	ParsedNoND
	// ParsedNDSLL and ParsedNDTLL: the ND message has a source / target
	// link-layer address option (ArpSHA / ArpTHA hold it).
	ParsedNDSLL
	ParsedNDTLL
	// ParsedMPLSIPv4 and ParsedMPLSIPv6: the payload after the bottom of an
	// MPLS stack was parsed as IPv4 / IPv6 (by its version nibble; MPLS does
	// not say what it carries). Neither: the stack has no bottom within the
	// parser's bound, or the payload is not IP.
	ParsedMPLSIPv4
	ParsedMPLSIPv6
	// ParsedNoITag: EthType is 0x88e7 but the I-TAG, the customer MACs and
	// ethertype are incomplete.
	ParsedNoITag
	// ParsedInnerQinQ: the customer frame of a PBB frame has two tags (the
	// second is not kept).
	ParsedInnerQinQ
	// ParsedVlanSTag, ParsedVlan2STag and ParsedInnerVlanSTag: the outer
	// tag, the second tag, the customer frame's outer tag is an 802.1ad
	// S-tag (TPID 0x88a8); clear for an 802.1Q tag (0x8100) or none.
	ParsedVlanSTag
	ParsedVlan2STag
	ParsedInnerVlanSTag
)

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

	// The IPv6 next header values of the extension headers (and of the
	// end of the chain) the parser reads rather than taking them for the
	// upper layer.
	ProtoHopByHop = 0
	ProtoRouting  = 43
	ProtoFragment = 44
	ProtoESP      = 50
	ProtoAH       = 51
	ProtoNoNext   = 59
	ProtoDestOpts = 60
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
