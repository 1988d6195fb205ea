package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The sentences of OpenFlow 1.3.5 the rules below follow.
const (
	specPushMPLS = `5.12.1 "Push MPLS header: Push a new MPLS shim header onto the packet. The Ethertype is used as the Ethertype for the tag. Only Ethertype 0x8847 and 0x8848 should be used."`
	specPopMPLS  = `5.12.1 "Pop MPLS header: Pop the outer MPLS tag or shim header. The Ethertype is used as the Ethertype for the resulting packet (Ethertype for the MPLS payload)."`
	specPushPBB  = `5.12.1 "Push PBB header: Push a new PBB service instance header (I-TAG TCI) onto the packet. The Ethertype is used as the Ethertype for the tag. Only Ethertype 0x88E7 should be used."`
	specPopPBB   = `5.12.1 "Pop PBB header: Pop the outer PBB service instance header (I-TAG TCI) from the packet."`
	specSetMPLS  = `5.12.2 "Set MPLS TTL: Replace the existing MPLS TTL. Only applies to packets with an existing MPLS shim header."`
	specDecMPLS  = `5.12.2 "Decrement MPLS TTL: Decrement the MPLS TTL. Only applies to packets with an existing MPLS shim header."`
	specSetNw    = `5.12.2 "Set IP TTL: Replace the existing IPv4 TTL or IPv6 Hop Limit and update the IP checksum. Only applies to IPv4 and IPv6 packets."`
	specDecNw    = `5.12.2 "Decrement IP TTL: Decrement the IPv4 TTL or IPv6 Hop Limit field and update the IP checksum. Only applies to IPv4 and IPv6 packets."`
	specCopyOut  = `5.12.2 "Copy TTL outwards: Copy the TTL from next-to-outermost to outermost header with TTL. Copy can be IP-to-IP, MPLS-to-MPLS, or IP-to-MPLS."`
	specCopyIn   = `5.12.2 "Copy TTL inwards: Copy the TTL from outermost to next-to-outermost header with TTL. Copy can be IP-to-IP, MPLS-to-MPLS, or MPLS-to-IP."`
	specSetField = `7.2.5 "The match of the flow entry must contain the OXM prerequisite corresponding to the field to be set (see 7.2.3.6), otherwise an error must be generated"; OFPBAC_MATCH_INCONSISTENT "Action can't apply for this match, or Set-Field missing prerequisite."`
	specSetType  = `7.4.4 OFPBAC_BAD_SET_TYPE "Unsupported type in SET_FIELD action."; OFPBAC_BAD_SET_ARGUMENT "Bad argument in SET_FIELD action."`
	specActSet   = `5.10 "Actions in an action set are applied in the order specified below, regardless of the order that they were added to the set": copy TTL inwards, pop, push-MPLS, push-PBB, push-VLAN, copy TTL outwards, decrement TTL, set, qos, group, output`
	specTypes    = `7.4.4 OFPBAC_BAD_TYPE "Unknown or unsupported action type."`
	specSetAny   = `7.2.5 "The type of a set-field action can be any valid OXM header type, the list of possible OXM types are described in Section 7.2.3.7 and Table 12. Set-Field actions for OXM types OFPXMT_OFB_IN_PORT, OXM_OF_IN_PHY_PORT and OFPXMT_OFB_METADATA are not supported, because those are not header fields."`
	specIPProto  = `Table 12: OXM_OF_IP_PROTO, "IPv4 or IPv6 protocol number", prerequisite ETH TYPE=0x0800 or ETH TYPE=0x86dd`
	specBoS      = `Table 12: OXM_OF_MPLS_BOS, "The BoS bit in the first MPLS shim header", prerequisite ETH TYPE=0x8847 or ETH TYPE=0x8848`
	notOVS       = "; Open vSwitch refuses it (meta-flow.h: \"Access: read-only\"), os-ken's conformance suite sets it (action/25_SET_FIELD)"
)

