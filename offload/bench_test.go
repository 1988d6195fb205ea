package offload

import (
	"context"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// BenchmarkFlowModIntoBusyPipeline adds one flow to table 0 of a network
// whose table 1 already holds 5000 flows: the cost of a flow mod should
// not grow with the tables it does not touch.
func BenchmarkFlowModIntoBusyPipeline(b *testing.B) {
	n := New(Config{Name: "bench"})
	ctx := context.Background()
	mod := func(table uint8, i int) *pipeline.FlowMod {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: table, Priority: 10,
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldMetadata, []byte{0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}, nil)
		return fm
	}
	for i := 0; i < 5000; i++ {
		if err := n.FlowMod(ctx, mod(1, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.FlowMod(ctx, mod(0, i)); err != nil {
			b.Fatal(err)
		}
	}
}
