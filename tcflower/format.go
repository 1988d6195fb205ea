package tcflower

import (
	"encoding/hex"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strings"
)

// Command renders f as a tc command line on target ("dev eth0",
// "block 7"): "tc filter add <target> " + f.String().
func (f *Filter) Command(target string) string {
	return "tc filter add " + target + " " + f.String()
}

// String renders f in the words of tc(8) and tc-flower(8), for golden
// files and logs: "protocol all pref P chain C flower KEYS action ...".
// It is not meant to be run: the ethertype is shown as the flower key
// "eth_type" (tc show's wording), which iproute2 would only derive from
// the protocol; pedit keys are shown raw as the kernel holds them; the
// cookie, which every action carries, is shown once at the end.
func (f *Filter) String() string {
	var w strings.Builder
	fmt.Fprintf(&w, "protocol %s pref %d chain %d", protoName(f.Protocol), f.Pref, f.Chain)
	if f.Handle != 0 {
		fmt.Fprintf(&w, " handle %#x", f.Handle)
	}
	w.WriteString(" flower")
	if f.Flags&FlagSkipHW != 0 {
		w.WriteString(" skip_hw")
	}
	if f.Flags&FlagSkipSW != 0 {
		w.WriteString(" skip_sw")
	}
	f.Keys.format(&w)
	for i := range f.Actions {
		w.WriteString(" action ")
		f.Actions[i].format(&w)
	}
	if f.Cookie != nil {
		w.WriteString(" cookie " + hex.EncodeToString(f.Cookie))
	}
	return w.String()
}

func protoName(p uint16) string {
	switch p {
	case EthPAll:
		return "all"
	case EthTypeIPv4:
		return "ipv4"
	case EthTypeIPv6:
		return "ipv6"
	case EthTypeARP:
		return "arp"
	case EthType8021Q:
		return "802.1Q"
	case EthType8021AD:
		return "802.1ad"
	case EthTypeMPLS:
		return "mpls_uc"
	case EthTypeMPLSMC:
		return "mpls_mc"
	}
	return fmt.Sprintf("0x%04x", p)
}