// TestActionRules checks each rule ValidateActions and ValidateInstructions
// apply to the MPLS, PBB, TTL and set_field actions, against the spec's text
// and what Open vSwitch (lib/ofp-actions.c, ofpact_check__ and the
// decoders) does, following the packet through the list.
func TestActionRules(t *testing.T) {
	var (
		ipv4   = mt(ipv4Type)
		ipv6   = mt(exact(FieldEthType, EthTypeIPv6))
		tcp    = mt(ipv4Type, exact(FieldIPProto, ProtoTCP))
		arpM   = mt(exact(FieldEthType, EthTypeARP))
		mplsM  = mt(exact(FieldEthType, EthTypeMPLS))
		mcastM = mt(exact(FieldEthType, EthTypeMPLSMcast))
		bos1   = mt(exact(FieldEthType, EthTypeMPLS), exact(FieldMPLSBoS, 1))
		bos0   = mt(exact(FieldEthType, EthTypeMPLS), exact(FieldMPLSBoS, 0))
		pbbM   = mt(exact(FieldEthType, EthTypePBB))
		pbbTag = mt(exact(FieldEthType, EthTypePBB), masked(FieldVlanVID, VIDPresent, VIDPresent))
		tagged = mt(ipv4Type, masked(FieldVlanVID, VIDPresent, VIDPresent))
		any    = Match{}

		pushMPLS  = func(et uint16) Action { return Action{Type: ActionPushMPLS, EtherType: et} }
		popMPLS   = func(et uint16) Action { return Action{Type: ActionPopMPLS, EtherType: et} }
		pushPBB   = func(et uint16) Action { return Action{Type: ActionPushPBB, EtherType: et} }
		popPBB    = Action{Type: ActionPopPBB}
		pushVLAN  = Action{Type: ActionPushVLAN, EtherType: EthTypeVLAN}
		popVLAN   = Action{Type: ActionPopVLAN}
		setMPLSTL = Action{Type: ActionSetMPLSTTL, TTL: 9}
		decMPLSTL = Action{Type: ActionDecMPLSTTL}
		setNwTTL  = Action{Type: ActionSetNwTTL, TTL: 9}
		decNwTTL  = Action{Type: ActionDecNwTTL}
		copyOut   = Action{Type: ActionCopyTTLOut}
		copyIn    = Action{Type: ActionCopyTTLIn}

		bad      = func(c uint16) code { return code{ErrBadAction, c} }
		inconsis = bad(BadActionMatchInconsist)
		badArg   = bad(BadActionBadArgument)
	)
	apply := func(acts ...Action) Instructions { return Instructions{Apply: acts, HasApply: true} }
	write := func(acts ...Action) Instructions { return Instructions{Write: acts, HasWrite: true} }
	both := func(a, w []Action) Instructions {
		return Instructions{Apply: a, HasApply: true, Write: w, HasWrite: true}
	}
	tests := []struct {
		name  string
		basis string // the spec's sentence and Open vSwitch's behaviour
		m     Match
		in    Instructions
		want  code
	}{
		// push_mpls
		{"push_mpls 0x8847 on ipv4", specPushMPLS, ipv4, apply(pushMPLS(0x8847)), noError},
		{"push_mpls 0x8848 on an unknown packet", specPushMPLS + "; OVS check_PUSH_MPLS only needs an Ethernet packet", any, apply(pushMPLS(0x8848)), noError},
		{"push_mpls onto mpls", specPushMPLS, mplsM, apply(pushMPLS(0x8847)), noError},
		{"push_mpls 0x0800", specPushMPLS + "; OVS decode_OFPAT_RAW_PUSH_MPLS: OFPBAC_BAD_ARGUMENT", ipv4, apply(pushMPLS(0x0800)), badArg},
		{"push_mpls 0x88e7", specPushMPLS, ipv4, apply(pushMPLS(EthTypePBB)), badArg},
		{"set ipv4_src after push_mpls", specSetField + "; OVS check_PUSH_MPLS sets dl_type, check_SET_FIELD fails", ipv4, apply(pushMPLS(0x8847), setf(FieldIPv4Src, 1)), inconsis},
		{"dec_ttl after push_mpls", specDecNw + "; OVS check_DEC_TTL: is_ip_any fails after push_mpls", ipv4, apply(pushMPLS(0x8847), decNwTTL), inconsis},
		{"set mpls_label and mpls_tc after push_mpls", specSetField, ipv4, apply(pushMPLS(0x8847), setf(FieldMPLSLabel, 100), setf(FieldMPLSTC, 5)), noError},
		{"mpls ttl actions after push_mpls", specSetMPLS + " " + specDecMPLS, ipv4, apply(pushMPLS(0x8848), setMPLSTL, decMPLSTL), noError},
		{"push_mpls keeps the vlan tag", "MPLS sits after the VLAN tags (5.12.1: pushed tags go \"in the outermost valid location for that tag\")", tagged, apply(pushMPLS(0x8847), popVLAN), noError},
		{"pushed label on ip is the bottom: pop to ip", specPopMPLS, ipv4, apply(pushMPLS(0x8847), popMPLS(0x0800), setf(FieldIPv4Src, 1)), noError},
		{"pushed label on ip is the bottom: pop to mpls", specPopMPLS, ipv4, apply(pushMPLS(0x8847), popMPLS(0x8847)), inconsis},
		{"pushed label on mpls is not the bottom: pop to mpls", specPopMPLS, mplsM, apply(pushMPLS(0x8847), popMPLS(0x8847)), noError},
		{"pushed label on mpls is not the bottom: pop to ip", specPopMPLS, mplsM, apply(pushMPLS(0x8847), popMPLS(0x0800)), inconsis},
		{"push and pop forget ip_proto", specSetField + "; OVS check_PUSH_MPLS: \"nothing can be assumed about the network protocol\"", tcp, apply(pushMPLS(0x8847), popMPLS(0x0800), setf(FieldTCPDst, 80)), inconsis},

		// pop_mpls
		{"pop_mpls on ipv4", specPopMPLS + "; OVS check_POP_MPLS: !eth_type_mpls(dl_type) is inconsistent", ipv4, apply(popMPLS(0x0800)), inconsis},
		{"pop_mpls on an unknown packet", specPopMPLS, any, apply(popMPLS(0x0800)), inconsis},
		{"pop_mpls to ipv4", specPopMPLS, mplsM, apply(popMPLS(0x0800), setf(FieldIPv4Dst, 1), setf(FieldIPDSCP, 8), decNwTTL), noError},
		{"pop_mpls to ipv6 from multicast", specPopMPLS, mcastM, apply(popMPLS(EthTypeIPv6), setf(FieldIPv6Flabel, 7), setNwTTL), noError},
		{"pop_mpls to arp", specPopMPLS, mplsM, apply(popMPLS(EthTypeARP), setf(FieldArpOp, 2)), noError},
		{"set mpls_label after pop to ipv4", specSetField, mplsM, apply(popMPLS(0x0800), setf(FieldMPLSLabel, 1)), inconsis},
		{"pop_mpls to mpls then the next label", specPopMPLS, bos0, apply(popMPLS(0x8847), setf(FieldMPLSLabel, 1), popMPLS(0x0800)), noError},
		{"bottom label popped to mpls", specPopMPLS + "; OVS accepts it (meta-flow.xml: the ethertype \"should be a non-MPLS Ethertype\"), nicflow refuses the malformed packet", bos1, apply(popMPLS(0x8847)), inconsis},
		{"upper label popped to ipv4", specPopMPLS + "; OVS accepts it (meta-flow.xml: \"should be an MPLS Ethertype\"), nicflow refuses the malformed packet", bos0, apply(popMPLS(0x0800)), inconsis},
		{"bottom label popped to ipv4", specPopMPLS, bos1, apply(popMPLS(0x0800)), noError},
		{"unknown bos popped either way", specPopMPLS, mplsM, apply(popMPLS(0x8847), popMPLS(0x0800)), noError},
		{"pop_mpls twice from the bottom", specPopMPLS, bos1, apply(popMPLS(0x0800), popMPLS(0x0800)), inconsis},
		{"pop_mpls to a vlan tpid", specPopMPLS + " (a VLAN tag never follows a label)", mplsM, apply(popMPLS(EthTypeVLAN)), badArg},
		{"pop_mpls to an 802.3 length", specPopMPLS + " (0x05dc is a length, not an ethertype)", mplsM, apply(popMPLS(0x05dc)), badArg},
		{"pop_mpls forgets nothing it did not know", specSetField, mplsM, apply(popMPLS(0x0800), setf(FieldTCPSrc, 1)), inconsis},

		// MPLS TTL
		{"set_mpls_ttl on mpls", specSetMPLS, mplsM, apply(setMPLSTL), noError},
		{"set_mpls_ttl on ipv4", specSetMPLS + "; OVS check_SET_MPLS_TTL → check_set_mpls", ipv4, apply(setMPLSTL), inconsis},
		{"dec_mpls_ttl on multicast mpls", specDecMPLS, mcastM, apply(decMPLSTL), noError},
		{"dec_mpls_ttl on an unknown packet", specDecMPLS + "; OVS check_DEC_MPLS_TTL → check_set_mpls", any, apply(decMPLSTL), inconsis},
		{"dec_mpls_ttl after pop to ipv4", specDecMPLS, bos1, apply(popMPLS(0x0800), decMPLSTL), inconsis},

		// copy TTL (Open vSwitch does not implement these: OFPBAC_BAD_TYPE)
		{"copy_ttl_out on mpls", specCopyOut, mplsM, apply(copyOut), noError},
		{"copy_ttl_in on mpls", specCopyIn, bos1, apply(copyIn), noError},
		{"copy_ttl_out on ipv4", specCopyOut + " (IP-to-IP needs IP-in-IP, which nicflow does not parse)", ipv4, apply(copyOut), inconsis},
		{"copy_ttl_in on an unknown packet", specCopyIn, any, apply(copyIn), inconsis},
		{"ingress LER: push, copy out", specCopyOut + " (IP-to-MPLS)", ipv4, apply(pushMPLS(0x8847), copyOut), noError},
		{"egress LER: copy in, pop", specCopyIn + " (MPLS-to-IP)", bos1, apply(copyIn, popMPLS(0x0800)), noError},
		{"copy in after the pop", specCopyIn, bos1, apply(popMPLS(0x0800), copyIn), inconsis},

		// PBB
		{"push_pbb", specPushPBB, ipv4, apply(pushPBB(EthTypePBB), setf(FieldPBBISID, 0xabcdef)), noError},
		{"push_pbb on an unknown packet", specPushPBB, any, apply(pushPBB(EthTypePBB)), noError},
		{"push_pbb 0x8100", specPushPBB, ipv4, apply(pushPBB(EthTypeVLAN)), badArg},
		{"set ipv4 after push_pbb", specSetField, ipv4, apply(pushPBB(EthTypePBB), setf(FieldIPv4Src, 1)), inconsis},
		{"the customer tag goes inside", specPushPBB + " (the I-TAG is inserted before the customer's tags: 802.1ah)", tagged, apply(pushPBB(EthTypePBB), popVLAN), inconsis},
		{"a backbone tag after push_pbb", specPushPBB, tagged, apply(pushPBB(EthTypePBB), pushVLAN, setf(FieldVlanVID, 5)), noError},
		{"pop_pbb", specPopPBB, pbbM, apply(popPBB), noError},
		{"pop_pbb on ipv4", specPopPBB, ipv4, apply(popPBB), inconsis},
		{"pop_pbb on an unknown packet", specPopPBB, any, apply(popPBB), inconsis},
		{"pop_pbb twice", specPopPBB, pbbM, apply(popPBB, popPBB), inconsis},
		{"the customer frame is unknown", specSetField, pbbM, apply(popPBB, setf(FieldIPv4Src, 1)), inconsis},
		{"pbb_isid after pop_pbb", specSetField, pbbM, apply(popPBB, setf(FieldPBBISID, 1)), inconsis},
		{"push_pbb then pop_pbb", specPopPBB, any, apply(pushPBB(EthTypePBB), popPBB), noError},

		// set_field of the new fields
		{"set mpls_label", specSetField, mplsM, apply(setf(FieldMPLSLabel, 0xfffff)), noError},
		{"set mpls_label on ipv4", specSetField, ipv4, apply(setf(FieldMPLSLabel, 1)), inconsis},
		{"set mpls_label beyond 20 bits", specSetType, mplsM, apply(setf(FieldMPLSLabel, 0x100000)), bad(BadActionBadSetArgument)},
		{"set mpls_tc", specSetField, mcastM, apply(setf(FieldMPLSTC, 7)), noError},
		{"set mpls_tc beyond 3 bits", specSetType, mplsM, apply(setf(FieldMPLSTC, 8)), bad(BadActionBadSetArgument)},
		{"set mpls_bos", specSetAny + " " + specBoS + notOVS, bos1, apply(setf(FieldMPLSBoS, 0), Output(2)), noError},
		{"set mpls_bos on an unknown bos", specSetAny + " " + specBoS, mcastM, apply(setf(FieldMPLSBoS, 1)), noError},
		{"set mpls_bos on ipv4", specSetField + " " + specBoS, ipv4, apply(setf(FieldMPLSBoS, 1)), inconsis},
		{"set mpls_bos after pop to ipv4", specSetField + " " + specBoS, bos1, apply(popMPLS(0x0800), setf(FieldMPLSBoS, 1)), inconsis},
		{"set mpls_bos beyond 1 bit", specSetType, mplsM, apply(setf(FieldMPLSBoS, 2)), bad(BadActionBadSetArgument)},
		{"bos cleared: pop to ipv4", specPopMPLS + " (the label is no longer the bottom)", bos1, apply(setf(FieldMPLSBoS, 0), popMPLS(0x0800)), inconsis},
		{"bos cleared: pop to mpls", specPopMPLS, bos1, apply(setf(FieldMPLSBoS, 0), popMPLS(0x8847)), noError},
		{"bos set: pop to mpls", specPopMPLS + " (the label is the bottom now)", mplsM, apply(setf(FieldMPLSBoS, 1), popMPLS(0x8847)), inconsis},
		{"bos set: pop to ipv4", specPopMPLS, bos0, apply(setf(FieldMPLSBoS, 1), popMPLS(0x0800)), noError},
		{"bos of the pushed label set", specPopMPLS, mplsM, apply(pushMPLS(0x8847), setf(FieldMPLSBoS, 1), popMPLS(0x0800)), noError},
		{"set pbb_isid", specSetField, pbbM, apply(setf(FieldPBBISID, 0xffffff)), noError},
		{"set pbb_isid on ipv4", specSetField, ipv4, apply(setf(FieldPBBISID, 1)), inconsis},
		{"set ipv6_exthdr", specSetType + " (a pseudo-field computed from the header chain)", ipv6, apply(setf(FieldIPv6Exthdr, 1)), bad(BadActionBadSetType)},
		{"set in_phy_port", specSetAny, any, apply(setf(FieldInPhyPort, 1)), bad(BadActionBadSetType)},
		{"set metadata", specSetAny + " (write_metadata sets it)", any, apply(setf(FieldMetadata, 1)), bad(BadActionBadSetType)},
		{"set ip_proto", specSetAny + " " + specIPProto + notOVS, tcp, apply(setf(FieldIPProto, ProtoUDP), Output(2)), noError},
		{"set ip_proto on ipv6", specSetAny + " " + specIPProto, ipv6, apply(setf(FieldIPProto, 0x3b)), noError},
		{"set ip_proto on arp", specSetField + " " + specIPProto, arpM, apply(setf(FieldIPProto, ProtoTCP)), inconsis},
		{"set ip_proto on an unknown packet", specSetField + " " + specIPProto, any, apply(setf(FieldIPProto, ProtoTCP)), inconsis},
		{"set ip_proto after push_mpls", specSetField + " " + specIPProto, ipv4, apply(pushMPLS(0x8847), setf(FieldIPProto, ProtoTCP)), inconsis},
		{"tcp port after ip_proto became udp", specSetField + " (the transport header is read as UDP now)", tcp, apply(setf(FieldIPProto, ProtoUDP), setf(FieldTCPDst, 80)), inconsis},
		{"udp port after ip_proto became udp", specSetField, tcp, apply(setf(FieldIPProto, ProtoUDP), setf(FieldUDPDst, 53)), noError},
		{"udp port after ip_proto of an unknown protocol became udp", specSetField, ipv6, apply(setf(FieldIPProto, ProtoUDP), setf(FieldUDPSrc, 53)), noError},
		{"ip_proto set to itself keeps the transport", specSetField, tcp, apply(setf(FieldIPProto, ProtoTCP), setf(FieldTCPDst, 80)), noError},
		{"icmpv4 after ip_proto became icmp", specSetField, ipv4, apply(setf(FieldIPProto, ProtoICMP), setf(FieldICMPv4Type, 8)), noError},
		{"the icmpv6 type is forgotten", specSetField + " (ipv6_nd_target needs icmpv6_type 135 or 136)", mt(exact(FieldEthType, EthTypeIPv6), exact(FieldIPProto, ProtoICMPv6), exact(FieldICMPv6Type, 135)),
			apply(setf(FieldIPProto, ProtoUDP), setf(FieldIPProto, ProtoICMPv6), setf(FieldIPv6NDTarget, 1)), inconsis},
		{"the icmpv6 type is kept", specSetField, mt(exact(FieldEthType, EthTypeIPv6), exact(FieldIPProto, ProtoICMPv6), exact(FieldICMPv6Type, 135)),
			apply(setf(FieldIPProto, ProtoICMPv6), setf(FieldIPv6NDTarget, 1)), noError},
		{"write set ip_proto runs before set tcp_dst", specActSet + " (the set-fields in field order: ip_proto is field 10, tcp_dst 14)", tcp,
			write(setf(FieldTCPDst, 80), setf(FieldIPProto, ProtoUDP)), inconsis},
		{"write set ip_proto runs before set udp_dst", specActSet + " (the set-fields in field order: ip_proto is field 10, udp_dst 16)", tcp,
			write(setf(FieldUDPDst, 53), setf(FieldIPProto, ProtoUDP)), noError},
		{"set eth_type to itself", specSetField, ipv4, apply(setf(FieldEthType, EthTypeIPv4), setf(FieldIPv4Src, 1)), noError},
		{"set eth_type mpls to multicast", specSetField, mplsM, apply(setf(FieldEthType, EthTypeMPLSMcast), setf(FieldMPLSLabel, 1), popMPLS(0x0800)), noError},
		{"set eth_type ipv4 to ipv6", specSetField, ipv4, apply(setf(FieldEthType, EthTypeIPv6)), noError},
		{"ipv6 fields after ipv4 became ipv6", specSetField + " (the header is still IPv4)", ipv4, apply(setf(FieldEthType, EthTypeIPv6), setf(FieldIPv6Src, 1)), inconsis},
		{"eth_type set on an unknown packet", specSetField, any, apply(setf(FieldEthType, EthTypeIPv4), decNwTTL), inconsis},
		{"set eth_type of ipv4 to mpls", specSetField + " (only the ethertype changes: Ryu's conformance suite 25_SET_FIELD/05_ETH_TYPE)", ipv4, apply(setf(FieldEthType, EthTypeMPLSMcast), Output(2)), noError},
		{"no label after ipv4 became mpls", specSetField, ipv4, apply(setf(FieldEthType, EthTypeMPLS), setf(FieldMPLSLabel, 1)), inconsis},
		{"no pop after ipv4 became mpls", specPopMPLS, ipv4, apply(setf(FieldEthType, EthTypeMPLS), popMPLS(0x0800)), inconsis},
		{"set eth_type of mpls to ipv4", specSetField, mplsM, apply(setf(FieldEthType, EthTypeIPv4)), noError},
		{"no ipv4 field after mpls became ipv4", specSetField, mplsM, apply(setf(FieldEthType, EthTypeIPv4), setf(FieldIPv4Src, 1)), inconsis},
		{"set eth_type of an unknown packet to pbb", specSetField, any, apply(setf(FieldEthType, EthTypePBB)), noError},
		{"no pop_pbb after eth_type became pbb", specPopPBB, any, apply(setf(FieldEthType, EthTypePBB), popPBB), inconsis},
		{"set eth_type to a vlan tpid", specSetType + " (tags are pushed and popped)", ipv4, apply(setf(FieldEthType, EthTypeQinQ)), bad(BadActionBadSetArgument)},

		// IP TTL
		{"set_nw_ttl on ipv6", specSetNw, ipv6, apply(setNwTTL), noError},
		{"set_nw_ttl on arp", specSetNw + "; OVS check_SET_IP_TTL → check_set_ip", arpM, apply(setNwTTL), inconsis},
		{"dec_nw_ttl on ipv4", specDecNw, ipv4, apply(decNwTTL), noError},
		{"dec_nw_ttl on an unknown packet", specDecNw + "; OVS check_DEC_TTL → check_set_ip", any, apply(decNwTTL), inconsis},

		// the action set runs in its own order, after the apply-actions
		{"write pop then set ipv4", specActSet, mplsM, write(setf(FieldIPv4Src, 1), popMPLS(0x0800)), noError},
		{"write set label then push", specActSet, ipv4, write(setf(FieldMPLSLabel, 1), pushMPLS(0x8847)), noError},
		{"write copy in then pop", specActSet, bos1, write(popMPLS(0x0800), copyIn), noError},
		{"write copy out runs after the pop", specActSet, bos1, write(copyOut, popMPLS(0x0800)), inconsis},
		{"write push_pbb before push_vlan", specActSet, ipv4, write(setf(FieldVlanPCP, 3), pushVLAN, pushPBB(EthTypePBB)), noError},
		{"write pops the outer tag before the pbb header", specActSet + " (pop: outermost header first)", pbbTag, write(popPBB, popVLAN), noError},
		{"write after apply push_mpls", specActSet, ipv4, both([]Action{pushMPLS(0x8847)}, []Action{setf(FieldIPv4Dst, 1)}), inconsis},
		{"write dec both ttls after apply push", specActSet, ipv4, both([]Action{pushMPLS(0x8847)}, []Action{decMPLSTL, decNwTTL}), inconsis},
		{"write dec_ttl runs after push_mpls", specActSet, ipv4, write(decNwTTL, pushMPLS(0x8847)), inconsis},
		{"write dec_mpls_ttl runs after push_mpls", specActSet, ipv4, write(decMPLSTL, pushMPLS(0x8847)), noError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fm := addMod(0, 1, tt.m)
			fm.Instr = tt.in
			_, err := New().FlowMod(fm, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Errorf("error = %+v (%v), want %+v\nbasis: %s", got, err, tt.want, tt.basis)
			}
		})
	}
}

