package offload

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// manyFlows are n distinct rules over tables 0 and 1 at a few priorities:
// in_port=1, ipv4_src i, output:2; every third with SEND_FLOW_REM.
func manyFlows(n int) []*pipeline.FlowMod {
	fms := make([]*pipeline.FlowMod, n)
	for i := range fms {
		fm := inPortFlow(1, 2, uint16(100+i%7))
		fm.Table = uint8(i % 2)
		fm.Cookie = uint64(i)
		fm.Match.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
		fm.Match.Set(pipeline.FieldIPv4Src, []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, nil)
		if i%3 == 0 {
			fm.Flags = pipeline.FlagSendFlowRem
		}
		fms[i] = fm
	}
	return fms
}

func addAll(t testing.TB, n *Network, fms []*pipeline.FlowMod) {
	t.Helper()
	for i, err := range n.FlowMods(context.Background(), fms) {
		if err != nil {
			t.Fatalf("mod %d: %v", i, err)
		}
	}
}

var everyFlow = &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}

// WalkFlowStats gives every flow once, in pipeline order, in chunks of
// at most flowStatsChunk, with the network's lock free while fn runs
// (a mod from fn goes through); FlowStats gives the same.
func TestWalkFlowStatsInChunks(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	addAll(t, tn.Network, manyFlows(1000))
	tn.clock.Advance(3 * time.Second)

	var got []FlowStat
	chunks := 0
	err := tn.WalkFlowStats(everyFlow, false, func(chunk []FlowStat) error {
		chunks++
		if len(chunk) == 0 || len(chunk) > flowStatsChunk {
			t.Errorf("chunk %d holds %d flows, want 1..%d", chunks, len(chunk), flowStatsChunk)
		}
		if !tn.mu.TryLock() {
			t.Fatalf("chunk %d: fn runs with the network's lock held", chunks)
		}
		tn.mu.Unlock()
		got = append(got, chunk...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 || chunks < 1000/flowStatsChunk {
		t.Fatalf("%d flows in %d chunks, want 1000 in at least %d", len(got), chunks, 1000/flowStatsChunk)
	}
	seen := map[uint64]bool{}
	for i, fs := range got {
		f := fs.Flow
		if seen[f.ID] {
			t.Fatalf("flow %d given twice", f.ID)
		}
		seen[f.ID] = true
		if i > 0 {
			p := got[i-1].Flow
			if p.Table > f.Table || p.Table == f.Table && (p.Priority < f.Priority || p.Priority == f.Priority && p.ID > f.ID) {
				t.Fatalf("flow %d (table %d, priority %d) after flow %d (table %d, priority %d)", f.ID, f.Table, f.Priority, p.ID, p.Table, p.Priority)
			}
		}
		if fs.Duration != 3*time.Second || fs.Tier != "" || fs.Reason != "" {
			t.Fatalf("flow %d: duration %v, tier %q, reason %q; want 3s and no placement", f.ID, fs.Duration, fs.Tier, fs.Reason)
		}
	}
	all := tn.FlowStats(everyFlow)
	if len(all) != len(got) {
		t.Fatalf("FlowStats gives %d flows, the walk %d", len(all), len(got))
	}
	for i := range all {
		if all[i].Flow != got[i].Flow || all[i].Tier != TierSoft || all[i].Reason == "" {
			t.Fatalf("FlowStats[%d] = flow %d tier %q reason %q; want flow %d with its placement",
				i, all[i].Flow.ID, all[i].Tier, all[i].Reason, got[i].Flow.ID)
		}
	}

	// An error from fn ends the walk.
	stop := fmt.Errorf("stop")
	calls := 0
	if err := tn.WalkFlowStats(everyFlow, false, func([]FlowStat) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("walk with a failing fn: %v after %d calls, want stop after 1", err, calls)
	}
}

// A mod between chunks: flows there all along are given once, in order;
// the deleted one at most once.
func TestWalkFlowStatsWithModsBetweenChunks(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	fms := manyFlows(2000)
	addAll(t, tn.Network, fms)
	seen := map[uint64]int{}
	k := 0
	err := tn.WalkFlowStats(everyFlow, false, func(chunk []FlowStat) error {
		for _, fs := range chunk {
			seen[fs.Flow.ID]++
		}
		// Delete a rule far ahead and add one.
		del := *fms[(k*397+1500)%len(fms)]
		del.Command = pipeline.FlowDeleteStrict
		add := inPortFlow(2, 1, uint16(100+k%9))
		add.Table = uint8(k % 2)
		tn.FlowMods(context.Background(), []*pipeline.FlowMod{&del, add})
		k++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("flow %d given %d times", id, n)
		}
	}
	for _, fs := range tn.FlowStats(everyFlow) {
		if fs.Flow.ID <= 2000 && seen[fs.Flow.ID] != 1 {
			t.Errorf("flow %d, there all along, given %d times", fs.Flow.ID, seen[fs.Flow.ID])
		}
	}
}

// ovs-ofctl del-flows: one delete of every table removes every flow,
// from the fast path too, and sends FLOW_REMOVED (reason delete, with
// the flow's counters) for the flows added with SEND_FLOW_REM, and only
// for those.
func TestDeleteAllFlowRemovedOnlyWhereAsked(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	fms := manyFlows(900)
	counted := inPortFlow(1, 2, 200) // takes the test's frame
	counted.Flags = pipeline.FlagSendFlowRem
	addAll(t, tn.Network, append(fms, counted))
	tn.p1.Inject(udpFrame())
	if got := tn.p2.WaitSent(1, 5*time.Second); len(got) != 1 {
		t.Fatalf("port 2 sent %d frames before the delete, want 1", len(got))
	}

	all := &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	if errs := tn.FlowMods(context.Background(), []*pipeline.FlowMod{all}); errs[0] != nil {
		t.Fatal(errs[0])
	}
	if left := tn.FlowStats(everyFlow); len(left) != 0 {
		t.Fatalf("%d flows left after deleting all", len(left))
	}
	// The fast path looks the next frame up and matches nothing.
	lookups, matched := tn.Datapath().TableStats()
	tn.p1.Inject(udpFrame())
	waitFastPathLookups(t, tn.Network, 0, lookups[0]+1)
	if _, m := tn.Datapath().TableStats(); m[0] != matched[0] {
		t.Errorf("the fast path matched a frame in table 0 after every flow was deleted")
	}
	removed := tn.eventsOf(func(e Event) bool { _, ok := e.(*FlowRemoved); return ok })
	want := map[uint64]bool{}
	for _, fm := range fms {
		if fm.Flags&pipeline.FlagSendFlowRem != 0 {
			want[fm.Cookie] = true
		}
	}
	if len(removed) != len(want)+1 {
		t.Errorf("%d FLOW_REMOVED, want %d (the flows with SEND_FLOW_REM)", len(removed), len(want)+1)
	}
	for _, e := range removed {
		fr := e.(*FlowRemoved)
		switch {
		case fr.Reason != pipeline.RemovedDelete:
			t.Errorf("FLOW_REMOVED of flow %d: reason %d, want delete", fr.Flow.ID, fr.Reason)
		case fr.Flow.Priority == 200:
			if fr.Packets != 1 {
				t.Errorf("FLOW_REMOVED of the flow that forwarded a frame: %d packets, want 1", fr.Packets)
			}
		case fr.Flow.Flags&pipeline.FlagSendFlowRem == 0 || !want[fr.Flow.Cookie]:
			t.Errorf("FLOW_REMOVED of flow %d (cookie %d), added without SEND_FLOW_REM", fr.Flow.ID, fr.Flow.Cookie)
		}
	}
}

// BenchmarkWalkFlowStats walks 100,000 flows as an OpenFlow dump does
// (no placement): the memory a walk allocates stays at its chunk, not
// the flows (B/flow).
func BenchmarkWalkFlowStats(b *testing.B) {
	n := New(Config{Name: "bench"})
	const flows = 100_000
	addAll(b, n, manyFlows(flows))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	b.ResetTimer()
	for b.Loop() {
		got := 0
		n.WalkFlowStats(everyFlow, false, func(chunk []FlowStat) error { got += len(chunk); return nil })
		if got != flows {
			b.Fatalf("walked %d flows", got)
		}
	}
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/float64(b.N)/flows, "B/flow")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/flows, "ns/flow")
}

// BenchmarkDeleteAll is ovs-ofctl del-flows of 100,000 flows.
func BenchmarkDeleteAll(b *testing.B) {
	fms := manyFlows(100_000)
	all := &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		n := New(Config{Name: "bench"})
		addAll(b, n, fms)
		b.StartTimer()
		if errs := n.FlowMods(context.Background(), []*pipeline.FlowMod{all}); errs[0] != nil {
			b.Fatal(errs[0])
		}
	}
}
