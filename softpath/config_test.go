package softpath_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/packet"
	"github.com/nicflow/nicflow/test/waitfor"
)

// OFPC_FRAG_DROP drops IP fragments, IPv4 and IPv6, first and later,
// received or sent to the tables by a packet-out; OFPC_FRAG_NORMAL lets
// them through, and unfragmented packets always pass.
func TestFragDrop(t *testing.T) {
	v4 := func(ip packet.IPv4, l4 bool) []byte {
		ip.Src, ip.Dst = netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
		s := packet.Spec{EthDst: macB, EthSrc: macA, IPv4: &ip, MinLen: 60}
		if l4 {
			s.UDP = &packet.UDP{Src: 1, Dst: 2}
		} else {
			ip.Proto = pipeline.ProtoUDP
			s.Payload = make([]byte, 16)
		}
		return packet.Build(s)
	}
	v6 := func(ext ...packet.IPv6Ext) []byte {
		return packet.Build(packet.Spec{EthDst: macB, EthSrc: macA, MinLen: 60,
			IPv6: &packet.IPv6{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Ext: ext},
			UDP:  &packet.UDP{Src: 1, Dst: 2}})
	}
	frames := []struct {
		name string
		b    []byte
		frag bool
	}{
		{"ipv4", v4(packet.IPv4{}, true), false},
		{"ipv4 DF", v4(packet.IPv4{DF: true}, true), false},
		{"ipv4 first fragment", v4(packet.IPv4{MF: true, ID: 7}, true), true},
		{"ipv4 middle fragment", v4(packet.IPv4{MF: true, FragOffset: 2, ID: 7}, false), true},
		{"ipv4 last fragment", v4(packet.IPv4{FragOffset: 4, ID: 7}, false), true},
		{"ipv6", v6(), false},
		{"ipv6 first fragment", v6(packet.IPv6Ext{Type: 44, More: true, ID: 7}), true},
		{"ipv6 later fragment", v6(packet.IPv6Ext{Type: 44, FragOffset: 3, ID: 7}), true},
		{"ipv6 hop-by-hop", v6(packet.IPv6Ext{Type: 0}), false},
		{"arp", packet.Build(packet.Spec{EthDst: macB, EthSrc: macA, ARP: &packet.ARP{Op: 1}, MinLen: 60}), false},
	}
	for _, mode := range []struct {
		name string
		cfg  softpath.SwitchConfig
	}{{"normal", softpath.SwitchConfig{}}, {"drop", softpath.SwitchConfig{FragDrop: true}}} {
		t.Run(mode.name, func(t *testing.T) {
			tb := newTestbed(t, 2, softpath.Config{})
			tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(2)))
			tb.install()
			tb.d.SetSwitchConfig(mode.cfg)
			if got := tb.d.SwitchConfig(); got != mode.cfg {
				t.Errorf("SwitchConfig() = %+v, want %+v", got, mode.cfg)
			}
			want, got := map[string]int{}, map[string]int{}
			for _, f := range frames {
				if !mode.cfg.FragDrop || !f.frag {
					want[f.name] = 1
				}
				tb.send(t, 1, f.b) // as a packet-out to the tables
				if n := len(tb.ports[2].Sent()); n > 0 {
					got[f.name] = n
				}
				// A packet-out with explicit actions goes as sent.
				if err := tb.d.Execute(pipeline.PortController, f.b, []pipeline.Action{pipeline.Output(2)}); err != nil {
					t.Fatal(err)
				}
				if n := len(tb.ports[2].Sent()); n != 1 {
					t.Errorf("%s: packet-out output:2 sent %d frames, want 1", f.name, n)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("frames through the tables (-want +got):\n%s", diff)
			}
		})
	}
}