func (k *Keys) format(w *strings.Builder) {
	kv := func(name, v string) { w.WriteString(" " + name + " " + v) }
	if k.Indev != "" {
		kv("indev", k.Indev)
	}
	if k.EthType != 0 {
		kv("eth_type", protoName(k.EthType))
	}
	if k.HasNumVlans {
		kv("num_of_vlans", fmt.Sprint(k.NumVlans))
	}
	if k.HasVlanID {
		kv("vlan_id", fmt.Sprint(k.VlanID))
	}
	if k.HasVlanPrio {
		kv("vlan_prio", fmt.Sprint(k.VlanPrio))
	}
	if k.VlanEthType != 0 {
		kv("vlan_ethtype", protoName(k.VlanEthType))
	}
	if k.DstMACMask != [6]byte{} {
		kv("dst_mac", macMask(k.DstMAC, k.DstMACMask))
	}
	if k.SrcMACMask != [6]byte{} {
		kv("src_mac", macMask(k.SrcMAC, k.SrcMACMask))
	}
	if k.HasIPProto {
		kv("ip_proto", ipProtoName(k.IPProto))
	}
	if k.IPTOSMask != 0 {
		kv("ip_tos", fmt.Sprintf("%#x/%#x", k.IPTOS, k.IPTOSMask))
	}
	if k.IPTTLMask != 0 {
		kv("ip_ttl", u8Mask(k.IPTTL, k.IPTTLMask))
	}
	if k.HasMPLSLabel {
		kv("mpls_label", fmt.Sprint(k.MPLSLabel))
	}
	if k.HasMPLSTC {
		kv("mpls_tc", fmt.Sprint(k.MPLSTC))
	}
	if k.HasMPLSBOS {
		kv("mpls_bos", fmt.Sprint(k.MPLSBOS))
	}
	if k.HasMPLSTTL {
		kv("mpls_ttl", fmt.Sprint(k.MPLSTTL))
	}
	if k.IPv4SrcMask != [4]byte{} {
		kv("src_ip", addrMask(k.IPv4Src[:], k.IPv4SrcMask[:]))
	}
	if k.IPv4DstMask != [4]byte{} {
		kv("dst_ip", addrMask(k.IPv4Dst[:], k.IPv4DstMask[:]))
	}
	if k.IPv6SrcMask != [16]byte{} {
		kv("src_ip", addrMask(k.IPv6Src[:], k.IPv6SrcMask[:]))
	}
	if k.IPv6DstMask != [16]byte{} {
		kv("dst_ip", addrMask(k.IPv6Dst[:], k.IPv6DstMask[:]))
	}
	if k.SrcPortMask != 0 {
		kv("src_port", u16Mask(k.SrcPort, k.SrcPortMask))
	}
	if k.DstPortMask != 0 {
		kv("dst_port", u16Mask(k.DstPort, k.DstPortMask))
	}
	if k.TCPFlagsMask != 0 {
		kv("tcp_flags", fmt.Sprintf("%#x/%#x", k.TCPFlags, k.TCPFlagsMask))
	}
	if k.ICMPTypeMask != 0 {
		kv("type", u8Mask(k.ICMPType, k.ICMPTypeMask))
	}
	if k.ICMPCodeMask != 0 {
		kv("code", u8Mask(k.ICMPCode, k.ICMPCodeMask))
	}
	if k.ArpOpMask != 0 {
		kv("arp_op", arpOpName(k.ArpOp, k.ArpOpMask))
	}
	if k.ArpSIPMask != [4]byte{} {
		kv("arp_sip", addrMask(k.ArpSIP[:], k.ArpSIPMask[:]))
	}
	if k.ArpTIPMask != [4]byte{} {
		kv("arp_tip", addrMask(k.ArpTIP[:], k.ArpTIPMask[:]))
	}
	if k.ArpSHAMask != [6]byte{} {
		kv("arp_sha", macMask(k.ArpSHA, k.ArpSHAMask))
	}
	if k.ArpTHAMask != [6]byte{} {
		kv("arp_tha", macMask(k.ArpTHA, k.ArpTHAMask))
	}
	if k.HasEncKeyID {
		kv("enc_key_id", fmt.Sprint(k.EncKeyID))
	}
	if k.EncIPv4SrcMask != [4]byte{} {
		kv("enc_src_ip", addrMask(k.EncIPv4Src[:], k.EncIPv4SrcMask[:]))
	}
	if k.EncIPv4DstMask != [4]byte{} {
		kv("enc_dst_ip", addrMask(k.EncIPv4Dst[:], k.EncIPv4DstMask[:]))
	}
	if k.EncIPv6SrcMask != [16]byte{} {
		kv("enc_src_ip", addrMask(k.EncIPv6Src[:], k.EncIPv6SrcMask[:]))
	}
	if k.EncIPv6DstMask != [16]byte{} {
		kv("enc_dst_ip", addrMask(k.EncIPv6Dst[:], k.EncIPv6DstMask[:]))
	}
	if k.EncDstPortMask != 0 {
		kv("enc_dst_port", u16Mask(k.EncDstPort, k.EncDstPortMask))
	}
}

func macMask(a, m [6]byte) string {
	s := net.HardwareAddr(a[:]).String()
	if m != [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff} {
		s += "/" + net.HardwareAddr(m[:]).String()
	}
	return s
}

// addrMask renders an address with a prefix length when the mask is one,
// else with the mask as an address.
func addrMask(a, m []byte) string {
	addr, _ := netip.AddrFromSlice(a)
	mask, _ := netip.AddrFromSlice(m)
	ones, contiguous := 0, true
	for i, b := range m {
		n := bits.LeadingZeros8(^b)
		ones += n
		if n < 8 {
			contiguous = bits.OnesCount8(b) == n && allZero(m[i+1:])
			break
		}
	}
	switch {
	case !contiguous:
		return addr.String() + "/" + mask.String()
	case ones == len(m)*8:
		return addr.String()
	}
	return fmt.Sprintf("%s/%d", addr, ones)
}

