package offload

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
)

// fakeAdmin records the netdev admin changes PortMod asks for and can
// refuse them, as Config.SetAdminUp.
type fakeAdmin struct {
	calls  []string
	refuse error
}

func (f *fakeAdmin) set(p PortInfo, up bool) error {
	if f.refuse != nil {
		return f.refuse
	}
	f.calls = append(f.calls, fmt.Sprintf("%s up=%v", p.Name, up))
	return nil
}

func portStatuses(events []Event) []PortInfo {
	var out []PortInfo
	for _, e := range events {
		if ps, ok := e.(*PortStatus); ok && ps.Reason == PortModified {
			out = append(out, ps.Port)
		}
	}
	return out
}

// TestPortModDownAndUp: PORT_DOWN sets the netdev down (the seam), the
// port stops forwarding, its link is down and a PORT_STATUS says so; up
// reverses it, the link staying down until the carrier is back (SetLink).
func TestPortModDownAndUp(t *testing.T) {
	admin := &fakeAdmin{}
	n := New(Config{Name: "t", DPID: 1, SetAdminUp: admin.set})
	var events []Event
	n.Subscribe(func(e Event) { events = append(events, e) })
	mac := net.HardwareAddr{2, 0, 0, 0, 0, 1}
	if err := n.AddPort(PortInfo{No: 1, Name: "veth1", HWAddr: mac, Up: true}, memio.New()); err != nil {
		t.Fatal(err)
	}
	hw := [6]byte{2, 0, 0, 0, 0, 1}
	if err := n.PortMod(PortMod{Port: 1, HWAddr: hw, Config: PortConfigDown, Mask: PortConfigDown}); err != nil {
		t.Fatal(err)
	}
	p, _ := n.PortByName("veth1")
	if !p.AdminDown || p.Up || p.Live() || n.Datapath().PortLive(1) {
		t.Errorf("after down: admin down %v, up %v, live %v, fast path live %v; want down, no link, not live",
			p.AdminDown, p.Up, p.Live(), n.Datapath().PortLive(1))
	}
	// The carrier report that follows changes nothing and says nothing.
	n.SetLink(1, false)
	if err := n.PortMod(PortMod{Port: 1, HWAddr: hw, Config: 0, Mask: PortConfigDown}); err != nil {
		t.Fatal(err)
	}
	p, _ = n.PortByName("veth1")
	if p.AdminDown || p.Live() {
		t.Errorf("after up, before the carrier: admin down %v, live %v; want up, not live yet", p.AdminDown, p.Live())
	}
	n.SetLink(1, true)
	if !n.Datapath().PortLive(1) {
		t.Error("the carrier is back: the fast path must use the port again")
	}
	// A mod that changes nothing is no event.
	if err := n.PortMod(PortMod{Port: 1, HWAddr: hw, Config: 0, Mask: PortConfigDown}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"veth1 up=false", "veth1 up=true"}, admin.calls); diff != "" {
		t.Errorf("netdev admin changes (-want +got):\n%s", diff)
	}
	type seen struct{ Config, Live bool }
	var got []seen
	for _, ps := range portStatuses(events) {
		got = append(got, seen{ps.Config() == PortConfigDown, ps.Live()})
	}
	want := []seen{{true, false}, {false, false}, {false, true}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("PORT_STATUS (config PORT_DOWN, live) (-want +got):\n%s", diff)
	}
}

