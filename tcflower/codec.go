package tcflower

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
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

// encodeFilterMsg returns the tcmsg and attributes that install f in block.
func encodeFilterMsg(lk links, block uint32, f *Filter) ([]byte, error) {
	hdr := blockMsg(block, f.Handle, nl.Info(f.Pref, f.Protocol)).Append(nil)
	return rtnetlink.AppendAttributes(hdr, func(ae *netlink.AttributeEncoder) error {
		ae.String(nl.TCA_KIND, kindFlower)
		ae.Uint32(nl.TCA_CHAIN, f.Chain)
		rtnetlink.Nest(ae, nl.TCA_OPTIONS, func(ae *netlink.AttributeEncoder) error {
			if err := encodeKeys(ae, &f.Keys); err != nil {
				return err
			}
			ae.Uint32(nl.TCA_FLOWER_FLAGS, uint32(f.Flags))
			return encodeActions(ae, lk, f.Actions, f.Cookie)
		})
		return nil
	})
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
func masked(ae *netlink.AttributeEncoder, key, mask uint16, k, m []byte) {
	if isZero(m) {
		return
	}
	ae.Bytes(key, k)
	ae.Bytes(mask, m)
}

// byteKeys are the flower keys Keys holds as byte arrays (addresses), by
// attribute type, each with its mask attribute and its fields.
var byteKeys = map[uint16]struct {
	mask   uint16
	fields func(k *Keys) (key, mask []byte)
}{
	nl.TCA_FLOWER_KEY_ETH_DST:      {nl.TCA_FLOWER_KEY_ETH_DST_MASK, func(k *Keys) ([]byte, []byte) { return k.DstMAC[:], k.DstMACMask[:] }},
	nl.TCA_FLOWER_KEY_ETH_SRC:      {nl.TCA_FLOWER_KEY_ETH_SRC_MASK, func(k *Keys) ([]byte, []byte) { return k.SrcMAC[:], k.SrcMACMask[:] }},
	nl.TCA_FLOWER_KEY_IPV4_SRC:     {nl.TCA_FLOWER_KEY_IPV4_SRC_MASK, func(k *Keys) ([]byte, []byte) { return k.IPv4Src[:], k.IPv4SrcMask[:] }},
	nl.TCA_FLOWER_KEY_IPV4_DST:     {nl.TCA_FLOWER_KEY_IPV4_DST_MASK, func(k *Keys) ([]byte, []byte) { return k.IPv4Dst[:], k.IPv4DstMask[:] }},
	nl.TCA_FLOWER_KEY_IPV6_SRC:     {nl.TCA_FLOWER_KEY_IPV6_SRC_MASK, func(k *Keys) ([]byte, []byte) { return k.IPv6Src[:], k.IPv6SrcMask[:] }},
	nl.TCA_FLOWER_KEY_IPV6_DST:     {nl.TCA_FLOWER_KEY_IPV6_DST_MASK, func(k *Keys) ([]byte, []byte) { return k.IPv6Dst[:], k.IPv6DstMask[:] }},
	nl.TCA_FLOWER_KEY_ARP_SIP:      {nl.TCA_FLOWER_KEY_ARP_SIP_MASK, func(k *Keys) ([]byte, []byte) { return k.ArpSIP[:], k.ArpSIPMask[:] }},
	nl.TCA_FLOWER_KEY_ARP_TIP:      {nl.TCA_FLOWER_KEY_ARP_TIP_MASK, func(k *Keys) ([]byte, []byte) { return k.ArpTIP[:], k.ArpTIPMask[:] }},
	nl.TCA_FLOWER_KEY_ARP_SHA:      {nl.TCA_FLOWER_KEY_ARP_SHA_MASK, func(k *Keys) ([]byte, []byte) { return k.ArpSHA[:], k.ArpSHAMask[:] }},
	nl.TCA_FLOWER_KEY_ARP_THA:      {nl.TCA_FLOWER_KEY_ARP_THA_MASK, func(k *Keys) ([]byte, []byte) { return k.ArpTHA[:], k.ArpTHAMask[:] }},
	nl.TCA_FLOWER_KEY_ENC_IPV4_SRC: {nl.TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK, func(k *Keys) ([]byte, []byte) { return k.EncIPv4Src[:], k.EncIPv4SrcMask[:] }},
	nl.TCA_FLOWER_KEY_ENC_IPV4_DST: {nl.TCA_FLOWER_KEY_ENC_IPV4_DST_MASK, func(k *Keys) ([]byte, []byte) { return k.EncIPv4Dst[:], k.EncIPv4DstMask[:] }},
	nl.TCA_FLOWER_KEY_ENC_IPV6_SRC: {nl.TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK, func(k *Keys) ([]byte, []byte) { return k.EncIPv6Src[:], k.EncIPv6SrcMask[:] }},
	nl.TCA_FLOWER_KEY_ENC_IPV6_DST: {nl.TCA_FLOWER_KEY_ENC_IPV6_DST_MASK, func(k *Keys) ([]byte, []byte) { return k.EncIPv6Dst[:], k.EncIPv6DstMask[:] }},
}

// maskedBytes writes the byte-array key typ of k and its mask when the
// mask is not zero.
func maskedBytes(ae *netlink.AttributeEncoder, k *Keys, typ uint16) {
	bk := byteKeys[typ]
	key, mask := bk.fields(k)
	masked(ae, typ, bk.mask, key, mask)
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

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
	return checkMPLSKeys(k)
}

// checkMPLSKeys checks the MPLS and IP TTL keys: the kernel parses the
// MPLS keys under an MPLS ethertype only, ip_ttl under IP, and refuses
// out-of-range fields.
func checkMPLSKeys(k *Keys) error {
	l3 := k.L3Type()
	mpls := k.HasMPLSLabel || k.HasMPLSTC || k.HasMPLSBOS || k.HasMPLSTTL
	switch {
	case k.IPTTLMask != 0 && l3 != EthTypeIPv4 && l3 != EthTypeIPv6:
		return fmt.Errorf("ip_ttl key needs eth_type IPv4 or IPv6, have %#04x", l3)
	case mpls && !isMPLS(l3):
		return fmt.Errorf("mpls keys need eth_type MPLS (0x8847 or 0x8848), have %#04x", l3)
	case k.HasMPLSLabel && k.MPLSLabel > 0xfffff:
		return fmt.Errorf("mpls_label %d has more than 20 bits", k.MPLSLabel)
	case k.HasMPLSTC && k.MPLSTC > 7:
		return fmt.Errorf("mpls_tc %d has more than 3 bits", k.MPLSTC)
	case k.HasMPLSBOS && k.MPLSBOS > 1:
		return fmt.Errorf("mpls_bos %d is not 0 or 1", k.MPLSBOS)
	}
	return nil
}

func encodeKeys(ae *netlink.AttributeEncoder, k *Keys) error {
	if err := checkKeys(k); err != nil {
		return fmt.Errorf("flower keys: %w", err)
	}
	if k.Indev != "" {
		ae.String(nl.TCA_FLOWER_INDEV, k.Indev)
	}
	if k.HasNumVlans {
		ae.Uint8(nl.TCA_FLOWER_KEY_NUM_OF_VLANS, k.NumVlans)
	}
	if k.EthType != 0 {
		ae.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, be16(k.EthType))
	}
	if k.HasVlanID {
		ae.Uint16(nl.TCA_FLOWER_KEY_VLAN_ID, k.VlanID) // host order, unlike the other 16-bit keys
	}
	if k.HasVlanPrio {
		ae.Uint8(nl.TCA_FLOWER_KEY_VLAN_PRIO, k.VlanPrio)
	}
	if k.VlanEthType != 0 {
		ae.Bytes(nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE, be16(k.VlanEthType))
	}
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ETH_DST)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ETH_SRC)
	if k.HasIPProto {
		ae.Uint8(nl.TCA_FLOWER_KEY_IP_PROTO, k.IPProto)
	}
	masked(ae, nl.TCA_FLOWER_KEY_IP_TOS, nl.TCA_FLOWER_KEY_IP_TOS_MASK, []byte{k.IPTOS}, []byte{k.IPTOSMask})
	masked(ae, nl.TCA_FLOWER_KEY_IP_TTL, nl.TCA_FLOWER_KEY_IP_TTL_MASK, []byte{k.IPTTL}, []byte{k.IPTTLMask})
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_IPV4_SRC)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_IPV4_DST)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_IPV6_SRC)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_IPV6_DST)
	if a, ok := portAttrs[k.IPProto]; ok && k.HasIPProto {
		masked(ae, a.src, a.srcMask, be16(k.SrcPort), be16(k.SrcPortMask))
		masked(ae, a.dst, a.dstMask, be16(k.DstPort), be16(k.DstPortMask))
	}
	masked(ae, nl.TCA_FLOWER_KEY_TCP_FLAGS, nl.TCA_FLOWER_KEY_TCP_FLAGS_MASK, be16(k.TCPFlags), be16(k.TCPFlagsMask))
	if a, ok := icmpAttrs[k.IPProto]; ok && k.HasIPProto {
		masked(ae, a.typ, a.typMask, []byte{k.ICMPType}, []byte{k.ICMPTypeMask})
		masked(ae, a.code, a.codeMask, []byte{k.ICMPCode}, []byte{k.ICMPCodeMask})
	}
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ARP_SIP)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ARP_TIP)
	masked(ae, nl.TCA_FLOWER_KEY_ARP_OP, nl.TCA_FLOWER_KEY_ARP_OP_MASK, []byte{k.ArpOp}, []byte{k.ArpOpMask})
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ARP_SHA)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ARP_THA)
	// The top label stack entry in the flat attributes (as the kernel
	// dumps it); all exact, the label in host order.
	if k.HasMPLSTTL {
		ae.Uint8(nl.TCA_FLOWER_KEY_MPLS_TTL, k.MPLSTTL)
	}
	if k.HasMPLSBOS {
		ae.Uint8(nl.TCA_FLOWER_KEY_MPLS_BOS, k.MPLSBOS)
	}
	if k.HasMPLSTC {
		ae.Uint8(nl.TCA_FLOWER_KEY_MPLS_TC, k.MPLSTC)
	}
	if k.HasMPLSLabel {
		ae.Uint32(nl.TCA_FLOWER_KEY_MPLS_LABEL, k.MPLSLabel)
	}
	if k.HasEncKeyID {
		ae.Bytes(nl.TCA_FLOWER_KEY_ENC_KEY_ID, be32(k.EncKeyID))
	}
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ENC_IPV4_SRC)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ENC_IPV4_DST)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ENC_IPV6_SRC)
	maskedBytes(ae, k, nl.TCA_FLOWER_KEY_ENC_IPV6_DST)
	masked(ae, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK, be16(k.EncDstPort), be16(k.EncDstPortMask))
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
	f := &d.Filter
	var kind string
	var opts []byte // nil: no TCA_OPTIONS
	err = rtnetlink.DecodeAttributes(rest, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_KIND:
			kind = ad.String()
		case nl.TCA_CHAIN:
			f.Chain = ad.Uint32()
		case nl.TCA_OPTIONS:
			opts = ad.Bytes()
		}
	})
	if err != nil {
		return d, fmt.Errorf("filter attributes: %w", err)
	}
	if kind != kindFlower {
		return d, fmt.Errorf("%w: kind %q", errNotFlower, kind)
	}
	f.Pref, f.Protocol = nl.SplitInfo(m.Info)
	f.Handle = m.Handle
	d.Installed.Handle = m.Handle
	if opts == nil {
		return d, nil // a chain's head message: no filter yet
	}
	var acts []byte // nil: no TCA_FLOWER_ACT
	var flags uint32
	var other error // the first attribute Filter has no field for
	mk := maskedAttrs{}
	err = rtnetlink.DecodeAttributes(opts, nil, func(ad *netlink.AttributeDecoder) {
		switch typ := ad.Type(); typ {
		case nl.TCA_FLOWER_FLAGS:
			flags = ad.Uint32()
		case nl.TCA_FLOWER_IN_HW_COUNT:
			d.Installed.InHWCount = ad.Uint32()
		case nl.TCA_FLOWER_ACT:
			acts = ad.Bytes()
		case nl.TCA_FLOWER_KEY_MPLS_OPTS:
			if err := decodeMPLSOpts(ad, &f.Keys); err != nil && other == nil {
				other = err
			}
		default:
			if !decodeKey(ad, &f.Keys, mk) && other == nil {
				other = fmt.Errorf("flower attribute %d: %w", typ, errUnsupported)
			}
		}
	})
	if err != nil {
		return d, fmt.Errorf("flower options: %w", err)
	}
	f.Flags = Flags(flags) & (FlagSkipHW | FlagSkipSW)
	d.Installed.InHW = flags&nl.TCA_CLS_FLAGS_IN_HW != 0
	mk.keys(&f.Keys)
	if k := &f.Keys; (k.HasVlanID || k.HasVlanPrio || k.VlanEthType != 0) && !isVlanTPID(k.EthType) {
		// A VLAN match as Linux (6.1 at least) dumps it: ETH_TYPE holds
		// the inner ethertype (or is absent) and the outer TPID is not
		// reported at all. Assume 802.1Q (see Filter.AsInstalled).
		k.EthType = EthType8021Q
	}
	if err := checkKeys(&f.Keys); err != nil && other == nil {
		// Keys the kernel would not have parsed this way (or kept), and
		// encodeKeys refuses: not a filter to install again.
		other = fmt.Errorf("flower keys: %w: %w", err, errUnsupported)
	}
	err = other
	if err == nil {
		err = decodeActions(lk, acts, &d)
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

// decodeKey decodes the flower key attribute ad is on into k; the keys
// that have a mask wait in mk. It reports false for an attribute that is
// not a key Keys has a field for.
func decodeKey(ad *netlink.AttributeDecoder, k *Keys, mk maskedAttrs) bool {
	switch typ := ad.Type(); typ {
	case nl.TCA_FLOWER_INDEV:
		k.Indev = ad.String()
	case nl.TCA_FLOWER_KEY_NUM_OF_VLANS:
		k.NumVlans, k.HasNumVlans = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_ETH_TYPE:
		k.EthType = beUint16(ad)
	case nl.TCA_FLOWER_KEY_VLAN_ID:
		k.VlanID, k.HasVlanID = ad.Uint16(), true // host order
	case nl.TCA_FLOWER_KEY_VLAN_PRIO:
		k.VlanPrio, k.HasVlanPrio = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_VLAN_ETH_TYPE:
		k.VlanEthType = beUint16(ad)
	case nl.TCA_FLOWER_KEY_IP_PROTO:
		k.IPProto, k.HasIPProto = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_ENC_KEY_ID:
		k.EncKeyID, k.HasEncKeyID = beUint32(ad), true
	case nl.TCA_FLOWER_KEY_MPLS_TTL:
		k.MPLSTTL, k.HasMPLSTTL = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_MPLS_BOS:
		k.MPLSBOS, k.HasMPLSBOS = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_MPLS_TC:
		k.MPLSTC, k.HasMPLSTC = ad.Uint8(), true
	case nl.TCA_FLOWER_KEY_MPLS_LABEL:
		k.MPLSLabel, k.HasMPLSLabel = ad.Uint32(), true
	default:
		n, ok := maskedAttrLen[typ]
		if !ok {
			return false
		}
		b := make([]byte, n)
		fixed(ad, b)
		mk[typ] = b
	}
	return true
}

// decodeMPLSOpts decodes TCA_FLOWER_KEY_MPLS_OPTS, the nested form of the
// MPLS keys, into k: the entry of depth 1 is the top label stack entry
// Keys holds; a match on a deeper one is not expressible.
func decodeMPLSOpts(ad *netlink.AttributeDecoder, k *Keys) error {
	var unsupported error
	ad.Do(func(b []byte) error {
		return rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
			if ad.Type() != nl.TCA_FLOWER_KEY_MPLS_OPTS_LSE {
				unsupported = fmt.Errorf("mpls option %d: %w", ad.Type(), errUnsupported)
				return
			}
			var lse Keys
			depth := -1
			ad.Do(func(b []byte) error {
				return rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
					switch ad.Type() {
					case nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_DEPTH:
						depth = int(ad.Uint8())
					case nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_TTL:
						lse.MPLSTTL, lse.HasMPLSTTL = ad.Uint8(), true
					case nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_BOS:
						lse.MPLSBOS, lse.HasMPLSBOS = ad.Uint8(), true
					case nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_TC:
						lse.MPLSTC, lse.HasMPLSTC = ad.Uint8(), true
					case nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_LABEL:
						lse.MPLSLabel, lse.HasMPLSLabel = ad.Uint32(), true
					}
				})
			})
			switch {
			case depth != 1:
				unsupported = fmt.Errorf("mpls key at label stack depth %d: %w", depth, errUnsupported)
			case lse.HasMPLSTTL || lse.HasMPLSBOS || lse.HasMPLSTC || lse.HasMPLSLabel:
				k.MPLSTTL, k.HasMPLSTTL = lse.MPLSTTL, lse.HasMPLSTTL
				k.MPLSBOS, k.HasMPLSBOS = lse.MPLSBOS, lse.HasMPLSBOS
				k.MPLSTC, k.HasMPLSTC = lse.MPLSTC, lse.HasMPLSTC
				k.MPLSLabel, k.HasMPLSLabel = lse.MPLSLabel, lse.HasMPLSLabel
			default:
				// An entry that matches no field: any top label. Every
				// packet of an MPLS ethertype has one.
			}
		})
	})
	return unsupported
}