func u16Mask(v, m uint16) string {
	if m == 0xffff {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x/%#x", v, m)
}

func u8Mask(v, m uint8) string {
	if m == 0xff {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%#x/%#x", v, m)
}

func ipProtoName(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 58:
		return "icmpv6"
	case 132:
		return "sctp"
	}
	return fmt.Sprint(p)
}

func arpOpName(op, m uint8) string {
	if m == 0xff {
		switch op {
		case 1:
			return "request"
		case 2:
			return "reply"
		}
	}
	return u8Mask(op, m)
}

func (a *Action) format(w *strings.Builder) {
	switch {
	case a.Kind == KindGact && a.Gact != nil:
		switch a.Gact.Verdict {
		case VerdictShot:
			w.WriteString("gact drop")
		case VerdictOK:
			w.WriteString("gact pass")
		case VerdictPipe:
			w.WriteString("gact pipe")
		case VerdictTrap:
			w.WriteString("gact trap")
		case VerdictGotoChain:
			fmt.Fprintf(w, "gact goto chain %d", a.Gact.Chain)
		default:
			fmt.Fprintf(w, "gact %#x", uint32(a.Gact.Verdict))
		}
	case a.Kind == KindMirred && a.Mirred != nil:
		mode := "mirror"
		if a.Mirred.Redirect {
			mode = "redirect"
		}
		fmt.Fprintf(w, "mirred egress %s dev %s", mode, a.Mirred.Dev)
	case a.Kind == KindVlan && a.Vlan != nil:
		v := a.Vlan
		switch v.Op {
		case VlanPop:
			w.WriteString("vlan pop")
		case VlanPush, VlanModify:
			op := "push"
			if v.Op == VlanModify {
				op = "modify"
			}
			fmt.Fprintf(w, "vlan %s id %d protocol %s", op, v.ID, protoName(v.Proto))
			if v.HasPrio {
				fmt.Fprintf(w, " priority %d", v.Prio)
			}
		default:
			fmt.Fprintf(w, "vlan op %d", v.Op)
		}
	case a.Kind == KindPedit && a.Pedit != nil:
		w.WriteString("pedit ex")
		for _, k := range a.Pedit.Keys {
			cmd := "val"
			if k.Add {
				cmd = "add"
			}
			fmt.Fprintf(w, " key %s+%d %s %#08x mask %#08x", peditHeaderName(k.Header), k.Offset, cmd, k.Val, k.Mask)
		}
	case a.Kind == KindCsum && a.Csum != nil:
		w.WriteString("csum " + csumNames(a.Csum.Flags))
	case a.Kind == KindTunnelKey && a.TunnelKey != nil:
		t := a.TunnelKey
		if t.Op == TunnelKeyUnset {
			w.WriteString("tunnel_key unset")
			break
		}
		fmt.Fprintf(w, "tunnel_key set src_ip %s dst_ip %s id %d", t.Src, t.Dst, t.KeyID)
		if t.DstPort != 0 {
			fmt.Fprintf(w, " dst_port %d", t.DstPort)
		}
	case a.Kind == KindPolice && a.Police != nil:
		p := a.Police
		w.WriteString("police")
		if p.Rate != 0 {
			fmt.Fprintf(w, " rate %dbps burst %db", p.Rate, p.Burst)
		}
		if p.PktRate != 0 {
			fmt.Fprintf(w, " pkts_rate %d pkts_burst %d", p.PktRate, p.PktBurst)
		}
		w.WriteString(" conform-exceed drop/pipe")
		if p.Index != 0 {
			fmt.Fprintf(w, " index %d", p.Index)
		}
	case a.Kind == KindMPLS && a.MPLS != nil:
		a.MPLS.format(w)
	default:
		fmt.Fprintf(w, "%s ?", a.Kind)
	}
}

// format renders m as tc-mpls(8) writes it.
func (m *MPLS) format(w *strings.Builder) {
	switch m.Op {
	case MPLSPop:
		w.WriteString("mpls pop protocol " + protoName(m.Proto))
		return
	case MPLSPush:
		w.WriteString("mpls push protocol " + protoName(m.Proto))
	case MPLSModify:
		w.WriteString("mpls modify")
	case MPLSDecTTL:
		w.WriteString("mpls dec_ttl")
		return
	default:
		fmt.Fprintf(w, "mpls op %d", m.Op)
		return
	}
	if m.HasLabel {
		fmt.Fprintf(w, " label %d", m.Label)
	}
	if m.HasTC {
		fmt.Fprintf(w, " tc %d", m.TC)
	}
	if m.TTL != 0 {
		fmt.Fprintf(w, " ttl %d", m.TTL)
	}
	if m.HasBOS {
		fmt.Fprintf(w, " bos %d", m.BOS)
	}
}

func peditHeaderName(h PeditHeader) string {
	switch h {
	case PeditEth:
		return "eth"
	case PeditIP4:
		return "ip4"
	case PeditIP6:
		return "ip6"
	case PeditTCP:
		return "tcp"
	case PeditUDP:
		return "udp"
	}
	return fmt.Sprintf("htype%d", h)
}

func csumNames(f CsumFlags) string {
	names := []string{"ip4h", "icmp", "igmp", "tcp", "udp", "udplite", "sctp"}
	var out []string
	for i, n := range names {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	if rest := f &^ (1<<len(names) - 1); rest != 0 {
		out = append(out, fmt.Sprintf("%#x", uint32(rest)))
	}
	return strings.Join(out, " and ")
}
