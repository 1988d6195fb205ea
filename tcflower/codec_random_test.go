package tcflower

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

// randFilter builds a random filter the encoder accepts: keys obey the
// kernel's dependencies (ip_proto under IP, ports under tcp/udp/sctp, ...)
// and every key bit outside its mask is zero.
func randFilter(r *rand.Rand) *Filter {
	f := &Filter{
		Chain: r.Uint32N(4), Pref: uint16(1 + r.IntN(1000)), Protocol: EthPAll,
		Handle: r.Uint32N(3), Flags: Flags(r.IntN(3)),
	}
	k := &f.Keys
	coin := func() bool { return r.IntN(2) == 0 }
	maskedBytes := func(key, mask []byte) {
		if coin() {
			return
		}
		for i := range mask {
			mask[i] = byte(r.Uint32())
			key[i] = byte(r.Uint32()) & mask[i]
		}
	}
	masked16 := func(key, mask *uint16) {
		if coin() {
			return
		}
		*mask = uint16(r.Uint32())
		*key = uint16(r.Uint32()) & *mask
	}
	masked8 := func(key, mask *uint8) {
		if coin() {
			return
		}
		*mask = uint8(r.Uint32())
		*key = uint8(r.Uint32()) & *mask
	}
	if coin() {
		k.Indev = []string{"p1", "p2", "vxlan0"}[r.IntN(3)]
	}
	maskedBytes(k.DstMAC[:], k.DstMACMask[:])
	maskedBytes(k.SrcMAC[:], k.SrcMACMask[:])
	l3 := []uint16{0, EthTypeIPv4, EthTypeIPv6, EthTypeARP, 0x88cc, EthTypeMPLS, EthTypeMPLSMC}[r.IntN(7)]
	if coin() {
		k.EthType = []uint16{EthType8021Q, EthType8021AD}[r.IntN(2)]
		k.VlanEthType = l3
		if coin() {
			k.VlanID, k.HasVlanID = uint16(r.IntN(4096)), true
		}
		if coin() {
			k.VlanPrio, k.HasVlanPrio = uint8(r.IntN(8)), true
		}
	} else {
		k.EthType = l3
		if coin() {
			k.NumVlans, k.HasNumVlans = 0, true
		}
	}
	switch l3 {
	case EthTypeIPv4, EthTypeIPv6:
		if l3 == EthTypeIPv4 {
			maskedBytes(k.IPv4Src[:], k.IPv4SrcMask[:])
			maskedBytes(k.IPv4Dst[:], k.IPv4DstMask[:])
		} else {
			maskedBytes(k.IPv6Src[:], k.IPv6SrcMask[:])
			maskedBytes(k.IPv6Dst[:], k.IPv6DstMask[:])
		}
		masked8(&k.IPTOS, &k.IPTOSMask)
		masked8(&k.IPTTL, &k.IPTTLMask)
		if coin() {
			icmp := uint8(ipProtoICMP)
			if l3 == EthTypeIPv6 {
				icmp = ipProtoICMPv6
			}
			k.IPProto, k.HasIPProto = []uint8{ipProtoTCP, ipProtoUDP, ipProtoSCTP, icmp, 47}[r.IntN(5)], true
			switch k.IPProto {
			case ipProtoTCP, ipProtoUDP, ipProtoSCTP:
				masked16(&k.SrcPort, &k.SrcPortMask)
				masked16(&k.DstPort, &k.DstPortMask)
				if k.IPProto == ipProtoTCP {
					masked16(&k.TCPFlags, &k.TCPFlagsMask)
					k.TCPFlags &= 0x0fff
					k.TCPFlagsMask &= 0x0fff
				}
			case icmp:
				masked8(&k.ICMPType, &k.ICMPTypeMask)
				masked8(&k.ICMPCode, &k.ICMPCodeMask)
			}
		}
	case EthTypeMPLS, EthTypeMPLSMC:
		if coin() {
			k.MPLSLabel, k.HasMPLSLabel = r.Uint32N(1<<20), true
		}
		if coin() {
			k.MPLSTC, k.HasMPLSTC = uint8(r.IntN(8)), true
		}
		if coin() {
			k.MPLSBOS, k.HasMPLSBOS = uint8(r.IntN(2)), true
		}
		if coin() {
			k.MPLSTTL, k.HasMPLSTTL = uint8(r.Uint32()), true
		}
	case EthTypeARP:
		masked8(&k.ArpOp, &k.ArpOpMask)
		maskedBytes(k.ArpSIP[:], k.ArpSIPMask[:])
		maskedBytes(k.ArpTIP[:], k.ArpTIPMask[:])
		maskedBytes(k.ArpSHA[:], k.ArpSHAMask[:])
		maskedBytes(k.ArpTHA[:], k.ArpTHAMask[:])
	}
	if coin() {
		k.EncKeyID, k.HasEncKeyID = r.Uint32(), true
	}
	if coin() { // one tunnel address family at most
		maskedBytes(k.EncIPv4Src[:], k.EncIPv4SrcMask[:])
		maskedBytes(k.EncIPv4Dst[:], k.EncIPv4DstMask[:])
	} else {
		maskedBytes(k.EncIPv6Src[:], k.EncIPv6SrcMask[:])
		maskedBytes(k.EncIPv6Dst[:], k.EncIPv6DstMask[:])
	}
	masked16(&k.EncDstPort, &k.EncDstPortMask)

	for n := r.IntN(6); n > 0; n-- {
		f.Actions = append(f.Actions, randAction(r))
	}
	if len(f.Actions) > 0 && coin() {
		f.Cookie = make([]byte, 1+r.IntN(16))
		for i := range f.Cookie {
			f.Cookie[i] = byte(r.Uint32())
		}
	}
	return f
}

