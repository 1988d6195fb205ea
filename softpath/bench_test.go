package softpath

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// loopIO replays one frame n times, then reports closed; writes are counted.
type loopIO struct {
	frame   []byte
	left    int
	written int
}

func (l *loopIO) ReadBatch(frames []Frame) (int, error) {
	if l.left == 0 {
		return 0, ErrClosed
	}
	n := min(len(frames), l.left)
	for i := 0; i < n; i++ {
		frames[i].Len = copy(frames[i].Buf[:cap(frames[i].Buf)], l.frame)
	}
	l.left -= n
	return n, nil
}

func (l *loopIO) WriteBatch(frames [][]byte) error { l.written += len(frames); return nil }
func (l *loopIO) Close() error                     { return nil }

// udpFrame is a 64-byte (without FCS: 60) Ethernet/IPv4/UDP frame.
func udpFrame(dst uint32) []byte {
	b := make([]byte, 60)
	copy(b[0:6], []byte{2, 0, 0, 0, 0, 2})
	copy(b[6:12], []byte{2, 0, 0, 0, 0, 1})
	binary.BigEndian.PutUint16(b[12:], 0x0800)
	b[14], b[22], b[23] = 0x45, 64, 17
	binary.BigEndian.PutUint16(b[16:], 46)
	binary.BigEndian.PutUint32(b[26:], 0x0a000001)
	binary.BigEndian.PutUint32(b[30:], dst)
	binary.BigEndian.PutUint16(b[34:], 1000)
	binary.BigEndian.PutUint16(b[36:], 53)
	binary.BigEndian.PutUint16(b[38:], 26)
	return b
}

// snapshotN has n exact ipv4_dst flows outputting to port 2 (n=1: one
// in_port flow), spread over masks /32../(33-masks).
func snapshotN(n, masks int) *pipeline.Snapshot {
	var tables [pipeline.NumTables][]*pipeline.Flow
	for i := 0; i < n; i++ {
		var m pipeline.Match
		m.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
		plen := 32 - i%masks
		mask := ^uint32(0) << (32 - plen)
		m.Set(pipeline.FieldIPv4Dst, binary.BigEndian.AppendUint32(nil, 0x0a000000+uint32(i)<<8), binary.BigEndian.AppendUint32(nil, mask))
		tables[0] = append(tables[0], &pipeline.Flow{ID: uint64(i + 1), Priority: uint16(plen), Match: m,
			Instr: &pipeline.Instructions{Apply: []pipeline.Action{pipeline.Output(2)}, HasApply: true}, Counters: &pipeline.Counters{}})
	}
	fs := tables[0]
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && fs[j].Priority > fs[j-1].Priority; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
	return pipeline.SnapshotOf(tables, nil, nil)
}

// newBenchDatapath returns a datapath with ports 1 and 2 (in-memory) and a
// worker reading port 1.
func newBenchDatapath(tb testing.TB, s *pipeline.Snapshot, cache bool) (*Datapath, *worker, *port, *loopIO) {
	d := New(Config{NoFlowCache: !cache})
	in, out := &loopIO{}, &loopIO{}
	if err := d.AddPort(1, "in", in); err != nil {
		tb.Fatal(err)
	}
	if err := d.AddPort(2, "out", out); err != nil {
		tb.Fatal(err)
	}
	d.Install(s)
	return d, newWorker(d), d.pt.Load().byNo[1], out
}

func TestForwardDoesNotAllocate(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprint("cache=", cache), func(t *testing.T) {
			_, w, in, out := newBenchDatapath(t, snapshotN(100, 10), cache)
			frame := udpFrame(0x0a000000 + 7<<8)
			buf := make([]byte, 2048)
			allocs := testing.AllocsPerRun(1000, func() {
				n := copy(buf, frame)
				w.begin()
				w.receive(in.no, buf[:n], 0)
				w.flush()
			})
			if allocs != 0 {
				t.Errorf("forwarding one packet allocates %v times", allocs)
			}
			if out.written < 1000 {
				t.Errorf("forwarded %d packets, want >= 1000", out.written)
			}
		})
	}
}

func BenchmarkForward(b *testing.B) {
	cases := []struct {
		name         string
		flows, masks int
		cache        bool
	}{
		{"1flow", 1, 1, false},
		{"1000flows-1mask", 1000, 1, false},
		{"1000flows-20masks", 1000, 20, false},
		{"1000flows-20masks-cache", 1000, 20, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			_, w, in, out := newBenchDatapath(b, snapshotN(c.flows, c.masks), c.cache)
			lio := in.io.(*loopIO)
			// The last flow: the worst case for a linear table.
			lio.frame = udpFrame(0x0a000000 + uint32(c.flows-1)<<8)
			lio.left = b.N
			b.ReportAllocs()
			b.ResetTimer()
			w.readLoop(in)
			b.StopTimer()
			if out.written != b.N {
				b.Fatalf("forwarded %d of %d packets", out.written, b.N)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
		})
	}
}
