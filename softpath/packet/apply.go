package packet

import (
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Apply executes one packet-modifying action on frame in place and updates
// k and l to match the new packet: afterwards k equals what Parse would
// return for the result (InPort, Metadata and TunnelID are left alone) and
// l equals Parse's layout. l and k must describe frame (come from Parse or
// an earlier Apply on it).
//
// An action whose header is absent from the packet (set_field ipv4_src on
// an ARP frame, tcp_dst on a non-first fragment, pop_vlan on an untagged
// frame, an ND field on a non-ND ICMPv6 message, a TTL action on non-IP,
// pop_mpls on a non-MPLS frame) is a no-op, as in Open vSwitch: OpenFlow
// leaves the behaviour undefined and the prerequisites checked at FLOW_MOD
// time make it rare. Fields apply to the outermost header the key names:
// on an MPLS or PBB frame the IP and transport headers behind it are not
// touched by set_field or set/dec_nw_ttl.
//
// Supported actions:
//   - set_field of eth_src/dst, eth_type (the ethertype after the tags;
//     the frame is parsed again with it), vlan_vid and vlan_pcp (outer tag;
//     on an untagged frame a no-op: OpenFlow 1.3 requires a push_vlan
//     first), ip_dscp, ip_ecn, ip_proto (the IPv4 protocol or the IPv6 next
//     header naming the upper layer; the frame is parsed again, the
//     transport header behind stays and its checksum is updated for the
//     pseudo header's new protocol, see setIPProto), ipv4_src/dst,
//     ipv6_src/dst, ipv6_flabel,
//     tcp/udp/sctp_src/dst, icmpv4/v6_type/code, arp_op/spa/tpa/sha/tha,
//     ipv6_nd_target/sll/tll, mpls_label, mpls_tc and mpls_bos (top entry;
//     a changed bottom of stack is parsed again), pbb_isid.
//     Values are masked to the field's width. Checksums follow: the IPv4
//     header checksum, the TCP/UDP/ICMPv6 pseudo-header checksums and the
//     ICMPv4 checksum are updated incrementally (RFC 1624), so a bad
//     checksum stays bad; a zero UDP checksum (no checksum) stays zero; the
//     SCTP CRC32c is recomputed, also keeping an error (the old error is
//     XORed in, as Open vSwitch does): a frame whose CRC was left to
//     offload must have been completed first (softpath/afpacket does). The
//     SCTP CRC of a first fragment cannot be fixed (it covers bytes this
//     frame does not hold) and ends up wrong.
//   - push_vlan: inserts a tag after the MACs with TPID a.EtherType
//     (0x8100 or 0x88a8); its VID and PCP are copied from the existing outer
//     tag, or 0. The frame grows by 4 bytes: the returned slice reuses
//     frame's backing array when cap(frame) >= len(frame)+4 (otherwise it is
//     reallocated). Every push grows the frame this way.
//   - pop_vlan: removes the outer tag; the returned slice is 4 bytes
//     shorter.
//   - set_nw_ttl, dec_nw_ttl: IPv4 TTL (checksum fixed) or IPv6 hop limit;
//     dec_nw_ttl returns ErrTTLExpired, leaving the packet alone, when the
//     TTL is 0 or 1.
//   - push_mpls (a.EtherType 0x8847 or 0x8848): inserts a label stack entry
//     after the tags Parse reads and sets the ethertype before it to
//     a.EtherType. On an MPLS frame the entry is a copy of the top one with
//     the bottom-of-stack bit clear; otherwise label 0, TC 0, the bottom of
//     stack set and the IP TTL, 0 for a packet that is not IP: OpenFlow
//     copies only an MPLS label, TC and TTL or an IP TTL, what has nothing
//     to copy from is 0 (as the spec's reference switch ofsoftswitch13 and
//     os-ken's conformance suite have it; Open vSwitch puts the IPv6
//     explicit null label 2, the low DSCP bits and TTL 64 instead).
//   - pop_mpls: removes the top entry of an MPLS frame and sets the
//     ethertype before it to a.EtherType, bottom of stack or not.
//   - set_mpls_ttl, dec_mpls_ttl: the top entry's TTL; dec_mpls_ttl returns
//     ErrTTLExpired, leaving the packet alone, when it is 0 or 1.
//   - copy_ttl_out, copy_ttl_in on an MPLS frame: between the top entry and
//     the next one, or, at the bottom of stack, the IP header behind it
//     (IPv4 checksum fixed). A no-op on other frames.
//   - push_pbb (a.EtherType 0x88e7): inserts after the MACs ethertype
//     0x88e7, an I-TAG TCI and the customer MACs (copies of the frame's
//     MACs, which stay as B-DA and B-SA); the frame's tags and everything
//     after move into the customer frame. I-PCP is the outer tag's PCP,
//     I-SID the frame's own I-SID if it is a PBB frame, else 0; DEI, UCA
//     and the reserved bits are 0. The frame grows by 18 bytes.
//   - pop_pbb: removes everything before the customer frame of a PBB frame
//     (B-DA, B-SA, the tags before the I-TAG, the I-TAG).
//   - set_queue: a no-op (the fast path has no queues).
//
// Other actions, and set_field of other fields (tunnel_id, metadata,
// ipv6_exthdr, ...), return an error wrapping ErrUnsupported and leave the
// packet alone. Apply returns frame itself for every action but pushes and
// pops.
func Apply(frame []byte, l *Layout, k *pipeline.Key, a *pipeline.Action) ([]byte, error) {
	switch a.Type {
	case pipeline.ActionSetField:
		return frame, setField(frame, l, k, a)
	case pipeline.ActionPushVLAN:
		return pushVLAN(frame, l, k, a.EtherType)
	case pipeline.ActionPopVLAN:
		return popVLAN(frame, l, k), nil
	case pipeline.ActionSetNwTTL:
		setTTL(frame, l, k, a.TTL)
		return frame, nil
	case pipeline.ActionDecNwTTL:
		return frame, decTTL(frame, l, k)
	case pipeline.ActionPushMPLS:
		return pushMPLS(frame, l, k, a.EtherType)
	case pipeline.ActionPopMPLS:
		return popMPLS(frame, l, k, a.EtherType), nil
	case pipeline.ActionSetMPLSTTL:
		setMPLSTTL(frame, l, k, a.TTL)
		return frame, nil
	case pipeline.ActionDecMPLSTTL:
		return frame, decMPLSTTL(frame, l, k)
	case pipeline.ActionCopyTTLOut:
		copyTTLOut(frame, l, k)
		return frame, nil
	case pipeline.ActionCopyTTLIn:
		copyTTLIn(frame, l, k)
		return frame, nil
	case pipeline.ActionPushPBB:
		return pushPBB(frame, l, k, a.EtherType)
	case pipeline.ActionPopPBB:
		return popPBB(frame, l, k), nil
	case pipeline.ActionSetQueue:
		return frame, nil
	}
	return frame, fmt.Errorf("apply action type %d: %w", a.Type, ErrUnsupported)
}

// reparse recomputes k and l from frame, keeping the key's metadata.
func reparse(frame []byte, l *Layout, k *pipeline.Key) {
	inPort, md, tun := k.InPort, k.Metadata, k.TunnelID
	*l = Parse(frame, inPort, k)
	k.Metadata, k.TunnelID = md, tun
}

// shift moves every offset past the MACs by d bytes (push/pop of a tag).
func (l *Layout) shift(d int) {
	mv := func(p *uint16) {
		if *p != 0 {
			*p = uint16(int(*p) + d)
		}
	}
	mv(&l.L2Len)
	mv(&l.MPLS)
	mv(&l.PBB)
	mv(&l.InnerL2Len)
	mv(&l.L3)
	mv(&l.Proto)
	mv(&l.L4)
	mv(&l.End)
	mv(&l.NDTarget)
	mv(&l.NDSLL)
	mv(&l.NDTLL)
}

// insert opens n zero bytes at offset o, growing frame (in place when its
// capacity allows).
func insert(frame []byte, o, n int) []byte {
	m := len(frame)
	frame = append(frame, make([]byte, n)...)
	copy(frame[o+n:], frame[o:m])
	return frame
}

// remove takes n bytes out at offset o.
func remove(frame []byte, o, n int) []byte {
	copy(frame[o:], frame[o+n:])
	return frame[:len(frame)-n]
}

func pushVLAN(frame []byte, l *Layout, k *pipeline.Key, tpid uint16) ([]byte, error) {
	if !isTPID(tpid) {
		return frame, fmt.Errorf("push_vlan with ethertype %#04x: %w", tpid, ErrUnsupported)
	}
	if l.L2Len == 0 {
		return frame, nil
	}
	var tci uint16
	if l.VLANs > 0 {
		tci = be16(frame[ethLen:]) & vlanTCIMask
	}
	frame = insert(frame, 12, vlanLen)
	put16(frame[12:], tpid)
	put16(frame[14:], tci)
	if l.VLANs >= 2 || isTPID(k.EthType) || len(frame) > maxFrame {
		// The tag count or the visible bytes change what Parse sees.
		reparse(frame, l, k)
		return frame, nil
	}
	l.shift(vlanLen)
	l.VLANs++
	if l.VLANs == 2 {
		k.Vlan2VID, k.Vlan2PCP = k.VlanVID, k.VlanPCP
		if k.Parsed&pipeline.ParsedVlanSTag != 0 {
			k.Parsed |= pipeline.ParsedVlan2STag
		}
	}
	k.VlanVID = tci&vidMask | pipeline.VIDPresent
	k.VlanPCP = uint8(tci >> 13)
	k.Parsed &^= pipeline.ParsedVlanSTag
	if tpid == pipeline.EthTypeQinQ {
		k.Parsed |= pipeline.ParsedVlanSTag
	}
	return frame, nil
}

func popVLAN(frame []byte, l *Layout, k *pipeline.Key) []byte {
	if l.VLANs == 0 {
		return frame
	}
	n := len(frame)
	frame = remove(frame, 12, vlanLen)
	if isTPID(k.EthType) || n > maxFrame {
		// A further tag becomes visible.
		reparse(frame, l, k)
		return frame
	}
	l.shift(-vlanLen)
	l.VLANs--
	k.VlanVID, k.VlanPCP = k.Vlan2VID, k.Vlan2PCP
	k.Vlan2VID, k.Vlan2PCP = 0, 0
	k.Parsed &^= pipeline.ParsedVlanSTag
	if k.Parsed&pipeline.ParsedVlan2STag != 0 {
		k.Parsed ^= pipeline.ParsedVlan2STag | pipeline.ParsedVlanSTag
	}
	return frame
}

// ttlOffset returns the offset of the IPv4 TTL or IPv6 hop limit, or 0.
func ttlOffset(l *Layout, k *pipeline.Key) int {
	if l.L3 == 0 {
		return 0
	}
	switch k.EthType {
	case pipeline.EthTypeIPv4:
		return int(l.L3) + 8
	case pipeline.EthTypeIPv6:
		return int(l.L3) + 7
	}
	return 0
}

func setTTL(frame []byte, l *Layout, k *pipeline.Key, ttl uint8) {
	if o := ttlOffset(l, k); o != 0 {
		writeTTL(frame, l, o, ttl, k.EthType == pipeline.EthTypeIPv4)
		k.IPTTL = ttl
	}
}

func decTTL(frame []byte, l *Layout, k *pipeline.Key) error {
	o := ttlOffset(l, k)
	if o == 0 {
		return nil
	}
	ttl := frame[o]
	if ttl <= 1 {
		return ErrTTLExpired
	}
	writeTTL(frame, l, o, ttl-1, k.EthType == pipeline.EthTypeIPv4)
	k.IPTTL = ttl - 1
	return nil
}

// writeTTL writes the TTL at offset o of the IPv4 header (checksum fixed)
// or IPv6 header at l.L3.
func writeTTL(frame []byte, l *Layout, o int, ttl uint8, v4 bool) {
	if !v4 {
		frame[o] = ttl
		return
	}
	old := be16(frame[o:]) // TTL and protocol
	frame[o] = ttl
	fixIPv4(frame, l, old, be16(frame[o:]))
}

// fixIPv4 updates the IPv4 header checksum for one changed 16-bit word.
func fixIPv4(frame []byte, l *Layout, old, new uint16) {
	c := frame[l.L3+10:]
	put16(c, update16(be16(c), old, new))
}
