package manager

import (
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// TestUpdateKeepsRules: a PUT that changes only fail_mode or datapath_id
// restarts the network and installs its rules and groups again, and
// status.changes says so.
func TestUpdateKeepsRules(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1", "eth2"), nil)
	spec := rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth1", "eth2"}}
	if _, err := d.create(spec); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	run, err := d.m.runningNet("blue")
	if err != nil {
		t.Fatal(err)
	}
	gm := &pipeline.GroupMod{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: 7,
		Buckets: []pipeline.Bucket{{Actions: []pipeline.Action{pipeline.Output(2)}, WatchPort: pipeline.PortAny, WatchGroup: pipeline.GroupAny}}}
	if err := run.net.GroupMod(ctx, gm); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"priority=10,in_port=1,actions=output:2", "priority=5,in_port=2,actions=group:7", "table=0,priority=0,actions=drop"} {
		if err := run.net.FlowMod(ctx, flowtext.MustFlowMod(r)); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name   string
		change func(*rest.NetworkSpec)
		field  string
	}{
		{"fail_mode", func(s *rest.NetworkSpec) { s.FailMode = "standalone" }, "fail_mode"},
		{"datapath_id", func(s *rest.NetworkSpec) { s.DatapathID = 0x42 }, "datapath_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.change(&spec)
			n, err := d.update(spec)
			if err != nil {
				t.Fatal(err)
			}
			run, err := d.m.runningNet("blue")
			if err != nil {
				t.Fatal(err)
			}
			if got := len(run.net.FlowStats(allFlows())); got != 3 {
				t.Errorf("%d rules after the update, want 3", got)
			}
			if got := len(run.net.Groups()); got != 1 {
				t.Errorf("%d groups after the update, want 1", got)
			}
			all := strings.Join(n.Status.Changes, "\n")
			for _, want := range []string{tt.field + " changed", "3 rules, 1 groups, 0 meters installed again"} {
				if !strings.Contains(all, want) {
					t.Errorf("status.changes %q, want it to say %q", n.Status.Changes, want)
				}
			}
		})
	}
}
