package softpath_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
)

func bucket(w uint16, watch uint32, acts ...pipeline.Action) pipeline.Bucket {
	return pipeline.Bucket{Weight: w, WatchPort: watch, WatchGroup: pipeline.GroupAny, Actions: acts, Counters: &pipeline.Counters{}}
}

func (tb *testbed) group(id uint32, typ pipeline.GroupType, bs ...pipeline.Bucket) *pipeline.Group {
	g := &pipeline.Group{ID: id, Type: typ, Buckets: bs, Counters: &pipeline.Counters{}}
	tb.snap.Groups[id] = g
	return g
}

func TestGroupAllCopiesPerBucket(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	newDst := []byte{10, 9, 9, 9}
	g := tb.group(1, pipeline.GroupTypeAll,
		bucket(0, pipeline.PortAny, pipeline.SetField(pipeline.FieldIPv4Dst, newDst), pipeline.Output(2)),
		bucket(0, pipeline.PortAny, pipeline.Output(3)))
	tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Action{Type: pipeline.ActionGroup, Group: 1}))
	tb.install()
	tb.send(t, 1, frameAB)
	got2, got3 := tb.ports[2].Sent(), tb.ports[3].Sent()
	if len(got2) != 1 || len(got3) != 1 {
		t.Fatalf("sent %d frames to port 2 and %d to port 3, want 1 each", len(got2), len(got3))
	}
	if diff := cmp.Diff(newDst, got2[0][30:34]); diff != "" {
		t.Errorf("bucket 1 ipv4_dst (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(frameAB, got3[0]); diff != "" {
		t.Errorf("bucket 2 must see the original frame (-want +got):\n%s", diff)
	}
	counts := []uint64{g.Counters.Packets.Load(), g.Buckets[0].Counters.Packets.Load(), g.Buckets[1].Counters.Packets.Load()}
	if diff := cmp.Diff([]uint64{1, 1, 1}, counts); diff != "" {
		t.Errorf("group, bucket packet counters (-want +got):\n%s", diff)
	}
}

