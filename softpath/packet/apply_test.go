package packet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func actSet(f pipeline.Field, v ...byte) pipeline.Action { return pipeline.SetField(f, v) }

func actSet16(f pipeline.Field, v uint16) pipeline.Action {
	return pipeline.SetField(f, binary.BigEndian.AppendUint16(nil, v))
}

func actPush(tpid uint16) pipeline.Action {
	return pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: tpid}
}

var (
	actPop    = pipeline.Action{Type: pipeline.ActionPopVLAN}
	actDecTTL = pipeline.Action{Type: pipeline.ActionDecNwTTL}
)

func actPushMPLS(et uint16) pipeline.Action {
	return pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: et}
}

func actPopMPLS(et uint16) pipeline.Action {
	return pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: et}
}

func actPushPBB(et uint16) pipeline.Action {
	return pipeline.Action{Type: pipeline.ActionPushPBB, EtherType: et}
}

// actMPLSTTL returns an MPLS TTL or copy TTL action (ttl for set_mpls_ttl).
func actMPLSTTL(t pipeline.ActionType, ttl uint8) pipeline.Action {
	return pipeline.Action{Type: t, TTL: ttl}
}

func actSetTTL(ttl uint8) pipeline.Action {
	return pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: ttl}
}

// applyCase applies action to the fixture's frame. The expected frame is
// Build of the fixture's spec after mutate (nil: unchanged), so every
// checksum of the result is compared with one computed from scratch.
type applyCase struct {
	name    string
	fixture string
	action  pipeline.Action
	mutate  func(s *Spec)
	err     error
}

