package offload

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/packet"
)

// OFPC_FRAG_DROP in the tc tier: while it is set, the rules that can match
// IP (eth_type ipv4 or ipv6, or none) leave tc for the fast path, which
// drops fragments, and the others stay; FRAG_NORMAL brings them back.
func TestSwitchConfigFragDropKeepsIPRulesOutOfTC(t *testing.T) {
	clock := newClock()
	kern := newFakeTC(clock.Now)
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: PolicyTC, ports: 2})
	withType := func(fm *pipeline.FlowMod, et uint16) *pipeline.FlowMod {
		fm.Match.Set(pipeline.FieldEthType, []byte{byte(et >> 8), byte(et)}, nil)
		return fm
	}
	ip := tn.add(t, rule{priority: 30, inPort: 1, ipv4: true, out: 2}.mod())
	ip6 := tn.add(t, withType(inPortFlow(1, 2, 25), pipeline.EthTypeIPv6))
	arp := tn.add(t, withType(inPortFlow(1, 2, 20), pipeline.EthTypeARP))
	any := tn.add(t, inPortFlow(2, 1, 10))
	tn.barrier(t)
	tiers := func() map[uint64]Tier {
		m := map[uint64]Tier{}
		for _, id := range []uint64{ip, ip6, arp, any} {
			m[id] = tn.stat(t, id).Tier
		}
		return m
	}
	if diff := cmp.Diff(map[uint64]Tier{ip: TierTC, ip6: TierTC, arp: TierTC, any: TierTC}, tiers()); diff != "" {
		t.Fatalf("tiers before FRAG_DROP (-want +got):\n%s", diff)
	}

	if err := tn.SetSwitchConfig(SwitchConfig{FragDrop: true}); err != nil {
		t.Fatal(err)
	}
	// In force when SetSwitchConfig returns: no barrier.
	if diff := cmp.Diff(map[uint64]Tier{ip: TierSoft, ip6: TierSoft, arp: TierTC, any: TierSoft}, tiers()); diff != "" {
		t.Errorf("tiers with FRAG_DROP (-want +got):\n%s", diff)
	}
	for _, id := range []uint64{ip, ip6, any} {
		if _, _, ok := kern.filterOf(id); ok {
			t.Errorf("flow %d can match IP and still has a filter with FRAG_DROP", id)
		}
		if r := tn.stat(t, id).Reason; r != fragDropReason {
			t.Errorf("flow %d: reason %q, want %q", id, r, fragDropReason)
		}
	}
	tn.barrier(t) // CheckPlacement: no IP rule in tc

	// The fast path drops the fragment and forwards the rest: the frame
	// after the fragment comes out alone.
	frag := packet.Build(packet.Spec{
		EthDst: packet.MAC("02:00:00:00:00:02"), EthSrc: packet.MAC("02:00:00:00:00:01"),
		IPv4: &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), MF: true, ID: 1},
		UDP:  &packet.UDP{Src: 1000, Dst: 2000}, Payload: make([]byte, 18),
	})
	tn.ports[0].Inject(frag, udpFrame())
	sent := tn.ports[1].WaitSent(1, 2*time.Second)
	if len(sent) != 1 || !cmp.Equal(sent[0], udpFrame()) {
		t.Errorf("port 2 sent %d frames, want only the unfragmented one", len(sent))
	}

	if err := tn.SetSwitchConfig(SwitchConfig{}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[uint64]Tier{ip: TierTC, ip6: TierTC, arp: TierTC, any: TierTC}, tiers()); diff != "" {
		t.Errorf("tiers back to FRAG_NORMAL (-want +got):\n%s", diff)
	}
	tn.barrier(t)
}

// A network whose fast path does not see its ports cannot drop fragments:
// SET_CONFIG with FRAG_DROP is refused (SWITCH_CONFIG_FAILED, EPERM) and
// nothing changes; the other flags apply.
func TestSwitchConfigFragDropNeedsTheFastPath(t *testing.T) {
	clock := newClock()
	tn := newTCNet(t, newFakeTC(clock.Now), clock, tcNetOpts{policy: PolicyTC, ports: 2, noFastPath: "hairpin"})
	err := tn.SetSwitchConfig(SwitchConfig{FragDrop: true, InvalidTTLToController: true})
	var perr *pipeline.Error
	if !errors.As(err, &perr) || perr.Type != pipeline.ErrSwitchConfigFailed || perr.Code != pipeline.SwitchConfigEperm {
		t.Fatalf("SetSwitchConfig(FragDrop) = %v, want SWITCH_CONFIG_FAILED/EPERM", err)
	}
	if got := tn.SwitchConfig(); got != (SwitchConfig{}) {
		t.Errorf("after the refusal: %+v, want the zero config", got)
	}
	want := SwitchConfig{InvalidTTLToController: true}
	if err := tn.SetSwitchConfig(want); err != nil {
		t.Fatal(err)
	}
	if got := tn.SwitchConfig(); got != want {
		t.Errorf("SwitchConfig() = %+v, want %+v", got, want)
	}
	if got := tn.Datapath().SwitchConfig(); !got.InvalidTTLToController || got.FragDrop {
		t.Errorf("fast path config %+v, want invalid_ttl_to_controller only", got)
	}
}