// TestPortModErrors: each refusal is its PORT_MOD_FAILED code and changes
// nothing.
func TestPortModErrors(t *testing.T) {
	admin := &fakeAdmin{}
	n := New(Config{Name: "t", DPID: 1, SetAdminUp: admin.set})
	if err := n.AddPort(PortInfo{No: 1, Name: "veth1", HWAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}, Up: true}, memio.New()); err != nil {
		t.Fatal(err)
	}
	hw := [6]byte{2, 0, 0, 0, 0, 1}
	tests := []struct {
		name   string
		pm     PortMod
		refuse error
		want   uint16
	}{
		{"no such port", PortMod{Port: 9, HWAddr: hw, Mask: PortConfigDown, Config: PortConfigDown}, nil, pipeline.PortModBadPort},
		{"wrong hw_addr", PortMod{Port: 1, HWAddr: [6]byte{2, 0, 0, 0, 0, 2}, Mask: PortConfigDown, Config: PortConfigDown}, nil, pipeline.PortModBadHWAddr},
		{"no_flood is OpenFlow 1.0's", PortMod{Port: 1, HWAddr: hw, Mask: 1 << 4, Config: 1 << 4}, nil, pipeline.PortModBadConfig},
		{"no_stp", PortMod{Port: 1, HWAddr: hw, Mask: 1 << 1}, nil, pipeline.PortModBadConfig},
		{"unknown bit", PortMod{Port: 1, HWAddr: hw, Mask: 1 << 20}, nil, pipeline.PortModBadConfig},
		{"advertise", PortMod{Port: 1, HWAddr: hw, Advertise: 1 << 6}, nil, pipeline.PortModBadAdvertise},
		{"kernel refuses", PortMod{Port: 1, HWAddr: hw, Mask: PortConfigDown, Config: PortConfigDown}, errors.New("operation not permitted"), pipeline.PortModEperm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			admin.refuse = tt.refuse
			err := n.PortMod(tt.pm)
			var perr *pipeline.Error
			if !errors.As(err, &perr) || perr.Type != pipeline.ErrPortModFailed || perr.Code != tt.want {
				t.Fatalf("PortMod = %v, want PORT_MOD_FAILED code %d", err, tt.want)
			}
			if p, _ := n.PortByName("veth1"); p.Config() != 0 || !p.Live() {
				t.Errorf("port after the refusal: config %#x, live %v", p.Config(), p.Live())
			}
		})
	}
	// Bits outside the mask are not changes.
	if err := n.PortMod(PortMod{Port: 1, HWAddr: hw, Config: PortConfigNoFwd | 1<<4, Mask: PortConfigNoFwd}); err != nil {
		t.Fatal(err)
	}
	if p, _ := n.PortByName("veth1"); p.Config() != PortConfigNoFwd {
		t.Errorf("config %#x, want NO_FWD only", p.Config())
	}
	if got := n.Datapath().PortConfig(1); got != (softpath.PortConfig{NoFwd: true}) {
		t.Errorf("fast path port config %+v, want NO_FWD", got)
	}
	if len(admin.calls) != 0 {
		t.Errorf("netdev changes %v for refused mods", admin.calls)
	}
}

// TestPortModNoRecvNoFwdInTC: the tc tier keeps out the rules that take the
// packets of a NO_RECV port or output to a NO_FWD port (their packets reach
// the fast path, which drops them), and takes them back when the bits are
// cleared.
func TestPortModNoRecvNoFwdInTC(t *testing.T) {
	for _, o := range []tcNetOpts{{policy: PolicyTC, ports: 3}, {policy: PolicyHW, ports: 3}} {
		t.Run(string(o.policy), func(t *testing.T) {
			clock := newClock()
			kern := newFakeTC(clock.Now)
			tn := newTCNet(t, kern, clock, o)
			from1 := tn.add(t, inPortFlow(1, 2, 10))
			from2 := tn.add(t, inPortFlow(2, 3, 10))
			to3 := tn.add(t, inPortFlow(3, 1, 10))
			tn.barrier(t)
			tiers := func() map[uint64]Tier {
				return map[uint64]Tier{from1: tn.stat(t, from1).Tier, from2: tn.stat(t, from2).Tier, to3: tn.stat(t, to3).Tier}
			}
			offloaded := TierTC
			if o.policy == PolicyHW {
				offloaded = TierHW
			}
			all := map[uint64]Tier{from1: offloaded, from2: offloaded, to3: offloaded}
			if diff := cmp.Diff(all, tiers()); diff != "" {
				t.Fatalf("tiers before (-want +got):\n%s", diff)
			}
			mod := func(no, cfg, mask uint32) {
				t.Helper()
				if err := tn.PortMod(PortMod{Port: no, Config: cfg, Mask: mask}); err != nil {
					t.Fatal(err)
				}
			}
			mod(1, PortConfigNoRecv, PortConfigNoRecv) // port 1 receives nothing: from1 out
			mod(3, PortConfigNoFwd, PortConfigNoFwd)   // port 3 forwards nothing: from2 out
			if diff := cmp.Diff(map[uint64]Tier{from1: TierSoft, from2: TierSoft, to3: offloaded}, tiers()); diff != "" {
				t.Errorf("tiers with port 1 NO_RECV, port 3 NO_FWD (-want +got):\n%s", diff)
			}
			tn.barrier(t) // CheckPlacement
			mod(1, 0, PortConfigNoRecv)
			mod(3, 0, PortConfigNoFwd)
			if diff := cmp.Diff(all, tiers()); diff != "" {
				t.Errorf("tiers after clearing (-want +got):\n%s", diff)
			}
			tn.barrier(t)
		})
	}
}
