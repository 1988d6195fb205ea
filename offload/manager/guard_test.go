package manager

import (
	"context"
	"errors"
	"testing"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// bundleRecorder is a Datapath that records the bundles it gets (its
// other methods are not called here).
type bundleRecorder struct {
	openflow.Datapath
	got [][]offload.BundleMod
}

func (r *bundleRecorder) Bundle(_ context.Context, mods []offload.BundleMod) error {
	r.got = append(r.got, mods)
	return nil
}

// TestFlowGuardBundle: while a refusal is set, a bundle with a flow add or
// modify is refused whole (FLOW_MOD_FAILED/EPERM for the first such mod)
// and never reaches the network; a bundle of deletes, groups and meters
// goes through, and everything does once the refusal is lifted.
func TestFlowGuardBundle(t *testing.T) {
	rec := &bundleRecorder{}
	g := newFlowGuard(rec, zap.NewNop())
	ctx := context.Background()
	del := &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: pipeline.TableAll}
	add := &pipeline.FlowMod{Command: pipeline.FlowAdd}
	modify := &pipeline.FlowMod{Command: pipeline.FlowModifyStrict}
	group := &pipeline.GroupMod{Command: pipeline.GroupDelete, ID: pipeline.GroupAll}

	g.refuse("legacy VEB")
	for _, mods := range [][]offload.BundleMod{{{Flow: del}, {Flow: add}}, {{Group: group}, {Flow: modify}, {Flow: add}}} {
		err := g.Bundle(ctx, mods)
		var be *offload.BundleError
		var pe *pipeline.Error
		if !errors.As(err, &be) || be.Index != 1 || !errors.As(err, &pe) || pe.Type != pipeline.ErrFlowModFailed || pe.Code != pipeline.FlowModEperm {
			t.Errorf("Bundle(%v) = %v, want mod 1 refused FLOW_MOD_FAILED/EPERM", mods, err)
		}
	}
	if len(rec.got) != 0 {
		t.Fatalf("refused bundles reached the network: %v", rec.got)
	}
	if err := g.Bundle(ctx, []offload.BundleMod{{Flow: del}, {Group: group}}); err != nil || len(rec.got) != 1 {
		t.Errorf("bundle of deletes = %v (%d bundles passed), want it passed on", err, len(rec.got))
	}
	g.refuse("")
	if err := g.Bundle(ctx, []offload.BundleMod{{Flow: add}}); err != nil || len(rec.got) != 2 {
		t.Errorf("bundle without a refusal = %v (%d bundles passed), want it passed on", err, len(rec.got))
	}
}
