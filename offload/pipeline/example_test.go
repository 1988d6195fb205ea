package pipeline_test

import (
	"fmt"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// A two-table pipeline: table 0 tags traffic from port 1 with metadata and
// sends it to table 1, which forwards tagged traffic to port 2.
func Example() {
	p := pipeline.New()
	now := time.Now()

	var fromPort1 pipeline.Match
	fromPort1.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	_, err := p.FlowMod(&pipeline.FlowMod{
		Command: pipeline.FlowAdd, Table: 0, Priority: 10, Match: fromPort1,
		Instr: pipeline.Instructions{
			WriteMetadata: true, Metadata: 7, MetadataMask: 0xff,
			Goto: true, GotoTable: 1,
		},
	}, now)
	if err != nil {
		fmt.Println(err)
		return
	}

	var tagged pipeline.Match
	tagged.Set(pipeline.FieldMetadata, []byte{0, 0, 0, 0, 0, 0, 0, 7}, []byte{0, 0, 0, 0, 0, 0, 0, 0xff})
	_, err = p.FlowMod(&pipeline.FlowMod{
		Command: pipeline.FlowAdd, Table: 1, Priority: 10, Match: tagged,
		Instr: pipeline.Instructions{Apply: []pipeline.Action{pipeline.Output(2)}, HasApply: true},
	}, now)
	if err != nil {
		fmt.Println(err)
		return
	}

	// A bad mod is refused with the OpenFlow error to send back.
	_, err = p.FlowMod(&pipeline.FlowMod{Command: pipeline.FlowAdd, Table: 1, Instr: pipeline.Instructions{Goto: true, GotoTable: 0}}, now)
	fmt.Println(err)

	r := p.Snapshot().Evaluate(pipeline.Key{InPort: 1}, 64)
	fmt.Printf("hits %v\n", r.Hits)
	for _, o := range r.Outputs {
		fmt.Printf("output port %d metadata %d len %d\n", o.Port, o.Key.Metadata, o.Len)
	}
	// Output:
	// openflow error type 3 code 2: goto_table 0 from table 1
	// hits [{0 1} {1 2}]
	// output port 2 metadata 7 len 64
}