// maskedAttrs holds the attributes of the keys that have a mask, and their
// masks, by type, until the filter's attributes are all read: how they
// fill Keys depends on others. The kernel reads a key with its mask attribute
// if present, else with a mask of all ones (fl_set_key_val), ignores a mask
// without its key, and does not keep (or dump) a key under a zero mask; and
// it reads the ports and ICMP keys of the filter's ip_proto only.
type maskedAttrs map[uint16][]byte

// pair returns the key attribute key and its mask as the kernel reads
// them; ok is false when the filter does not match on it.
func (mk maskedAttrs) pair(key, mask uint16) (k, m []byte, ok bool) {
	k, ok = mk[key]
	if !ok {
		return nil, nil, false
	}
	m, ok = mk[mask]
	if !ok {
		m = bytes.Repeat([]byte{0xff}, len(k))
	}
	if isZero(m) {
		return nil, nil, false
	}
	return k, m, true
}

func (mk maskedAttrs) u8(key, mask uint16, k, m *uint8) {
	if kb, mb, ok := mk.pair(key, mask); ok {
		*k, *m = kb[0], mb[0]
	}
}

func (mk maskedAttrs) be16(key, mask uint16, k, m *uint16) {
	if kb, mb, ok := mk.pair(key, mask); ok {
		*k, *m = binary.BigEndian.Uint16(kb), binary.BigEndian.Uint16(mb)
	}
}