func applyCases() []applyCase {
	return []applyCase{
		{"eth_dst", "udp4", actSet(pipeline.FieldEthDst, mac3[:]...), func(s *Spec) { s.EthDst = mac3 }, nil},
		{"eth_src", "arp-vlan", actSet(pipeline.FieldEthSrc, mac3[:]...), func(s *Spec) { s.EthSrc = mac3 }, nil},
		{"vlan_vid", "tcp4-vlan-opts", actSet16(pipeline.FieldVlanVID, 0x123|pipeline.VIDPresent),
			func(s *Spec) { s.VLANs[0].VID = 0x123 }, nil},
		{"vlan_vid on the outer tag", "tcp4-qinq", actSet16(pipeline.FieldVlanVID, 0xfff|pipeline.VIDPresent),
			func(s *Spec) { s.VLANs[0].VID = 0xfff }, nil},
		{"vlan_vid untagged is a no-op", "udp4", actSet16(pipeline.FieldVlanVID, 5|pipeline.VIDPresent), nil, nil},
		{"vlan_pcp", "tcp4-qinq", actSet(pipeline.FieldVlanPCP, 3), func(s *Spec) { s.VLANs[0].PCP = 3 }, nil},
		{"vlan_pcp untagged is a no-op", "tcp6", actSet(pipeline.FieldVlanPCP, 3), nil, nil},
		{"ip_dscp ipv4", "tcp4-vlan-opts", actSet(pipeline.FieldIPDSCP, 10), func(s *Spec) { s.IPv4.DSCP = 10 }, nil},
		{"ip_dscp ipv6", "tcp6", actSet(pipeline.FieldIPDSCP, 63), func(s *Spec) { s.IPv6.DSCP = 63 }, nil},
		{"ip_ecn ipv4", "udp4", actSet(pipeline.FieldIPECN, 3), func(s *Spec) { s.IPv4.ECN = 3 }, nil},
		{"ip_ecn ipv6", "tcp6", actSet(pipeline.FieldIPECN, 0), func(s *Spec) { s.IPv6.ECN = 0 }, nil},
		{"ip_dscp on arp is a no-op", "arp", actSet(pipeline.FieldIPDSCP, 1), nil, nil},
		{"ipv4_src udp", "udp4", actSet(pipeline.FieldIPv4Src, 172, 16, 5, 4), func(s *Spec) { s.IPv4.Src = addr("172.16.5.4") }, nil},
		{"ipv4_dst tcp", "tcp4-qinq", actSet(pipeline.FieldIPv4Dst, 8, 8, 4, 4), func(s *Spec) { s.IPv4.Dst = addr("8.8.4.4") }, nil},
		{"ipv4_dst tcp with options", "tcp4-vlan-opts", actSet(pipeline.FieldIPv4Dst, 1, 2, 3, 4), func(s *Spec) { s.IPv4.Dst = addr("1.2.3.4") }, nil},
		{"ipv4_dst udp zero checksum stays zero", "udp4-nocsum", actSet(pipeline.FieldIPv4Dst, 1, 2, 3, 4), func(s *Spec) { s.IPv4.Dst = addr("1.2.3.4") }, nil},
		{"ipv4_src icmp", "icmp4", actSet(pipeline.FieldIPv4Src, 100, 64, 0, 1), func(s *Spec) { s.IPv4.Src = addr("100.64.0.1") }, nil},
		{"ipv4_dst sctp", "sctp4", actSet(pipeline.FieldIPv4Dst, 100, 64, 0, 1), func(s *Spec) { s.IPv4.Dst = addr("100.64.0.1") }, nil},
		{"ipv4_src first fragment", "frag4-first", actSet(pipeline.FieldIPv4Src, 100, 64, 0, 1), func(s *Spec) { s.IPv4.Src = addr("100.64.0.1") }, nil},
		{"ipv4_src later fragment", "frag4-later", actSet(pipeline.FieldIPv4Src, 100, 64, 0, 1), func(s *Spec) { s.IPv4.Src = addr("100.64.0.1") }, nil},
		{"ipv4_src on arp is a no-op", "arp", actSet(pipeline.FieldIPv4Src, 1, 1, 1, 1), nil, nil},
		{"ipv4_src on ipv6 is a no-op", "tcp6", actSet(pipeline.FieldIPv4Src, 1, 1, 1, 1), nil, nil},
		{"ipv6_src tcp", "tcp6", actSet(pipeline.FieldIPv6Src, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Src = ip6c }, nil},
		{"ipv6_dst udp after extension headers", "udp6-ext", actSet(pipeline.FieldIPv6Dst, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Dst = ip6c }, nil},
		{"ipv6_dst icmpv6", "icmp6-ns", actSet(pipeline.FieldIPv6Dst, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Dst = ip6c }, nil},
		{"ipv6_src sctp", "sctp6", actSet(pipeline.FieldIPv6Src, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Src = ip6c }, nil},
		{"ipv6_src later fragment", "frag6-later", actSet(pipeline.FieldIPv6Src, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Src = ip6c }, nil},
		{"ipv6_src routed", "udp6-routed", actSet(pipeline.FieldIPv6Src, ip6c.AsSlice()...), func(s *Spec) { s.IPv6.Src = ip6c }, nil},
		{"ipv6_flabel", "tcp6", actSet(pipeline.FieldIPv6Flabel, 0, 1, 0x23, 0x45), func(s *Spec) { s.IPv6.FlowLabel = 0x12345 }, nil},
		{"ipv6_flabel is masked", "udp6-ext", actSet(pipeline.FieldIPv6Flabel, 0xff, 0xff, 0xff, 0xff), func(s *Spec) { s.IPv6.FlowLabel = 0xfffff }, nil},
		{"tcp_src", "tcp4-vlan-opts", actSet16(pipeline.FieldTCPSrc, 1), func(s *Spec) { s.TCP.Src = 1 }, nil},
		{"tcp_dst", "tcp6", actSet16(pipeline.FieldTCPDst, 8080), func(s *Spec) { s.TCP.Dst = 8080 }, nil},
		{"tcp_dst on udp is a no-op", "udp4", actSet16(pipeline.FieldTCPDst, 8080), nil, nil},
		{"udp_src", "udp4", actSet16(pipeline.FieldUDPSrc, 65535), func(s *Spec) { s.UDP.Src = 65535 }, nil},
		{"udp_dst", "udp6-ext", actSet16(pipeline.FieldUDPDst, 53), func(s *Spec) { s.UDP.Dst = 53 }, nil},
		{"udp_dst zero checksum stays zero", "udp4-nocsum", actSet16(pipeline.FieldUDPDst, 54), func(s *Spec) { s.UDP.Dst = 54 }, nil},
		{"udp_dst first fragment", "frag4-first", actSet16(pipeline.FieldUDPDst, 54), func(s *Spec) { s.UDP.Dst = 54 }, nil},
		{"udp_dst later fragment is a no-op", "frag4-later", actSet16(pipeline.FieldUDPDst, 54), nil, nil},
		{"sctp_src", "sctp4", actSet16(pipeline.FieldSCTPSrc, 2905), func(s *Spec) { s.SCTP.Src = 2905 }, nil},
		{"sctp_dst", "sctp6", actSet16(pipeline.FieldSCTPDst, 2906), func(s *Spec) { s.SCTP.Dst = 2906 }, nil},
		{"icmpv4_type", "icmp4", actSet(pipeline.FieldICMPv4Type, 0), func(s *Spec) { s.ICMPv4.Type = 0 }, nil},
		{"icmpv4_code", "icmp4", actSet(pipeline.FieldICMPv4Code, 3), func(s *Spec) { s.ICMPv4.Code = 3 }, nil},
		{"icmpv4_type on icmpv6 is a no-op", "icmp6-echo", actSet(pipeline.FieldICMPv4Type, 0), nil, nil},
		{"icmpv6_type", "icmp6-echo", actSet(pipeline.FieldICMPv6Type, 129), func(s *Spec) { s.ICMPv6.Type = 129 }, nil},
		{"icmpv6_code", "icmp6-echo", actSet(pipeline.FieldICMPv6Code, 1), func(s *Spec) { s.ICMPv6.Code = 1 }, nil},
		{"icmpv6_type ns to na", "icmp6-ns", actSet(pipeline.FieldICMPv6Type, ndAdvert), func(s *Spec) { s.ICMPv6.Type = ndAdvert }, nil},
		{"icmpv6_code makes an ns not nd", "icmp6-ns", actSet(pipeline.FieldICMPv6Code, 1), func(s *Spec) { s.ICMPv6.Code = 1 }, nil},
		{"icmpv6_type makes an echo nd", "icmp6-na", actSet(pipeline.FieldICMPv6Type, 128), func(s *Spec) { s.ICMPv6.Type = 128 }, nil},
		{"nd_target ns", "icmp6-ns", actSet(pipeline.FieldIPv6NDTarget, ip6a.AsSlice()...), func(s *Spec) { s.ICMPv6.Target = ip6a }, nil},
		{"nd_target na", "icmp6-na", actSet(pipeline.FieldIPv6NDTarget, ip6b.AsSlice()...), func(s *Spec) { s.ICMPv6.Target = ip6b }, nil},
		{"nd_target on echo is a no-op", "icmp6-echo", actSet(pipeline.FieldIPv6NDTarget, ip6b.AsSlice()...), nil, nil},
		{"nd_sll rewrites the first sll", "icmp6-ns", actSet(pipeline.FieldIPv6NDSLL, mac2[:]...), func(s *Spec) { s.ICMPv6.Options[1] = SLL(mac2) }, nil},
		{"nd_sll na", "icmp6-na", actSet(pipeline.FieldIPv6NDSLL, mac1[:]...), func(s *Spec) { s.ICMPv6.Options[1] = SLL(mac1) }, nil},
		{"nd_tll", "icmp6-na", actSet(pipeline.FieldIPv6NDTLL, mac3[:]...), func(s *Spec) { s.ICMPv6.Options[0] = TLL(mac3) }, nil},
		{"nd_tll without the option is a no-op", "icmp6-ns", actSet(pipeline.FieldIPv6NDTLL, mac3[:]...), nil, nil},
		{"arp_op", "arp", actSet16(pipeline.FieldArpOp, 2), func(s *Spec) { s.ARP.Op = 2 }, nil},
		{"arp_spa", "arp-vlan", actSet(pipeline.FieldArpSPA, 1, 2, 3, 4), func(s *Spec) { s.ARP.SPA = addr("1.2.3.4") }, nil},
		{"arp_tpa", "arp", actSet(pipeline.FieldArpTPA, 1, 2, 3, 4), func(s *Spec) { s.ARP.TPA = addr("1.2.3.4") }, nil},
		{"arp_sha", "arp", actSet(pipeline.FieldArpSHA, mac3[:]...), func(s *Spec) { s.ARP.SHA = mac3 }, nil},
		{"arp_tha", "arp-vlan", actSet(pipeline.FieldArpTHA, mac3[:]...), func(s *Spec) { s.ARP.THA = mac3 }, nil},
		{"arp_op on ipv4 is a no-op", "udp4", actSet16(pipeline.FieldArpOp, 2), nil, nil},
		{"push_vlan untagged", "udp4", actPush(0x8100), func(s *Spec) { s.VLANs, s.MinLen = []VLAN{{}}, 64 }, nil},
		{"push_vlan copies the outer vid and pcp", "tcp4-vlan-opts", actPush(0x88a8),
			func(s *Spec) { s.VLANs = append([]VLAN{{TPID: 0x88a8, VID: 100, PCP: 5}}, s.VLANs...) }, nil},
		{"push_vlan onto qinq", "tcp4-qinq", actPush(0x8100),
			func(s *Spec) { s.VLANs = append([]VLAN{{VID: 7, PCP: 1}}, s.VLANs...) }, nil},
		{"push_vlan onto nd", "icmp6-na", actPush(0x8100),
			func(s *Spec) { s.VLANs = append([]VLAN{{VID: 1}}, s.VLANs...) }, nil},
		{"push_vlan non-ip", "lldp", actPush(0x88a8), func(s *Spec) { s.VLANs = []VLAN{{TPID: 0x88a8}} }, nil},
		{"pop_vlan", "tcp4-vlan-opts", actPop, func(s *Spec) { s.VLANs = nil }, nil},
		{"pop_vlan qinq", "tcp4-qinq", actPop, func(s *Spec) { s.VLANs = s.VLANs[1:] }, nil},
		{"pop_vlan reveals a third tag", "triple-tag", actPop, func(s *Spec) { s.VLANs = s.VLANs[1:] }, nil},
		{"pop_vlan arp", "arp-vlan", actPop, func(s *Spec) { s.VLANs = nil }, nil},
		{"pop_vlan untagged is a no-op", "udp4", actPop, nil, nil},
		{"set_nw_ttl ipv4", "udp4", actSetTTL(1), func(s *Spec) { s.IPv4.TTL = 1 }, nil},
		{"set_nw_ttl ipv6", "tcp6", actSetTTL(9), func(s *Spec) { s.IPv6.HopLimit = 9 }, nil},
		{"set_nw_ttl arp is a no-op", "arp", actSetTTL(9), nil, nil},
		{"dec_nw_ttl ipv4", "tcp4-vlan-opts", actDecTTL, func(s *Spec) { s.IPv4.TTL = 8 }, nil},
		{"dec_nw_ttl ipv6", "udp6-ext", actDecTTL, func(s *Spec) { s.IPv6.HopLimit = 63 }, nil},
		{"dec_nw_ttl lldp is a no-op", "lldp", actDecTTL, nil, nil},
		{"set_queue is a no-op", "udp4", pipeline.Action{Type: pipeline.ActionSetQueue, Queue: 3}, nil, nil},
		{"output", "udp4", pipeline.Output(1), nil, ErrUnsupported},
		{"group", "udp4", pipeline.Action{Type: pipeline.ActionGroup, Group: 1}, nil, ErrUnsupported},

		// OpenFlow 1.3.5 section 5.12, push/pop tag actions: push MPLS header,
		// "Push a new MPLS shim header onto the packet. The Ethertype is used
		// as the Ethertype for the tag." Section 5.12.1 (existing fields that
		// may be copied into new fields on push actions): "MPLS label <-
		// MPLS label", "MPLS traffic class <- MPLS traffic class", "MPLS TTL
		// <- MPLS TTL, IP TTL". What has nothing to copy from is 0 (os-ken's
		// conformance suite, action/19_PUSH_MPLS.json, expects label 0 on
		// IPv6 and TTL 0 on ARP).
		{"push_mpls onto ipv4: label 0, ttl from the ip ttl", "udp4", actPushMPLS(0x8847),
			func(s *Spec) { s.MPLS, s.MinLen = []MPLS{{Label: 0, TTL: 64}}, 64 }, nil},
		{"push_mpls onto ipv6: label 0, tc 0, multicast ethertype", "tcp6", actPushMPLS(0x8848),
			func(s *Spec) { s.MPLS, s.EthType = []MPLS{{TTL: 64}}, 0x8848 }, nil},
		{"push_mpls onto mpls copies the top entry", "mpls-udp4", actPushMPLS(0x8847),
			func(s *Spec) { s.MPLS = append([]MPLS{s.MPLS[0]}, s.MPLS...) }, nil},
		{"push_mpls goes after the vlan tags", "tcp4-vlan-opts", actPushMPLS(0x8847),
			func(s *Spec) { s.MPLS = []MPLS{{TTL: 9}} }, nil},
		{"push_mpls onto arp: ttl 0", "arp", actPushMPLS(0x8847),
			func(s *Spec) { s.MPLS, s.MinLen = []MPLS{{TTL: 0}}, 64 }, nil},
		{"push_mpls with ethertype 0x0800", "udp4", actPushMPLS(0x0800), nil, ErrUnsupported},
		// "Pop MPLS header: Pop the outer-most MPLS tag or shim header from
		// the packet. The Ethertype is used as the Ethertype for the
		// resulting packet (Ethertype for the MPLS payload)."
		{"pop_mpls to ipv4", "mpls-udp4", actPopMPLS(0x0800), func(s *Spec) { s.MPLS = nil }, nil},
		{"pop_mpls above the bottom of stack", "mpls2-tcp6-vlan", actPopMPLS(0x8848),
			func(s *Spec) { s.MPLS = s.MPLS[1:] }, nil},
		{"pop_mpls of the fourth label from the bottom", "mpls4-udp4", actPopMPLS(0x8847),
			func(s *Spec) { s.MPLS = s.MPLS[1:] }, nil},
		{"pop_mpls on ipv4 is a no-op", "udp4", actPopMPLS(0x0800), nil, nil},
		// Change-TTL actions: set MPLS TTL, "Replace the existing MPLS TTL.
		// Only applies to packets with an existing MPLS shim header."
		{"set_mpls_ttl", "mpls-udp4", actMPLSTTL(pipeline.ActionSetMPLSTTL, 5), func(s *Spec) { s.MPLS[0].TTL = 5 }, nil},
		{"set_mpls_ttl on ipv4 is a no-op", "udp4", actMPLSTTL(pipeline.ActionSetMPLSTTL, 5), nil, nil},
		// "Decrement the MPLS TTL. Only applies to packets with an existing
		// MPLS shim header."
		{"dec_mpls_ttl", "mpls2-tcp6-vlan", actMPLSTTL(pipeline.ActionDecMPLSTTL, 0), func(s *Spec) { s.MPLS[0].TTL = 254 }, nil},
		{"dec_mpls_ttl on ipv6 is a no-op", "tcp6", actMPLSTTL(pipeline.ActionDecMPLSTTL, 0), nil, nil},
		// Copy TTL outwards: "Copy the TTL from next-to-outermost to outermost
		// header with TTL. Copy can be IP-to-IP, MPLS-to-MPLS, or IP-to-MPLS."
		{"copy_ttl_out ip to mpls", "mpls-udp4", actMPLSTTL(pipeline.ActionCopyTTLOut, 0), func(s *Spec) { s.MPLS[0].TTL = 33 }, nil},
		{"copy_ttl_out ipv6 to mpls", "mpls-tcp6", actMPLSTTL(pipeline.ActionCopyTTLOut, 0), func(s *Spec) { s.MPLS[0].TTL = 40 }, nil},
		{"copy_ttl_out mpls to mpls", "mpls2-tcp6-vlan", actMPLSTTL(pipeline.ActionCopyTTLOut, 0), func(s *Spec) { s.MPLS[0].TTL = 9 }, nil},
		{"copy_ttl_out on ipv4 is a no-op", "udp4", actMPLSTTL(pipeline.ActionCopyTTLOut, 0), nil, nil},
		// Copy TTL inwards: "Copy the TTL from outermost to next-to-outermost
		// header with TTL. Copy can be IP-to-IP, MPLS-to-MPLS, or MPLS-to-IP."
		{"copy_ttl_in mpls to ipv4", "mpls-udp4", actMPLSTTL(pipeline.ActionCopyTTLIn, 0), func(s *Spec) { s.IPv4.TTL = 60 }, nil},
		{"copy_ttl_in mpls to ipv6", "mpls-tcp6", actMPLSTTL(pipeline.ActionCopyTTLIn, 0), func(s *Spec) { s.IPv6.HopLimit = 70 }, nil},
		{"copy_ttl_in mpls to mpls", "mpls4-udp4", actMPLSTTL(pipeline.ActionCopyTTLIn, 0), func(s *Spec) { s.MPLS[1].TTL = 4 }, nil},
		{"copy_ttl_in without a second header is a no-op", "mpls-nonip", actMPLSTTL(pipeline.ActionCopyTTLIn, 0), nil, nil},
		{"mpls_label", "mpls-udp4", actSet(pipeline.FieldMPLSLabel, 0, 0x0a, 0xbc, 0xde), func(s *Spec) { s.MPLS[0].Label = 0xabcde }, nil},
		{"mpls_label is masked to 20 bits", "mpls2-tcp6-vlan", actSet(pipeline.FieldMPLSLabel, 0xff, 0xff, 0xff, 0xff),
			func(s *Spec) { s.MPLS[0].Label = 0xfffff }, nil},
		{"mpls_tc", "mpls2-tcp6-vlan", actSet(pipeline.FieldMPLSTC, 2), func(s *Spec) { s.MPLS[0].TC = 2 }, nil},
		{"mpls_label on ipv4 is a no-op", "udp4", actSet(pipeline.FieldMPLSLabel, 0, 0, 0, 1), nil, nil},
		// mpls_bos: "The BoS bit in the first MPLS shim header" (os-ken's
		// conformance suite sets it, action/25_SET_FIELD/36_MPLS_BOS.json).
		{"mpls_bos cleared: the payload is read as entries", "mpls-udp4", actSet(pipeline.FieldMPLSBoS, 0),
			func(s *Spec) { s.MPLSNoBoS = true }, nil},
		{"mpls_bos set on the top of two", "mpls2-tcp6-vlan", actSet(pipeline.FieldMPLSBoS, 1), func(s *Spec) {
			inner := Build(Spec{IPv6: s.IPv6, TCP: s.TCP})[ethLen:]
			s.Payload = append(binary.BigEndian.AppendUint32(nil, s.MPLS[1].LSE(true)), inner...)
			s.MPLS, s.IPv6, s.TCP = s.MPLS[:1], nil, nil
		}, nil},
		{"mpls_bos unchanged", "mpls-udp4", actSet(pipeline.FieldMPLSBoS, 1), nil, nil},
		// Push PBB header: "Push a new PBB service instance header (I-TAG
		// TCI) onto the packet". Section 5.12.1: "PBB I-SID <- PBB I-SID",
		// "PBB I-PCP <- VLAN PCP", "PBB C-DA <- ETH DST", "PBB C-SA <- ETH
		// SRC".
		{"push_pbb untagged", "udp4", actPushPBB(0x88e7),
			func(s *Spec) { s.PBB, s.MinLen = &PBB{Dst: s.EthDst, Src: s.EthSrc}, 78 }, nil},
		{"push_pbb moves the tags into the customer frame, i-pcp from the outer pcp", "tcp4-qinq", actPushPBB(0x88e7),
			func(s *Spec) {
				s.PBB, s.VLANs = &PBB{PCP: s.VLANs[0].PCP, Dst: s.EthDst, Src: s.EthSrc, VLANs: s.VLANs}, nil
			}, nil},
		{"push_pbb onto mpls", "mpls-udp4", actPushPBB(0x88e7), func(s *Spec) { s.PBB = &PBB{Dst: s.EthDst, Src: s.EthSrc} }, nil},
		{"push_pbb with ethertype 0x88a8", "udp4", actPushPBB(0x88a8), nil, ErrUnsupported},
		// Pop PBB header: "Pop the outer-most PBB service instance header
		// (I-TAG TCI) from the packet": the customer frame is what is left.
		{"pop_pbb", "pbb-udp4", pipeline.Action{Type: pipeline.ActionPopPBB},
			func(s *Spec) { s.EthDst, s.EthSrc, s.VLANs, s.PBB = s.PBB.Dst, s.PBB.Src, s.PBB.VLANs, nil }, nil},
		{"pop_pbb to mpls", "pbb-mpls-udp6", pipeline.Action{Type: pipeline.ActionPopPBB},
			func(s *Spec) { s.EthDst, s.EthSrc, s.PBB = s.PBB.Dst, s.PBB.Src, nil }, nil},
		{"pop_pbb on udp4 is a no-op", "udp4", pipeline.Action{Type: pipeline.ActionPopPBB}, nil, nil},
		{"pbb_isid", "pbb-udp4", actSet(pipeline.FieldPBBISID, 0xab, 0xcd, 0xef), func(s *Spec) { s.PBB.ISID = 0xabcdef }, nil},
		{"pbb_isid on udp4 is a no-op", "udp4", actSet(pipeline.FieldPBBISID, 0xab, 0xcd, 0xef), nil, nil},
		// eth_type is the ethertype after the tags: the packet is read again
		// under the new one.
		{"eth_type ipv4 to local experimental", "udp4", actSet16(pipeline.FieldEthType, 0x88b5), func(s *Spec) { s.EthType = 0x88b5 }, nil},
		{"eth_type ipv4 to ipv6 behind a tag", "tcp4-vlan-opts", actSet16(pipeline.FieldEthType, 0x86dd), func(s *Spec) { s.EthType = 0x86dd }, nil},
		{"eth_type mpls unicast to multicast", "mpls-udp4", actSet16(pipeline.FieldEthType, 0x8848), func(s *Spec) { s.EthType = 0x8848 }, nil},
		{"eth_type of a bare ethernet header", "eth-only", actSet16(pipeline.FieldEthType, 0x0806), func(s *Spec) { s.EthType = 0x0806 }, nil},
		{"tcp_dst on mpls is a no-op", "mpls-udp4", actSet16(pipeline.FieldUDPDst, 1), nil, nil},
		{"ipv4_src on pbb is a no-op", "pbb-udp4", actSet(pipeline.FieldIPv4Src, 1, 2, 3, 4), nil, nil},
		{"set_nw_ttl on mpls is a no-op", "mpls-udp4", actSetTTL(1), nil, nil},
		{"push_vlan with a bad ethertype", "udp4", actPush(0x0800), nil, ErrUnsupported},
		{"set_field tunnel_id", "udp4", actSet(pipeline.FieldTunnelID, 1, 2, 3, 4, 5, 6, 7, 8), nil, ErrUnsupported},
		{"set_field ipv6_exthdr", "tcp6", actSet(pipeline.FieldIPv6Exthdr, 0, 1), nil, ErrUnsupported},
		// ip_proto: Table 12 OXM_OF_IP_PROTO "IPv4 or IPv6 protocol number".
		// The transport header stays; its checksum covers a pseudo header
		// with the new protocol, as Build (and os-ken's packet library, see
		// TestApplyConformance) computes it.
		{"ip_proto tcp4 to udp", "tcp4-vlan-opts", actSet(pipeline.FieldIPProto, 17), func(s *Spec) { s.IPv4.Proto = 17 }, nil},
		{"ip_proto tcp6 to udp", "tcp6", actSet(pipeline.FieldIPProto, 17), func(s *Spec) { s.IPv6.Proto = 17 }, nil},
		{"ip_proto after ipv6 extension headers: the ah header's next header", "udp6-ext", actSet(pipeline.FieldIPProto, 6),
			func(s *Spec) { s.IPv6.Proto = 6 }, nil},
		{"ip_proto of udp with a zero checksum", "udp4-nocsum", actSet(pipeline.FieldIPProto, 136), func(s *Spec) { s.IPv4.Proto = 136 }, nil},
		{"ip_proto of icmpv4: no pseudo header", "icmp4", actSet(pipeline.FieldIPProto, 58), func(s *Spec) { s.IPv4.Proto = 58 }, nil},
		{"ip_proto of icmpv6", "icmp6-ns", actSet(pipeline.FieldIPProto, 17), func(s *Spec) { s.IPv6.Proto = 17 }, nil},
		{"ip_proto of sctp: the crc has no pseudo header", "sctp6", actSet(pipeline.FieldIPProto, 6), func(s *Spec) { s.IPv6.Proto = 6 }, nil},
		{"ip_proto of an ipv4 first fragment", "frag4-first", actSet(pipeline.FieldIPProto, 6), func(s *Spec) { s.IPv4.Proto = 6 }, nil},
		{"ip_proto of an ipv4 later fragment", "frag4-later", actSet(pipeline.FieldIPProto, 6), func(s *Spec) { s.IPv4.Proto = 6 }, nil},
		{"ip_proto of an ipv6 later fragment: the fragment header's next header", "frag6-later", actSet(pipeline.FieldIPProto, 17),
			func(s *Spec) { s.IPv6.Proto = 17 }, nil},
		{"ip_proto esp to no next header", "ipv6-esp", actSet(pipeline.FieldIPProto, pipeline.ProtoNoNext), func(s *Spec) { s.IPv6.Proto = pipeline.ProtoNoNext }, nil},
		{"ip_proto udp6 to an extension header", "udp6-routed", actSet(pipeline.FieldIPProto, pipeline.ProtoDestOpts),
			func(s *Spec) { s.IPv6.Proto = pipeline.ProtoDestOpts }, nil},
		{"ip_proto unchanged", "udp4", actSet(pipeline.FieldIPProto, 17), nil, nil},
		{"ip_proto on arp is a no-op", "arp", actSet(pipeline.FieldIPProto, 6), nil, nil},
		{"ip_proto on mpls is a no-op", "mpls-udp4", actSet(pipeline.FieldIPProto, 6), nil, nil},
		{"ip_proto on pbb is a no-op", "pbb-udp4", actSet(pipeline.FieldIPProto, 6), nil, nil},
	}
}

