package offload

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// TestFlowModsAppliesABurstInOrderWithOneErrorEach: mods that arrive
// together go in as one batch, in order (each sees the ones before it),
// a bad one fails alone with its own error, a flow added and deleted in
// the same batch still gets its FLOW_REMOVED, and the fast path forwards
// by the batch's result as soon as FlowMods returns.
func TestFlowModsAppliesABurstInOrderWithOneErrorEach(t *testing.T) {
	tn := newTestNet(t, FailSecure)
	ctx := context.Background()

	temp := inPortFlow(2, 1, 30)
	temp.Flags = pipeline.FlagSendFlowRem
	delTemp := *temp
	delTemp.Command = pipeline.FlowDeleteStrict
	toPort1 := inPortFlow(1, 1, 10)
	retarget := inPortFlow(1, 2, 10)
	retarget.Command = pipeline.FlowModifyStrict
	badTable := inPortFlow(1, 2, 10)
	badTable.Table = pipeline.NumTables // no such table
	overlap := inPortFlow(1, 2, 10)
	overlap.Match = pipeline.Match{} // overlaps toPort1 at its priority
	overlap.Flags = pipeline.FlagCheckOverlap

	errs := tn.FlowMods(ctx, []*pipeline.FlowMod{temp, toPort1, badTable, retarget, &delTemp, overlap})
	var pe *pipeline.Error
	for i, err := range errs {
		switch i {
		case 2:
			if !errors.As(err, &pe) || pe.Type != pipeline.ErrFlowModFailed || pe.Code != pipeline.FlowModBadTableID {
				t.Errorf("mod %d (table %d) = %v, want FLOW_MOD_FAILED/BAD_TABLE_ID", i, badTable.Table, err)
			}
		case 5:
			if !errors.As(err, &pe) || pe.Type != pipeline.ErrFlowModFailed || pe.Code != pipeline.FlowModOverlap {
				t.Errorf("mod %d (overlapping) = %v, want FLOW_MOD_FAILED/OVERLAP", i, err)
			}
		default:
			if err != nil {
				t.Errorf("mod %d = %v, want nil", i, err)
			}
		}
	}
	flows := tn.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	if len(flows) != 1 || !flows[0].Flow.Instr.OutputsTo(2) {
		t.Fatalf("flows after the batch = %+v, want in_port=1 → output:2 alone (modified in the same batch)", flows)
	}
	if rm := tn.eventsOf(func(e Event) bool { _, ok := e.(*FlowRemoved); return ok }); len(rm) != 1 || rm[0].(*FlowRemoved).Flow.Priority != 30 {
		t.Errorf("FLOW_REMOVED events = %v, want the one of the flow added and deleted in the batch", rm)
	}
	tn.p1.Inject(udpFrame())
	if got := tn.p2.WaitSent(1, 5*time.Second); len(got) != 1 {
		t.Errorf("port 2 sent %d frames, want the one port 1 received (the batch's output:2)", len(got))
	}
}