// keys fills the masked keys of k.
func (mk maskedAttrs) keys(k *Keys) {
	for typ, bk := range byteKeys {
		if kb, mb, ok := mk.pair(typ, bk.mask); ok {
			key, mask := bk.fields(k)
			copy(key, kb)
			copy(mask, mb)
		}
	}
	mk.u8(nl.TCA_FLOWER_KEY_IP_TOS, nl.TCA_FLOWER_KEY_IP_TOS_MASK, &k.IPTOS, &k.IPTOSMask)
	mk.u8(nl.TCA_FLOWER_KEY_IP_TTL, nl.TCA_FLOWER_KEY_IP_TTL_MASK, &k.IPTTL, &k.IPTTLMask)
	mk.u8(nl.TCA_FLOWER_KEY_ARP_OP, nl.TCA_FLOWER_KEY_ARP_OP_MASK, &k.ArpOp, &k.ArpOpMask)
	mk.be16(nl.TCA_FLOWER_KEY_TCP_FLAGS, nl.TCA_FLOWER_KEY_TCP_FLAGS_MASK, &k.TCPFlags, &k.TCPFlagsMask)
	mk.be16(nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK, &k.EncDstPort, &k.EncDstPortMask)
	if !k.HasIPProto {
		return
	}
	if a, ok := portAttrs[k.IPProto]; ok {
		mk.be16(a.src, a.srcMask, &k.SrcPort, &k.SrcPortMask)
		mk.be16(a.dst, a.dstMask, &k.DstPort, &k.DstPortMask)
	}
	if a, ok := icmpAttrs[k.IPProto]; ok {
		mk.u8(a.typ, a.typMask, &k.ICMPType, &k.ICMPTypeMask)
		mk.u8(a.code, a.codeMask, &k.ICMPCode, &k.ICMPCodeMask)
	}
}

