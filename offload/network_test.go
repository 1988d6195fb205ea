package offload

import (
	"context"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/softpath/packet"
	"github.com/nicflow/nicflow/test/waitfor"
)

// testNet is a running network with in-memory ports 1 and 2 and a
// controllable clock.
type testNet struct {
	*Network
	p1, p2 *memio.Port
	clock  *fakeClock

	mu     sync.Mutex
	events []Event
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newTestNet(t *testing.T, mode FailMode) *testNet {
	t.Helper()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	tn := &testNet{clock: clock, p1: memio.New(), p2: memio.New()}
	tn.Network = New(Config{Name: "t", DPID: 1, FailMode: mode, Now: clock.Now})
	tn.Subscribe(func(e Event) {
		tn.mu.Lock()
		defer tn.mu.Unlock()
		tn.events = append(tn.events, e)
	})
	for i, io := range []*memio.Port{tn.p1, tn.p2} {
		if err := tn.AddPort(PortInfo{No: uint32(i + 1), Name: "p", Up: true}, io); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tn.Run(ctx) //nolint:errcheck // ends with ctx
	}()
	t.Cleanup(func() { cancel(); <-done })
	return tn
}

func (tn *testNet) eventsOf(kind func(Event) bool) []Event {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	var out []Event
	for _, e := range tn.events {
		if kind(e) {
			out = append(out, e)
		}
	}
	return out
}

func udpFrame() []byte {
	return packet.Build(packet.Spec{
		EthDst: packet.MAC("02:00:00:00:00:02"), EthSrc: packet.MAC("02:00:00:00:00:01"),
		IPv4: &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
		UDP:  &packet.UDP{Src: 1000, Dst: 2000}, Payload: make([]byte, 18),
	})
}

func inPortFlow(in, out uint32, prio uint16) *pipeline.FlowMod {
	fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: prio, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny,
		BufferID: 0xffffffff}
	fm.Match.Set(pipeline.FieldInPort, []byte{byte(in >> 24), byte(in >> 16), byte(in >> 8), byte(in)}, nil)
	fm.Instr.HasApply = true
	fm.Instr.Apply = []pipeline.Action{pipeline.Output(out)}
	return fm
}

func TestFailModeStandaloneLearnsUntilAControllerConnects(t *testing.T) {
	tn := newTestNet(t, FailStandalone)
	tn.p1.Inject(udpFrame())
	if got := tn.p2.WaitSent(1, 2*time.Second); len(got) != 1 {
		t.Fatalf("standalone without controller: port 2 got %d frames, want 1 (flooded)", len(got))
	}
	tn.SetConnected(1)
	tn.p1.Inject(udpFrame())
	// The second lookup of table 0 is counted after the fast path has
	// handled the frame and written whatever it sends.
	waitFastPathLookups(t, tn.Network, 0, 2)
	if got := tn.p2.Sent(); len(got) != 0 {
		t.Fatalf("with a controller connected: port 2 got %d more frames, want 0 (a miss drops)", len(got))
	}
	tn.SetConnected(0)
	tn.p1.Inject(udpFrame())
	if got := tn.p2.WaitSent(1, 2*time.Second); len(got) != 1 {
		t.Fatalf("controller gone again: port 2 got %d frames, want 1", len(got))
	}
}

func TestFailModeSecureKeepsFlowsAndDropsMisses(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	tn.p1.Inject(udpFrame())
	waitFastPathLookups(t, tn.Network, 0, 1)
	if got := tn.p2.Sent(); len(got) != 0 {
		t.Fatalf("secure, no flows: port 2 got %d frames, want 0", len(got))
	}
	if err := tn.FlowMod(context.Background(), inPortFlow(1, 2, 10)); err != nil {
		t.Fatal(err)
	}
	tn.p1.Inject(udpFrame(), udpFrame(), udpFrame())
	if got := tn.p2.WaitSent(3, 2*time.Second); len(got) != 3 {
		t.Fatalf("secure with flow: port 2 got %d frames, want 3", len(got))
	}
	stats := tn.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	if len(stats) != 1 || stats[0].Packets != 3 || stats[0].Bytes != uint64(3*len(udpFrame())) {
		t.Fatalf("flow stats = %+v, want one flow with 3 packets, %d bytes", stats, 3*len(udpFrame()))
	}
	ts := tn.TableStats()
	if ts[0].Active != 1 || ts[0].Lookups != 4 || ts[0].Matched != 3 {
		t.Errorf("table 0 stats = %+v, want active 1, lookups 4, matched 3", ts[0])
	}
}

