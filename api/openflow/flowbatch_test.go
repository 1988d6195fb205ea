package openflow

import (
	"encoding/binary"
	"testing"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// TestFlowModsSentBackToBackAreOneBatch: FLOW_MODs a controller writes
// back to back reach the datapath as one batch; a malformed one in the
// middle is answered with its own error and xid and the others apply; the
// BARRIER_REPLY after them comes after that error; a FLOW_MOD after the
// barrier is a batch of its own.
func TestFlowModsSentBackToBackAreOneBatch(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	rc := dialRaw(t, addr)

	var burst []byte
	const n = 50
	for i := range n {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: uint16(100 + i), OutPort: pipeline.PortAny,
			OutGroup: pipeline.GroupAny, BufferID: ofwire.NoBuffer}
		msg := ofwire.Marshal(of.TypeFlowMod, uint32(1000+i), ofwire.AppendFlowMod(nil, fm))
		if i == 20 {
			msg = msg[:ofwire.HeaderLen+20] // cut short: its length says so
			binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)))
		}
		burst = append(burst, msg...)
	}
	burst = append(burst, ofwire.Marshal(of.TypeBarrierRequest, 2000, nil)...)
	last := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: 7, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: ofwire.NoBuffer}
	burst = append(burst, ofwire.Marshal(of.TypeFlowMod, 3000, ofwire.AppendFlowMod(nil, last))...)
	burst = append(burst, ofwire.Marshal(of.TypeBarrierRequest, 3001, nil)...)
	rc.send(burst)

	h, body := rc.readType(of.TypeError)
	if h.Xid != 1020 {
		t.Errorf("error for xid %d, want 1020 (the short flow mod)", h.Xid)
	}
	if e, err := ofwire.DecodeError(body); err != nil || e.Type != pipeline.ErrBadRequest {
		t.Errorf("error %+v, %v; want OFPET_BAD_REQUEST", e, err)
	}
	if h, _ := rc.readType(of.TypeBarrierReply); h.Xid != 2000 {
		t.Errorf("barrier reply xid %d, want 2000", h.Xid)
	}
	if h, _ := rc.readType(of.TypeBarrierReply); h.Xid != 3001 {
		t.Errorf("barrier reply xid %d, want 3001", h.Xid)
	}
	dp.mu.Lock()
	batches, flows := dp.batches, len(dp.flows)
	dp.mu.Unlock()
	if flows != n {
		t.Errorf("datapath holds %d flows, want %d (the %d good mods and the last)", flows, n, n-1)
	}
	// The burst is one write, so it normally arrives whole; TCP may split
	// it, and each piece is then a batch of its own.
	if len(batches) < 2 || batches[len(batches)-1] != 1 || len(batches) > 1+(len(burst)/1400+1) {
		t.Errorf("FlowMods batch sizes %v, want the %d mods before the barrier in one batch or a few, then 1", batches, n-1)
	}
	sum := 0
	for _, b := range batches[:len(batches)-1] {
		sum += b
	}
	if sum != n-1 {
		t.Errorf("batches before the barrier hold %d mods, want %d", sum, n-1)
	}
}