func randAddr(r *rand.Rand, v6 bool) netip.Addr {
	if v6 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		b[0] = 0x20 // not an IPv4-mapped address
		return netip.AddrFrom16(b)
	}
	return netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
}

func randAction(r *rand.Rand) Action {
	switch kind := ActionKind(1 + r.IntN(8)); kind {
	case KindGact:
		g := &Gact{Verdict: []Verdict{VerdictOK, VerdictShot, VerdictPipe, VerdictGotoChain, VerdictTrap}[r.IntN(5)]}
		if g.Verdict == VerdictGotoChain {
			g.Chain = r.Uint32N(1 << 28)
		}
		return Action{Kind: kind, Gact: g}
	case KindMirred:
		return Action{Kind: kind, Mirred: &Mirred{Dev: []string{"p1", "p2", "vxlan0"}[r.IntN(3)], Redirect: r.IntN(2) == 0}}
	case KindVlan:
		v := &Vlan{Op: VlanOp(1 + r.IntN(3))}
		if v.Op != VlanPop {
			v.ID, v.Proto = uint16(r.IntN(4096)), []uint16{EthType8021Q, EthType8021AD}[r.IntN(2)]
			if v.Op == VlanPush || r.IntN(2) == 0 {
				v.Prio, v.HasPrio = uint8(r.IntN(8)), true
			}
		}
		return Action{Kind: kind, Vlan: v}
	case KindPedit:
		p := &Pedit{}
		for n := 1 + r.IntN(5); n > 0; n-- {
			m := r.Uint32()
			p.Keys = append(p.Keys, PeditKey{Header: PeditHeader(1 + r.IntN(5)), Offset: 4 * r.Uint32N(16), Mask: m, Val: r.Uint32() &^ m, Add: r.IntN(4) == 0})
		}
		return Action{Kind: kind, Pedit: p}
	case KindCsum:
		return Action{Kind: kind, Csum: &Csum{Flags: CsumFlags(1 + r.IntN(127))}}
	case KindTunnelKey:
		if r.IntN(3) == 0 {
			return Action{Kind: kind, TunnelKey: &TunnelKey{Op: TunnelKeyUnset}}
		}
		v6 := r.IntN(2) == 0
		return Action{Kind: kind, TunnelKey: &TunnelKey{
			Op: TunnelKeySet, Src: randAddr(r, v6), Dst: randAddr(r, v6),
			KeyID: r.Uint32N(1 << 24), DstPort: uint16(r.IntN(2) * 4789),
		}}
	case KindMPLS:
		return Action{Kind: kind, MPLS: randMPLS(r)}
	default:
		p := &Police{Index: r.Uint32N(3)}
		if r.IntN(2) == 0 {
			p.Rate, p.Burst = 1+r.Uint64N(1<<30), 1+r.Uint32N(1<<20)
		} else {
			p.PktRate, p.PktBurst = 1+r.Uint64N(1<<20), 1+r.Uint64N(1<<12)
		}
		return Action{Kind: KindPolice, Police: p}
	}
}

// randMPLS returns a random act_mpls the kernel takes.
func randMPLS(r *rand.Rand) *MPLS {
	m := &MPLS{Op: MPLSOp(1 + r.IntN(4))}
	fields := func() {
		if r.IntN(2) == 0 {
			m.Label, m.HasLabel = r.Uint32N(1<<20), true
			if m.Label == 3 {
				m.Label = 4
			}
		}
		if r.IntN(2) == 0 {
			m.TC, m.HasTC = uint8(r.IntN(8)), true
		}
		if r.IntN(2) == 0 {
			m.TTL = uint8(1 + r.IntN(255))
		}
		if r.IntN(3) == 0 {
			m.BOS, m.HasBOS = uint8(r.IntN(2)), true
		}
	}
	switch m.Op {
	case MPLSPop:
		m.Proto = []uint16{EthTypeIPv4, EthTypeIPv6, EthTypeMPLS, EthTypeMPLSMC, 0x88cc}[r.IntN(5)]
	case MPLSPush:
		fields()
		m.Proto = []uint16{EthTypeMPLS, EthTypeMPLSMC}[r.IntN(2)]
		if !m.HasLabel {
			m.Label, m.HasLabel = r.Uint32N(3), true
		}
		if m.TTL == 0 {
			m.TTL = 64
		}
	case MPLSModify:
		fields()
	}
	return m
}

func TestRoundTripRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 2000
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		f := randFilter(r)
		roundTrip(t, f)
		if t.Failed() {
			t.Fatalf("filter %d: %s", i, f)
		}
	}
}
