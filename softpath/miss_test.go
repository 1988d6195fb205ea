package softpath_test

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/test/waitfor"
)

// missTagged returns frame with an outer miss tag carrying port.
func missTagged(frame []byte, port uint16) []byte {
	out := make([]byte, 0, len(frame)+4)
	out = append(out, frame[:12]...)
	out = binary.BigEndian.AppendUint16(out, softpath.MissTPID)
	out = binary.BigEndian.AppendUint16(out, port)
	return append(out, frame[12:]...)
}

func TestMissSourceRunsPipelineAsInPort(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{})
	toTwo := tb.flow(0, 1, matchInPort(1), apply(pipeline.Output(2)))
	toOne := tb.flow(0, 1, matchInPort(2), apply(pipeline.Output(1)))
	tb.install()
	miss := memio.New()
	if err := tb.d.AddMissSource("miss", miss); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tb.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})

	miss.Inject(missTagged(frameAB, 1), missTagged(frameAB, 1), missTagged(frameAB, 2))
	// Untagged, or for a port the datapath lacks: dropped and counted.
	miss.Inject(frameAB, missTagged(frameAB, 9))
	got := tb.ports[2].WaitSent(2, 5*time.Second)
	if len(got) != 2 || string(got[0]) != string(frameAB) {
		t.Fatalf("port 2 sent %x, want 2 copies of the untagged frame", got)
	}
	if got := tb.ports[1].WaitSent(1, 5*time.Second); len(got) != 1 || string(got[0]) != string(frameAB) {
		t.Fatalf("port 1 sent %x, want the untagged frame", got)
	}
	waitfor.True(t, 5*time.Second, "2 miss frames dropped", func() bool { return tb.d.MissDropped() >= 2 })
	if n := tb.d.MissDropped(); n != 2 {
		t.Errorf("MissDropped = %d, want 2", n)
	}
	if a, b := toTwo.Counters.Packets.Load(), toOne.Counters.Packets.Load(); a != 2 || b != 1 {
		t.Errorf("flow packets = %d, %d; want 2, 1", a, b)
	}
	if s := tb.d.PortStats(1); s.RxPackets != 2 || s.RxBytes != 2*uint64(len(frameAB)) {
		t.Errorf("port 1 rx = %d packets %d bytes, want 2 and %d", s.RxPackets, s.RxBytes, 2*len(frameAB))
	}
}