func TestApply(t *testing.T) {
	for _, tc := range applyCases() {
		t.Run(tc.name, func(t *testing.T) {
			var spec Spec
			for _, f := range fixtures() {
				if f.name == tc.fixture {
					spec = f.spec
				}
			}
			frame := Build(spec)
			orig := bytes.Clone(frame)
			want := orig
			if tc.mutate != nil {
				// Fixtures are built fresh, so mutating spec is safe.
				tc.mutate(&spec)
				want = Build(spec)
			}
			var k pipeline.Key
			l := Parse(frame, 9, &k)
			k.Metadata, k.TunnelID = 0x55, 0x66
			origKey, origLayout := k, l

			got, err := Apply(frame, &l, &k, &tc.action)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Apply error = %v, want %v", err, tc.err)
			}
			if err != nil {
				if !bytes.Equal(got, orig) || k != origKey || l != origLayout {
					t.Errorf("failed Apply changed the packet, key or layout")
				}
				return
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frame (-want +got):\n%s", diff)
			}
			if len(got) > 0 && &got[0] != &frame[0] {
				t.Errorf("Apply returned a new backing array")
			}
			bad := checkSums(got)
			if tc.action.Type == pipeline.ActionSetField && tc.action.Field == pipeline.FieldIPProto {
				// The transport header stayed under another protocol.
				bad = checkSumsAfterProto(got, &origKey, &origLayout)
			}
			if bad != nil {
				t.Errorf("checksums after Apply: %v", bad)
			}
			checkReparse(t, got, &l, &k)
		})
	}
}

