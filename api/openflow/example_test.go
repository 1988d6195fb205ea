package openflow

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// ExampleSwitch serves a datapath on a loopback port and talks to it with
// ofclient, as nicflowd and nicflowctl do.
func ExampleSwitch() {
	// dp is any Datapath: offload's network in nicflowd, the tests'
	// in-memory fake here.
	var dp Datapath = newFakeDatapath()
	sw, err := New(Config{Datapath: dp, Targets: []string{"ptcp:0:127.0.0.1"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := sw.Listen(); err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go sw.Serve(ctx)

	c, err := ofclient.Dial(ctx, "tcp:"+sw.Addrs()[0].String())
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	fm := &pipeline.FlowMod{Priority: 100, Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}}}
	fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	if err := c.AddFlow(ctx, fm); err != nil {
		fmt.Println(err)
		return
	}
	flows, err := c.FlowStats(ctx, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	ofclient.FormatFlows(os.Stdout, flows)
	// Output:
	//  cookie=0x0, duration=1.234s, table=0, n_packets=5, n_bytes=490, priority=100,in_port=1 actions=output:2
}
