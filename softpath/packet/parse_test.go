package packet

import (
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
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:  "tcp4 in vlan, ip and tcp options",
		frame: fixtureFrame("tcp4-vlan-opts"),
		want: eth(pipeline.Key{EthType: 0x0800, VlanVID: 100 | pipeline.VIDPresent, VlanPCP: 5,
			IPDSCP: 46, IPECN: 1, IPProto: 6, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 40000, TpDst: 443, TCPFlags: 0x812, IPTTL: 9}),
		layout: Layout{L2Len: 18, L3: 18, L4: 42, End: 18 + 24 + 24 + 14, VLANs: 1},
	}, {
		name:  "qinq: outer tag's vid, innermost ethertype",
		frame: fixtureFrame("tcp4-qinq"),
		want: eth(pipeline.Key{EthType: 0x0800, VlanVID: 7 | pipeline.VIDPresent, VlanPCP: 1,
			IPProto: 6, L3Src: l3(ip4b), L3Dst: l3(ip4a), TpSrc: 22, TpDst: 60000, TCPFlags: 0x11, IPTTL: 64, Vlan2VID: 4095 | pipeline.VIDPresent, Vlan2PCP: 7}),
		layout: Layout{L2Len: 22, L3: 22, L4: 42, End: 62, VLANs: 2},
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
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 14 + 20 + 12 + 8},
	}, {
		name:  "icmp4 echo",
		frame: fixtureFrame("icmp4"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 1, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			ICMPType: 8, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:  "ipv4 first fragment has ports",
		frame: fixtureFrame("frag4-first"),
		want: eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b),
			TpSrc: 1, TpDst: 2, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 14 + 20 + 8 + 14},
	}, {
		name:   "ipv4 later fragment has none",
		frame:  fixtureFrame("frag4-later"),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, End: 14 + 20 + 14, Frag: true},
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
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 20 + 14},
	}, {
		name:  "udp6 after hop-by-hop, destination, routing, fragment (first) and AH headers",
		frame: fixtureFrame("udp6-ext"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 17, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 546, TpDst: 547, IPTTL: 64,
			IPv6Exthdr: pipeline.IEHHop | pipeline.IEHDest | pipeline.IEHRouter | pipeline.IEHFrag | pipeline.IEHAuth}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54 + 8 + 16 + 8 + 8 + 16, End: 54 + 56 + 8 + 14},
	}, {
		name:   "ipv6 later fragment",
		frame:  fixtureFrame("frag6-later"),
		want:   eth(pipeline.Key{EthType: 0x86dd, IPProto: 6, L3Src: l3(ip6a), L3Dst: l3(ip6b), IPTTL: 64, IPv6Exthdr: pipeline.IEHFrag, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, End: 54 + 8 + 14, Frag: true},
	}, {
		name:  "ipv6 routing header with segments left",
		frame: fixtureFrame("udp6-routed"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 17, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 7, TpDst: 8, IPTTL: 64, IPv6Exthdr: pipeline.IEHRouter}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54 + 24, End: 54 + 24 + 8, Routed: true},
	}, {
		name:  "sctp6",
		frame: fixtureFrame("sctp6"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 132, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			TpSrc: 9, TpDst: 10, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 12 + 14},
	}, {
		name:  "icmp6 echo",
		frame: fixtureFrame("icmp6-echo"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 128, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 8 + 14},
	}, {
		name:  "neighbor solicitation: unknown option skipped, first sll wins",
		frame: fixtureFrame("icmp6-ns"),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 135, NDTarget: l3(ip6c), ArpSHA: mac1, IPTTL: 255, Parsed: pipeline.ParsedNDSLL}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 24 + 24, NDTarget: 62, NDSLL: 54 + 24 + 8 + 2},
	}, {
		name:  "neighbor advertisement with tll and sll",
		frame: fixtureFrame("icmp6-na"),
		want: eth(pipeline.Key{EthType: 0x86dd, VlanVID: 1 | pipeline.VIDPresent, IPProto: 58,
			L3Src: l3(ip6a), L3Dst: l3(ip6b), ICMPType: 136, NDTarget: l3(ip6c), ArpTHA: mac2, ArpSHA: mac3, IPTTL: 255, Parsed: pipeline.ParsedNDSLL | pipeline.ParsedNDTLL}),
		layout: Layout{L2Len: 18, L3: 18, L4: 58, End: 58 + 24 + 16, NDTarget: 66, NDTLL: 58 + 24 + 2,
			NDSLL: 58 + 24 + 8 + 2, VLANs: 1},
	}, {
		name: "neighbor solicitation with code 1 is not ND",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv6: &ICMPv6{Type: ndSolicit, Code: 1, Target: ip6c, Options: []NDOption{SLL(mac1)}}}),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 135, ICMPCode: 1, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 32},
	}, {
		name: "nd option of length 0 ends the options",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv6:  &ICMPv6{Type: ndAdvert, Target: ip6c, Options: []NDOption{SLL(mac1)}},
			Payload: []byte{2, 0, 1, 2, 3, 4, 5, 6}}),
		want: eth(pipeline.Key{EthType: 0x86dd, IPProto: 58, L3Src: l3(ip6a), L3Dst: l3(ip6b),
			ICMPType: 136, NDTarget: l3(ip6c), ArpSHA: mac1, IPTTL: 64, Parsed: pipeline.ParsedNDSLL}),
		layout: Layout{L2Len: 14, L3: 14, L4: 54, End: 54 + 40, NDTarget: 62, NDSLL: 80},
	}, {
		name: "icmpv4 inside ipv6 is not parsed",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b},
			ICMPv4: &ICMPv4{Type: 8}}),
		want:   eth(pipeline.Key{EthType: 0x86dd, IPProto: 1, L3Src: l3(ip6a), L3Dst: l3(ip6b), IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, End: 62},
	}, {
		name: "icmpv6 inside ipv4 is not parsed",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b},
			ICMPv6: &ICMPv6{Type: 128}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 58, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, End: 42},
	}, {
		name: "ipv4 total length ends before the tcp header",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, TotalLen: 30},
			TCP: &TCP{Src: 1, Dst: 2}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 6, L3Src: l3(ip4a), L3Dst: l3(ip4b), IPTTL: 64, Parsed: pipeline.ParsedNoL4}),
		layout: Layout{L2Len: 14, L3: 14, End: 44},
	}, {
		name: "ipv4 total length beyond the frame: up to the frame end",
		frame: Build(Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, TotalLen: 1500},
			UDP: &UDP{Src: 1, Dst: 2}}),
		want:   eth(pipeline.Key{EthType: 0x0800, IPProto: 17, L3Src: l3(ip4a), L3Dst: l3(ip4b), TpSrc: 1, TpDst: 2, IPTTL: 64}),
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 42},
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
		layout: Layout{L2Len: 14, L3: 14, L4: 34, End: 42},
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