// TestApplyConformance runs the packets of os-ken's conformance suite for
// set_field ip_proto and mpls_bos (Ryu's tests/switch, of13/action/
// 25_SET_FIELD: 10_IP_PROTO_IPv4, 10_IP_PROTO_IPv6, 36_MPLS_BOS) through
// the actions of their flows and compares the result, byte for byte, with
// the packet the suite expects (tester.py compares the frame received
// with repr before anything else). The frames are the ones os-ken 2.5.0's
// packet library serializes from the tests' ingress and egress
// descriptions: under ip_proto 17 the TCP header stays, its checksum
// computed over a pseudo header with protocol 17 (packet_utils.checksum_ip
// takes the protocol from the IP header before it).
func TestApplyConformance(t *testing.T) {
	setProto := actSet(pipeline.FieldIPProto, 17)
	popPBB := pipeline.Action{Type: pipeline.ActionPopPBB}
	tests := []struct {
		name    string
		acts    []pipeline.Action
		in, out string
	}{
		{"action/25_SET_FIELD/10_IP_PROTO_IPv4.json#1", []pipeline.Action{setProto},
			"22222222222212111111111108004520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111108004520004b000000004011db13c0a80a0ac0a814142b6708ae000000000000000060000000cb410000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv4.json#2", []pipeline.Action{setProto},
			"2222222222221211111111118100606408004520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"2222222222221211111111118100606408004520004b000000004011db13c0a80a0ac0a814142b6708ae000000000000000060000000cb410000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv4.json#3", []pipeline.Action{actPopMPLS(0x0800), setProto},
			"2222222222221211111111118847000647404520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111108004520004b000000004011db13c0a80a0ac0a814142b6708ae000000000000000060000000cb410000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv4.json#4", []pipeline.Action{popPBB, setProto},
			"22222222222212111111111188e70000006422222222222212111111111108004520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111108004520004b000000004011db13c0a80a0ac0a814142b6708ae000000000000000060000000cb410000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv6.json#1", []pipeline.Action{setProto},
			"22222222222212111111111186dd620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111186dd620000640037114000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a510000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv6.json#2", []pipeline.Action{setProto},
			"2222222222221211111111118100606486dd620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"2222222222221211111111118100606486dd620000640037114000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a510000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv6.json#3", []pipeline.Action{actPopMPLS(0x86dd), setProto},
			"222222222222121111111111884700064740620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111186dd620000640037114000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a510000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/10_IP_PROTO_IPv6.json#4", []pipeline.Action{popPBB, setProto},
			"22222222222212111111111188e70000006422222222222212111111111186dd620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"22222222222212111111111186dd620000640037114000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a510000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/36_MPLS_BOS.json#1", []pipeline.Action{actSet(pipeline.FieldMPLSBoS, 0)},
			"2222222222221211111111118847000647404520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"2222222222221211111111118847000646404520004b000000004006db1ec0a80a0ac0a814142b6708ae000000000000000060000000cb4c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/36_MPLS_BOS.json#2", []pipeline.Action{actSet(pipeline.FieldMPLSBoS, 0)},
			"222222222222121111111111884700064740620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
			"222222222222121111111111884700064640620000640037064000100000000000000000000000000010002000000000000000000000000000202b6708ae0000000000000000600000006a5c0000000000000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"},
		{"action/25_SET_FIELD/36_MPLS_BOS.json#3", []pipeline.Action{actSet(pipeline.FieldMPLSBoS, 0)},
			"2222222222221211111111118847000647400001080006040001121111111111c0a80a0a222222222222c0a81414000000000000000000000000000000000000000000000000000000000000",
			"2222222222221211111111118847000646400001080006040001121111111111c0a80a0a222222222222c0a81414000000000000000000000000000000000000000000000000000000000000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := unhex(tt.in)
			var k pipeline.Key
			l := Parse(frame, 1, &k)
			for i := range tt.acts {
				var err error
				if frame, err = Apply(frame, &l, &k, &tt.acts[i]); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(unhex(tt.out), frame); diff != "" {
				t.Errorf("frame (-os-ken +nicflow):\n%s", diff)
			}
			checkReparse(t, frame, &l, &k)
		})
	}
}

