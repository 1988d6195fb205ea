package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestFlowsSayEachReasonOnce: rules that share a long reason (a tc tier
// that is unavailable makes it every rule's) get it once above the table,
// and a short key in their rows.
func TestFlowsSayEachReasonOnce(t *testing.T) {
	const long = "tc tier unavailable: the kernel has no cls_flower (modprobe cls_flower, or a kernel built with CONFIG_NET_CLS_FLOWER); every rule runs in the fast path"
	f := resttest.NewFake()
	f.Nets["green"] = &rest.Network{NetworkSpec: rest.NetworkSpec{Name: "green", Mode: "host"}, Status: rest.NetworkStatus{Running: true}}
	f.FlowList["green"] = []rest.Flow{
		{Table: 0, Priority: 300, Match: "in_port=1", Actions: "output:2", Tier: "soft", Reason: long, Packets: 3, Bytes: 300, Soft: rest.Counts{Packets: 3, Bytes: 300}},
		{Table: 0, Priority: 200, Match: "in_port=2", Actions: "output:1", Tier: "soft", Reason: long},
		{Table: 0, Priority: 100, Match: "dl_type=0x0806", Actions: "CONTROLLER:65535", Tier: "soft", Reason: "output to CONTROLLER has no flower form"},
		{Table: 1, Priority: 0, Actions: "drop", Tier: "soft", Reason: long},
	}
	sock := resttest.Serve(t, f)
	var stdout, stderr bytes.Buffer
	if err := Run([]string{"--socket", sock, "flows", "green"}, &stdout, &stderr); err != nil {
		t.Fatalf("flows: %v\nstderr: %s", err, stderr.String())
	}
	out := stdout.String()
	for _, reason := range []string{long, "output to CONTROLLER has no flower form"} {
		if n := strings.Count(out, reason); n != 1 {
			t.Errorf("the reason %q is in the output %d times, want once:\n%s", reason, n, out)
		}
	}
	checkGolden(t, "flows_reasons", out)
}
