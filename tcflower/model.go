package tcflower

import "github.com/nicflow/nicflow/offload/pipeline"

// Packet is a packet as flower's classifier sees it, for Keys.Matches.
type Packet struct {
	// Key is the packet's OpenFlow key. Its InPort is not read: In says
	// where the packet came in.
	Key pipeline.Key
	// TPID is the TPID of the outer VLAN tag when Key.VlanVID has
	// pipeline.VIDPresent: EthType8021Q (0 means that too) or
	// EthType8021AD. OpenFlow's vlan_vid matches either; flower's eth_type
	// key names one (see Filter.Twin).
	TPID uint16
	// In is the port the packet came in on: its Name for an indev key,
	// its Tunnel for the enc_* keys. The zero Port is a port nothing is
	// known of: no indev or tunnel address key matches it. A filter on a
	// port's own block has no indev key (TranslateOn): matching it needs
	// no port name.
	In Port
}

// Matches reports whether flower's classifier takes p with keys k. It is
// a model of cls_flower on a packet's OpenFlow key, the reference the
// translation's tests (and the tc tier's) check against. It is exact for
// the packets the translation is exact on (see "Known differences" in
// the package documentation): untagged or with one VLAN tag, Ethernet II
// ethertypes, an ARP opcode below 256, a tunnel id below 2^32, and, for a
// packet that came in on a tunnel port, tunnel metadata that is In's (the
// outer destination address In.Tunnel.Local, the UDP port its DstPort:
// the key has no fields for them).
func (k *Keys) Matches(p *Packet) bool {
	in, q := &p.In, &p.Key
	if k.Indev != "" && in.Name != k.Indev {
		return false
	}
	if k.HasEncKeyID && k.EncKeyID != uint32(q.TunnelID) {
		return false
	}
	if k.EncIPv4DstMask != [4]byte{} || k.EncIPv6DstMask != [16]byte{} || k.EncDstPortMask != 0 {
		if in.Tunnel == nil {
			return false
		}
		var enc Keys
		setEncAddr(&enc, in.Tunnel.Local, false)
		if enc.EncIPv4Dst != k.EncIPv4Dst || enc.EncIPv6Dst != k.EncIPv6Dst ||
			(k.EncDstPortMask != 0 && in.Tunnel.DstPort != k.EncDstPort) {
			return false
		}
	}
	tagged := q.VlanVID&pipeline.VIDPresent != 0
	switch {
	case isTPID(k.EthType):
		tpid := p.TPID
		if tpid == 0 {
			tpid = EthType8021Q
		}
		if !tagged || tpid != k.EthType ||
			(k.HasVlanID && q.VlanVID&0xfff != k.VlanID) ||
			(k.HasVlanPrio && q.VlanPCP != k.VlanPrio) ||
			(k.VlanEthType != 0 && q.EthType != k.VlanEthType) {
			return false
		}
	case k.EthType != 0 && q.EthType != k.EthType:
		return false
	}
	if k.HasNumVlans && tagged != (k.NumVlans > 0) {
		return false
	}
	switch {
	case !maskedEq(q.EthDst[:], k.DstMAC[:], k.DstMACMask[:]), !maskedEq(q.EthSrc[:], k.SrcMAC[:], k.SrcMACMask[:]):
		return false
	case k.HasIPProto && q.IPProto != k.IPProto:
		return false
	case (q.IPDSCP<<2|q.IPECN)&k.IPTOSMask != k.IPTOS:
		return false
	case !maskedEq(q.L3Src[:4], k.IPv4Src[:], k.IPv4SrcMask[:]), !maskedEq(q.L3Dst[:4], k.IPv4Dst[:], k.IPv4DstMask[:]):
		return false
	case !maskedEq(q.L3Src[:], k.IPv6Src[:], k.IPv6SrcMask[:]), !maskedEq(q.L3Dst[:], k.IPv6Dst[:], k.IPv6DstMask[:]):
		return false
	case !maskedEq(q.L3Src[:4], k.ArpSIP[:], k.ArpSIPMask[:]), !maskedEq(q.L3Dst[:4], k.ArpTIP[:], k.ArpTIPMask[:]):
		return false
	case !maskedEq(q.ArpSHA[:], k.ArpSHA[:], k.ArpSHAMask[:]), !maskedEq(q.ArpTHA[:], k.ArpTHA[:], k.ArpTHAMask[:]):
		return false
	case q.TpSrc&k.SrcPortMask != k.SrcPort, q.TpDst&k.DstPortMask != k.DstPort:
		return false
	case q.TCPFlags&k.TCPFlagsMask != k.TCPFlags:
		return false
	case q.ICMPType&k.ICMPTypeMask != k.ICMPType, q.ICMPCode&k.ICMPCodeMask != k.ICMPCode:
		return false
	case uint8(q.ArpOp)&k.ArpOpMask != k.ArpOp:
		return false
	case q.IPTTL&k.IPTTLMask != k.IPTTL:
		return false
	}
	if k.HasMPLSLabel || k.HasMPLSTC || k.HasMPLSBOS || k.HasMPLSTTL {
		lse := q.MPLS[0]
		switch {
		case q.MPLSDepth == 0:
			return false
		case k.HasMPLSLabel && lse>>12 != k.MPLSLabel,
			k.HasMPLSTC && uint8(lse>>9&7) != k.MPLSTC,
			k.HasMPLSBOS && uint8(lse>>8&1) != k.MPLSBOS,
			k.HasMPLSTTL && uint8(lse) != k.MPLSTTL:
			return false
		}
	}
	return true
}

// maskedEq reports whether v under mask is key.
func maskedEq(v, key, mask []byte) bool {
	for i := range key {
		if v[i]&mask[i] != key[i] {
			return false
		}
	}
	return true
}