// checkReparse asserts that k and l are what Parse makes of frame (with
// k's metadata).
func checkReparse(t *testing.T, frame []byte, l *Layout, k *pipeline.Key) {
	t.Helper()
	var fresh pipeline.Key
	fl := Parse(frame, k.InPort, &fresh)
	fresh.Metadata, fresh.TunnelID = k.Metadata, k.TunnelID
	if diff := cmp.Diff(fresh, *k); diff != "" {
		t.Errorf("key after Apply differs from a fresh Parse (-parse +apply):\n%s", diff)
	}
	if diff := cmp.Diff(fl, *l); diff != "" {
		t.Errorf("layout after Apply differs from a fresh Parse (-parse +apply):\n%s", diff)
	}
}

// TestApplyRouted checks that rewriting ipv6_dst behind a routing header
// with segments left leaves the L4 checksum alone (its pseudo header holds
// the final destination).
func TestApplyRouted(t *testing.T) {
	frame := fixtureFrame("udp6-routed")
	var k pipeline.Key
	l := Parse(frame, 1, &k)
	before := bytes.Clone(frame[l.L4:])
	a := actSet(pipeline.FieldIPv6Dst, ip6c.AsSlice()...)
	got, err := Apply(frame, &l, &k, &a)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, got[l.L4:]); diff != "" {
		t.Errorf("udp header changed (-want +got):\n%s", diff)
	}
	if !bytes.Equal(got[l.L3+24:l.L3+40], ip6c.AsSlice()) {
		t.Errorf("ipv6_dst not written")
	}
	checkReparse(t, got, &l, &k)
}

