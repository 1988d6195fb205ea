package openflow

import (
	"sync/atomic"
	"testing"
	"time"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// streamingDatapath makes n flows (cookie i, priority n-i) as it walks
// them, in chunks of 256; after the first half it waits for the test to
// have received the first reply part, as a dump that streams lets it.
type streamingDatapath struct {
	*fakeDatapath
	n         int
	firstPart chan struct{} // closed by the reader
	streamed  atomic.Bool
}

func (d *streamingDatapath) FlowStats(f *pipeline.FlowFilter, fn func([]FlowStat) error) error {
	chunk := make([]FlowStat, 0, 256)
	for i := 0; i < d.n; {
		chunk = chunk[:0]
		for ; i < d.n && len(chunk) < cap(chunk); i++ {
			fl := &pipeline.Flow{ID: uint64(i + 1), Priority: uint16(d.n - i), Cookie: uint64(i),
				Instr: &pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}}}
			fl.Match.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
			fl.Match.Set(pipeline.FieldIPv4Dst, []byte{10, 0, byte(i >> 8), byte(i)}, nil)
			chunk = append(chunk, FlowStat{Flow: fl, Packets: uint64(i), Bytes: 64 * uint64(i)})
		}
		if err := fn(chunk); err != nil {
			return err
		}
		if i >= d.n/2 && !d.streamed.Load() {
			select {
			case <-d.firstPart:
				d.streamed.Store(true)
			case <-time.After(10 * time.Second):
				return nil // the reader tells: it never got a part
			}
		}
	}
	return nil
}

// TestFlowStatsStreams: a dump of 20,000 flows goes out in REPLY_MORE
// parts while the datapath is still walking its flows (the first part
// arrives before the walk ends), every flow exactly once, in order, each
// part within the 64 KiB an OpenFlow message can hold.
func TestFlowStatsStreams(t *testing.T) {
	const n = 20000
	dp := &streamingDatapath{fakeDatapath: newFakeDatapath(), n: n, firstPart: make(chan struct{})}
	_, addr := startSwitch(t, dp.fakeDatapath, func(c *Config) { c.Datapath = dp })
	rc := dialRaw(t, addr)
	rc.send(multipartMsg(9, 1, ofwire.AppendFlowStatsRequest(nil, &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})))
	next, parts := 0, 0
	for {
		h, body, err := rc.tryRead(30 * time.Second) // longer than the datapath waits for the first part
		if err != nil {
			t.Fatalf("after %d parts: %v", parts, err)
		}
		if h.Type != of.TypeMultipartReply {
			continue // an ECHO_REQUEST
		}
		parts++
		if h.Xid != 9 || h.Length > ofwire.MaxMessageLen {
			t.Fatalf("part %d: xid %d, %d bytes; want xid 9, at most %d", parts, h.Xid, h.Length, ofwire.MaxMessageLen)
		}
		if parts == 1 {
			close(dp.firstPart)
		}
		mp, err := ofwire.DecodeMultipart(body)
		if err != nil {
			t.Fatal(err)
		}
		fs, err := ofwire.DecodeFlowStats(mp.Body)
		if err != nil {
			t.Fatalf("part %d: %v", parts, err)
		}
		for _, f := range fs {
			if f.Cookie != uint64(next) || f.Priority != uint16(n-next) || f.Packets != uint64(next) {
				t.Fatalf("part %d: flow with cookie %d priority %d packets %d, want flow %d next", parts, f.Cookie, f.Priority, f.Packets, next)
			}
			next++
		}
		if mp.Flags&ofwire.MultipartReplyMore == 0 {
			break
		}
	}
	if next != n || parts < 10 {
		t.Errorf("%d flows in %d parts, want %d in many", next, parts, n)
	}
	if !dp.streamed.Load() {
		t.Errorf("the first reply part did not arrive before the datapath's walk ended: the dump is built whole first")
	}
	// The channel goes on: an aggregate over the same walk.
	rc.send(multipartMsg(10, 2, ofwire.AppendFlowStatsRequest(nil, &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})))
	h, body := rc.readType(of.TypeMultipartReply)
	mp, _ := ofwire.DecodeMultipart(body)
	a, err := ofwire.DecodeAggregateStats(mp.Body)
	if err != nil || h.Xid != 10 || a.Flows != n || a.Packets != uint64(n*(n-1)/2) {
		t.Errorf("aggregate: %+v, %v; want %d flows and %d packets", a, err, n, n*(n-1)/2)
	}
}
