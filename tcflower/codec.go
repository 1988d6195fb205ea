package tcflower

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// The codec turns a Filter into an RTM_NEWTFILTER message body (tcmsg and
// attributes) and a kernel filter message back into a Filter. Attribute
// layouts follow include/uapi/linux/pkt_cls.h: the flower keys under
// TCA_OPTIONS, the actions as a list nested in TCA_FLOWER_ACT.

// IP protocol numbers that pick key attributes.
const (
	ipProtoICMP   = 1
	ipProtoTCP    = 6
	ipProtoUDP    = 17
	ipProtoICMPv6 = 58
	ipProtoSCTP   = 132
)

const kindFlower = "flower"

// errNotFlower marks a filter message of another classifier.
var errNotFlower = errors.New("not a flower filter")

// links resolves device names for the attributes that carry an ifindex
// (mirred). The Handle asks the kernel; tests use a map.
type links interface {
	linkIndex(name string) (uint32, error)
	linkName(index uint32) (string, error)
}

// encodeFilterMsg appends the tcmsg and attributes that install f in block.
func encodeFilterMsg(lk links, block uint32, f *Filter) ([]byte, error) {
	b := blockMsg(block, f.Handle, nl.Info(f.Pref, f.Protocol)).Append(nil)
	e := nl.NewEncoder(b)
	e.String(nl.TCA_KIND, kindFlower)
	e.U32(nl.TCA_CHAIN, f.Chain)
	opts := e.Nest(nl.TCA_OPTIONS)
	if err := encodeKeys(e, &f.Keys); err != nil {
		return nil, err
	}
	e.U32(nl.TCA_FLOWER_FLAGS, uint32(f.Flags))
	if err := encodeActions(e, lk, f.Actions, f.Cookie); err != nil {
		return nil, err
	}
	e.End(opts)
	return e.Bytes(), nil
}