// maskedAttrLen is the payload length of each attribute maskedAttrs holds.
var maskedAttrLen = func() map[uint16]int {
	m := map[uint16]int{}
	for typ, bk := range byteKeys {
		key, mask := bk.fields(&Keys{})
		m[typ], m[bk.mask] = len(key), len(mask)
	}
	for _, t := range []uint16{nl.TCA_FLOWER_KEY_IP_TOS, nl.TCA_FLOWER_KEY_IP_TOS_MASK, nl.TCA_FLOWER_KEY_IP_TTL, nl.TCA_FLOWER_KEY_IP_TTL_MASK,
		nl.TCA_FLOWER_KEY_ARP_OP, nl.TCA_FLOWER_KEY_ARP_OP_MASK} {
		m[t] = 1
	}
	for _, t := range []uint16{nl.TCA_FLOWER_KEY_TCP_FLAGS, nl.TCA_FLOWER_KEY_TCP_FLAGS_MASK, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT, nl.TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK} {
		m[t] = 2
	}
	for _, a := range portAttrs {
		m[a.src], m[a.srcMask], m[a.dst], m[a.dstMask] = 2, 2, 2, 2
	}
	for _, a := range icmpAttrs {
		m[a.typ], m[a.typMask], m[a.code], m[a.codeMask] = 1, 1, 1, 1
	}
	return m
}()

