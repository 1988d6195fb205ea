package pipeline

import (
	"encoding/binary"
	"fmt"
)

// Field is an OpenFlow basic-class OXM field (OFPXMT_OFB_*), numbered as on
// the wire.
type Field uint8

// The OXM fields of OpenFlow 1.3 (class OFPXMC_OPENFLOW_BASIC).
const (
	FieldInPort       Field = 0
	FieldInPhyPort    Field = 1
	FieldMetadata     Field = 2
	FieldEthDst       Field = 3
	FieldEthSrc       Field = 4
	FieldEthType      Field = 5
	FieldVlanVID      Field = 6
	FieldVlanPCP      Field = 7
	FieldIPDSCP       Field = 8
	FieldIPECN        Field = 9
	FieldIPProto      Field = 10
	FieldIPv4Src      Field = 11
	FieldIPv4Dst      Field = 12
	FieldTCPSrc       Field = 13
	FieldTCPDst       Field = 14
	FieldUDPSrc       Field = 15
	FieldUDPDst       Field = 16
	FieldSCTPSrc      Field = 17
	FieldSCTPDst      Field = 18
	FieldICMPv4Type   Field = 19
	FieldICMPv4Code   Field = 20
	FieldArpOp        Field = 21
	FieldArpSPA       Field = 22
	FieldArpTPA       Field = 23
	FieldArpSHA       Field = 24
	FieldArpTHA       Field = 25
	FieldIPv6Src      Field = 26
	FieldIPv6Dst      Field = 27
	FieldIPv6Flabel   Field = 28
	FieldICMPv6Type   Field = 29
	FieldICMPv6Code   Field = 30
	FieldIPv6NDTarget Field = 31
	FieldIPv6NDSLL    Field = 32
	FieldIPv6NDTLL    Field = 33
	FieldMPLSLabel    Field = 34
	FieldMPLSTC       Field = 35
	FieldMPLSBoS      Field = 36
	FieldPBBISID      Field = 37
	FieldTunnelID     Field = 38
	FieldIPv6Exthdr   Field = 39

	// FieldTCPFlags is Open vSwitch's/OpenFlow 1.5's tcp_flags (OFPXMT_OFB_TCP_FLAGS = 42);
	// nicflow accepts it in the basic class as OpenFlow 1.5 numbers it.
	FieldTCPFlags Field = 42
)

// Prereq is a prerequisite a match must state before it may use a field
// (OpenFlow 1.3.5 table 12): an eth_type (and for L4 fields an ip_proto)
// value, a VLAN tag, an ICMPv6 type, or in_port.
type Prereq struct {
	EthTypes []uint16 // one of these eth_type values must be matched exactly
	IPProto  uint8    // if non-zero, ip_proto must be matched exactly to this
	VlanTag  bool     // vlan_vid must be matched with VIDPresent set
	// ICMPv6Types: if not empty, icmpv6_type must be matched exactly to one
	// of these (the ND fields: 135 neighbor solicitation, 136 advertisement).
	ICMPv6Types []uint8
	InPort      bool // in_port must be matched (in_phy_port)
}

// PrereqMet reports whether m states the prerequisites of the field d.
func (d *FieldDesc) PrereqMet(m *Match) bool { return prereqMet(&d.Prereq, m, matchTagged(m)) }

// PrereqMatch returns the smallest match that states the prerequisites of
// the field d (with the last of its eth_types and ICMPv6 types).
func (d *FieldDesc) PrereqMatch() Match {
	var m Match
	p := &d.Prereq
	if p.InPort {
		m.Set(FieldInPort, []byte{0, 0, 0, 1}, nil)
	}
	if len(p.EthTypes) > 0 {
		m.Set(FieldEthType, binary.BigEndian.AppendUint16(nil, p.EthTypes[len(p.EthTypes)-1]), nil)
	}
	if p.IPProto != 0 {
		m.Set(FieldIPProto, []byte{p.IPProto}, nil)
	}
	if len(p.ICMPv6Types) > 0 {
		m.Set(FieldICMPv6Type, []byte{p.ICMPv6Types[len(p.ICMPv6Types)-1]}, nil)
	}
	if p.VlanTag {
		m.Set(FieldVlanVID, binary.BigEndian.AppendUint16(nil, VIDPresent|1), nil)
	}
	return m
}

// FieldDesc describes one field: its name as ovs-ofctl prints it, its wire
// length, whether it may be masked, whether set_field may write it, and its
// prerequisite.
type FieldDesc struct {
	Field    Field
	Name     string
	Len      int
	Maskable bool
	Settable bool
	Prereq   Prereq

	get func(k *Key) []byte
	put func(k *Key, b []byte)
}

