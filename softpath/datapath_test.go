package softpath_test

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
)

var frameAB = udp4(macA, macB, 0x0a000001, 0x0a000002, 1000, 53, 18)

func TestForwardingBasics(t *testing.T) {
	tests := []struct {
		name  string
		setup func(tb *testbed)
		miss  softpath.MissPolicy
		in    uint32
		want  map[uint32]int
	}{
		{"output to port", func(tb *testbed) { tb.flow(0, 1, matchInPort(1), apply(pipeline.Output(2))) }, softpath.MissDrop, 1, map[uint32]int{2: 1}},
		{"drop flow", func(tb *testbed) { tb.flow(0, 1, matchInPort(1), pipeline.Instructions{}) }, softpath.MissNormal, 1, map[uint32]int{}},
		{"miss drops", func(tb *testbed) {}, softpath.MissDrop, 1, map[uint32]int{}},
		{"miss normal floods", func(tb *testbed) {}, softpath.MissNormal, 1, map[uint32]int{2: 1, 3: 1}},
		{"output to in_port is dropped", func(tb *testbed) { tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(1))) }, softpath.MissDrop, 1, map[uint32]int{}},
		{"IN_PORT", func(tb *testbed) { tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(pipeline.PortInPort))) }, softpath.MissDrop, 1, map[uint32]int{1: 1}},
		{"FLOOD", func(tb *testbed) { tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(pipeline.PortFlood))) }, softpath.MissDrop, 2, map[uint32]int{1: 1, 3: 1}},
		{"FLOOD skips down ports", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(pipeline.PortAll)))
			tb.d.SetPortLive(3, false)
		}, softpath.MissDrop, 2, map[uint32]int{1: 1}},
		{"output to unknown port", func(tb *testbed) { tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(9))) }, softpath.MissDrop, 1, map[uint32]int{}},
		{"higher priority wins", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(3)))
			tb.flow(0, 5, matchInPort(1), apply(pipeline.Output(2)))
		}, softpath.MissDrop, 1, map[uint32]int{2: 1}},
		{"goto, write-actions run at the end", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Write: []pipeline.Action{pipeline.Output(3)}, HasWrite: true, Goto: true, GotoTable: 1})
			tb.flow(1, 1, pipeline.Match{}, apply(pipeline.Output(2)))
		}, softpath.MissDrop, 1, map[uint32]int{2: 1, 3: 1}},
		{"write-actions replace the output", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Write: []pipeline.Action{pipeline.Output(3)}, HasWrite: true, Goto: true, GotoTable: 1})
			tb.flow(1, 1, pipeline.Match{}, pipeline.Instructions{Write: []pipeline.Action{pipeline.Output(2)}, HasWrite: true})
		}, softpath.MissDrop, 1, map[uint32]int{2: 1}},
		{"clear-actions", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Write: []pipeline.Action{pipeline.Output(3)}, HasWrite: true, Goto: true, GotoTable: 1})
			tb.flow(1, 1, pipeline.Match{}, pipeline.Instructions{Clear: true})
		}, softpath.MissDrop, 1, map[uint32]int{}},
		{"miss in a later table drops the action set", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{Write: []pipeline.Action{pipeline.Output(3)}, HasWrite: true, Goto: true, GotoTable: 1})
		}, softpath.MissDrop, 1, map[uint32]int{}},
		{"write-metadata then match it", func(tb *testbed) {
			tb.flow(0, 1, pipeline.Match{}, pipeline.Instructions{WriteMetadata: true, Metadata: 0x1234, MetadataMask: 0xff00, Goto: true, GotoTable: 2})
			var m pipeline.Match
			m.Set(pipeline.FieldMetadata, binary.BigEndian.AppendUint64(nil, 0x1200), nil)
			tb.flow(2, 1, m, apply(pipeline.Output(2)))
			tb.flow(2, 0, pipeline.Match{}, apply(pipeline.Output(3)))
		}, softpath.MissDrop, 1, map[uint32]int{2: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tb := newTestbed(t, 3, softpath.Config{Miss: tt.miss})
			tt.setup(tb)
			tb.install()
			tb.send(t, tt.in, frameAB)
			if diff := cmp.Diff(tt.want, tb.sent()); diff != "" {
				t.Errorf("frames sent per port (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFlowCounters(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{})
	f := tb.flow(0, 1, matchInPort(1), apply(pipeline.Output(2)))
	tb.install()
	for i := 0; i < 3; i++ {
		tb.send(t, 1, frameAB)
	}
	got := [3]int64{int64(f.Counters.Packets.Load()), int64(f.Counters.Bytes.Load()), f.Counters.LastUsed.Load()}
	if want := [3]int64{3, 3 * int64(len(frameAB)), tb.now}; got != want {
		t.Errorf("packets, bytes, last used = %v, want %v", got, want)
	}
}

func TestNormalLearns(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{Miss: softpath.MissNormal})
	tb.install()
	steps := []struct {
		in    uint32
		frame []byte
		want  map[uint32]int
	}{
		{1, udp4(macA, bcast, 1, 2, 1, 2, 0), map[uint32]int{2: 1, 3: 1}}, // broadcast floods, learns A on 1
		{2, udp4(macB, macA, 2, 1, 1, 2, 0), map[uint32]int{1: 1}},        // A known; learns B on 2
		{1, udp4(macA, macB, 1, 2, 1, 2, 0), map[uint32]int{2: 1}},        // B known
		{3, udp4(macB, macA, 2, 1, 1, 2, 0), map[uint32]int{1: 1}},        // B moves to 3
		{1, udp4(macA, macB, 1, 2, 1, 2, 0), map[uint32]int{3: 1}},
		{3, udp4(macA, macB, 1, 2, 1, 2, 0), map[uint32]int{}}, // A moved to 3 too: B is on the input port: drop
	}
	for i, s := range steps {
		tb.send(t, s.in, s.frame)
		if diff := cmp.Diff(s.want, tb.sent()); diff != "" {
			t.Fatalf("step %d: frames sent per port (-want +got):\n%s", i, diff)
		}
	}
	// Aging: 301 s later B is forgotten and floods again.
	tb.now += 301e9
	tb.send(t, 1, udp4(macA, macB, 1, 2, 1, 2, 0))
	if diff := cmp.Diff(map[uint32]int{2: 1, 3: 1}, tb.sent()); diff != "" {
		t.Errorf("after aging (-want +got):\n%s", diff)
	}
}

func TestSetFieldCopiesOnWrite(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	newDst := [4]byte{192, 168, 1, 1}
	tb.flow(0, 1, pipeline.Match{}, apply(
		pipeline.Output(3),
		pipeline.SetField(pipeline.FieldIPv4Dst, newDst[:]),
		pipeline.Output(2),
	))
	tb.install()
	orig := append([]byte(nil), frameAB...)
	tb.send(t, 1, frameAB)
	if !cmp.Equal(orig, frameAB) {
		t.Fatal("Execute modified the caller's frame")
	}
	got2, got3 := tb.ports[2].Sent(), tb.ports[3].Sent()
	if len(got2) != 1 || len(got3) != 1 {
		t.Fatalf("sent %d frames to port 2 and %d to port 3, want 1 each", len(got2), len(got3))
	}
	if diff := cmp.Diff(orig, got3[0]); diff != "" {
		t.Errorf("port 3 (output before set_field) (-want +got):\n%s", diff)
	}
	if got := [4]byte(got2[0][30:34]); got != newDst {
		t.Errorf("port 2 ipv4_dst = %v, want %v", got, newDst)
	}
	if !checksumsOK(got2[0]) {
		t.Errorf("port 2 frame has bad checksums: % x", got2[0])
	}
}

func TestPushPopVLAN(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	vid := binary.BigEndian.AppendUint16(nil, 0x1000|42)
	tb.flow(0, 1, matchInPort(1), apply(
		pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN},
		pipeline.SetField(pipeline.FieldVlanVID, vid),
		pipeline.Output(2),
		pipeline.Action{Type: pipeline.ActionPopVLAN},
		pipeline.Output(3),
	))
	tb.install()
	tb.send(t, 1, frameAB)
	got2, got3 := tb.ports[2].Sent(), tb.ports[3].Sent()
	if len(got2) != 1 || len(got3) != 1 {
		t.Fatalf("sent %d frames to port 2 and %d to port 3, want 1 each", len(got2), len(got3))
	}
	if want := append(append(append([]byte(nil), frameAB[:12]...), 0x81, 0x00, 0x00, 42), frameAB[12:]...); !cmp.Equal(want, got2[0]) {
		t.Errorf("tagged frame (-want +got):\n%s", cmp.Diff(want, got2[0]))
	}
	if diff := cmp.Diff(frameAB, got3[0]); diff != "" {
		t.Errorf("untagged again (-want +got):\n%s", diff)
	}
}

func TestPacketIn(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{InvalidTTLToController: true})
	miss := tb.flow(0, 0, pipeline.Match{}, apply(pipeline.Action{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: 20}))
	miss.Cookie = 7
	act := tb.flow(0, 10, matchInPort(2), apply(pipeline.Output(pipeline.PortController)))
	ttl := tb.flow(0, 10, matchInPort(1), apply(pipeline.Action{Type: pipeline.ActionDecNwTTL}, pipeline.Output(2)))
	tb.install()

	low := append([]byte(nil), frameAB...)
	low[22] = 1            // TTL 1
	tb.send(t, 3, frameAB) // port 3 does not exist: hits the table-miss entry
	tb.send(t, 2, frameAB)
	tb.send(t, 1, low)
	want := []softpath.PacketIn{
		{Reason: softpath.ReasonNoMatch, Cookie: 7, Flow: miss, InPort: 3, Data: frameAB[:20], TotalLen: len(frameAB)},
		{Reason: softpath.ReasonAction, Flow: act, InPort: 2, Data: frameAB, TotalLen: len(frameAB)},
		{Reason: softpath.ReasonInvalidTTL, Flow: ttl, InPort: 1, Data: low, TotalLen: len(low)},
	}
	if diff := cmp.Diff(want, tb.ups, cmp.Comparer(func(a, b *pipeline.Flow) bool { return a == b })); diff != "" {
		t.Errorf("packet-ins (-want +got):\n%s", diff)
	}
	if got := tb.sent(); len(got) != 0 {
		t.Errorf("frames sent %v, want none (TTL expired)", got)
	}
}

func TestInstallSwapsGeneration(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Output(2)))
	tb.install()
	tb.send(t, 1, frameAB)
	out3 := apply(pipeline.Output(3))
	s2 := pipeline.SnapshotOf([pipeline.NumTables][]*pipeline.Flow{0: {{ID: 99, Instr: &out3, Counters: &pipeline.Counters{}}}}, nil, nil)
	tb.d.Install(s2)
	tb.send(t, 1, frameAB)
	if diff := cmp.Diff(map[uint32]int{2: 1, 3: 1}, tb.sent()); diff != "" {
		t.Errorf("frames sent per port (-want +got):\n%s", diff)
	}
}
