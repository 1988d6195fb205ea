//go:build linux

package afpacket_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
)

// BenchmarkForwardAFPacket blasts 64-byte UDP frames from host a through
// the datapath (flow in_port=1 -> output:2) to host b, over veths and
// AF_PACKET, and reports the delivered rate and the loss (frames the
// datapath could not keep up with).
func BenchmarkForwardAFPacket(b *testing.B) {
	tp := newTopo(b)
	f := &flows{}
	f.add(10, 1, 0, out(2))
	tp.d.Install(f.snapshot())

	var tx, rx *afpacket.Socket
	if err := tp.a.Do(func() (err error) { tx, err = afpacket.Open("a0", afpacket.Options{NoPromisc: true}); return err }); err != nil {
		b.Fatal(err)
	}
	if err := tp.b.Do(func() (err error) { rx, err = afpacket.Open("b0", afpacket.Options{}); return err }); err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	var got atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		frames := make([]softpath.Frame, 64)
		for {
			n, err := rx.ReadBatch(frames)
			if err != nil {
				return
			}
			for _, fr := range frames[:n] {
				if fr.Len == 60 && fr.Buf[23] == 17 {
					got.Add(1)
				}
			}
		}
	}()
	batch := make([][]byte, 64)
	for i := range batch {
		batch[i] = udpFrame(i)
	}
	b.ResetTimer()
	start := time.Now()
	for sent := 0; sent < b.N; sent += len(batch) {
		if err := tx.WriteBatch(batch[:min(len(batch), b.N-sent)]); err != nil {
			b.Fatal(err)
		}
	}
	sendTime := time.Since(start)
	// Wait until deliveries stop.
	for last := int64(-1); got.Load() != last; {
		last = got.Load()
		time.Sleep(100 * time.Millisecond)
	}
	elapsed := time.Since(start) - 100*time.Millisecond
	b.StopTimer()
	rx.Close()
	<-done
	n := got.Load()
	b.Logf("N=%d sent in %v, delivered %d in %v; switch port 1 %+v, port 2 %+v", b.N, sendTime, n, elapsed, tp.d.PortStats(1), tp.d.PortStats(2))
	b.ReportMetric(float64(n)/elapsed.Seconds(), "delivered-pps")
	b.ReportMetric(100*float64(int64(b.N)-n)/float64(b.N), "loss-%")
}
