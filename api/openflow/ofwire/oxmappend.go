package ofwire

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// The match encoder reads fields straight from the key into a buffer on
// the stack: a flow dump encodes 100,000 matches, and pipeline's
// FieldDesc.Get allocates a slice per field it reads (each of ~40 fields,
// twice, per match).

// basicFields are the OXM basic fields nicflow knows, in wire order.
var basicFields = pipeline.Fields()

// fieldOnes is each field's exact-match mask (FieldDesc.Ones).
var fieldOnes = func() (t [64][]byte) {
	for _, f := range basicFields {
		t[f] = f.Desc().Ones()
	}
	return t
}()

// fieldValue writes field f of k into buf in network byte order and
// returns that part of buf: what f.Desc().Get(k) returns, without
// allocating (TestFieldValueIsGet holds the two together).
func fieldValue(buf *[16]byte, f pipeline.Field, k *pipeline.Key) []byte {
	be := binary.BigEndian
	switch f {
	case pipeline.FieldInPort, pipeline.FieldInPhyPort:
		be.PutUint32(buf[:], k.InPort)
		return buf[:4]
	case pipeline.FieldMetadata:
		be.PutUint64(buf[:], k.Metadata)
		return buf[:8]
	case pipeline.FieldEthDst:
		return buf[:copy(buf[:], k.EthDst[:])]
	case pipeline.FieldEthSrc:
		return buf[:copy(buf[:], k.EthSrc[:])]
	case pipeline.FieldEthType:
		be.PutUint16(buf[:], k.EthType)
		return buf[:2]
	case pipeline.FieldVlanVID:
		be.PutUint16(buf[:], k.VlanVID)
		return buf[:2]
	case pipeline.FieldVlanPCP:
		buf[0] = k.VlanPCP
		return buf[:1]
	case pipeline.FieldIPDSCP:
		buf[0] = k.IPDSCP
		return buf[:1]
	case pipeline.FieldIPECN:
		buf[0] = k.IPECN
		return buf[:1]
	case pipeline.FieldIPProto:
		buf[0] = k.IPProto
		return buf[:1]
	case pipeline.FieldIPv4Src, pipeline.FieldArpSPA:
		return buf[:copy(buf[:], k.L3Src[:4])]
	case pipeline.FieldIPv4Dst, pipeline.FieldArpTPA:
		return buf[:copy(buf[:], k.L3Dst[:4])]
	case pipeline.FieldTCPSrc, pipeline.FieldUDPSrc, pipeline.FieldSCTPSrc:
		be.PutUint16(buf[:], k.TpSrc)
		return buf[:2]
	case pipeline.FieldTCPDst, pipeline.FieldUDPDst, pipeline.FieldSCTPDst:
		be.PutUint16(buf[:], k.TpDst)
		return buf[:2]
	case pipeline.FieldICMPv4Type, pipeline.FieldICMPv6Type:
		buf[0] = k.ICMPType
		return buf[:1]
	case pipeline.FieldICMPv4Code, pipeline.FieldICMPv6Code:
		buf[0] = k.ICMPCode
		return buf[:1]
	case pipeline.FieldArpOp:
		be.PutUint16(buf[:], k.ArpOp)
		return buf[:2]
	case pipeline.FieldArpSHA, pipeline.FieldIPv6NDSLL:
		return buf[:copy(buf[:], k.ArpSHA[:])]
	case pipeline.FieldArpTHA, pipeline.FieldIPv6NDTLL:
		return buf[:copy(buf[:], k.ArpTHA[:])]
	case pipeline.FieldIPv6Src:
		return buf[:copy(buf[:], k.L3Src[:])]
	case pipeline.FieldIPv6Dst:
		return buf[:copy(buf[:], k.L3Dst[:])]
	case pipeline.FieldIPv6Flabel:
		be.PutUint32(buf[:], k.IPv6Flabel)
		return buf[:4]
	case pipeline.FieldIPv6NDTarget:
		return buf[:copy(buf[:], k.NDTarget[:])]
	case pipeline.FieldMPLSLabel:
		be.PutUint32(buf[:], k.MPLS[0]>>12&0xfffff)
		return buf[:4]
	case pipeline.FieldMPLSTC:
		buf[0] = byte(k.MPLS[0] >> 9 & 7)
		return buf[:1]
	case pipeline.FieldMPLSBoS:
		buf[0] = byte(k.MPLS[0] >> 8 & 1)
		return buf[:1]
	case pipeline.FieldPBBISID:
		buf[0], buf[1], buf[2] = byte(k.PBBISID>>16), byte(k.PBBISID>>8), byte(k.PBBISID)
		return buf[:3]
	case pipeline.FieldTunnelID:
		be.PutUint64(buf[:], k.TunnelID)
		return buf[:8]
	case pipeline.FieldIPv6Exthdr:
		be.PutUint16(buf[:], k.IPv6Exthdr)
		return buf[:2]
	case pipeline.FieldTCPFlags:
		be.PutUint16(buf[:], k.TCPFlags)
		return buf[:2]
	}
	return buf[:copy(buf[:], f.Desc().Get(k))] // a field added to pipeline and not here yet
}

