package packet

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func unhex(s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		panic(err)
	}
	return b
}

func TestParse(t *testing.T) {
	const inPort = 7
	eth := func(k pipeline.Key) pipeline.Key {
		k.InPort = inPort
		if k.EthDst == ([6]byte{}) {
			k.EthDst, k.EthSrc = mac2, mac1
		}
		return k
	}
	tests := []struct {
		name   string
		frame  []byte
		want   pipeline.Key
		layout Layout
	}{{
		name:  "udp4",
		frame: fixtureFrame("udp4"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 5000, TpDst: 53, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:  "tcp4 in vlan, ip and tcp options",
		frame: fixtureFrame("tcp4-vlan-opts"),
		want: eth(pipeline.Key{EthType: 0x0800, VlanVID: 100 | pipeline.VIDPresent, VlanPCP: 5,
			IPDSCP: 46, IPECN: 1, IPProto: 6, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 40000, TpDst: 443, TCPFlags: 0x812, IPTTL: 9}),
		layout: Layout{L2Len: 18, L3: 18, Proto: 18 + 9, L4: 42, End: 18 + 24 + 24 + 14, VLANs: 1},
	}, {
		name:  "qinq: outer tag's vid, innermost ethertype",
		frame: fixtureFrame("tcp4-qinq"),
		want: eth(pipeline.Key{EthType: 0x0800, VlanVID: 7 | pipeline.VIDPresent, VlanPCP: 1,
			IPProto: 6, L3Src: l3(ip4b), L3Dst: l3(ip4a), TpSrc: 22, TpDst: 60000, TCPFlags: 0x11, IPTTL: 64, Vlan2VID: 4095 | pipeline.VIDPresent, Vlan2PCP: 7, Parsed: pipeline.ParsedVlanSTag}),
		layout: Layout{L2Len: 22, L3: 22, Proto: 22 + 9, L4: 42, End: 62, VLANs: 2},
	}, {
		name:   "three tags: third tpid is the ethertype",
		frame:  fixtureFrame("triple-tag"),
		want:   eth(pipeline.Key{EthType: 0x8100, VlanVID: 1 | pipeline.VIDPresent, Vlan2VID: 2 | pipeline.VIDPresent}),
		layout: Layout{L2Len: 22, VLANs: 2},
	}, {
		name:  "sctp4",
		frame: fixtureFrame("sctp4"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 132, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 3868, TpDst: 3869, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 14 + 20 + 12 + 8},
	}, {
		name:  "icmp4 echo",
		frame: fixtureFrame("icmp4"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 1, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			ICMPType: 8, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:  "ipv4 first fragment has ports",
		frame: fixtureFrame("frag4-first"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 1, TpDst: 2, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:   "ipv4 later fragment has none",
		frame:  fixtureFrame("frag4-later"),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, End: 14 + 20 + 14, Frag: true},
	}, {
		name:  "arp request",
		frame: fixtureFrame("arp"),
		want: pipeline.Key{InPort: inPort, EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthSrc: mac1,
			EthType: 0x0806, ArpOp: 1, ArpSHA: mac1, L3Src: l3(ip4a), L3Dst: l3(ip4b)},
		layout: Layout{L2Len: 14, L3: 14, End: 42},
	}, {
		name:  "arp reply in vlan",
		frame: fixtureFrame("arp-vlan"),
		want: eth(pipeline.Key{EthType: 0x0806, VlanVID: 3 | pipeline.VIDPresent, ArpOp: 2,
			ArpSHA: mac1, ArpTHA: mac2, L3Src: l3(ip4a), L3Dst: l3(ip4b)}),
		layout: Layout{L2Len: 18, L3: 18, End: 46, VLANs: 1},
	}, {
		name:  "tcp6",
		frame: fixtureFrame("tcp6"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPDSCP: 10, IPECN: 2, IPv6Flabel: 0xabcde, IPProto: 6,
			L3Src: l3(ip6a), L3Dst: l3(ip6b), TpSrc: 1234, TpDst: 80, TCPFlags: 0x18, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 20 + 14},
	}, {
		name:  "udp6 after hop-by-hop, destination, routing, fragment (first) and AH headers",
		frame: fixtureFrame("udp6-ext"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 17, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 546, TpDst: 547, IPTTL: 64,
			IPv6Exthdr: pipeline.IEHHop | pipeline.IEHDest | pipeline.IEHRouter | pipeline.IEHFrag | pipeline.IEHAuth}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 54 + 8 + 16 + 8 + 8, L4: 54 + 8 + 16 + 8 + 8 + 16, End: 54 + 56 + 8 + 14},
	}, {
		name:   "ipv6 later fragment",
		frame:  fixtureFrame("frag6-later"),
		want:   eth(pipeline.Key{EthType: 0x86dd, IPProto: 6, L3Src: l3(ip6a), L3Dst: l3(ip6b), IPTTL: 64, IPv6Exthdr: pipeline.IEHFrag, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 54, End: 54 + 8 + 14, Frag: true},
	}, {
		name:  "ipv6 routing header with segments left",
		frame: fixtureFrame("udp6-routed"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 17, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 7, TpDst: 8, IPTTL: 64, IPv6Exthdr: pipeline.IEHRouter}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 54, L4: 54 + 24, End: 54 + 24 + 8, Routed: true},
	}, {
		name:  "sctp6",
		frame: fixtureFrame("sctp6"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 132, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 9, TpDst: 10, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 12 + 14},
	}, {
		name:  "icmp6 echo",
		frame: fixtureFrame("icmp6-echo"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 128, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 8 + 14},
	}, {
		name:  "neighbor solicitation: unknown option skipped, first sll wins",
		frame: fixtureFrame("icmp6-ns"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 135, NDTarget: l3(ip6c), ArpSHA: mac1, IPTTL: 255, Parsed: pipeline.ParsedNDSLL}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 24 + 24, NDTarget: 62, NDSLL: 54 + 24 + 8 + 2},
	}, {
		name:  "neighbor advertisement with tll and sll",
		frame: fixtureFrame("icmp6-na"),
		want: eth(pipeline.Key{EthType: 0x86dd, VlanVID: 1 | pipeline.VIDPresent, IPProto: 58,
			L3Src: l3(ip6a), L3Dst: l3(ip6b), ICMPType: 136, NDTarget: l3(ip6c), ArpTHA: mac2, ArpSHA: mac3, IPTTL: 255, Parsed: pipeline.ParsedNDSLL | pipeline.ParsedNDTLL}),
		layout: Layout{L2Len: 18, L3: 18, Proto: 18 + 6, L4: 58, End: 58 + 24 + 16, NDTarget: 66, NDTLL: 58 + 24 + 2,
			NDSLL: 58 + 24 + 8 + 2, VLANs: 1},
	}, {
		name: "neighbor solicitation with code 1 is not ND",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv6: &ICMPv6{Type: ndSolicit, Code: 1, Target: ip6c, Options: []NDOption{SLL(mac1)}}}),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 135, ICMPCode: 1, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 32},
	}, {
		name: "nd option of length 0 ends the options",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv6:  &ICMPv6{Type: ndAdvert, Target: ip6c, Options: []NDOption{SLL(mac1)}},
			Payload: []byte{2, 0, 1, 2, 3, 4, 5, 6}}),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 136, NDTarget: l3(ip6c), ArpSHA: mac1, IPTTL: 64, Parsed: pipeline.ParsedNDSLL}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, L4: 54, End: 54 + 40, NDTarget: 62, NDSLL: 80},
	}, {
		name: "icmpv4 inside ipv6 is not parsed",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv4: &ICMPv4{Type: 8}}),
		want:   eth(pipeline.Key{EthType: 0x86dd, IPProto: 1, L3Src: l3(ip6a), L3Dst: l3(ip6b), IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 6, End: 62},
	}, {
		name: "icmpv6 inside ipv4 is not parsed",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b},
			ICMPv6: &ICMPv6{Type: 128}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 58, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, End: 42},
	}, {
		name: "ipv4 total length ends before the tcp header",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, TotalLen: 30},
			TCP: &TCP{Src: 1, Dst: 2}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 6, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, End: 44},
	}, {
		name: "ipv4 total length beyond the frame: up to the frame end",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, TotalLen: 1500},
			UDP: &UDP{Src: 1, Dst: 2}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), TpSrc: 1, TpDst: 2, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 42},
	}, {
		name:   "ipv4 with version 5 is not parsed",
		frame:  unhex("020000000002 020000000001 0800 55000014 00000000 4011 0000 0a000001 c0a801c8"),
		want:   eth(pipeline.Key{EthType: 0x0800, Parsed: pipeline.ParsedNoL3}),
		layout: Layout{L2Len: 14},
	}, {
		name:   "ipv4 with ihl 4 is not parsed",
		frame:  unhex("020000000002 020000000001 0800 44000014 00000000 4011 0000 0a000001 c0a801c8"),
		want:   eth(pipeline.Key{EthType: 0x0800, Parsed: pipeline.ParsedNoL3}),
		layout: Layout{L2Len: 14},
	}, {
		name:   "ipv6 with version 4 is not parsed",
		frame:  append(unhex("020000000002 020000000001 86dd 40000000 0000 3b40"), make([]byte, 32)...),
		want:   eth(pipeline.Key{EthType: 0x86dd, Parsed: pipeline.ParsedNoL3}),
		layout: Layout{L2Len: 14},
	}, {
		name: "arp for another protocol is not parsed",
		frame: unhex("ffffffffffff 020000000001 0806 0001 86dd 0604 0001 020000000001 0a000001" +
			"000000000000 0a000002"),
		want:   pipeline.Key{InPort: inPort, EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthSrc: mac1, EthType: 0x0806, Parsed: pipeline.ParsedNoL3},
		layout: Layout{L2Len: 14},
	}, {
		name:   "802.3 length field is kept as the ethertype",
		frame:  unhex("0180c2000000 020000000001 0026 42420300000000"),
		want:   pipeline.Key{InPort: inPort, EthDst: MAC("01:80:c2:00:00:00"), EthSrc: mac1, EthType: 0x26},
		layout: Layout{L2Len: 14},
	}, {
		name:   "lldp",
		frame:  fixtureFrame("lldp"),
		want:   pipeline.Key{InPort: inPort, EthDst: MAC("01:80:c2:00:00:0e"), EthSrc: mac1, EthType: 0x88cc},
		layout: Layout{L2Len: 14},
	}, {
		name:   "runt",
		frame:  unhex("0200000000020200000000010800"[:26]),
		want:   pipeline.Key{InPort: inPort, Parsed: pipeline.ParsedShort},
		layout: Layout{},
	}, {
		// Hand-written: the classic IPv4 header of the Internet checksum
		// examples (checksum b861) carrying a DNS response's UDP header.
		name: "hand-written ipv4 frame",
		frame: unhex("00163e112233 00163e445566 0800" +
			"4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7" +
			"0035 e3a5 005f 0000"),
		want: pipeline.Key{InPort: inPort, EthDst: MAC("00:16:3e:11:22:33"), EthSrc: MAC("00:16:3e:44:55:66"),
			EthType: 0x0800, IPProto: 17, L3Src: [16]byte{192, 168, 0, 1}, L3Dst: [16]byte{192, 168, 0, 199},
			TpSrc: 53, TpDst: 0xe3a5, IPTTL: 64},
		layout: Layout{L2Len: 14, L3: 14, Proto: 14 + 9, L4: 34, End: 42},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var k pipeline.Key
			k.Metadata, k.TunnelID, k.ArpOp = 1, 2, 3 // must be overwritten
			l := Parse(tt.frame, inPort, &k)
			if diff := cmp.Diff(tt.want, k); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.layout, l); diff != "" {
				t.Errorf("layout (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseHandWrittenChecksum checks the checksum helpers against the
// classic IPv4 header example (checksum 0xb861).
func TestParseHandWrittenChecksum(t *testing.T) {
	h := unhex("4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7")
	if got := checksum(h, 0); got != 0xb861 {
		t.Errorf("checksum = %#04x, want 0xb861", got)
	}
	if got := naiveChecksum(0, h); got != 0xb861 {
		t.Errorf("naiveChecksum = %#04x, want 0xb861", got)
	}
}

// TestParseIPv6Exthdr checks ipv6_exthdr against OpenFlow 1.3.5 section
// 7.2.3.8: "OFPIEH_NONEXT: No next header encountered", "OFPIEH_ESP:
// Encrypted Sec Payload header present", "OFPIEH_AUTH: Authentication header
// present", "OFPIEH_DEST: 1 or 2 dest headers present", "OFPIEH_FRAG:
// Fragment header present", "OFPIEH_ROUTER: Router header present",
// "OFPIEH_HOP: Hop-by-hop header present", "OFPIEH_UNREP: Unexpected
// repeats encountered", "OFPIEH_UNSEQ: Unexpected sequencing encountered";
// "The OFPIEH_UNREP bit is set if more than one of a given IPv6 extension
// header is unexpectedly encountered. (Two destination options headers may
// be expected and would not cause this bit to be set.)" and "The
// OFPIEH_UNSEQ bit is set if IPv6 extension headers were not in the order
// preferred (but not required) by RFC 2460." RFC 2460 section 4.1: "IPv6
// header, Hop-by-Hop Options header, Destination Options header (note 1),
// Routing header, Fragment header, Authentication header (note 2),
// Encapsulating Security Payload header (note 2), Destination Options
// header (note 3), upper-layer header", "Each extension header should
// occur at most once, except for the Destination Options header which
// should occur at most twice (once before a Routing header and once before
// the upper-layer header)", "The Hop-by-Hop Options header, when present,
// must immediately follow the IPv6 header."
func TestParseIPv6Exthdr(t *testing.T) {
	hop := IPv6Ext{Type: pipeline.ProtoHopByHop, Data: make([]byte, 6)}
	dest := IPv6Ext{Type: pipeline.ProtoDestOpts, Data: make([]byte, 6)}
	rt := IPv6Ext{Type: pipeline.ProtoRouting, Data: []byte{4, 0}}
	frag := IPv6Ext{Type: pipeline.ProtoFragment, ID: 1}
	ah := IPv6Ext{Type: pipeline.ProtoAH, Data: make([]byte, 14)}
	const (
		none, esp, auth, dst, fr, router, hbh, unrep, unseq = 0, pipeline.IEHESP, pipeline.IEHAuth,
			pipeline.IEHDest, pipeline.IEHFrag, pipeline.IEHRouter, pipeline.IEHHop, pipeline.IEHUnrep, pipeline.IEHUnseq
	)
	many := make([]IPv6Ext, MaxIPv6ExtHeaders+1)
	for i := range many {
		many[i] = dest
	}
	tests := []struct {
		name  string
		ext   []IPv6Ext
		proto uint8 // upper layer: 0 UDP
		want  uint16
		// wantProto is ip_proto: 17 (UDP) unless set; -1 none.
		wantProto int
	}{
		{"no extension headers", nil, 0, none, 17},
		{"no next header", nil, pipeline.ProtoNoNext, pipeline.IEHNoNext, pipeline.ProtoNoNext},
		{"no next header after a destination options header", []IPv6Ext{dest}, pipeline.ProtoNoNext, dst | pipeline.IEHNoNext, pipeline.ProtoNoNext},
		{"esp ends the chain", []IPv6Ext{hop}, pipeline.ProtoESP, hbh | esp, pipeline.ProtoESP},
		{"the recommended order", []IPv6Ext{hop, dest, rt, frag, ah, dest}, 0, hbh | dst | router | fr | auth, 17},
		{"the recommended order up to esp", []IPv6Ext{hop, dest, rt, frag, ah}, pipeline.ProtoESP, hbh | dst | router | fr | auth | esp, pipeline.ProtoESP},
		{"two destination options headers are expected", []IPv6Ext{dest, rt, dest}, 0, dst | router, 17},
		{"two destination options headers before the upper layer repeat", []IPv6Ext{dest, dest}, 0, dst | unrep, 17},
		{"a second fragment header repeats", []IPv6Ext{frag, frag}, 0, fr | unrep, 17},
		{"a second hop-by-hop header repeats and is out of place", []IPv6Ext{hop, hop}, 0, hbh | unrep | unseq, 17},
		{"hop-by-hop after routing", []IPv6Ext{rt, hop}, 0, router | hbh | unseq, 17},
		{"fragment after ah", []IPv6Ext{ah, frag}, 0, auth | fr | unseq, 17},
		{"destination options before a fragment header", []IPv6Ext{dest, frag}, 0, dst | fr | unseq, 17},
		{"ah after the last destination options", []IPv6Ext{frag, dest, ah}, 0, fr | dst | auth | unseq, 17},
		{"a chain longer than the bound is incomplete", many, 0, dst | unrep, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, Ext: tt.ext, Proto: tt.proto}}
			if tt.proto == 0 {
				s.UDP = &UDP{Src: 1, Dst: 2}
			}
			var k pipeline.Key
			Parse(Build(s), 1, &k)
			if k.IPv6Exthdr != tt.want {
				t.Errorf("ipv6_exthdr %#x, want %#x", k.IPv6Exthdr, tt.want)
			}
			wantProto := uint8(0)
			if tt.wantProto >= 0 {
				wantProto = uint8(tt.wantProto)
			}
			if k.IPProto != wantProto {
				t.Errorf("ip_proto %d, want %d", k.IPProto, wantProto)
			}
		})
	}
}

