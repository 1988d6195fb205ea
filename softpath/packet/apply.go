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
// frame, an ND field on a non-ND ICMPv6 message, a TTL action on non-IP) is
// a no-op, as in Open vSwitch: OpenFlow leaves the behaviour undefined and
// the prerequisites checked at FLOW_MOD time make it rare.
//
// Supported actions:
//   - set_field of eth_src/dst, vlan_vid and vlan_pcp (outer tag; on an
//     untagged frame a no-op: OpenFlow 1.3 requires a push_vlan first),
//     ip_dscp, ip_ecn, ipv4_src/dst, ipv6_src/dst, ipv6_flabel,
//     tcp/udp/sctp_src/dst, icmpv4/v6_type/code, arp_op/spa/tpa/sha/tha,
//     ipv6_nd_target/sll/tll. Values are masked to the field's width.
//     Checksums follow: the IPv4 header checksum, the TCP/UDP/ICMPv6
//     pseudo-header checksums and the ICMPv4 checksum are updated
//     incrementally (RFC 1624), so a bad checksum stays bad; a zero UDP
//     checksum (no checksum) stays zero; the SCTP CRC32c is recomputed,
//     also keeping an error (the old error is XORed in, as Open vSwitch
//     does). The SCTP CRC of a first fragment cannot be fixed (it covers
//     bytes this frame does not hold) and ends up wrong.
//   - push_vlan: inserts a tag after the MACs with TPID a.EtherType
//     (0x8100 or 0x88a8); its VID and PCP are copied from the existing outer
//     tag, or 0. The frame grows by 4 bytes: the returned slice reuses
//     frame's backing array when cap(frame) >= len(frame)+4 (otherwise it is
//     reallocated).
//   - pop_vlan: removes the outer tag; the returned slice is 4 bytes
//     shorter.
//   - set_nw_ttl, dec_nw_ttl: IPv4 TTL (checksum fixed) or IPv6 hop limit;
//     dec_nw_ttl returns ErrTTLExpired, leaving the packet alone, when the
//     TTL is 0 or 1.
//   - set_queue: a no-op (the fast path has no queues).
//
// Other actions, and set_field of other fields (tunnel_id, metadata, MPLS,
// ...), return an error wrapping ErrUnsupported and leave the packet alone.
// Apply returns frame itself for every action but push and pop.
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
	mv(&l.L3)
	mv(&l.L4)
	mv(&l.End)
	mv(&l.NDTarget)
	mv(&l.NDSLL)
	mv(&l.NDTLL)
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
	n := len(frame)
	frame = append(frame, 0, 0, 0, 0)
	copy(frame[12+vlanLen:], frame[12:n])
	put16(frame[12:], tpid)
	put16(frame[14:], tci)
	if l.VLANs >= 2 || isTPID(k.EthType) || len(frame) > maxFrame {
		// The tag count or the visible bytes change what Parse sees.
		reparse(frame, l, k)
		return frame, nil
	}
	l.shift(vlanLen)
	l.VLANs++
	k.VlanVID = tci&vidMask | pipeline.VIDPresent
	k.VlanPCP = uint8(tci >> 13)
	return frame, nil
}

func popVLAN(frame []byte, l *Layout, k *pipeline.Key) []byte {
	if l.VLANs == 0 {
		return frame
	}
	n := len(frame)
	copy(frame[12:], frame[12+vlanLen:])
	frame = frame[:n-vlanLen]
	if isTPID(k.EthType) || n > maxFrame {
		// A further tag becomes visible.
		reparse(frame, l, k)
		return frame
	}
	l.shift(-vlanLen)
	l.VLANs--
	k.VlanVID, k.VlanPCP = 0, 0
	if l.VLANs > 0 {
		tci := be16(frame[ethLen:])
		k.VlanVID = tci&vidMask | pipeline.VIDPresent
		k.VlanPCP = uint8(tci >> 13)
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
		writeTTL(frame, l, k, o, ttl)
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
	writeTTL(frame, l, k, o, ttl-1)
	return nil
}

func writeTTL(frame []byte, l *Layout, k *pipeline.Key, o int, ttl uint8) {
	if k.EthType == pipeline.EthTypeIPv6 {
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
