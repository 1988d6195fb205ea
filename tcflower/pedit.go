package tcflower

import (
	"encoding/binary"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// peditHeaderLen bounds the bytes a rewrite may touch per header type.
const peditHeaderLen = 40

// pedit collects the header rewrites of consecutive set_field actions, bit
// by bit, and the checksums they invalidate.
type pedit struct {
	val  [PeditUDP + 1][peditHeaderLen]byte
	set  [PeditUDP + 1][peditHeaderLen]byte // bits written
	used [PeditUDP + 1]bool
	csum CsumFlags
	// ipAdd is the decrements of the IP TTL (header ipAddHdr) to apply
	// with a pedit add (see decNwTTL).
	ipAdd    uint8
	ipAddHdr PeditHeader
}

// write sets the bits of mask at byte offset off of header h to val.
func (p *pedit) write(h PeditHeader, off int, val, mask []byte) {
	p.used[h] = true
	for i := range val {
		p.val[h][off+i] = p.val[h][off+i]&^mask[i] | val[i]&mask[i]
		p.set[h][off+i] |= mask[i]
	}
}

// write32 sets the bits of mask in the big-endian word at off.
func (p *pedit) write32(h PeditHeader, off int, val, mask uint32) {
	var v, m [4]byte
	binary.BigEndian.PutUint32(v[:], val)
	binary.BigEndian.PutUint32(m[:], mask)
	p.write(h, off, v[:], m[:])
}

// actions returns the pedit (one key per touched aligned word, by header
// type then offset, then the TTL decrement) and the csum that follows it,
// or nil.
func (p *pedit) actions() []Action {
	var keys []PeditKey
	for h := PeditEth; h <= PeditUDP; h++ {
		if !p.used[h] {
			continue
		}
		for off := 0; off < peditHeaderLen; off += 4 {
			set := binary.BigEndian.Uint32(p.set[h][off:])
			if set == 0 {
				continue
			}
			val := binary.BigEndian.Uint32(p.val[h][off:])
			keys = append(keys, PeditKey{Header: h, Offset: uint32(off), Mask: ^set, Val: val & set})
		}
	}
	if p.ipAdd > 0 {
		keys = append(keys, ipAddKey(p.ipAddHdr, p.ipAdd))
	}
	if keys == nil {
		return nil
	}
	acts := []Action{{Kind: KindPedit, Pedit: &Pedit{Keys: keys}}}
	if p.csum != 0 {
		acts = append(acts, Action{Kind: KindCsum, Csum: &Csum{Flags: p.csum}})
	}
	return acts
}

// pseudoCsum is the checksums that cover the IP pseudo-header, for an
// address rewrite: the ones of the matched ip_proto, or all that apply
// (act_csum only touches the protocol the packet carries).
func pseudoCsum(st *flowState) CsumFlags {
	v6 := st.l3 == EthTypeIPv6
	if !st.hasIPProto {
		f := CsumTCP | CsumUDP
		if v6 {
			f |= CsumICMP
		}
		return f
	}
	switch st.ipProto {
	case pipeline.ProtoTCP:
		return CsumTCP
	case pipeline.ProtoUDP:
		return CsumUDP
	case pipeline.ProtoICMPv6:
		if v6 {
			return CsumICMP
		}
	}
	return 0
}

func (b *actionBuilder) setField(a *pipeline.Action) error {
	d := a.Field.Desc()
	if d == nil {
		return notExpressible("action set_field of OXM field %d has no flower form", a.Field)
	}
	v := a.FieldValue()
	st := b.st
	v4, v6 := st.l3 == EthTypeIPv4, st.l3 == EthTypeIPv6
	switch a.Field {
	case pipeline.FieldMPLSLabel, pipeline.FieldMPLSTC, pipeline.FieldMPLSBoS:
		return b.setMPLSField(a)
	case pipeline.FieldIPProto:
		// pedit can write the protocol byte, but not the rest: OpenFlow's
		// packet (the fast path's, softpath/packet.Apply, as os-ken's
		// conformance suite expects it) keeps the transport header and
		// updates its checksum for the new protocol in the pseudo header,
		// where act_csum recomputes the checksum of the new protocol, at
		// its offset, over a pseudo header with its own number (a TCP
		// header under protocol 17 gets a UDP checksum written into its
		// sequence number) and no pedit key can do a one's complement
		// update of a checksum the rule does not know; and the IPv6 next
		// header that names the upper layer follows the extension header
		// chain, at an offset pedit cannot follow.
		return notExpressible("action set_field ip_proto: OpenFlow keeps the transport header under the new protocol and updates its checksum for the pseudo header, act_csum would write the new protocol's checksum at its offset; pedit cannot reach an IPv6 next header behind extension headers")
	case pipeline.FieldIPDSCP, pipeline.FieldIPECN, pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst,
		pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst, pipeline.FieldIPv6Flabel,
		pipeline.FieldTCPSrc, pipeline.FieldTCPDst, pipeline.FieldUDPSrc, pipeline.FieldUDPDst:
		if b.l3 != st.l3 {
			return notExpressible("action set_field %s after push_mpls or pop_mpls: the header is not the one the match describes", d.Name)
		}
	}
	need := func(ok bool, what string) error {
		if ok {
			return nil
		}
		return notExpressible("action set_field %s without %s in the match", d.Name, what)
	}
	e := &b.edit
	switch a.Field {
	case pipeline.FieldVlanVID:
		return b.setVLAN(a, false)
	case pipeline.FieldVlanPCP:
		return b.setVLAN(a, true)
	case pipeline.FieldTunnelID:
		id := binary.BigEndian.Uint64(v)
		if id>>32 != 0 {
			return notExpressible("action set_field tunnel_id=%#x: the tc tunnel key has 32 bits", id)
		}
		b.tunID, b.hasTunID = uint32(id), true
		return nil
	case pipeline.FieldEthDst:
		e.write(PeditEth, 0, v, ones(6))
	case pipeline.FieldEthSrc:
		e.write(PeditEth, 6, v, ones(6))
	case pipeline.FieldIPDSCP, pipeline.FieldIPECN:
		if err := need(v4 || v6, "eth_type ipv4 or ipv6"); err != nil {
			return err
		}
		val, mask := uint32(v[0]&0x3f)<<2, uint32(0xfc)
		if a.Field == pipeline.FieldIPECN {
			val, mask = uint32(v[0]&3), 3
		} else {
			b.dscp, b.dscpKnown = v[0]&0x3f, true
		}
		if v4 {
			e.write(PeditIP4, 1, []byte{byte(val)}, []byte{byte(mask)})
			e.csum |= CsumIPv4Hdr
		} else {
			// version(4) traffic class(8) flow label(20)
			e.write32(PeditIP6, 0, val<<20, mask<<20)
		}
	case pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst:
		if err := need(v4, "eth_type ipv4"); err != nil {
			return err
		}
		off := 12
		if a.Field == pipeline.FieldIPv4Dst {
			off = 16
		}
		e.write(PeditIP4, off, v, ones(4))
		e.csum |= CsumIPv4Hdr | pseudoCsum(st)
	case pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst:
		if err := need(v6, "eth_type ipv6"); err != nil {
			return err
		}
		off := 8
		if a.Field == pipeline.FieldIPv6Dst {
			off = 24
		}
		e.write(PeditIP6, off, v, ones(16))
		e.csum |= pseudoCsum(st)
	case pipeline.FieldIPv6Flabel:
		if err := need(v6, "eth_type ipv6"); err != nil {
			return err
		}
		e.write32(PeditIP6, 0, binary.BigEndian.Uint32(v)&0xfffff, 0xfffff)
	case pipeline.FieldTCPSrc, pipeline.FieldTCPDst, pipeline.FieldUDPSrc, pipeline.FieldUDPDst:
		h, proto, csum, name := PeditTCP, uint8(pipeline.ProtoTCP), CsumTCP, "ip_proto tcp"
		if a.Field == pipeline.FieldUDPSrc || a.Field == pipeline.FieldUDPDst {
			h, proto, csum, name = PeditUDP, pipeline.ProtoUDP, CsumUDP, "ip_proto udp"
		}
		if err := need((v4 || v6) && st.hasIPProto && st.ipProto == proto, name); err != nil {
			return err
		}
		off := 0
		if a.Field == pipeline.FieldTCPDst || a.Field == pipeline.FieldUDPDst {
			off = 2
		}
		e.write(h, off, v, ones(2))
		e.csum |= csum
	default:
		return notExpressible("action set_field %s has no flower form", d.Name)
	}
	return nil
}

func ones(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = 0xff
	}
	return b
}