// TestActionTypes checks that every action type outside ActionTypes is
// refused with BAD_TYPE (specTypes), in flows, buckets and PACKET_OUT, and
// that every type in it is refused for another reason or not at all.
func TestActionTypes(t *testing.T) {
	advertised := map[ActionType]bool{}
	for _, a := range ActionTypes() {
		advertised[a] = true
	}
	if len(advertised) != 16 {
		t.Errorf("ActionTypes has %d types, want the 16 of OpenFlow 1.3", len(advertised))
	}
	types := []ActionType{ActionExperimenter, 0xfffe, 0x8000}
	for typ := range 64 {
		types = append(types, ActionType(typ))
	}
	for _, typ := range types {
		a := Action{Type: typ}
		err := ValidateActions([]Action{a}, nil, nil)
		gm := &GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(a)}}
		_, gerr := New().GroupMod(gm, t0)
		perr := ValidatePacketOutActions([]Action{a}, nil, nil)
		isType := func(err error) bool { return codeOf(t, err) == code{ErrBadAction, BadActionBadType} }
		if got := isType(err) || isType(gerr) || isType(perr); got == advertised[a.Type] {
			t.Errorf("action type %d: refused as BAD_TYPE %v (flow %v, bucket %v, packet-out %v), advertised %v", typ, got, err, gerr, perr, advertised[a.Type])
		}
	}
}

