package packet_test

import (
	"fmt"
	"net/netip"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/packet"
)

func ExampleParse() {
	frame := packet.Build(packet.Spec{
		EthDst: packet.MAC("02:00:00:00:00:02"),
		EthSrc: packet.MAC("02:00:00:00:00:01"),
		VLANs:  []packet.VLAN{{VID: 10, PCP: 3}},
		IPv4:   &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		TCP:    &packet.TCP{Src: 1234, Dst: 80, Flags: packet.TCPSyn},
		MinLen: 60,
	})
	var k pipeline.Key
	l := packet.Parse(frame, 1, &k)
	fmt.Printf("vlan %d pcp %d eth_type %#04x\n", k.VlanVID&^pipeline.VIDPresent, k.VlanPCP, k.EthType)
	fmt.Printf("%v -> %v proto %d ports %d -> %d flags %#x\n", k.IPv4Src(), k.IPv4Dst(), k.IPProto, k.TpSrc, k.TpDst, k.TCPFlags)
	fmt.Printf("L3 at %d, L4 at %d, IP packet ends at %d of %d bytes\n", l.L3, l.L4, l.End, len(frame))
	// Output:
	// vlan 10 pcp 3 eth_type 0x0800
	// 10.0.0.1 -> 10.0.0.2 proto 6 ports 1234 -> 80 flags 0x2
	// L3 at 18, L4 at 38, IP packet ends at 58 of 60 bytes
}

func ExampleApply() {
	frame := packet.Build(packet.Spec{
		IPv4: &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), TTL: 2},
		UDP:  &packet.UDP{Src: 5000, Dst: 53},
	})
	var k pipeline.Key
	l := packet.Parse(frame, 1, &k)
	actions := []pipeline.Action{
		pipeline.SetField(pipeline.FieldIPv4Dst, []byte{192, 0, 2, 1}),
		{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN},
		pipeline.SetField(pipeline.FieldVlanVID, []byte{0x10, 42}), // VIDPresent | 42
		{Type: pipeline.ActionDecNwTTL},
		{Type: pipeline.ActionDecNwTTL},
	}
	for i := range actions {
		var err error
		frame, err = packet.Apply(frame, &l, &k, &actions[i])
		if err != nil {
			fmt.Println("error:", err)
			break
		}
	}
	fmt.Printf("%d bytes, vlan %d, ipv4_dst %v\n", len(frame), k.VlanVID&^pipeline.VIDPresent, k.IPv4Dst())
	// Output:
	// error: ttl expired
	// 46 bytes, vlan 42, ipv4_dst 192.0.2.1
}