func isVlanTPID(et uint16) bool { return et == EthType8021Q || et == EthType8021AD }

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// masked writes a key and its mask when the mask is not zero.
func masked(e *nl.Encoder, key, mask uint16, k, m []byte) {
	if isZero(m) {
		return
	}
	e.Put(key, k)
	e.Put(mask, m)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// checkKeys rejects key combinations the kernel would accept but silently
// not match on (fl_set_key parses some keys only under others: ip_proto and
// ip_tos under an IP ethertype, ports and tcp_flags under their ip_proto,
// ICMP under ICMP, ARP under ARP) or would keep only in part (addresses of
// both IP families).
func checkKeys(k *Keys) error {
	l3 := k.L3Type()
	ip := l3 == EthTypeIPv4 || l3 == EthTypeIPv6
	switch {
	case (k.HasIPProto || k.IPTOSMask != 0) && !ip:
		return fmt.Errorf("ip_proto/ip_tos keys need eth_type IPv4 or IPv6, have %#04x", l3)
	case (k.SrcPortMask != 0 || k.DstPortMask != 0) && !(k.HasIPProto && (k.IPProto == ipProtoTCP || k.IPProto == ipProtoUDP || k.IPProto == ipProtoSCTP)):
		return errors.New("port keys need ip_proto tcp, udp or sctp")
	case k.TCPFlagsMask != 0 && !(k.HasIPProto && k.IPProto == ipProtoTCP):
		return errors.New("tcp_flags key needs ip_proto tcp")
	case (k.ICMPTypeMask != 0 || k.ICMPCodeMask != 0) && !(k.HasIPProto && (k.IPProto == ipProtoICMP && l3 == EthTypeIPv4 || k.IPProto == ipProtoICMPv6 && l3 == EthTypeIPv6)):
		return errors.New("icmp keys need ip_proto icmp over IPv4 or icmpv6 over IPv6")
	case (k.ArpOpMask != 0 || !isZero(k.ArpSIPMask[:]) || !isZero(k.ArpTIPMask[:]) || !isZero(k.ArpSHAMask[:]) || !isZero(k.ArpTHAMask[:])) && l3 != EthTypeARP:
		return errors.New("arp keys need eth_type ARP")
	case (k.HasVlanID || k.HasVlanPrio || k.VlanEthType != 0) && !isVlanTPID(k.EthType):
		return fmt.Errorf("vlan keys need eth_type 802.1Q or 802.1ad, have %#04x", k.EthType)
	case !isZero(k.IPv4SrcMask[:]) || !isZero(k.IPv4DstMask[:]):
		if !isZero(k.IPv6SrcMask[:]) || !isZero(k.IPv6DstMask[:]) {
			return errors.New("IPv4 and IPv6 address keys together (the kernel keeps one family)")
		}
	}
	if (!isZero(k.EncIPv4SrcMask[:]) || !isZero(k.EncIPv4DstMask[:])) && (!isZero(k.EncIPv6SrcMask[:]) || !isZero(k.EncIPv6DstMask[:])) {
		return errors.New("IPv4 and IPv6 tunnel address keys together (the kernel keeps one family)")
	}
	return nil
}

func encodeKeys(e *nl.Encoder, k *Keys) error {
	if err := checkKeys(k); err != nil {
		return fmt.Errorf("flower keys: %w", err)
	}
	if k.Indev != "" {
		e.String(nl.TCA_FLOWER_INDEV, k.Indev)
	}
	if k.HasNumVlans {
		e.U8(nl.TCA_FLOWER_KEY_NUM_OF_VLANS, k.NumVlans)
	}
	if k.EthType != 0 {
		e.BE16(nl.TCA_FLOWER_KEY_ETH_TYPE, k.EthType)
	}
	if k.HasVlanID {
		e.U16(nl.TCA_FLOWER_KEY_VLAN_ID, k.VlanID) // host order, unlike the other 16-bit keys
	}
	if k.HasVlanPrio {
		e.U8(nl.TCA_FLOWER_KEY_VLAN_PRIO, k.VlanPrio)
	}
	if k.VlanEthType != 0 {
		e.BE16(nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE, k.VlanEthType)
	}
	masked(e, nl.TCA_FLOWER_KEY_ETH_DST, nl.TCA_FLOWER_KEY_ETH_DST_MASK, k.DstMAC[:], k.DstMACMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ETH_SRC, nl.TCA_FLOWER_KEY_ETH_SRC_MASK, k.SrcMAC[:], k.SrcMACMask[:])
	if k.HasIPProto {
		e.U8(nl.TCA_FLOWER_KEY_IP_PROTO, k.IPProto)
	}
	masked(e, nl.TCA_FLOWER_KEY_IP_TOS, nl.TCA_FLOWER_KEY_IP_TOS_MASK, []byte{k.IPTOS}, []byte{k.IPTOSMask})
	masked(e, nl.TCA_FLOWER_KEY_IPV4_SRC, nl.TCA_FLOWER_KEY_IPV4_SRC_MASK, k.IPv4Src[:], k.IPv4SrcMask[:])
	masked(e, nl.TCA_FLOWER_KEY_IPV4_DST, nl.TCA_FLOWER_KEY_IPV4_DST_MASK, k.IPv4Dst[:], k.IPv4DstMask[:])
	masked(e, nl.TCA_FLOWER_KEY_IPV6_SRC, nl.TCA_FLOWER_KEY_IPV6_SRC_MASK, k.IPv6Src[:], k.IPv6SrcMask[:])
	masked(e, nl.TCA_FLOWER_KEY_IPV6_DST, nl.TCA_FLOWER_KEY_IPV6_DST_MASK, k.IPv6Dst[:], k.IPv6DstMask[:])
	if a, ok := portAttrs[k.IPProto]; ok && k.HasIPProto {
		masked(e, a.src, a.srcMask, be16(k.SrcPort), be16(k.SrcPortMask))
		masked(e, a.dst, a.dstMask, be16(k.DstPort), be16(k.DstPortMask))
	}
	masked(e, nl.TCA_FLOWER_KEY_TCP_FLAGS, nl.TCA_FLOWER_KEY_TCP_FLAGS_MASK, be16(k.TCPFlags), be16(k.TCPFlagsMask))
	if a, ok := icmpAttrs[k.IPProto]; ok && k.HasIPProto {
		masked(e, a.typ, a.typMask, []byte{k.ICMPType}, []byte{k.ICMPTypeMask})
		masked(e, a.code, a.codeMask, []byte{k.ICMPCode}, []byte{k.ICMPCodeMask})
	}
	masked(e, nl.TCA_FLOWER_KEY_ARP_SIP, nl.TCA_FLOWER_KEY_ARP_SIP_MASK, k.ArpSIP[:], k.ArpSIPMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ARP_TIP, nl.TCA_FLOWER_KEY_ARP_TIP_MASK, k.ArpTIP[:], k.ArpTIPMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ARP_OP, nl.TCA_FLOWER_KEY_ARP_OP_MASK, []byte{k.ArpOp}, []byte{k.ArpOpMask})
	masked(e, nl.TCA_FLOWER_KEY_ARP_SHA, nl.TCA_FLOWER_KEY_ARP_SHA_MASK, k.ArpSHA[:], k.ArpSHAMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ARP_THA, nl.TCA_FLOWER_KEY_ARP_THA_MASK, k.ArpTHA[:], k.ArpTHAMask[:])
	if k.HasEncKeyID {
		e.BE32(nl.TCA_FLOWER_KEY_ENC_KEY_ID, k.EncKeyID)
	}
	masked(e, nl.TCA_FLOWER_KEY_ENC_IPV4_SRC, nl.TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK, k.EncIPv4Src[:], k.EncIPv4SrcMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ENC_IPV4_DST, nl.TCA_FLOWER_KEY_ENC_IPV4_DST_MASK, k.EncIPv4Dst[:], k.EncIPv4DstMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ENC_IPV6_SRC, nl.TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK, k.EncIPv6Src[:], k.EncIPv6SrcMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ENC_IPV6_DST, nl.TCA_FLOWER_KEY_ENC_IPV6_DST_MASK, k.EncIPv6Dst[:], k.EncIPv6DstMask[:])
	masked(e, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK, be16(k.EncDstPort), be16(k.EncDstPortMask))
	return nil
}

type portAttr struct{ src, srcMask, dst, dstMask uint16 }

var portAttrs = map[uint8]portAttr{
	ipProtoTCP:  {nl.TCA_FLOWER_KEY_TCP_SRC, nl.TCA_FLOWER_KEY_TCP_SRC_MASK, nl.TCA_FLOWER_KEY_TCP_DST, nl.TCA_FLOWER_KEY_TCP_DST_MASK},
	ipProtoUDP:  {nl.TCA_FLOWER_KEY_UDP_SRC, nl.TCA_FLOWER_KEY_UDP_SRC_MASK, nl.TCA_FLOWER_KEY_UDP_DST, nl.TCA_FLOWER_KEY_UDP_DST_MASK},
	ipProtoSCTP: {nl.TCA_FLOWER_KEY_SCTP_SRC, nl.TCA_FLOWER_KEY_SCTP_SRC_MASK, nl.TCA_FLOWER_KEY_SCTP_DST, nl.TCA_FLOWER_KEY_SCTP_DST_MASK},
}

type icmpAttr struct{ typ, typMask, code, codeMask uint16 }

var icmpAttrs = map[uint8]icmpAttr{
	ipProtoICMP:   {nl.TCA_FLOWER_KEY_ICMPV4_TYPE, nl.TCA_FLOWER_KEY_ICMPV4_TYPE_MASK, nl.TCA_FLOWER_KEY_ICMPV4_CODE, nl.TCA_FLOWER_KEY_ICMPV4_CODE_MASK},
	ipProtoICMPv6: {nl.TCA_FLOWER_KEY_ICMPV6_TYPE, nl.TCA_FLOWER_KEY_ICMPV6_TYPE_MASK, nl.TCA_FLOWER_KEY_ICMPV6_CODE, nl.TCA_FLOWER_KEY_ICMPV6_CODE_MASK},
}

// decodeFilterMsg decodes an RTM_NEWTFILTER body. A message of another
// classifier returns errNotFlower; a flower filter holding something Filter
// cannot express comes back with DecodeErr set.
func decodeFilterMsg(lk links, b []byte) (Dumped, error) {
	var d Dumped
	m, rest, err := nl.ParseTcMsg(b)
	if err != nil {
		return d, err
	}
	t, err := nl.Parse(rest)
	if err != nil {
		return d, fmt.Errorf("filter attributes: %w", err)
	}
	if kind := t.String(nl.TCA_KIND); kind != kindFlower {
		return d, fmt.Errorf("%w: kind %q", errNotFlower, kind)
	}
	f := &d.Filter
	f.Pref, f.Protocol = nl.SplitInfo(m.Info)
	f.Handle = m.Handle
	f.Chain = t.U32(nl.TCA_CHAIN)
	d.Installed.Handle = m.Handle
	if err := t.Err(); err != nil {
		return d, err
	}
	if !t.Has(nl.TCA_OPTIONS) {
		return d, nil // a chain's head message: no filter yet
	}
	o, err := t.Nested(nl.TCA_OPTIONS)
	if err != nil {
		return d, fmt.Errorf("flower options: %w", err)
	}
	flags := o.U32(nl.TCA_FLOWER_FLAGS)
	f.Flags = Flags(flags) & (FlagSkipHW | FlagSkipSW)
	d.Installed.InHW = flags&nl.TCA_CLS_FLAGS_IN_HW != 0
	d.Installed.InHWCount = o.U32(nl.TCA_FLOWER_IN_HW_COUNT)
	if err := decodeKeys(o, &f.Keys); err != nil {
		return d, fmt.Errorf("flower keys: %w", err)
	}
	err = checkFlowerAttrs(o)
	if err == nil {
		err = decodeActions(lk, o.Bytes(nl.TCA_FLOWER_ACT), &d)
	}
	if errors.Is(err, errUnsupported) {
		d.DecodeErr = fmt.Errorf("flower filter chain %d pref %d handle %#x: %w", f.Chain, f.Pref, f.Handle, err)
		return d, nil
	}
	if err != nil {
		return d, fmt.Errorf("flower filter chain %d pref %d handle %#x: %w", f.Chain, f.Pref, f.Handle, err)
	}
	return d, nil
}

// checkFlowerAttrs reports flower attributes Keys has no field for.
func checkFlowerAttrs(o *nl.Table) error {
	for _, typ := range o.Types() {
		if !knownFlowerAttrs[typ] {
			return fmt.Errorf("flower attribute %d: %w", typ, errUnsupported)
		}
	}
	return nil
}

// knownFlowerAttrs are the TCA_OPTIONS attributes of a flower filter that
// Filter expresses.
var knownFlowerAttrs = func() map[uint16]bool {
	m := map[uint16]bool{
		nl.TCA_FLOWER_INDEV: true, nl.TCA_FLOWER_ACT: true, nl.TCA_FLOWER_FLAGS: true,
		nl.TCA_FLOWER_IN_HW_COUNT: true, nl.TCA_FLOWER_KEY_NUM_OF_VLANS: true,
		nl.TCA_FLOWER_KEY_ETH_TYPE: true, nl.TCA_FLOWER_KEY_IP_PROTO: true,
		nl.TCA_FLOWER_KEY_VLAN_ID: true, nl.TCA_FLOWER_KEY_VLAN_PRIO: true,
		nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE: true, nl.TCA_FLOWER_KEY_ENC_KEY_ID: true,
	}
	pairs := []uint16{
		nl.TCA_FLOWER_KEY_ETH_DST, nl.TCA_FLOWER_KEY_ETH_SRC, nl.TCA_FLOWER_KEY_IP_TOS,
		nl.TCA_FLOWER_KEY_IPV4_SRC, nl.TCA_FLOWER_KEY_IPV4_DST, nl.TCA_FLOWER_KEY_IPV6_SRC,
		nl.TCA_FLOWER_KEY_IPV6_DST, nl.TCA_FLOWER_KEY_TCP_FLAGS,
		nl.TCA_FLOWER_KEY_ICMPV4_TYPE, nl.TCA_FLOWER_KEY_ICMPV4_CODE,
		nl.TCA_FLOWER_KEY_ICMPV6_TYPE, nl.TCA_FLOWER_KEY_ICMPV6_CODE,
		nl.TCA_FLOWER_KEY_ARP_SIP, nl.TCA_FLOWER_KEY_ARP_TIP, nl.TCA_FLOWER_KEY_ARP_OP,
		nl.TCA_FLOWER_KEY_ARP_SHA, nl.TCA_FLOWER_KEY_ARP_THA,
		nl.TCA_FLOWER_KEY_ENC_IPV4_SRC, nl.TCA_FLOWER_KEY_ENC_IPV4_DST,
		nl.TCA_FLOWER_KEY_ENC_IPV6_SRC, nl.TCA_FLOWER_KEY_ENC_IPV6_DST,
		nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT,
	}
	for _, k := range pairs {
		m[k], m[k+1] = true, true // the key and its mask follow each other
	}
	for _, a := range portAttrs {
		m[a.src], m[a.srcMask], m[a.dst], m[a.dstMask] = true, true, true, true
	}
	return m
}()

// getMasked copies a key and its mask from t.
func getMasked(t *nl.Table, key, mask uint16, k, m []byte) {
	copy(k, t.Fixed(key, len(k)))
	copy(m, t.Fixed(mask, len(m)))
}

func getMasked8(t *nl.Table, key, mask uint16, k, m *uint8) {
	*k, *m = t.U8(key), t.U8(mask)
}

func getMasked16(t *nl.Table, key, mask uint16, k, m *uint16) {
	*k, *m = t.BE16(key), t.BE16(mask)
}

func decodeKeys(t *nl.Table, k *Keys) error {
	k.Indev = t.String(nl.TCA_FLOWER_INDEV)
	if t.Has(nl.TCA_FLOWER_KEY_NUM_OF_VLANS) {
		k.NumVlans, k.HasNumVlans = t.U8(nl.TCA_FLOWER_KEY_NUM_OF_VLANS), true
	}
	k.EthType = t.BE16(nl.TCA_FLOWER_KEY_ETH_TYPE)
	if t.Has(nl.TCA_FLOWER_KEY_VLAN_ID) {
		k.VlanID, k.HasVlanID = t.U16(nl.TCA_FLOWER_KEY_VLAN_ID), true
	}
	if t.Has(nl.TCA_FLOWER_KEY_VLAN_PRIO) {
		k.VlanPrio, k.HasVlanPrio = t.U8(nl.TCA_FLOWER_KEY_VLAN_PRIO), true
	}
	k.VlanEthType = t.BE16(nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE)
	if (k.HasVlanID || k.HasVlanPrio || k.VlanEthType != 0) && !isVlanTPID(k.EthType) {
		// A VLAN match as Linux (6.1 at least) dumps it: ETH_TYPE holds
		// the inner ethertype (or is absent) and the outer TPID is not
		// reported at all. Assume 802.1Q (see Filter.AsInstalled).
		k.EthType = EthType8021Q
	}
	getMasked(t, nl.TCA_FLOWER_KEY_ETH_DST, nl.TCA_FLOWER_KEY_ETH_DST_MASK, k.DstMAC[:], k.DstMACMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ETH_SRC, nl.TCA_FLOWER_KEY_ETH_SRC_MASK, k.SrcMAC[:], k.SrcMACMask[:])
	if t.Has(nl.TCA_FLOWER_KEY_IP_PROTO) {
		k.IPProto, k.HasIPProto = t.U8(nl.TCA_FLOWER_KEY_IP_PROTO), true
	}
	getMasked8(t, nl.TCA_FLOWER_KEY_IP_TOS, nl.TCA_FLOWER_KEY_IP_TOS_MASK, &k.IPTOS, &k.IPTOSMask)
	getMasked(t, nl.TCA_FLOWER_KEY_IPV4_SRC, nl.TCA_FLOWER_KEY_IPV4_SRC_MASK, k.IPv4Src[:], k.IPv4SrcMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_IPV4_DST, nl.TCA_FLOWER_KEY_IPV4_DST_MASK, k.IPv4Dst[:], k.IPv4DstMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_IPV6_SRC, nl.TCA_FLOWER_KEY_IPV6_SRC_MASK, k.IPv6Src[:], k.IPv6SrcMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_IPV6_DST, nl.TCA_FLOWER_KEY_IPV6_DST_MASK, k.IPv6Dst[:], k.IPv6DstMask[:])
	if a, ok := portAttrs[k.IPProto]; ok && k.HasIPProto {
		getMasked16(t, a.src, a.srcMask, &k.SrcPort, &k.SrcPortMask)
		getMasked16(t, a.dst, a.dstMask, &k.DstPort, &k.DstPortMask)
	}
	getMasked16(t, nl.TCA_FLOWER_KEY_TCP_FLAGS, nl.TCA_FLOWER_KEY_TCP_FLAGS_MASK, &k.TCPFlags, &k.TCPFlagsMask)
	if a, ok := icmpAttrs[k.IPProto]; ok && k.HasIPProto {
		getMasked8(t, a.typ, a.typMask, &k.ICMPType, &k.ICMPTypeMask)
		getMasked8(t, a.code, a.codeMask, &k.ICMPCode, &k.ICMPCodeMask)
	}
	getMasked(t, nl.TCA_FLOWER_KEY_ARP_SIP, nl.TCA_FLOWER_KEY_ARP_SIP_MASK, k.ArpSIP[:], k.ArpSIPMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ARP_TIP, nl.TCA_FLOWER_KEY_ARP_TIP_MASK, k.ArpTIP[:], k.ArpTIPMask[:])
	getMasked8(t, nl.TCA_FLOWER_KEY_ARP_OP, nl.TCA_FLOWER_KEY_ARP_OP_MASK, &k.ArpOp, &k.ArpOpMask)
	getMasked(t, nl.TCA_FLOWER_KEY_ARP_SHA, nl.TCA_FLOWER_KEY_ARP_SHA_MASK, k.ArpSHA[:], k.ArpSHAMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ARP_THA, nl.TCA_FLOWER_KEY_ARP_THA_MASK, k.ArpTHA[:], k.ArpTHAMask[:])
	if t.Has(nl.TCA_FLOWER_KEY_ENC_KEY_ID) {
		k.EncKeyID, k.HasEncKeyID = t.BE32(nl.TCA_FLOWER_KEY_ENC_KEY_ID), true
	}
	getMasked(t, nl.TCA_FLOWER_KEY_ENC_IPV4_SRC, nl.TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK, k.EncIPv4Src[:], k.EncIPv4SrcMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ENC_IPV4_DST, nl.TCA_FLOWER_KEY_ENC_IPV4_DST_MASK, k.EncIPv4Dst[:], k.EncIPv4DstMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ENC_IPV6_SRC, nl.TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK, k.EncIPv6Src[:], k.EncIPv6SrcMask[:])
	getMasked(t, nl.TCA_FLOWER_KEY_ENC_IPV6_DST, nl.TCA_FLOWER_KEY_ENC_IPV6_DST_MASK, k.EncIPv6Dst[:], k.EncIPv6DstMask[:])
	getMasked16(t, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK, &k.EncDstPort, &k.EncDstPortMask)
	return t.Err()
}

// AsInstalled returns f as a dump of a Linux 6.1 kernel reads it back, to
// compare a wanted filter with a dumped one:
//   - the kernel does not report the outer TPID of a VLAN match: a match on
//     VLAN id, priority or inner ethertype reads back as 802.1Q, and a match
//     on the TPID alone does not read back at all (EthType 0);
//   - policers change as Police.AsInstalled says.
func (f Filter) AsInstalled() Filter {
	k := &f.Keys
	if isVlanTPID(k.EthType) && !(k.HasNumVlans && k.NumVlans > 0) {
		if k.HasVlanID || k.HasVlanPrio || k.VlanEthType != 0 {
			k.EthType = EthType8021Q
		} else {
			k.EthType = 0
		}
	}
	if len(f.Actions) > 0 {
		acts := make([]Action, len(f.Actions))
		copy(acts, f.Actions)
		for i, a := range acts {
			if a.Police != nil {
				p := a.Police.AsInstalled()
				acts[i].Police = &p
			}
		}
		f.Actions = acts
	}
	return f
}
