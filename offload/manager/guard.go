package manager

import (
	"context"
	"sync/atomic"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// flowGuard is a network's OpenFlow datapath with the refusal of its
// mode: while a refusal is set (mode nic on a legacy VEB, which switches
// VF traffic by MAC and VLAN where nicflow never sees it), FLOW_MOD add
// and modify answer OFPT_ERROR OFPET_FLOW_MOD_FAILED / OFPFMFC_EPERM
// ("permissions error": the switch will not take the rule, whatever its
// form) and the channel stays up; deletes, stats and everything else go
// through. OpenFlow 1.3 errors carry no text beyond the offending
// message, so the reason is logged, and shown in the network's REST
// status (mode_note).
//
// It is safe for concurrent use; the manager sets the refusal when the
// network starts and when its mode changes.
type flowGuard struct {
	openflow.Datapath
	log     *zap.Logger
	refusal atomic.Pointer[string]
}

func newFlowGuard(dp openflow.Datapath, log *zap.Logger) *flowGuard {
	return &flowGuard{Datapath: dp, log: log}
}

// refuse sets the reason flow rules are refused; "" takes them again.
func (g *flowGuard) refuse(why string) {
	if why == "" {
		g.refusal.Store(nil)
		return
	}
	g.refusal.Store(&why)
}

// reason is the refusal in force, "" when flow rules are taken.
func (g *flowGuard) reason() string {
	if r := g.refusal.Load(); r != nil {
		return *r
	}
	return ""
}

// FlowMods refuses adds and modifies while a refusal is set and passes
// the rest on.
func (g *flowGuard) FlowMods(ctx context.Context, fms []*pipeline.FlowMod) []error {
	why := g.reason()
	if why == "" {
		return g.Datapath.FlowMods(ctx, fms)
	}
	errs := make([]error, len(fms))
	var pass []*pipeline.FlowMod
	var at []int
	for i, fm := range fms {
		switch fm.Command {
		case pipeline.FlowAdd, pipeline.FlowModify, pipeline.FlowModifyStrict:
			g.log.Warn("flow rule refused", zap.String("reason", why), zap.Uint8("table", fm.Table),
				zap.Uint16("priority", fm.Priority), zap.Uint64("cookie", fm.Cookie))
			errs[i] = &pipeline.Error{Type: pipeline.ErrFlowModFailed, Code: pipeline.FlowModEperm, Msg: why}
		default:
			pass, at = append(pass, fm), append(at, i)
		}
	}
	if len(pass) > 0 {
		for j, err := range g.Datapath.FlowMods(ctx, pass) {
			errs[at[j]] = err
		}
	}
	return errs
}

// Bundle refuses a bundle with a flow add or modify while a refusal is
// set, all of it (a bundle applies all or none), naming the first such
// mod as the one that failed; otherwise it passes the bundle on.
func (g *flowGuard) Bundle(ctx context.Context, mods []offload.BundleMod) error {
	why := g.reason()
	if why == "" {
		return g.Datapath.Bundle(ctx, mods)
	}
	for i, m := range mods {
		if fm := m.Flow; fm != nil {
			switch fm.Command {
			case pipeline.FlowAdd, pipeline.FlowModify, pipeline.FlowModifyStrict:
				g.log.Warn("bundle with a flow rule refused", zap.String("reason", why), zap.Int("message", i),
					zap.Uint8("table", fm.Table), zap.Uint16("priority", fm.Priority), zap.Uint64("cookie", fm.Cookie))
				return &offload.BundleError{Index: i, Err: &pipeline.Error{Type: pipeline.ErrFlowModFailed, Code: pipeline.FlowModEperm, Msg: why}}
			}
		}
	}
	return g.Datapath.Bundle(ctx, mods)
}
