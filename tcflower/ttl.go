package tcflower

// MaxTTLDec bounds the TTL decrements a packet may meet along its path
// through tc, per TTL class: a TTL guard takes the packets whose TTL is at
// most that many (GuardKeys), and an MPLS guard needs a filter per TTL
// value.
const MaxTTLDec = 7

// ttlState is what a translation knows about one header's TTL as the
// actions so far leave it.
type ttlState struct {
	// known: the TTL is value (set by an action, or matched exactly).
	known bool
	value uint8
	// lost: the TTL is not the one the packet entered the chain with, and
	// not known either (pop_mpls exposed another header).
	lost bool
	// dec: neither known nor lost: the TTL is the one the packet entered
	// the chain with, less dec.
	dec uint8
}

// setKnown makes the TTL v.
func (s *ttlState) setKnown(v uint8) { *s = ttlState{known: true, value: v} }

// ipClass returns the TTL class of the IP ethertype et.
func ipClass(et uint16) (TTLClass, bool) {
	switch et {
	case EthTypeIPv4:
		return TTLIPv4, true
	case EthTypeIPv6:
		return TTLIPv6, true
	}
	return 0, false
}

// setNwTTL maps set_nw_ttl to a pedit of the IPv4 TTL (with the header
// checksum) or the IPv6 hop limit.
func (b *actionBuilder) setNwTTL(ttl uint8) error {
	if _, ok := ipClass(b.l3); !ok || b.l3 != b.st.l3 {
		return notExpressible("action set_nw_ttl without eth_type ipv4 or ipv6 in the match (or after push_mpls or pop_mpls)")
	}
	b.ip.setKnown(ttl)
	b.edit.ipAdd = 0 // a pending decrement is overwritten
	b.writeNwTTL(ttl)
	b.ttl.Rewrites = true
	return nil
}

// writeNwTTL adds the pedit that sets the IP TTL to ttl.
func (b *actionBuilder) writeNwTTL(ttl uint8) {
	if b.l3 == EthTypeIPv4 {
		b.edit.write(PeditIP4, 8, []byte{ttl}, ones(1))
		b.edit.csum |= CsumIPv4Hdr
	} else {
		b.edit.write(PeditIP6, 7, []byte{ttl}, ones(1))
	}
}

// decNwTTL maps dec_nw_ttl. OpenFlow hands a packet whose TTL is 0 or 1
// to the controller (INVALID_TTL) or drops it, and stops; tc cannot. When
// the TTL is known (set by an earlier set_nw_ttl) the decrement is a set;
// otherwise it is a pedit that adds 0xff to the TTL byte (with the IPv4
// header checksum), and the filter's TTLUse asks for a guard that keeps
// the packets whose TTL would expire away from it.
func (b *actionBuilder) decNwTTL() error {
	cls, ok := ipClass(b.l3)
	switch {
	case !ok:
		return notExpressible("action dec_nw_ttl without eth_type ipv4 or ipv6 in the match (or after push_mpls)")
	case b.ip.lost:
		return notExpressible("action dec_nw_ttl after pop_mpls: flower does not read the TTL of the IP header the pop exposes")
	case b.ip.known && b.ip.value <= 1:
		return notExpressible("action dec_nw_ttl of a TTL of %d: it expires on every packet (INVALID_TTL), which tc cannot report", b.ip.value)
	case b.ip.known:
		b.ip.value--
		b.writeNwTTL(b.ip.value)
		return nil
	case b.ip.dec >= MaxTTLDec:
		return notExpressible("action dec_nw_ttl: more than %d decrements of one TTL in a rule", MaxTTLDec)
	}
	b.ip.dec++
	b.ttl.Dec[cls] = b.ip.dec
	b.edit.ipAdd++
	b.edit.ipAddHdr = PeditIP4
	if cls == TTLIPv6 {
		b.edit.ipAddHdr = PeditIP6
	} else {
		b.edit.csum |= CsumIPv4Hdr
	}
	return nil
}

// ipAddKey is the pedit key that subtracts n from the IP TTL (hdr
// PeditIP4) or hop limit (PeditIP6): it adds 256-n to the byte, whose
// carry the mask keeps out of the neighbouring bytes.
func ipAddKey(hdr PeditHeader, n uint8) PeditKey {
	add := uint32(uint8(-n))
	if hdr == PeditIP4 {
		// TTL, protocol, checksum: the TTL is the word's first byte.
		return PeditKey{Header: PeditIP4, Offset: 8, Mask: 0x00ffffff, Val: add << 24, Add: true}
	}
	// Payload length, next header, hop limit: the hop limit is the last.
	return PeditKey{Header: PeditIP6, Offset: 4, Mask: 0xffffff00, Val: add, Add: true}
}

// GuardKeys returns the flower keys of the TTL guard filters of class c
// for a path that decrements that TTL dec times (1 to MaxTTLDec): together
// they match every packet whose TTL of that class is at most dec (and a
// few more: an IP guard matches a masked ip_ttl, 0 to the next power of
// two less one). Nil for dec 0.
func GuardKeys(c TTLClass, dec uint8) []Keys {
	if dec == 0 {
		return nil
	}
	dec = min(dec, MaxTTLDec)
	mask := uint8(0xff)
	for uint8(^mask) < dec {
		mask <<= 1
	}
	switch c {
	case TTLIPv4:
		return []Keys{{EthType: EthTypeIPv4, IPTTLMask: mask}}
	case TTLIPv6:
		return []Keys{{EthType: EthTypeIPv6, IPTTLMask: mask}}
	case TTLMPLS:
		// flower matches the MPLS TTL exactly: a filter per value.
		var ks []Keys
		for _, et := range []uint16{EthTypeMPLS, EthTypeMPLSMC} {
			for v := 0; v <= int(dec); v++ {
				ks = append(ks, Keys{EthType: et, MPLSTTL: uint8(v), HasMPLSTTL: true})
			}
		}
		return ks
	}
	return nil
}

// GuardPref is the pref of the TTL guards: in chain 0, in front of every
// rule but those of priority 65533 to 65535, which share it (see Pref).
// Placement keeps a rule of that pref whose path decrements a TTL out of
// tc: filters of one pref have no order.
const GuardPref = 1