func (d *FieldDesc) ones() []byte {
	b := make([]byte, d.Len)
	for i := range b {
		b[i] = 0xff
	}
	if d.Field == FieldVlanVID {
		binary.BigEndian.PutUint16(b, 0x1fff)
	}
	if width, ok := fieldWidth[d.Field]; ok {
		v := uint64(1)<<width - 1
		switch d.Len {
		case 1:
			b[0] = byte(v)
		case 2:
			binary.BigEndian.PutUint16(b, uint16(v))
		case 4:
			binary.BigEndian.PutUint32(b, uint32(v))
		}
	}
	return b
}

// Ones returns the all-ones (exact match) mask of the field, limited to the
// field's real bit width (vlan_vid: 13 bits, ip_dscp: 6, ...).
func (d *FieldDesc) Ones() []byte { return d.ones() }

// Get reads the field from k in network byte order.
func (d *FieldDesc) Get(k *Key) []byte { return d.get(k) }

// Put writes the field into k from network byte order.
func (d *FieldDesc) Put(k *Key, b []byte) { d.put(k, b) }

// fieldWidth lists fields narrower than their wire length.
var fieldWidth = map[Field]uint{
	FieldVlanVID:    13,
	FieldVlanPCP:    3,
	FieldIPDSCP:     6,
	FieldIPECN:      2,
	FieldIPv6Flabel: 20,
	FieldTCPFlags:   12,
	FieldMPLSLabel:  20,
	FieldMPLSTC:     3,
	FieldMPLSBoS:    1,
	FieldIPv6Exthdr: 9,
}

// Desc returns the description of f, or nil if nicflow does not support it.
func (f Field) Desc() *FieldDesc {
	if int(f) < len(fieldDescs) && fieldDescs[f].Name != "" {
		return &fieldDescs[f]
	}
	return nil
}

func (f Field) String() string {
	if d := f.Desc(); d != nil {
		return d.Name
	}
	return fmt.Sprintf("oxm_field_%d", uint8(f))
}

// Fields returns every supported field in wire order.
func Fields() []Field {
	var fs []Field
	for i := range fieldDescs {
		if fieldDescs[i].Name != "" {
			fs = append(fs, Field(i))
		}
	}
	return fs
}

// The ICMPv6 types of neighbor discovery that the ND fields need.
const (
	ICMPv6NeighborSolicit = 135
	ICMPv6NeighborAdvert  = 136
)

var (
	ipAny   = []uint16{EthTypeIPv4, EthTypeIPv6}
	ipv4    = []uint16{EthTypeIPv4}
	ipv6    = []uint16{EthTypeIPv6}
	arp     = []uint16{EthTypeARP}
	tcpPre  = Prereq{EthTypes: ipAny, IPProto: ProtoTCP}
	udpPre  = Prereq{EthTypes: ipAny, IPProto: ProtoUDP}
	sctpPre = Prereq{EthTypes: ipAny, IPProto: ProtoSCTP}
	icmp4   = Prereq{EthTypes: ipv4, IPProto: ProtoICMP}
	icmp6   = Prereq{EthTypes: ipv6, IPProto: ProtoICMPv6}
	ndTgt   = Prereq{EthTypes: ipv6, IPProto: ProtoICMPv6, ICMPv6Types: []uint8{ICMPv6NeighborSolicit, ICMPv6NeighborAdvert}}
	ndSLL   = Prereq{EthTypes: ipv6, IPProto: ProtoICMPv6, ICMPv6Types: []uint8{ICMPv6NeighborSolicit}}
	ndTLL   = Prereq{EthTypes: ipv6, IPProto: ProtoICMPv6, ICMPv6Types: []uint8{ICMPv6NeighborAdvert}}
	mpls    = Prereq{EthTypes: []uint16{EthTypeMPLS, EthTypeMPLSMcast}}
	pbb     = Prereq{EthTypes: []uint16{EthTypePBB}}
)

// lse reads and writes bits of the top label stack entry, shifted to the
// field's wire value: the label (20 bits at 12), tc (3 at 9), bos (1 at 8).
func lse(shift, width uint, n int) (func(*Key) []byte, func(*Key, []byte)) {
	m := uint32(1)<<width - 1
	get := func(k *Key) []byte {
		v := k.MPLS[0] >> shift & m
		if n == 1 {
			return []byte{byte(v)}
		}
		return binary.BigEndian.AppendUint32(nil, v)
	}
	put := func(k *Key, b []byte) {
		var v uint32
		if n == 1 {
			v = uint32(b[0])
		} else {
			v = u32(b)
		}
		k.MPLS[0] = k.MPLS[0]&^(m<<shift) | (v&m)<<shift
	}
	return get, put
}