// fixed copies the payload of ad's attribute into dst, which it must fill
// exactly (a MAC or IP address key), else ad records an error.
func fixed(ad *netlink.AttributeDecoder, dst []byte) {
	ad.Do(func(b []byte) error {
		if len(b) != len(dst) {
			return fmt.Errorf("attribute %d: %d bytes, want %d", ad.Type(), len(b), len(dst))
		}
		copy(dst, b)
		return nil
	})
}

// beUint16 and beUint32 read a big-endian (network order) attribute.
func beUint16(ad *netlink.AttributeDecoder) uint16 {
	var v [2]byte
	fixed(ad, v[:])
	return binary.BigEndian.Uint16(v[:])
}

func beUint32(ad *netlink.AttributeDecoder) uint32 {
	var v [4]byte
	fixed(ad, v[:])
	return binary.BigEndian.Uint32(v[:])
}

// structAttr calls fn with the payload of ad's attribute when it holds at
// least n bytes (a C struct: struct tc_gact, tc_mirred, tcf_t, ...; the
// kernel may have grown it), else ad records an error, as it does fn's.
func structAttr(ad *netlink.AttributeDecoder, n int, fn func(b []byte) error) {
	ad.Do(func(b []byte) error {
		if len(b) < n {
			return fmt.Errorf("attribute %d: %d bytes, want at least %d", ad.Type(), len(b), n)
		}
		return fn(b)
	})
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
