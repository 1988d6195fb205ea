package manager

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
)

// TestStartLogCountsRestoredNetworks: the log of a start counts the
// networks it brought up, the restored ones with the configuration's.
func TestStartLogCountsRestoredNetworks(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1", "eth2", "eth3"), nil, rest.NetworkSpec{Name: "nf0", Ports: []string{"eth1"}, Offload: "off"})
	for _, spec := range []rest.NetworkSpec{
		{Name: "blue", Ports: []string{"eth2"}, Offload: "off"},
		{Name: "red", Ports: []string{"eth3"}, Offload: "off"},
	} {
		if _, err := d.create(spec); err != nil {
			t.Fatalf("create %s: %v", spec.Name, err)
		}
	}
	d.observe = true
	d.restart()
	started := d.logs.FilterMessage("networks started").All()
	if len(started) != 1 {
		t.Fatalf("%d \"networks started\" log entries, want 1; log: %v", len(started), d.logs.All())
	}
	want := map[string]any{"networks": int64(3), "configured": int64(1), "restored": int64(2), "down": int64(0)}
	if diff := cmp.Diff(want, started[0].ContextMap()); diff != "" {
		t.Errorf("networks started (-want +got):\n%s", diff)
	}
}