// TestActionSetOrder checks the action set's slots: one action per type
// (dec_nw_ttl and dec_mpls_ttl are two), set_field per field, in 5.10's
// order.
func TestActionSetOrder(t *testing.T) {
	var s ActionSet
	written := []Action{
		Output(3),
		{Type: ActionGroup, Group: 2},
		{Type: ActionSetQueue, Queue: 1},
		{Type: ActionSetMPLSTTL, TTL: 5},
		{Type: ActionSetNwTTL, TTL: 6},
		setf(FieldMPLSLabel, 9),
		setf(FieldEthDst, 1),
		{Type: ActionDecMPLSTTL},
		{Type: ActionDecNwTTL},
		{Type: ActionCopyTTLOut},
		{Type: ActionPushVLAN, EtherType: EthTypeVLAN},
		{Type: ActionPushPBB, EtherType: EthTypePBB},
		{Type: ActionPushMPLS, EtherType: EthTypeMPLS},
		{Type: ActionPopMPLS, EtherType: EthTypeIPv4},
		{Type: ActionPopPBB},
		{Type: ActionPopVLAN},
		{Type: ActionCopyTTLIn},
	}
	s.Write(written)
	s.Write([]Action{setf(FieldMPLSLabel, 10)}) // replaces the first label
	want := []Action{
		{Type: ActionCopyTTLIn},
		{Type: ActionPopVLAN},
		{Type: ActionPopPBB},
		{Type: ActionPopMPLS, EtherType: EthTypeIPv4},
		{Type: ActionPushMPLS, EtherType: EthTypeMPLS},
		{Type: ActionPushPBB, EtherType: EthTypePBB},
		{Type: ActionPushVLAN, EtherType: EthTypeVLAN},
		{Type: ActionCopyTTLOut},
		{Type: ActionDecNwTTL},
		{Type: ActionDecMPLSTTL},
		setf(FieldEthDst, 1),
		setf(FieldMPLSLabel, 10),
		{Type: ActionSetNwTTL, TTL: 6},
		{Type: ActionSetMPLSTTL, TTL: 5},
		{Type: ActionSetQueue, Queue: 1},
		{Type: ActionGroup, Group: 2}, // the group suppresses the output
	}
	if diff := cmp.Diff(want, s.List(nil)); diff != "" {
		t.Errorf("List (-want +got):\n%s\nbasis: %s", diff, specActSet)
	}
	// setOrder, which validation walks, is the same order, keeping every
	// action.
	wantAll := append(append([]Action(nil), want[:11]...), setf(FieldMPLSLabel, 9))
	wantAll = append(append(wantAll, want[12:]...), Output(3))
	if diff := cmp.Diff(wantAll, setOrder(written)); diff != "" {
		t.Errorf("setOrder (-want +got):\n%s", diff)
	}
}

