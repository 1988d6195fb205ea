package softpath_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
)

func TestRunForwardsAndCounts(t *testing.T) {
	tb := newTestbed(t, 2, softpath.Config{})
	f := tb.flow(0, 1, matchInPort(1), apply(pipeline.Output(2)))
	tb.flow(0, 1, matchInPort(2), apply(pipeline.Output(1)))
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

	const n = 100
	for i := 0; i < n; i++ {
		tb.ports[1].Inject(frameAB)
	}
	if got := len(tb.ports[2].WaitSent(n, 5*time.Second)); got != n {
		t.Fatalf("port 2 got %d frames, want %d", got, n)
	}
	tb.ports[2].Inject(frameAB)
	if got := len(tb.ports[1].WaitSent(1, 5*time.Second)); got != 1 {
		t.Fatalf("port 1 got %d frames, want 1", got)
	}
	l := uint64(len(frameAB))
	want := map[uint32]softpath.PortStats{
		1: {RxPackets: n, RxBytes: n * l, TxPackets: 1, TxBytes: l},
		2: {RxPackets: 1, RxBytes: l, TxPackets: n, TxBytes: n * l},
	}
	got := map[uint32]softpath.PortStats{1: tb.d.PortStats(1), 2: tb.d.PortStats(2)}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("port stats (-want +got):\n%s", diff)
	}
	if got := f.Counters.Packets.Load(); got != n {
		t.Errorf("flow packets = %d, want %d", got, n)
	}

	// A port added while running is read at once; a removed port is closed.
	p3 := memio.New()
	if err := tb.d.AddPort(3, "p3", p3); err != nil {
		t.Fatal(err)
	}
	tb.flow(0, 1, matchInPort(3), apply(pipeline.Output(1)))
	tb.install()
	p3.Inject(frameAB)
	if got := len(tb.ports[1].WaitSent(1, 5*time.Second)); got != 1 {
		t.Fatalf("port 1 got %d frames from the new port 3, want 1", got)
	}
	if err := tb.d.RemovePort(3); err != nil {
		t.Fatal(err)
	}
	if err := tb.d.RemovePort(3); err == nil {
		t.Error("removing port 3 twice succeeded")
	}
}