// OFPC_INVALID_TTL_TO_CONTROLLER, set while the datapath runs, decides
// whether a packet whose TTL dec_nw_ttl expires goes to the controller
// (reason INVALID_TTL) or is dropped silently.
func TestSwitchConfigInvalidTTL(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{})
	tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Action{Type: pipeline.ActionDecNwTTL}, pipeline.Output(2)))
	tb.install()
	ttl1 := packet.Build(packet.Spec{EthDst: macB, EthSrc: macA, MinLen: 60,
		IPv4: &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), TTL: 1},
		UDP:  &packet.UDP{Src: 1, Dst: 2}})
	var reasons []uint8
	for _, on := range []bool{false, true, false} {
		tb.d.SetSwitchConfig(softpath.SwitchConfig{InvalidTTLToController: on})
		tb.ups = nil
		tb.send(t, 1, ttl1)
		if n := len(tb.ports[2].Sent()); n != 0 {
			t.Errorf("invalid_ttl_to_controller %v: %d frames output, want none", on, n)
		}
		for _, u := range tb.ups {
			reasons = append(reasons, u.Reason)
		}
		reasons = append(reasons, 0xff) // separator
	}
	if diff := cmp.Diff([]uint8{0xff, softpath.ReasonInvalidTTL, 0xff, 0xff}, reasons); diff != "" {
		t.Errorf("packet-in reasons per step (-want +got):\n%s", diff)
	}
}

// OFPPC_NO_RECV drops what a port receives, OFPPC_NO_FWD what is sent to
// it (flooding included), OFPPC_NO_PACKET_IN the packet-ins of packets
// that came in on it; clearing a bit restores the port.
func TestPortConfig(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	tb.flow(0, 10, matchInPort(1), apply(pipeline.Output(2)))
	tb.flow(0, 10, matchInPort(2), apply(pipeline.Output(pipeline.PortFlood)))
	tb.flow(0, 0, pipeline.Match{}, apply(pipeline.Output(pipeline.PortController))) // port 3's packets
	tb.install()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	// NO_RECV on port 1: what it receives goes nowhere. The frame sent
	// after the bit is cleared comes out alone (one reader, in order).
	tb.d.SetPortConfig(1, softpath.PortConfig{NoRecv: true})
	if got := tb.d.PortConfig(1); got != (softpath.PortConfig{NoRecv: true}) {
		t.Errorf("PortConfig(1) = %+v", got)
	}
	tb.ports[1].Inject(frameAB, frameAB, frameAB)
	waitfor.True(t, 5*time.Second, "port 1 read 3 frames", func() bool { return tb.d.PortStats(1).RxPackets == 3 })
	tb.d.SetPortConfig(1, softpath.PortConfig{})
	tb.ports[1].Inject(frameAB)
	if got := len(tb.ports[2].WaitSent(1, 5*time.Second)); got != 1 {
		t.Errorf("port 2 sent %d frames, want only the one received after NO_RECV was cleared", got)
	}

	// NO_FWD on port 3: port 2's flood reaches port 1 only; output to port 3
	// counts as a transmit drop.
	tb.d.SetPortConfig(3, softpath.PortConfig{NoFwd: true})
	tb.send(t, 2, frameAB)
	if diff := cmp.Diff(map[uint32]int{1: 1}, tb.sent()); diff != "" {
		t.Errorf("flood with port 3 NO_FWD (-want +got):\n%s", diff)
	}
	if got := tb.d.PortStats(3).TxDropped; got != 1 {
		t.Errorf("port 3 tx_dropped = %d, want 1", got)
	}
	tb.d.SetPortConfig(3, softpath.PortConfig{})
	tb.send(t, 2, frameAB)
	if diff := cmp.Diff(map[uint32]int{1: 1, 3: 1}, tb.sent()); diff != "" {
		t.Errorf("flood with NO_FWD cleared (-want +got):\n%s", diff)
	}

	// NO_PACKET_IN on port 3: its table-miss packet-ins are not sent.
	tb.d.SetPortConfig(3, softpath.PortConfig{NoPacketIn: true})
	tb.ups = nil
	tb.send(t, 3, frameAB)
	if len(tb.ups) != 0 {
		t.Errorf("%d packet-ins from a NO_PACKET_IN port", len(tb.ups))
	}
	tb.d.SetPortConfig(3, softpath.PortConfig{})
	tb.send(t, 3, frameAB)
	if len(tb.ups) != 1 || tb.ups[0].InPort != 3 {
		t.Errorf("packet-ins after NO_PACKET_IN was cleared: %+v, want one from port 3", tb.ups)
	}
}