// TestGroupBucketActions checks bucket actions: without a match nothing is
// known of the packet, so only arguments are checked.
func TestGroupBucketActions(t *testing.T) {
	tests := []struct {
		name string
		acts []Action
		want code
	}{
		{"pop_mpls", []Action{{Type: ActionPopMPLS, EtherType: EthTypeIPv4}, Output(1)}, noError},
		{"pop_pbb, copy ttls, mpls ttls", []Action{{Type: ActionPopPBB}, {Type: ActionCopyTTLIn}, {Type: ActionCopyTTLOut}, {Type: ActionDecMPLSTTL}, {Type: ActionSetMPLSTTL, TTL: 1}}, noError},
		{"set mpls fields", []Action{setf(FieldMPLSLabel, 5), setf(FieldMPLSTC, 1), setf(FieldPBBISID, 7)}, noError},
		{"push_mpls bad ethertype", []Action{{Type: ActionPushMPLS, EtherType: EthTypeIPv4}}, code{ErrBadAction, BadActionBadArgument}},
		{"push_pbb bad ethertype", []Action{{Type: ActionPushPBB, EtherType: EthTypeMPLS}}, code{ErrBadAction, BadActionBadArgument}},
		{"set mpls_bos and ip_proto", []Action{setf(FieldMPLSBoS, 1), setf(FieldIPProto, 17)}, noError},
		{"set mpls_bos beyond 1 bit", []Action{setf(FieldMPLSBoS, 3)}, code{ErrBadAction, BadActionBadSetArgument}},
		{"set eth_type to a tpid", []Action{setf(FieldEthType, EthTypeVLAN)}, code{ErrBadAction, BadActionBadSetArgument}},
		{"experimenter", []Action{{Type: ActionExperimenter}}, code{ErrBadAction, BadActionBadType}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().GroupMod(&GroupMod{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(tt.acts...)}}, t0)
			if got := codeOf(t, err); got != tt.want {
				t.Errorf("error = %+v (%v), want %+v", got, err, tt.want)
			}
		})
	}
}