func TestApplyTTLExpired(t *testing.T) {
	for _, ttl := range []uint8{0, 1} {
		for _, name := range []string{"v4", "v6"} {
			s := Spec{EthDst: mac2, EthSrc: mac1, UDP: &UDP{Src: 1, Dst: 2}}
			if name == "v4" {
				s.IPv4 = &IPv4{Src: ip4a, Dst: ip4b, TTL: ttl}
			} else {
				s.IPv6 = &IPv6{Src: ip6a, Dst: ip6b, HopLimit: ttl}
			}
			frame := Build(s)
			if ttl == 0 { // Build turns 0 into 64
				frame[14+8] = 0
				if name == "v6" {
					frame[14+7] = 0
				}
			}
			orig := bytes.Clone(frame)
			var k pipeline.Key
			l := Parse(frame, 1, &k)
			got, err := Apply(frame, &l, &k, &actDecTTL)
			if err != ErrTTLExpired {
				t.Errorf("%s ttl %d: Apply error = %v, want ErrTTLExpired", name, ttl, err)
			}
			if !bytes.Equal(got, orig) {
				t.Errorf("%s ttl %d: frame changed", name, ttl)
			}
		}
	}
}

// TestApplyKeepsBadChecksums checks that incremental updates keep a wrong
// checksum wrong (a switch must not launder corrupt packets).
func TestApplyKeepsBadChecksums(t *testing.T) {
	for _, name := range []string{"udp4", "tcp6", "sctp4", "icmp4", "icmp6-ns"} {
		frame := fixtureFrame(name)
		var k pipeline.Key
		l := Parse(frame, 1, &k)
		// Corrupt a payload byte near the end of the IP packet.
		frame[l.End-1] ^= 0x5a
		if checkSums(frame) == nil {
			t.Fatalf("%s: corruption not detected", name)
		}
		acts := []pipeline.Action{actSet16(pipeline.FieldTCPSrc, 9), actSet16(pipeline.FieldUDPSrc, 9),
			actSet16(pipeline.FieldSCTPSrc, 9), actSet(pipeline.FieldICMPv4Type, 0),
			actSet(pipeline.FieldIPv4Src, 1, 2, 3, 4), actSet(pipeline.FieldIPv6Src, ip6c.AsSlice()...),
			actSet(pipeline.FieldIPv6NDTarget, ip6a.AsSlice()...)}
		for i := range acts {
			if _, err := Apply(frame, &l, &k, &acts[i]); err != nil {
				t.Fatal(err)
			}
		}
		if checkSums(frame) == nil {
			t.Errorf("%s: bad checksum became good", name)
		}
		frame[l.End-1] ^= 0x5a
		if bad := checkSums(frame); bad != nil {
			t.Errorf("%s: after undoing the corruption: %v", name, bad)
		}
	}
}