// TestParseMPLSAndPBB checks the MPLS and PBB fields: OpenFlow 1.3.5
// section 7.2.3.7, mpls_label "The LABEL in the first MPLS shim header",
// mpls_tc "The TC in the first MPLS shim header", mpls_bos "The BoS bit in
// the first MPLS shim header", pbb_isid "The I-SID in the first PBB service
// instance tag".
func TestParseMPLSAndPBB(t *testing.T) {
	lse := func(label uint32, tc uint8, bos bool, ttl uint8) uint32 {
		return MPLS{Label: label, TC: tc, TTL: ttl}.LSE(bos)
	}
	tests := []struct {
		fixture string
		check   func(t *testing.T, k *pipeline.Key, l *Layout)
	}{
		{"mpls-udp4", func(t *testing.T, k *pipeline.Key, l *Layout) {
			want := pipeline.Key{InPort: 1, EthDst: mac2, EthSrc: mac1, EthType: pipeline.EthTypeMPLS,
				MPLS: [3]uint32{lse(100, 3, true, 60)}, MPLSDepth: 1,
				IPTTL: 33, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), TpSrc: 5000, TpDst: 53,
				Parsed: pipeline.ParsedMPLSIPv4}
			if diff := cmp.Diff(want, *k); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
			if l.MPLS != 14 || l.MPLSLabels != 1 || l.L3 != 18 || l.L4 != 38 {
				t.Errorf("layout %+v", *l)
			}
			if got := pipeline.FieldMPLSLabel.Desc().Get(k); !bytes.Equal(got, []byte{0, 0, 0, 100}) {
				t.Errorf("mpls_label % x", got)
			}
			if tc, bos := pipeline.FieldMPLSTC.Desc().Get(k), pipeline.FieldMPLSBoS.Desc().Get(k); tc[0] != 3 || bos[0] != 1 {
				t.Errorf("mpls_tc %d, mpls_bos %d", tc[0], bos[0])
			}
		}},
		{"mpls2-tcp6-vlan", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.EthType != pipeline.EthTypeMPLSMcast || k.MPLSDepth != 2 ||
				k.MPLS != [3]uint32{lse(0xfffff, 7, false, 255), lse(16, 1, true, 9)} ||
				k.Parsed != pipeline.ParsedMPLSIPv6 || k.IPTTL != 17 || k.TpDst != 80 || k.VlanVID != 30|pipeline.VIDPresent {
				t.Errorf("key %+v", *k)
			}
			if bos := pipeline.FieldMPLSBoS.Desc().Get(k); bos[0] != 0 {
				t.Errorf("mpls_bos %d of the top entry, want 0", bos[0])
			}
		}},
		{"mpls4-udp4", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.MPLSDepth != 4 || k.MPLS[2] != lse(3, 0, false, 2) || k.Parsed != pipeline.ParsedMPLSIPv4 || l.L3 != 14+16 {
				t.Errorf("key %+v layout %+v", *k, *l)
			}
		}},
		{"mpls-nobos", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.MPLSDepth != 2 || k.Parsed != 0 || l.L3 != 0 {
				t.Errorf("key %+v layout %+v", *k, *l)
			}
		}},
		{"mpls-nonip", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.MPLSDepth != 1 || k.Parsed != 0 || l.L3 != 0 || k.IPProto != 0 {
				t.Errorf("key %+v layout %+v", *k, *l)
			}
		}},
		{"pbb-udp4", func(t *testing.T, k *pipeline.Key, l *Layout) {
			want := pipeline.Key{InPort: 1, EthDst: mac3, EthSrc: mac1, EthType: pipeline.EthTypePBB,
				VlanVID: 10 | pipeline.VIDPresent, VlanPCP: 3, PBBISID: 0x123456,
				PBBInnerDst: mac2, PBBInnerSrc: mac1, PBBInnerVID: 20 | pipeline.VIDPresent, PBBInnerPCP: 1,
				PBBInnerType: pipeline.EthTypeIPv4,
				IPTTL:        64, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), TpSrc: 5000, TpDst: 53,
				Parsed: pipeline.ParsedVlanSTag}
			if diff := cmp.Diff(want, *k); diff != "" {
				t.Errorf("key (-want +got):\n%s", diff)
			}
			if l.PBB != 18 || l.InnerL2Len != 18+4+12+4+2 || l.L3 != l.InnerL2Len || l.InnerVLANs != 1 {
				t.Errorf("layout %+v", *l)
			}
			if got := pipeline.FieldPBBISID.Desc().Get(k); !bytes.Equal(got, []byte{0x12, 0x34, 0x56}) {
				t.Errorf("pbb_isid % x", got)
			}
		}},
		{"pbb-mpls-udp6", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.PBBISID != 0xffffff || k.PBBInnerType != pipeline.EthTypeMPLS || k.MPLSDepth != 1 ||
				k.Parsed != pipeline.ParsedMPLSIPv6 || k.TpDst != 2 || l.MPLS != l.InnerL2Len {
				t.Errorf("key %+v layout %+v", *k, *l)
			}
		}},
		{"pbb-arp-qinq", func(t *testing.T, k *pipeline.Key, l *Layout) {
			if k.PBBInnerType != pipeline.EthTypeARP || k.Parsed != pipeline.ParsedInnerQinQ|pipeline.ParsedInnerVlanSTag || k.ArpOp != 1 ||
				k.PBBInnerVID != 1|pipeline.VIDPresent || l.InnerVLANs != 2 {
				t.Errorf("key %+v layout %+v", *k, *l)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			var k pipeline.Key
			l := Parse(fixtureFrame(tt.fixture), 1, &k)
			tt.check(t, &k, &l)
		})
	}
}