func TestGroupFastFailover(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	tb.group(1, pipeline.GroupTypeFastFailover,
		bucket(0, 2, pipeline.Output(2)),
		bucket(0, 3, pipeline.Output(3)))
	tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Action{Type: pipeline.ActionGroup, Group: 1}))
	tb.install()
	steps := []struct {
		live2, live3 bool
		want         map[uint32]int
	}{
		{true, true, map[uint32]int{2: 1}},
		{false, true, map[uint32]int{3: 1}},
		{false, false, map[uint32]int{}},
		{true, false, map[uint32]int{2: 1}},
	}
	for i, s := range steps {
		tb.d.SetPortLive(2, s.live2)
		tb.d.SetPortLive(3, s.live3)
		tb.send(t, 1, frameAB)
		if diff := cmp.Diff(s.want, tb.sent()); diff != "" {
			t.Errorf("step %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestGroupSelectAndIndirect(t *testing.T) {
	tb := newTestbed(t, 4, softpath.Config{})
	tb.group(1, pipeline.GroupTypeSelect,
		bucket(1, pipeline.PortAny, pipeline.Output(2)),
		bucket(3, pipeline.PortAny, pipeline.Output(3)),
		bucket(0, pipeline.PortAny, pipeline.Output(4))) // weight 0: never
	tb.group(2, pipeline.GroupTypeIndirect, bucket(0, pipeline.PortAny, pipeline.Output(4)))
	tb.flow(0, 1, matchInPort(1), apply(pipeline.Action{Type: pipeline.ActionGroup, Group: 1}))
	tb.flow(0, 1, matchInPort(2), apply(pipeline.Action{Type: pipeline.ActionGroup, Group: 2}))
	tb.install()

	// The same flow always takes the same bucket.
	for i := 0; i < 5; i++ {
		tb.send(t, 1, frameAB)
	}
	if got := tb.sent(); len(got) != 1 || got[2]+got[3] != 5 {
		t.Errorf("one flow spread over %v, want all 5 on one bucket", got)
	}
	// Many flows spread by weight (1:3), never to the weight-0 bucket.
	const n = 400
	for i := 0; i < n; i++ {
		tb.send(t, 1, udp4(macA, macB, 0x0a000001, 0x0a000002, uint16(1000+i), 53, 0))
	}
	got := tb.sent()
	if got[4] != 0 || got[2]+got[3] != n || got[2] < n/8 || got[3] < n/2 {
		t.Errorf("%d flows spread as %v, want about 1:3 over ports 2 and 3", n, got)
	}
	tb.send(t, 2, frameAB)
	if diff := cmp.Diff(map[uint32]int{4: 1}, tb.sent()); diff != "" {
		t.Errorf("indirect (-want +got):\n%s", diff)
	}
}

func TestMeterDropBand(t *testing.T) {
	tests := []struct {
		name  string
		flags uint16
		band  pipeline.Band
		send  int
		want  int
	}{
		// 10 pkt/s: the default burst is one second's worth, 10 packets:
		// at one instant they pass, and one more (the bucket lends a
		// packet: see meterState).
		{"pktps default burst", pipeline.MeterPktps, pipeline.Band{Type: pipeline.BandDrop, Rate: 10}, 20, 11},
		{"pktps burst 5", pipeline.MeterPktps | pipeline.MeterBurst, pipeline.Band{Type: pipeline.BandDrop, Rate: 10, BurstSize: 5}, 20, 6},
		// The burst flag without a size: the default.
		{"pktps burst 0", pipeline.MeterPktps | pipeline.MeterBurst, pipeline.Band{Type: pipeline.BandDrop, Rate: 10}, 20, 11},
		// 100 kb/s: frameAB's 60 bytes take 4.8 ms; within the one-second
		// default burst packets 0..208 pass.
		{"kbps", pipeline.MeterKbps, pipeline.Band{Type: pipeline.BandDrop, Rate: 100}, 250, 209},
		// A burst of 1 kilobit is 10 ms at 100 kb/s: packets 0..2 pass.
		{"kbps burst 1", pipeline.MeterKbps | pipeline.MeterBurst, pipeline.Band{Type: pipeline.BandDrop, Rate: 100, BurstSize: 1}, 50, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestbed(t, 2, softpath.Config{})
			tt.band.Counters = &pipeline.Counters{}
			m := &pipeline.Meter{ID: 1, Flags: tt.flags, Bands: []pipeline.Band{tt.band}, Counters: &pipeline.Counters{}}
			tb.snap.Meters[1] = m
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Meter: 1, Apply: []pipeline.Action{pipeline.Output(2)}, HasApply: true})
			tb.install()
			for i := 0; i < tt.send; i++ {
				tb.send(t, 1, frameAB)
			}
			got := []uint64{uint64(len(tb.ports[2].Sent())), m.Counters.Packets.Load(), m.Bands[0].Counters.Packets.Load()}
			want := []uint64{uint64(tt.want), uint64(tt.send), uint64(tt.send - tt.want)}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("passed, meter packets, band packets (-want +got):\n%s", diff)
			}
			// One second later the bucket has refilled.
			tb.now += 1e9
			tb.send(t, 1, frameAB)
			if n := len(tb.ports[2].Sent()); n != 1 {
				t.Errorf("after 1 s: %d frames passed, want 1", n)
			}
		})
	}
}

func TestMeterDSCPRemark(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{})
	// 10 packets/s, a burst of one packet: two pass at once (see
	// TestMeterDropBand).
	band := pipeline.Band{Type: pipeline.BandDSCPRemark, Rate: 10, BurstSize: 1, PrecLevel: 1, Counters: &pipeline.Counters{}}
	tb.snap.Meters[1] = &pipeline.Meter{ID: 1, Flags: pipeline.MeterPktps | pipeline.MeterBurst, Bands: []pipeline.Band{band}, Counters: &pipeline.Counters{}}
	tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Meter: 1, Apply: []pipeline.Action{pipeline.Output(2)}, HasApply: true})
	tb.install()
	af11 := append([]byte(nil), frameAB...)
	af11[15] = 10 << 2 // DSCP AF11
	fixIPv4Checksum(af11)
	for i := 0; i < 3; i++ {
		tb.send(t, 1, af11)
	}
	got := tb.ports[2].Sent()
	var dscps []byte
	for _, f := range got {
		dscps = append(dscps, f[15]>>2)
		if !checksumsOK(f) {
			t.Errorf("bad checksum after remark: % x", f)
		}
	}
	// Two packets within the rate keep AF11 (10); the third becomes AF12 (12).
	if diff := cmp.Diff([]byte{10, 10, 12}, dscps); diff != "" {
		t.Errorf("DSCP of the frames sent (-want +got):\n%s", diff)
	}
}
