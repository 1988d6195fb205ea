//go:build linux

package tcport

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// BenchmarkBlockLayout compares the two ways the tc tier can lay a
// network's filters out in kernel software (policy tc): one shared block
// bound to every port, rules with in_port matching indev, against a block
// per port (how the hardware policies must do it). It installs the same
// rules through offload.Network to the barrier, in a fresh namespace of
// four veth ports, and reports rules/s and the filters and offloaded
// rules each layout ends with. Rule kinds: "in_port" (every rule names
// its port), "any_port_drop" (no in_port, drop: one filter shared, one per
// port otherwise), "any_port_output" (no in_port, output: the shared
// block cannot express it, per-port blocks can).
func BenchmarkBlockLayout(b *testing.B) {
	vmtest.Require(b)
	const ports, rules = 4, 2000
	for _, kind := range []string{"in_port", "any_port_drop", "any_port_output"} {
		for _, layout := range []string{"shared", "per_port"} {
			b.Run(kind+"/"+layout, func(b *testing.B) {
				var filters, offloaded int
				var took time.Duration
				for i := 0; i < b.N; i++ {
					filters, offloaded, took = installLayout(b, layout == "per_port", kind, ports, rules)
				}
				b.ReportMetric(float64(rules)/took.Seconds(), "rules/s")
				b.ReportMetric(float64(filters), "filters")
				b.ReportMetric(float64(offloaded), "offloaded")
			})
		}
	}
}

func installLayout(b *testing.B, perPort bool, kind string, ports, rules int) (filters, offloaded int, took time.Duration) {
	b.Helper()
	s := newSweepNS(b)
	n := offload.New(offload.Config{Name: "layout", Offload: offload.PolicyTC,
		TC: &offload.TCConfig{Kernel: s.h, Block: 0x4000_1000, PerPortBlocks: perPort, ReconcileDelay: time.Hour}})
	defer n.Close()
	for no := 1; no <= ports; no++ {
		ifindex := s.veth(b, fmt.Sprintf("lay%d", no))
		info := offload.PortInfo{No: uint32(no), Name: fmt.Sprintf("lay%d", no), Up: true, Ifindex: ifindex}
		if err := n.AddPort(info, memio.New()); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < rules; i++ {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: uint16(100 + i%50),
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
		fm.Match.Set(pipeline.FieldIPv4Dst, []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, nil)
		switch kind {
		case "in_port":
			fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, byte(1 + i%ports)}, nil)
			fm.Instr.HasApply, fm.Instr.Apply = true, []pipeline.Action{pipeline.Output(uint32(1 + (i+1)%ports))}
		case "any_port_output":
			fm.Instr.HasApply, fm.Instr.Apply = true, []pipeline.Action{pipeline.Output(uint32(1 + i%ports))}
		}
		if err := n.FlowMod(ctx, fm); err != nil {
			b.Fatal(err)
		}
	}
	if err := n.Barrier(ctx); err != nil {
		b.Fatal(err)
	}
	took = time.Since(start)
	for _, fs := range n.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}) {
		filters += fs.Filters
		if fs.Tier != offload.TierSoft {
			offloaded++
		}
	}
	return filters, offloaded, took
}