// maskFields is the set of fields whose part of mask is not zero: the
// fields a match with this mask has (Match.Has), fields that share
// storage all together.
func maskFields(k *pipeline.Key) fieldSet {
	var s fieldSet
	set := func(cond bool, fs ...pipeline.Field) {
		if cond {
			for _, f := range fs {
				s.add(f)
			}
		}
	}
	set(k.InPort != 0, pipeline.FieldInPort, pipeline.FieldInPhyPort)
	set(k.Metadata != 0, pipeline.FieldMetadata)
	set(k.EthDst != [6]byte{}, pipeline.FieldEthDst)
	set(k.EthSrc != [6]byte{}, pipeline.FieldEthSrc)
	set(k.EthType != 0, pipeline.FieldEthType)
	set(k.VlanVID != 0, pipeline.FieldVlanVID)
	set(k.VlanPCP != 0, pipeline.FieldVlanPCP)
	set(k.IPDSCP != 0, pipeline.FieldIPDSCP)
	set(k.IPECN != 0, pipeline.FieldIPECN)
	set(k.IPProto != 0, pipeline.FieldIPProto)
	set([4]byte(k.L3Src[:4]) != [4]byte{}, pipeline.FieldIPv4Src, pipeline.FieldArpSPA)
	set([4]byte(k.L3Dst[:4]) != [4]byte{}, pipeline.FieldIPv4Dst, pipeline.FieldArpTPA)
	set(k.L3Src != [16]byte{}, pipeline.FieldIPv6Src)
	set(k.L3Dst != [16]byte{}, pipeline.FieldIPv6Dst)
	set(k.TpSrc != 0, pipeline.FieldTCPSrc, pipeline.FieldUDPSrc, pipeline.FieldSCTPSrc)
	set(k.TpDst != 0, pipeline.FieldTCPDst, pipeline.FieldUDPDst, pipeline.FieldSCTPDst)
	set(k.ICMPType != 0, pipeline.FieldICMPv4Type, pipeline.FieldICMPv6Type)
	set(k.ICMPCode != 0, pipeline.FieldICMPv4Code, pipeline.FieldICMPv6Code)
	set(k.ArpOp != 0, pipeline.FieldArpOp)
	set(k.ArpSHA != [6]byte{}, pipeline.FieldArpSHA, pipeline.FieldIPv6NDSLL)
	set(k.ArpTHA != [6]byte{}, pipeline.FieldArpTHA, pipeline.FieldIPv6NDTLL)
	set(k.IPv6Flabel != 0, pipeline.FieldIPv6Flabel)
	set(k.NDTarget != [16]byte{}, pipeline.FieldIPv6NDTarget)
	set(k.MPLS[0]>>12&0xfffff != 0, pipeline.FieldMPLSLabel)
	set(k.MPLS[0]>>9&7 != 0, pipeline.FieldMPLSTC)
	set(k.MPLS[0]>>8&1 != 0, pipeline.FieldMPLSBoS)
	set(k.PBBISID&0xffffff != 0, pipeline.FieldPBBISID)
	set(k.TunnelID != 0, pipeline.FieldTunnelID)
	set(k.IPv6Exthdr != 0, pipeline.FieldIPv6Exthdr)
	set(k.TCPFlags != 0, pipeline.FieldTCPFlags)
	return s
}

// matchFieldSet is the set of fields MatchFields returns.
func matchFieldSet(m *pipeline.Match) fieldSet {
	has := maskFields(&m.Mask)
	out := has
	for _, g := range sharedGroups {
		if !has.has(g[0]) && !has.has(g[len(g)-1]) && (len(g) < 3 || !has.has(g[1])) {
			continue
		}
		chosen := -1
		for i, f := range g {
			if has.has(f) && prereqOK(m, f) {
				chosen = i
				break
			}
		}
		if chosen < 0 {
			for i, f := range g {
				if has.has(f) {
					chosen = i
					break
				}
			}
		}
		for i, f := range g {
			if i != chosen {
				out &^= 1 << f
			}
		}
	}
	return out
}
