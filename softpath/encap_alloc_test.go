package softpath

import (
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// TestEncapDoesNotAllocate forwards a frame through pushes of every kind
// (PBB, MPLS, VLAN: 26 bytes more), TTL actions and the pops back: the
// frame grows within its buffer, nothing is allocated.
func TestEncapDoesNotAllocate(t *testing.T) {
	acts := []pipeline.Action{
		{Type: pipeline.ActionPushMPLS, EtherType: pipeline.EthTypeMPLS},
		{Type: pipeline.ActionDecMPLSTTL},
		{Type: pipeline.ActionCopyTTLIn},
		{Type: pipeline.ActionPushPBB, EtherType: pipeline.EthTypePBB},
		pipeline.SetField(pipeline.FieldPBBISID, []byte{1, 2, 3}),
		{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeQinQ},
		pipeline.Output(2),
		{Type: pipeline.ActionPopVLAN},
		{Type: pipeline.ActionPopPBB},
		{Type: pipeline.ActionPopMPLS, EtherType: pipeline.EthTypeIPv4},
		{Type: pipeline.ActionDecNwTTL},
		pipeline.Output(2),
	}
	s := pipeline.SnapshotOf([pipeline.NumTables][]*pipeline.Flow{0: {{ID: 1, Priority: 1,
		Instr: &pipeline.Instructions{Apply: acts, HasApply: true}, Counters: &pipeline.Counters{}}}}, nil, nil)
	for _, cache := range []bool{false, true} {
		_, w, in, out := newBenchDatapath(t, s, cache)
		frame := udpFrame(0x0a000007)
		buf := make([]byte, 2048)
		allocs := testing.AllocsPerRun(1000, func() {
			n := copy(buf, frame)
			w.begin()
			w.receive(in.no, buf[:n], 0)
			w.flush()
		})
		if allocs != 0 {
			t.Errorf("cache=%v: forwarding through pushes and pops allocates %v times", cache, allocs)
		}
		if out.written < 2000 {
			t.Errorf("cache=%v: forwarded %d frames, want >= 2000", cache, out.written)
		}
	}
}