// TestMPLSTTLExpired: dec_mpls_ttl of an MPLS TTL of 0 or 1 leaves the
// packet alone and reports ErrTTLExpired (Open vSwitch's rule, as for
// dec_nw_ttl: the packet goes to the controller as OFPR_INVALID_TTL or is
// dropped).
func TestMPLSTTLExpired(t *testing.T) {
	for _, ttl := range []uint8{0, 1, 2} {
		frame := Build(Spec{EthDst: mac2, EthSrc: mac1, MPLS: []MPLS{{Label: 9, TTL: ttl}}, IPv4: &IPv4{Src: ip4a, Dst: ip4b}})
		orig := bytes.Clone(frame)
		var k pipeline.Key
		l := Parse(frame, 1, &k)
		a := actMPLSTTL(pipeline.ActionDecMPLSTTL, 0)
		got, err := Apply(frame, &l, &k, &a)
		switch {
		case ttl <= 1 && (err != ErrTTLExpired || !bytes.Equal(got, orig)):
			t.Errorf("mpls ttl %d: error %v, frame changed %v; want ErrTTLExpired and no change", ttl, err, !bytes.Equal(got, orig))
		case ttl > 1 && (err != nil || got[17] != ttl-1 || k.MPLS[0]&0xff != uint32(ttl-1)):
			t.Errorf("mpls ttl %d: error %v, ttl %d after", ttl, err, got[17])
		}
	}
}

