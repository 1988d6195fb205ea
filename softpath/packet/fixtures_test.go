package packet

import (
	"net/netip"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Addresses used throughout the tests.
var (
	mac1 = MAC("02:00:00:00:00:01")
	mac2 = MAC("02:00:00:00:00:02")
	mac3 = MAC("0a:bb:cc:dd:ee:ff")
	ip4a = netip.MustParseAddr("10.0.0.1")
	ip4b = netip.MustParseAddr("192.168.1.200")
	ip6a = netip.MustParseAddr("2001:db8::1")
	ip6b = netip.MustParseAddr("2001:db8:ffff::2")
	ip6c = netip.MustParseAddr("fe80::1234:5678")
)

// l3 returns a key address field for a: IPv4 in the first four bytes.
func l3(a netip.Addr) [16]byte {
	var b [16]byte
	if a.Is4() {
		v := a.As4()
		copy(b[:], v[:])
		return b
	}
	return a.As16()
}

// fixture is a named frame spec; the fixtures cover every protocol Parse
// knows, for the truncation, apply, fuzz seed and allocation tests.
type fixture struct {
	name string
	spec Spec
}

func fixtures() []fixture {
	payload := []byte("hello, nicflow")
	return []fixture{
		{"udp4", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b}, UDP: &UDP{Src: 5000, Dst: 53}, Payload: payload, MinLen: 60}},
		{"udp4-nocsum", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b}, UDP: &UDP{Src: 5000, Dst: 53, NoChecksum: true}, Payload: payload}},
		{"tcp4-vlan-opts", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{VID: 100, PCP: 5}},
			IPv4: &IPv4{Src: ip4a, Dst: ip4b, DSCP: 46, ECN: 1, TTL: 9, Options: []byte{1, 1, 1, 0}},
			TCP:  &TCP{Src: 40000, Dst: 443, Seq: 1, Flags: TCPSyn | TCPAck | 0x800, Options: []byte{2, 4, 5, 0xb4}}, Payload: payload}},
		{"tcp4-qinq", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{TPID: 0x88a8, VID: 7, PCP: 1}, {VID: 4095, PCP: 7, DEI: true}},
			IPv4: &IPv4{Src: ip4b, Dst: ip4a}, TCP: &TCP{Src: 22, Dst: 60000, Flags: TCPFin | TCPAck}}},
		{"sctp4", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b}, SCTP: &SCTP{Src: 3868, Dst: 3869, Tag: 0xdeadbeef},
			Payload: []byte{0, 0, 0, 8, 1, 2, 3, 4}}},
		{"icmp4", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, DF: true}, ICMPv4: &ICMPv4{Type: 8, Rest: [4]byte{0, 1, 0, 2}}, Payload: payload}},
		{"frag4-first", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, MF: true, ID: 77}, UDP: &UDP{Src: 1, Dst: 2}, Payload: payload}},
		{"frag4-later", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b, FragOffset: 185, ID: 77, Proto: 17}, Payload: payload}},
		{"arp", Spec{EthDst: [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, EthSrc: mac1, ARP: &ARP{Op: 1, SHA: mac1, SPA: ip4a, TPA: ip4b}, MinLen: 60}},
		{"arp-vlan", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{VID: 3}}, ARP: &ARP{Op: 2, SHA: mac1, THA: mac2, SPA: ip4a, TPA: ip4b}}},
		{"tcp6", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, DSCP: 10, ECN: 2, FlowLabel: 0xabcde},
			TCP: &TCP{Src: 1234, Dst: 80, Flags: TCPPsh | TCPAck}, Payload: payload}},
		{"udp6-ext", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, Ext: []IPv6Ext{
			{Type: pipeline.ProtoHopByHop, Data: []byte{1, 4, 0, 0, 0, 0}},
			{Type: pipeline.ProtoDestOpts, Data: make([]byte, 14)},
			{Type: pipeline.ProtoRouting, Data: []byte{4, 0}},
			{Type: pipeline.ProtoFragment, More: true, ID: 9},
			{Type: pipeline.ProtoAH, Data: make([]byte, 14)},
		}}, UDP: &UDP{Src: 546, Dst: 547}, Payload: payload}},
		{"frag6-later", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, Proto: 6,
			Ext: []IPv6Ext{{Type: pipeline.ProtoFragment, FragOffset: 100, ID: 9}}}, Payload: payload}},
		{"udp6-routed", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b,
			Ext: []IPv6Ext{{Type: pipeline.ProtoRouting, Data: append([]byte{0, 1, 0, 0, 0, 0}, ip6c.AsSlice()...)}}}, UDP: &UDP{Src: 7, Dst: 8}}},
		{"sctp6", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b}, SCTP: &SCTP{Src: 9, Dst: 10, Tag: 1}, Payload: payload}},
		{"icmp6-echo", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b}, ICMPv6: &ICMPv6{Type: 128, Rest: [4]byte{0, 1, 0, 1}}, Payload: payload}},
		{"icmp6-ns", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, HopLimit: 255},
			ICMPv6: &ICMPv6{Type: ndSolicit, Target: ip6c, Options: []NDOption{{Type: 14, Data: make([]byte, 6)}, SLL(mac1), SLL(mac3)}}}},
		{"icmp6-na", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{VID: 1}}, IPv6: &IPv6{Src: ip6a, Dst: ip6b, HopLimit: 255},
			ICMPv6: &ICMPv6{Type: ndAdvert, Rest: [4]byte{0x60}, Target: ip6c, Options: []NDOption{TLL(mac2), SLL(mac3)}}}},
		{"lldp", Spec{EthDst: MAC("01:80:c2:00:00:0e"), EthSrc: mac1, EthType: 0x88cc, Payload: payload}},
		{"triple-tag", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{VID: 1}, {VID: 2}, {VID: 3}}, IPv4: &IPv4{Src: ip4a, Dst: ip4b}, UDP: &UDP{Src: 1, Dst: 2}}},
		{"mpls-udp4", Spec{EthDst: mac2, EthSrc: mac1, MPLS: []MPLS{{Label: 100, TC: 3, TTL: 60}},
			IPv4: &IPv4{Src: ip4a, Dst: ip4b, TTL: 33}, UDP: &UDP{Src: 5000, Dst: 53}, Payload: payload}},
		{"mpls2-tcp6-vlan", Spec{EthDst: mac2, EthSrc: mac1, VLANs: []VLAN{{VID: 30, PCP: 2}}, EthType: pipeline.EthTypeMPLSMcast,
			MPLS: []MPLS{{Label: 0xfffff, TC: 7, TTL: 255}, {Label: 16, TC: 1, TTL: 9}},
			IPv6: &IPv6{Src: ip6a, Dst: ip6b, HopLimit: 17}, TCP: &TCP{Src: 1234, Dst: 80, Flags: TCPSyn}}},
		{"mpls4-udp4", Spec{EthDst: mac2, EthSrc: mac1,
			MPLS: []MPLS{{Label: 1, TTL: 4}, {Label: 2, TTL: 3}, {Label: 3, TTL: 2}, {Label: 4, TTL: 1}},
			IPv4: &IPv4{Src: ip4b, Dst: ip4a}, UDP: &UDP{Src: 7, Dst: 8}}},
		{"eth-only", Spec{EthDst: mac2, EthSrc: mac1, EthType: 0x0800}},
		{"mpls-tcp6", Spec{EthDst: mac2, EthSrc: mac1, MPLS: []MPLS{{Label: 2, TC: 5, TTL: 70}},
			IPv6: &IPv6{Src: ip6a, Dst: ip6b, HopLimit: 40}, TCP: &TCP{Src: 22, Dst: 2222, Flags: TCPAck}}},
		{"mpls-nobos", Spec{EthDst: mac2, EthSrc: mac1, MPLS: []MPLS{{Label: 5, TTL: 64}, {Label: 6, TTL: 64}}, MPLSNoBoS: true,
			Payload: []byte{0x45, 0, 0}}},
		{"mpls-nonip", Spec{EthDst: mac2, EthSrc: mac1, MPLS: []MPLS{{Label: 77, TTL: 8}}, Payload: payload}},
		{"pbb-udp4", Spec{EthDst: mac3, EthSrc: mac1, VLANs: []VLAN{{TPID: 0x88a8, VID: 10, PCP: 3}},
			PBB:  &PBB{ISID: 0x123456, PCP: 5, Dst: mac2, Src: mac1, VLANs: []VLAN{{VID: 20, PCP: 1}}},
			IPv4: &IPv4{Src: ip4a, Dst: ip4b}, UDP: &UDP{Src: 5000, Dst: 53}, Payload: payload}},
		{"pbb-mpls-udp6", Spec{EthDst: mac3, EthSrc: mac2, PBB: &PBB{ISID: 0xffffff, UCA: true, Dst: mac2, Src: mac1},
			MPLS: []MPLS{{Label: 2, TTL: 50}}, IPv6: &IPv6{Src: ip6a, Dst: ip6b}, UDP: &UDP{Src: 1, Dst: 2}}},
		{"pbb-arp-qinq", Spec{EthDst: mac3, EthSrc: mac2, PBB: &PBB{ISID: 7, Dst: bcastMAC, Src: mac1,
			VLANs: []VLAN{{TPID: 0x88a8, VID: 1}, {VID: 2}}}, ARP: &ARP{Op: 1, SHA: mac1, SPA: ip4a, TPA: ip4b}}},
		{"ipv6-esp", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, Proto: pipeline.ProtoESP,
			Ext: []IPv6Ext{{Type: pipeline.ProtoHopByHop, Data: make([]byte, 6)}}}, Payload: []byte{0, 0, 1, 0, 0, 0, 0, 1, 0xde, 0xad}}},
		{"ipv6-nonext", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b,
			Ext: []IPv6Ext{{Type: pipeline.ProtoDestOpts, Data: make([]byte, 6)}}}}},
		{"ipv6-unseq", Spec{EthDst: mac2, EthSrc: mac1, IPv6: &IPv6{Src: ip6a, Dst: ip6b, Ext: []IPv6Ext{
			{Type: pipeline.ProtoRouting, Data: []byte{4, 0}}, {Type: pipeline.ProtoHopByHop, Data: make([]byte, 6)},
			{Type: pipeline.ProtoDestOpts, Data: make([]byte, 6)}, {Type: pipeline.ProtoDestOpts, Data: make([]byte, 6)}}},
			UDP: &UDP{Src: 1, Dst: 2}}},
	}
}

var bcastMAC = MAC("ff:ff:ff:ff:ff:ff")

// fixture returns the frame of the named fixture.
func fixtureFrame(name string) []byte {
	for _, f := range fixtures() {
		if f.name == name {
			return Build(f.spec)
		}
	}
	panic("no fixture " + name)
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }
