package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/openflow/ofnetwork"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/test/waitfor"
)

// TestOpenFlowCommands: tables, and flows and ports given --switch or
// --run-dir, talk OpenFlow to a running switch's management socket,
// without the API.
func TestOpenFlowCommands(t *testing.T) {
	dir := t.TempDir()
	n := offload.New(offload.Config{Name: "blue", DPID: 7})
	for i, name := range []string{"vnet0", "vnet1"} {
		if err := n.AddPort(offload.PortInfo{No: uint32(i + 1), Name: name, Up: true}, memio.New()); err != nil {
			t.Fatal(err)
		}
	}
	fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: 42, Cookie: 0xbeef, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	fm.Instr.HasApply = true
	fm.Instr.Apply = []pipeline.Action{pipeline.Output(2)}
	if err := n.FlowMod(context.Background(), fm); err != nil {
		t.Fatal(err)
	}
	sw, err := openflow.New(openflow.Config{Datapath: ofnetwork.New(n), Targets: []string{"punix:" + filepath.Join(dir, "blue.mgmt")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sw.Serve(ctx) }() //nolint:errcheck // ends with ctx
	t.Cleanup(func() { cancel(); <-done })
	waitfor.True(t, 5*time.Second, "the switch to listen", func() bool { return len(sw.Addrs()) > 0 })

	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"flows", "blue", "--run-dir", dir}, []string{"1 flows", "cookie=0xbeef", "priority=42", "in_port=1", "actions=output:2"}},
		{[]string{"ports", "--run-dir", dir, "blue"}, []string{"PORT", "vnet0", "vnet1"}},
		{[]string{"tables", "blue", "--run-dir", dir}, []string{"TABLE  FLOWS  LOOKUPS  MATCHED\n0      1      0        0\n"}},
		{[]string{"tables", "--switch", "unix:" + filepath.Join(dir, "blue.mgmt"), "-o", "json"}, []string{`"table": 0`, `"active": 1`}},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := Run(tt.args, &out, &out); err != nil {
			t.Fatalf("Run(%q): %v", tt.args, err)
		}
		for _, w := range tt.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("output of %q lacks %q:\n%s", tt.args, w, out.String())
			}
		}
	}

	for _, args := range [][]string{
		{"tables", "ghost", "--run-dir", dir},
		{"flows", "ghost", "--run-dir", dir},
		{"ports", "--switch", "unix:" + filepath.Join(dir, "ghost.mgmt"), "ghost"},
	} {
		var out bytes.Buffer
		err := Run(args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), "connect to network ghost") {
			t.Errorf("Run(%q) with no switch = %v, want an error naming the network", args, err)
		}
	}
	var out bytes.Buffer
	err = Run([]string{"flows", "blue", "--run-dir", dir, "-o", "json"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "-o json needs the API") {
		t.Errorf("flows --run-dir -o json = %v, want an error", err)
	}
}