func TestFlowRemovedCarriesCountersOnDeleteAndTimeout(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	ctx := context.Background()
	del := inPortFlow(1, 2, 10)
	del.Flags = pipeline.FlagSendFlowRem
	if err := tn.FlowMod(ctx, del); err != nil {
		t.Fatal(err)
	}
	hard := inPortFlow(2, 1, 10)
	hard.Flags = pipeline.FlagSendFlowRem
	hard.HardTimeout = 5
	if err := tn.FlowMod(ctx, hard); err != nil {
		t.Fatal(err)
	}
	tn.p1.Inject(udpFrame(), udpFrame())
	tn.p2.WaitSent(2, 2*time.Second)

	strict := *del
	strict.Command = pipeline.FlowDeleteStrict
	if err := tn.FlowMod(ctx, &strict); err != nil {
		t.Fatal(err)
	}
	tn.clock.Advance(6 * time.Second)
	tn.expire()

	removed := tn.eventsOf(func(e Event) bool { _, ok := e.(*FlowRemoved); return ok })
	if len(removed) != 2 {
		t.Fatalf("got %d FLOW_REMOVED events, want 2", len(removed))
	}
	first, second := removed[0].(*FlowRemoved), removed[1].(*FlowRemoved)
	if first.Reason != pipeline.RemovedDelete || first.Packets != 2 {
		t.Errorf("delete: reason %d packets %d, want reason %d packets 2", first.Reason, first.Packets, pipeline.RemovedDelete)
	}
	if second.Reason != pipeline.RemovedHardTimeout || second.Duration < 5*time.Second {
		t.Errorf("timeout: reason %d duration %v, want reason %d after >= 5s", second.Reason, second.Duration, pipeline.RemovedHardTimeout)
	}
	if n := len(tn.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})); n != 0 {
		t.Errorf("%d flows left, want 0", n)
	}
}

func TestTableMissEntryToControllerRaisesPacketIn(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	miss := &pipeline.FlowMod{Command: pipeline.FlowAdd, Cookie: 0x77, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
	miss.Instr.HasApply = true
	miss.Instr.Apply = []pipeline.Action{{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: 0xffff}}
	if err := tn.FlowMod(context.Background(), miss); err != nil {
		t.Fatal(err)
	}
	tn.p2.Inject(udpFrame())
	var pis []Event
	waitfor.True(t, 5*time.Second, "a PACKET_IN", func() bool {
		pis = tn.eventsOf(func(e Event) bool { _, ok := e.(*PacketIn); return ok })
		return len(pis) > 0
	})
	pi := pis[0].(*PacketIn)
	if pi.InPort != 2 || pi.Reason != 0 || pi.Cookie != 0x77 || len(pi.Data) != len(udpFrame()) {
		t.Fatalf("packet-in = in_port %d reason %d cookie %#x len %d; want 2, 0 (no match), 0x77, %d",
			pi.InPort, pi.Reason, pi.Cookie, len(pi.Data), len(udpFrame()))
	}
}

func TestPortStatusOnAddLinkChangeAndRemove(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	tn.SetLink(2, false)
	tn.SetLink(2, false) // no change: no event
	if err := tn.RemovePort(1); err != nil {
		t.Fatal(err)
	}
	var reasons []uint8
	for _, e := range tn.eventsOf(func(e Event) bool { _, ok := e.(*PortStatus); return ok }) {
		reasons = append(reasons, e.(*PortStatus).Reason)
	}
	want := []uint8{PortAdded, PortAdded, PortModified, PortDeleted}
	if len(reasons) != len(want) {
		t.Fatalf("port status reasons %v, want %v", reasons, want)
	}
	for i := range want {
		if reasons[i] != want[i] {
			t.Fatalf("port status reasons %v, want %v", reasons, want)
		}
	}
}

func TestBadFlowModIsRefusedWithTheSpecError(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	fm := inPortFlow(1, 2, 10)
	fm.Table = pipeline.NumTables
	err := tn.FlowMod(context.Background(), fm)
	oe, ok := err.(*pipeline.Error)
	if !ok || oe.Type != pipeline.ErrFlowModFailed || oe.Code != pipeline.FlowModBadTableID {
		t.Fatalf("err = %v, want FLOW_MOD_FAILED/BAD_TABLE_ID", err)
	}
}

// GROUP_STATS and METER_STATS report each group's and meter's own age:
// from its ADD, kept across a MODIFY, not the network's uptime.
func TestGroupMeterDurations(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	ctx := context.Background()
	ga := func(id uint32, cmd pipeline.GroupModCommand) {
		t.Helper()
		gm := &pipeline.GroupMod{Command: cmd, Type: pipeline.GroupTypeAll, ID: id,
			Buckets: []pipeline.Bucket{{Actions: []pipeline.Action{pipeline.Output(2)}, WatchPort: pipeline.PortAny, WatchGroup: pipeline.GroupAny}}}
		if err := tn.GroupMod(ctx, gm); err != nil {
			t.Fatal(err)
		}
	}
	ma := func(id uint32, cmd pipeline.MeterModCommand, rate uint32) {
		t.Helper()
		mm := &pipeline.MeterMod{Command: cmd, ID: id, Flags: pipeline.MeterKbps, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: rate}}}
		if err := tn.MeterMod(ctx, mm); err != nil {
			t.Fatal(err)
		}
	}
	tn.clock.Advance(100 * time.Second) // the network's uptime is not the answer
	ga(1, pipeline.GroupAdd)
	ma(1, pipeline.MeterAdd, 10)
	tn.clock.Advance(30 * time.Second)
	ga(2, pipeline.GroupAdd)
	ma(2, pipeline.MeterAdd, 10)
	tn.clock.Advance(5 * time.Second)
	ga(1, pipeline.GroupModify)
	ma(1, pipeline.MeterModify, 20)
	tn.clock.Advance(2 * time.Second)

	var got []time.Duration
	for _, s := range tn.GroupStats(pipeline.GroupAll) {
		got = append(got, s.Duration)
	}
	for _, s := range tn.MeterStats(pipeline.MeterAll) {
		got = append(got, s.Duration)
	}
	want := []time.Duration{37 * time.Second, 7 * time.Second, 37 * time.Second, 7 * time.Second}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("group 1, group 2, meter 1, meter 2 durations (-want +got):\n%s", diff)
	}
}