// TestPushPBBOntoPBB pushes a second I-TAG onto a PBB frame: "PBB I-SID <-
// PBB I-SID" (OpenFlow 1.3.5 section 5.12.1) copies the I-SID; the first
// backbone header becomes the customer frame; pop_pbb undoes it.
func TestPushPBBOntoPBB(t *testing.T) {
	frame := fixtureFrame("pbb-udp4")
	orig := bytes.Clone(frame)
	var k pipeline.Key
	l := Parse(frame, 1, &k)
	k0, l0 := k, l
	a := actPushPBB(pipeline.EthTypePBB)
	got, err := Apply(frame, &l, &k, &a)
	if err != nil {
		t.Fatal(err)
	}
	want := append(append(append(append([]byte{}, orig[:12]...), 0x88, 0xe7, 0x60, 0x12, 0x34, 0x56), orig[:12]...), orig[12:]...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("frame (-want +got):\n%s", diff)
	}
	if k.PBBISID != 0x123456 || k.PBBInnerType != pipeline.EthTypePBB || k.PBBInnerVID != 10|pipeline.VIDPresent || k.IPProto != 0 {
		t.Errorf("key %+v", k)
	}
	checkReparse(t, got, &l, &k)
	back, err := Apply(got, &l, &k, &pipeline.Action{Type: pipeline.ActionPopPBB})
	if err != nil || !bytes.Equal(back, orig) || k != k0 || l != l0 {
		t.Errorf("pop_pbb after push_pbb: %v, frame restored %v, key and layout restored %v", err, bytes.Equal(back, orig), k == k0 && l == l0)
	}
}

// TestPushPopRestores pushes a tag (both TPIDs), an MPLS entry (popped to
// the original ethertype) and an I-TAG onto every fixture, pops it, and
// expects the original bytes, key and layout.
func TestPushPopRestores(t *testing.T) {
	for _, f := range fixtures() {
		for _, a := range []pipeline.Action{actPushMPLS(pipeline.EthTypeMPLS), actPushMPLS(pipeline.EthTypeMPLSMcast), actPushPBB(pipeline.EthTypePBB)} {
			frame := Build(f.spec)
			orig := bytes.Clone(frame)
			var k pipeline.Key
			l := Parse(frame, 4, &k)
			k0, l0 := k, l
			pushed, err := Apply(frame, &l, &k, &a)
			if err != nil {
				t.Fatalf("%s: %+v: %v", f.name, a, err)
			}
			if &pushed[0] != &frame[0] {
				t.Errorf("%s: %+v returned a new backing array", f.name, a)
			}
			checkReparse(t, pushed, &l, &k)
			pop, _ := popOf(&a, &k0)
			popped, err := Apply(pushed, &l, &k, &pop)
			if err != nil {
				t.Fatalf("%s: %+v: %v", f.name, pop, err)
			}
			if diff := cmp.Diff(orig, popped); diff != "" {
				t.Errorf("%s: %+v then %+v (-want +got):\n%s", f.name, a, pop, diff)
			}
			if k != k0 || l != l0 {
				t.Errorf("%s: %+v then %+v changed the key or layout", f.name, a, pop)
			}
		}
		for _, tpid := range []uint16{0x8100, 0x88a8} {
			frame := Build(f.spec)
			orig := bytes.Clone(frame)
			var k pipeline.Key
			l := Parse(frame, 4, &k)
			k0, l0 := k, l
			a := actPush(tpid)
			pushed, err := Apply(frame, &l, &k, &a)
			if err != nil {
				t.Fatalf("%s: push: %v", f.name, err)
			}
			if len(pushed) != len(orig)+4 || &pushed[0] != &frame[0] {
				t.Fatalf("%s: push returned %d bytes in a new array", f.name, len(pushed))
			}
			if got := be16(pushed[12:]); got != tpid {
				t.Errorf("%s: pushed tpid %#x, want %#x", f.name, got, tpid)
			}
			checkReparse(t, pushed, &l, &k)
			popped, err := Apply(pushed, &l, &k, &actPop)
			if err != nil {
				t.Fatalf("%s: actPop: %v", f.name, err)
			}
			if diff := cmp.Diff(orig, popped); diff != "" {
				t.Errorf("%s: push+actPop (-want +got):\n%s", f.name, diff)
			}
			if k != k0 || l != l0 {
				t.Errorf("%s: push+actPop changed the key or layout", f.name)
			}
		}
	}
}

func TestApplyShortFrames(t *testing.T) {
	// Frames without a complete Ethernet header: every action is a no-op.
	for n := 0; n < ethLen; n++ {
		frame := make([]byte, n, n+8)
		var k pipeline.Key
		l := Parse(frame, 1, &k)
		for _, a := range []pipeline.Action{actPush(0x8100), actPop, actDecTTL, actSet(pipeline.FieldEthDst, mac1[:]...)} {
			got, err := Apply(frame, &l, &k, &a)
			if err != nil || len(got) != n {
				t.Errorf("%d bytes, action %d: got %d bytes, %v", n, a.Type, len(got), err)
			}
		}
	}
}
