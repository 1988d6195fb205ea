package ofwire

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// ReplyStream sends, one message at a time, what SplitMultipartReply
// makes of all the entries at once.
func TestReplyStreamIsSplit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		maxLen := []int{0, 64, 100, 200, 1000, 4096, MaxMessageLen, MaxMessageLen + 10}[i%8]
		entries := make([][]byte, rng.IntN(3)*rng.IntN(400))
		for k := range entries {
			e := make([]byte, 8*(1+rng.IntN(30)))
			for j := range e {
				e[j] = byte(k + j)
			}
			entries[k] = e
		}
		want := SplitMultipartReply(uint32(i), ofp.MultipartTypeFlow, entries, maxLen)
		var got [][]byte
		s := NewReplyStream(uint32(i), ofp.MultipartTypeFlow, maxLen, func(m []byte) error {
			got = append(got, bytes.Clone(m)) // the stream reuses m
			return nil
		})
		for _, e := range entries {
			if err := s.Add(append(s.Buf(), e...)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if s.Entries() != len(entries) {
			t.Errorf("Entries() = %d, want %d", s.Entries(), len(entries))
		}
		if !slices.EqualFunc(want, got, bytes.Equal) {
			t.Fatalf("case %d: %d entries, maxLen %d: %d messages (-Split +stream):\n%s",
				i, len(entries), maxLen, len(got), cmp.Diff(want, got))
		}
	}
}

// A failed send ends the stream: Add and Close return its error and send
// nothing more.
func TestReplyStreamSendError(t *testing.T) {
	sent := 0
	boom := fmt.Errorf("boom")
	s := NewReplyStream(1, ofp.MultipartTypeFlow, 100, func([]byte) error { sent++; return boom })
	var err error
	for range 10 {
		if err = s.Add(append(s.Buf(), make([]byte, 40)...)); err != nil {
			break
		}
	}
	if err != boom || s.Add(append(s.Buf(), 1)) != boom || s.Close() != boom || sent != 1 {
		t.Errorf("err %v, %d sends; want boom and 1", err, sent)
	}
}

// fieldValue reads every field as pipeline's FieldDesc.Get does.
func TestFieldValueIsGet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		var k pipeline.Key
		for _, f := range rng.Perm(len(basicFields)) {
			d := basicFields[f].Desc()
			v := make([]byte, d.Len)
			for i := range v {
				v[i] = byte(rng.Uint32())
			}
			d.Put(&k, v)
		}
		k.MPLS[0] = rng.Uint32()
		for _, f := range basicFields {
			var buf [16]byte
			if got, want := fieldValue(&buf, f, &k), f.Desc().Get(&k); !bytes.Equal(got, want) {
				t.Fatalf("%s: fieldValue %x, Get %x", f.Desc().Name, got, want)
			}
		}
	}
}

// dumpFlow is a rule as the control-plane benchmark adds it.
func dumpFlow() *FlowStats {
	var m pipeline.Match
	set := func(f pipeline.Field, v ...byte) { m.Set(f, v, nil) }
	set(pipeline.FieldInPort, 0, 0, 0, 1)
	set(pipeline.FieldEthType, 0x08, 0x00)
	set(pipeline.FieldIPProto, 17)
	set(pipeline.FieldIPv4Src, 10, 1, 2, 3)
	m.Set(pipeline.FieldIPv4Dst, []byte{10, 200, 0, 0}, []byte{255, 255, 0, 0})
	set(pipeline.FieldUDPSrc, 4, 0)
	set(pipeline.FieldUDPDst, 0, 9)
	return &FlowStats{
		TableID: 0, Duration: 1500 * time.Millisecond, Priority: 103, Cookie: 7, Packets: 1, Bytes: 60, Match: m,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}},
	}
}

// Encoding a flow stats entry allocates nothing once the buffer has room.
func TestAppendFlowStatsAllocatesNothing(t *testing.T) {
	fs := dumpFlow()
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() { AppendFlowStats(buf[:0], fs) }); n != 0 {
		t.Errorf("AppendFlowStats allocates %v times per entry, want 0", n)
	}
	got, err := DecodeFlowStats(AppendFlowStats(nil, fs))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]FlowStats{*fs}, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// BenchmarkFlowStatsReply encodes a 100,000-entry OFPMP_FLOW reply
// through a ReplyStream: bytes per entry stay at the one message's
// buffer over all of them.
func BenchmarkFlowStatsReply(b *testing.B) {
	fs := dumpFlow()
	b.ReportAllocs()
	for b.Loop() {
		s := NewReplyStream(1, ofp.MultipartTypeFlow, 0, func([]byte) error { return nil })
		for range 100_000 {
			s.Add(AppendFlowStats(s.Buf(), fs))
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/100_000, "ns/flow")
}

// maskFields finds the fields pipeline's Match.Has finds.
func TestMaskFieldsIsHas(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		var m pipeline.Match
		for range 1 + i%4 {
			d := basicFields[rng.IntN(len(basicFields))].Desc()
			v := make([]byte, d.Len)
			v[rng.IntN(d.Len)] = byte(1 << rng.IntN(8))
			d.Put(&m.Mask, v)
		}
		got := maskFields(&m.Mask)
		for _, f := range basicFields {
			if got.has(f) != m.Has(f) {
				t.Fatalf("mask %+v: maskFields has %s: %v, Match.Has: %v", m.Mask, f.Desc().Name, got.has(f), m.Has(f))
			}
		}
	}
}