func b8(p func(k *Key) *uint8) (func(*Key) []byte, func(*Key, []byte)) {
	return func(k *Key) []byte { return []byte{*p(k)} },
		func(k *Key, b []byte) { *p(k) = b[0] }
}

func b16(p func(k *Key) *uint16) (func(*Key) []byte, func(*Key, []byte)) {
	return func(k *Key) []byte { return binary.BigEndian.AppendUint16(nil, *p(k)) },
		func(k *Key, b []byte) { *p(k) = u16(b) }
}

func b32(p func(k *Key) *uint32) (func(*Key) []byte, func(*Key, []byte)) {
	return func(k *Key) []byte { return binary.BigEndian.AppendUint32(nil, *p(k)) },
		func(k *Key, b []byte) { *p(k) = u32(b) }
}

func b64(p func(k *Key) *uint64) (func(*Key) []byte, func(*Key, []byte)) {
	return func(k *Key) []byte { return binary.BigEndian.AppendUint64(nil, *p(k)) },
		func(k *Key, b []byte) { *p(k) = u64(b) }
}

func bn(p func(k *Key) []byte) (func(*Key) []byte, func(*Key, []byte)) {
	return func(k *Key) []byte { return append([]byte(nil), p(k)...) },
		func(k *Key, b []byte) { copy(p(k), b) }
}

func desc(f Field, name string, n int, maskable, settable bool, pre Prereq,
	acc func() (func(*Key) []byte, func(*Key, []byte))) FieldDesc {
	g, p := acc()
	return FieldDesc{Field: f, Name: name, Len: n, Maskable: maskable, Settable: settable, Prereq: pre, get: g, put: p}
}