// TestMatchRulesNewFields checks the matches of the MPLS, PBB, ipv6_exthdr,
// ND and in_phy_port fields against OpenFlow 1.3.5 tables 11 (width,
// maskable) and 12 (prerequisites).
func TestMatchRulesNewFields(t *testing.T) {
	mplsType := exact(FieldEthType, EthTypeMPLS)
	ipv6Type := exact(FieldEthType, EthTypeIPv6)
	icmp6 := []mf{ipv6Type, exact(FieldIPProto, ProtoICMPv6)}
	bm := func(c uint16) code { return code{ErrBadMatch, c} }
	tests := []struct {
		name string
		m    Match
		want code
	}{
		{"mpls_label", mt(mplsType, exact(FieldMPLSLabel, 0xfffff)), noError},
		{"mpls_label on multicast", mt(exact(FieldEthType, EthTypeMPLSMcast), exact(FieldMPLSLabel, 16)), noError},
		{"mpls_label without eth_type", mt(exact(FieldMPLSLabel, 16)), bm(BadMatchBadPrereq)},
		{"mpls_label on ipv4", mt(ipv4Type, exact(FieldMPLSLabel, 16)), bm(BadMatchBadPrereq)},
		{"mpls_label masked", mt(mplsType, masked(FieldMPLSLabel, 16, 0xffff0)), bm(BadMatchBadMask)},
		{"mpls_tc", mt(mplsType, exact(FieldMPLSTC, 7)), noError},
		{"mpls_bos", mt(mplsType, exact(FieldMPLSBoS, 1)), noError},
		{"mpls ttl is no field", Match{Key: Key{EthType: EthTypeMPLS}, Mask: Key{EthType: 0xffff, MPLS: [3]uint32{0xff}}}, bm(BadMatchBadMask)},
		{"pbb_isid masked", mt(exact(FieldEthType, EthTypePBB), masked(FieldPBBISID, 0x100, 0xff00)), noError},
		{"pbb_isid without eth_type", mt(exact(FieldPBBISID, 1)), bm(BadMatchBadPrereq)},
		{"pbb_isid beyond 24 bits", Match{Key: Key{EthType: EthTypePBB}, Mask: Key{EthType: 0xffff, PBBISID: 0x1ffffff}}, bm(BadMatchBadMask)},
		{"ipv6_exthdr masked", mt(ipv6Type, masked(FieldIPv6Exthdr, IEHFrag, IEHFrag|IEHHop)), noError},
		{"ipv6_exthdr on ipv4", mt(ipv4Type, exact(FieldIPv6Exthdr, IEHFrag)), bm(BadMatchBadPrereq)},
		{"ipv6_exthdr beyond 9 bits", mt(ipv6Type, masked(FieldIPv6Exthdr, 0x200, 0x200)), bm(BadMatchBadValue)},
		{"nd_target with ns", mt(append(icmp6, exact(FieldICMPv6Type, 135), exact(FieldIPv6NDTarget, 1))...), noError},
		{"nd_target with na", mt(append(icmp6, exact(FieldICMPv6Type, 136), exact(FieldIPv6NDTarget, 1))...), noError},
		{"nd_target with echo", mt(append(icmp6, exact(FieldICMPv6Type, 128), exact(FieldIPv6NDTarget, 1))...), bm(BadMatchBadPrereq)},
		{"nd_target without type", mt(append(icmp6, exact(FieldIPv6NDTarget, 1))...), bm(BadMatchBadPrereq)},
		{"nd_sll with na", mt(append(icmp6, exact(FieldICMPv6Type, 136), exact(FieldIPv6NDSLL, 1))...), bm(BadMatchBadPrereq)},
		{"nd_tll with na", mt(append(icmp6, exact(FieldICMPv6Type, 136), exact(FieldIPv6NDTLL, 1))...), noError},
		{"in_phy_port", mt(exact(FieldInPort, 3), exact(FieldInPhyPort, 3)), noError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New().FlowMod(addMod(0, 1, tt.m), t0)
			if got := codeOf(t, err); got != tt.want {
				t.Errorf("error = %+v (%v), want %+v", got, err, tt.want)
			}
		})
	}
}
