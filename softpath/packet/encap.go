package packet

import (
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// This file holds the MPLS and PBB actions (see Apply). They change what
// follows the Ethernet header, so they parse the frame again afterwards
// (Parse does not allocate); the in-place ones (TTLs, labels, I-SID) keep
// the key in step themselves.

// mplsTop reports whether k and l describe an MPLS frame with at least
// one complete label stack entry.
func mplsTop(l *Layout, k *pipeline.Key) bool { return l.MPLS != 0 && isMPLS(k.EthType) }

func pushMPLS(frame []byte, l *Layout, k *pipeline.Key, et uint16) ([]byte, error) {
	if !isMPLS(et) {
		return frame, fmt.Errorf("push_mpls with ethertype %#04x: %w", et, ErrUnsupported)
	}
	if l.L2Len == 0 {
		return frame, nil
	}
	// OpenFlow 1.3.5 section 5.12.1: MPLS label, TC and TTL are copied
	// from the existing outer MPLS header; the TTL from the IP TTL when
	// there is none; what has nothing to copy from is 0.
	var lse uint32
	switch {
	case mplsTop(l, k):
		lse = k.MPLS[0] &^ mplsBoS
	case (k.EthType == pipeline.EthTypeIPv4 || k.EthType == pipeline.EthTypeIPv6) && l.L3 != 0:
		lse = mplsBoS | uint32(k.IPTTL)
	default:
		lse = mplsBoS
	}
	o := int(l.L2Len)
	frame = insert(frame, o, mplsLen)
	put32(frame[o:], lse)
	put16(frame[o-2:], et)
	reparse(frame, l, k)
	return frame, nil
}

func popMPLS(frame []byte, l *Layout, k *pipeline.Key, et uint16) []byte {
	if !mplsTop(l, k) {
		return frame
	}
	o := int(l.MPLS)
	put16(frame[o-2:], et)
	frame = remove(frame, o, mplsLen)
	reparse(frame, l, k)
	return frame
}

// setTopTTL writes the top label stack entry's TTL.
func setTopTTL(frame []byte, l *Layout, k *pipeline.Key, ttl uint8) {
	frame[l.MPLS+3] = ttl
	k.MPLS[0] = k.MPLS[0]&^mplsTTL | uint32(ttl)
}

func setMPLSTTL(frame []byte, l *Layout, k *pipeline.Key, ttl uint8) {
	if mplsTop(l, k) {
		setTopTTL(frame, l, k, ttl)
	}
}

func decMPLSTTL(frame []byte, l *Layout, k *pipeline.Key) error {
	if !mplsTop(l, k) {
		return nil
	}
	ttl := frame[l.MPLS+3]
	if ttl <= 1 {
		return ErrTTLExpired
	}
	setTopTTL(frame, l, k, ttl-1)
	return nil
}

// payloadTTL returns the offset of the TTL of the IP packet behind the
// bottom of stack and whether it is IPv4; 0 when there is none.
func payloadTTL(l *Layout, k *pipeline.Key) (int, bool) {
	switch {
	case k.Parsed&pipeline.ParsedMPLSIPv4 != 0:
		return int(l.L3) + 8, true
	case k.Parsed&pipeline.ParsedMPLSIPv6 != 0:
		return int(l.L3) + 7, false
	}
	return 0, false
}

// copyTTLOut copies the TTL of the next-to-outermost header (the second
// label stack entry, or the IP header behind the bottom of stack) to the
// top entry.
func copyTTLOut(frame []byte, l *Layout, k *pipeline.Key) {
	if !mplsTop(l, k) {
		return
	}
	var ttl uint8
	switch {
	case k.MPLS[0]&mplsBoS == 0:
		if l.MPLSLabels < 2 {
			return
		}
		ttl = frame[l.MPLS+7]
	default:
		o, _ := payloadTTL(l, k)
		if o == 0 {
			return
		}
		ttl = frame[o]
	}
	setTopTTL(frame, l, k, ttl)
}

// copyTTLIn copies the top label stack entry's TTL to the next-to-outermost
// header (the second entry, or the IP header behind the bottom of stack).
func copyTTLIn(frame []byte, l *Layout, k *pipeline.Key) {
	if !mplsTop(l, k) {
		return
	}
	ttl := frame[l.MPLS+3]
	if k.MPLS[0]&mplsBoS == 0 {
		if l.MPLSLabels < 2 {
			return
		}
		frame[l.MPLS+7] = ttl
		k.MPLS[1] = k.MPLS[1]&^mplsTTL | uint32(ttl)
		return
	}
	o, v4 := payloadTTL(l, k)
	if o == 0 {
		return
	}
	writeTTL(frame, l, o, ttl, v4)
	k.IPTTL = ttl
}

func pushPBB(frame []byte, l *Layout, k *pipeline.Key, et uint16) ([]byte, error) {
	if et != pipeline.EthTypePBB {
		return frame, fmt.Errorf("push_pbb with ethertype %#04x: %w", et, ErrUnsupported)
	}
	if l.L2Len == 0 {
		return frame, nil
	}
	// OpenFlow 1.3.5 table 8: PBB I-SID from PBB I-SID, I-PCP from VLAN
	// PCP, C-DA from ETH DST, C-SA from ETH SRC.
	tci := uint32(k.VlanPCP) << 29
	if l.PBB != 0 {
		tci |= k.PBBISID
	}
	frame = insert(frame, 12, pbbPushLen)
	put16(frame[12:], et)
	put32(frame[14:], tci)
	copy(frame[14+itagLen:], frame[:12])
	reparse(frame, l, k)
	return frame, nil
}

func popPBB(frame []byte, l *Layout, k *pipeline.Key) []byte {
	if l.PBB == 0 {
		return frame
	}
	frame = remove(frame, 0, int(l.PBB)+itagLen)
	reparse(frame, l, k)
	return frame
}

// setEthType rewrites the ethertype after the tags and parses the frame
// again.
func setEthType(frame []byte, l *Layout, k *pipeline.Key, et uint16) {
	if l.L2Len == 0 || et == k.EthType {
		return
	}
	put16(frame[l.L2Len-2:], et)
	reparse(frame, l, k)
}

// setMPLSBits sets the bits under mask of the top label stack entry to v.
func setMPLSBits(frame []byte, l *Layout, k *pipeline.Key, mask, v uint32) {
	if !mplsTop(l, k) {
		return
	}
	lse := be32(frame[l.MPLS:])&^mask | v&mask
	put32(frame[l.MPLS:], lse)
	k.MPLS[0] = lse
}

// setBoS sets or clears the bottom-of-stack bit of the top label stack
// entry; the stack and what follows it are parsed again.
func setBoS(frame []byte, l *Layout, k *pipeline.Key, bos bool) {
	if !mplsTop(l, k) || (k.MPLS[0]&mplsBoS != 0) == bos {
		return
	}
	frame[l.MPLS+2] ^= 1
	reparse(frame, l, k)
}

// setISID sets the I-SID of a PBB frame's I-TAG.
func setISID(frame []byte, l *Layout, k *pipeline.Key, isid uint32) {
	if l.PBB == 0 {
		return
	}
	put32(frame[l.PBB:], be32(frame[l.PBB:])&^isidMask|isid&isidMask)
	k.PBBISID = isid & isidMask
}