var fieldDescs = func() [43]FieldDesc {
	var t [43]FieldDesc
	add := func(d FieldDesc) { t[d.Field] = d }
	none := Prereq{}
	add(desc(FieldInPort, "in_port", 4, false, false, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b32(func(k *Key) *uint32 { return &k.InPort })
	}))
	// in_phy_port shares in_port's storage: nicflow's ports are all
	// physical (no tunnel or bond ports), so a packet's physical ingress
	// port is always its in_port. A match states it only next to an equal
	// in_port (the wire decoder checks that), and is encoded back as
	// in_port alone.
	add(desc(FieldInPhyPort, "in_phy_port", 4, false, false, Prereq{InPort: true}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b32(func(k *Key) *uint32 { return &k.InPort })
	}))
	add(desc(FieldMetadata, "metadata", 8, true, false, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b64(func(k *Key) *uint64 { return &k.Metadata })
	}))
	add(desc(FieldEthDst, "eth_dst", 6, true, true, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.EthDst[:] })
	}))
	add(desc(FieldEthSrc, "eth_src", 6, true, true, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.EthSrc[:] })
	}))
	add(desc(FieldEthType, "eth_type", 2, false, true, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b16(func(k *Key) *uint16 { return &k.EthType })
	}))
	add(desc(FieldVlanVID, "vlan_vid", 2, true, true, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b16(func(k *Key) *uint16 { return &k.VlanVID })
	}))
	add(desc(FieldVlanPCP, "vlan_pcp", 1, false, true, Prereq{VlanTag: true}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.VlanPCP })
	}))
	add(desc(FieldIPDSCP, "ip_dscp", 1, false, true, Prereq{EthTypes: ipAny}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.IPDSCP })
	}))
	add(desc(FieldIPECN, "ip_ecn", 1, false, true, Prereq{EthTypes: ipAny}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.IPECN })
	}))
	add(desc(FieldIPProto, "ip_proto", 1, false, true, Prereq{EthTypes: ipAny}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.IPProto })
	}))
	add(desc(FieldIPv4Src, "ipv4_src", 4, true, true, Prereq{EthTypes: ipv4}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Src[:4] })
	}))
	add(desc(FieldIPv4Dst, "ipv4_dst", 4, true, true, Prereq{EthTypes: ipv4}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Dst[:4] })
	}))
	tp := func(f Field, name string, pre Prereq, src bool) FieldDesc {
		return desc(f, name, 2, true, true, pre, func() (func(*Key) []byte, func(*Key, []byte)) {
			if src {
				return b16(func(k *Key) *uint16 { return &k.TpSrc })
			}
			return b16(func(k *Key) *uint16 { return &k.TpDst })
		})
	}
	add(tp(FieldTCPSrc, "tcp_src", tcpPre, true))
	add(tp(FieldTCPDst, "tcp_dst", tcpPre, false))
	add(tp(FieldUDPSrc, "udp_src", udpPre, true))
	add(tp(FieldUDPDst, "udp_dst", udpPre, false))
	add(tp(FieldSCTPSrc, "sctp_src", sctpPre, true))
	add(tp(FieldSCTPDst, "sctp_dst", sctpPre, false))
	icmpType := func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.ICMPType })
	}
	icmpCode := func() (func(*Key) []byte, func(*Key, []byte)) {
		return b8(func(k *Key) *uint8 { return &k.ICMPCode })
	}
	add(desc(FieldICMPv4Type, "icmpv4_type", 1, false, true, icmp4, icmpType))
	add(desc(FieldICMPv4Code, "icmpv4_code", 1, false, true, icmp4, icmpCode))
	add(desc(FieldArpOp, "arp_op", 2, false, true, Prereq{EthTypes: arp}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b16(func(k *Key) *uint16 { return &k.ArpOp })
	}))
	add(desc(FieldArpSPA, "arp_spa", 4, true, true, Prereq{EthTypes: arp}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Src[:4] })
	}))
	add(desc(FieldArpTPA, "arp_tpa", 4, true, true, Prereq{EthTypes: arp}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Dst[:4] })
	}))
	add(desc(FieldArpSHA, "arp_sha", 6, true, true, Prereq{EthTypes: arp}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.ArpSHA[:] })
	}))
	add(desc(FieldArpTHA, "arp_tha", 6, true, true, Prereq{EthTypes: arp}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.ArpTHA[:] })
	}))
	add(desc(FieldIPv6Src, "ipv6_src", 16, true, true, Prereq{EthTypes: ipv6}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Src[:] })
	}))
	add(desc(FieldIPv6Dst, "ipv6_dst", 16, true, true, Prereq{EthTypes: ipv6}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.L3Dst[:] })
	}))
	add(desc(FieldIPv6Flabel, "ipv6_flabel", 4, true, true, Prereq{EthTypes: ipv6}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b32(func(k *Key) *uint32 { return &k.IPv6Flabel })
	}))
	add(desc(FieldICMPv6Type, "icmpv6_type", 1, false, true, icmp6, icmpType))
	add(desc(FieldICMPv6Code, "icmpv6_code", 1, false, true, icmp6, icmpCode))
	add(desc(FieldIPv6NDTarget, "ipv6_nd_target", 16, false, true, ndTgt, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.NDTarget[:] })
	}))
	add(desc(FieldIPv6NDSLL, "ipv6_nd_sll", 6, false, true, ndSLL, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.ArpSHA[:] })
	}))
	add(desc(FieldIPv6NDTLL, "ipv6_nd_tll", 6, false, true, ndTLL, func() (func(*Key) []byte, func(*Key, []byte)) {
		return bn(func(k *Key) []byte { return k.ArpTHA[:] })
	}))
	add(desc(FieldMPLSLabel, "mpls_label", 4, false, true, mpls, func() (func(*Key) []byte, func(*Key, []byte)) {
		return lse(12, 20, 4)
	}))
	add(desc(FieldMPLSTC, "mpls_tc", 1, false, true, mpls, func() (func(*Key) []byte, func(*Key, []byte)) {
		return lse(9, 3, 1)
	}))
	add(desc(FieldMPLSBoS, "mpls_bos", 1, false, true, mpls, func() (func(*Key) []byte, func(*Key, []byte)) {
		return lse(8, 1, 1)
	}))
	add(desc(FieldPBBISID, "pbb_isid", 3, true, true, pbb, func() (func(*Key) []byte, func(*Key, []byte)) {
		return func(k *Key) []byte { return []byte{byte(k.PBBISID >> 16), byte(k.PBBISID >> 8), byte(k.PBBISID)} },
			func(k *Key, b []byte) { k.PBBISID = uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]) }
	}))
	add(desc(FieldIPv6Exthdr, "ipv6_exthdr", 2, true, false, Prereq{EthTypes: ipv6}, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b16(func(k *Key) *uint16 { return &k.IPv6Exthdr })
	}))
	add(desc(FieldTunnelID, "tunnel_id", 8, true, true, none, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b64(func(k *Key) *uint64 { return &k.TunnelID })
	}))
	add(desc(FieldTCPFlags, "tcp_flags", 2, true, false, tcpPre, func() (func(*Key) []byte, func(*Key, []byte)) {
		return b16(func(k *Key) *uint16 { return &k.TCPFlags })
	}))
	return t
}()
