package manager

import (
	"testing"

	"github.com/nicflow/nicflow/api/rest"
)

// TestTCUnavailableLoggedOnce: a nicflowd without a tc tier says so once,
// not for every network it starts and every update that restarts one.
func TestTCUnavailableLoggedOnce(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1", "eth2", "eth3"), nil, rest.NetworkSpec{Name: "nf0", Ports: []string{"eth1"}})
	d.observe = true
	d.restart()
	for _, spec := range []rest.NetworkSpec{
		{Name: "blue", Ports: []string{"eth2"}},
		{Name: "red", Ports: []string{"eth3"}},
	} {
		if _, err := d.create(spec); err != nil {
			t.Fatalf("create %s: %v", spec.Name, err)
		}
	}
	put := rest.NetworkSpec{Name: "blue", Ports: []string{"eth2"}, FailMode: "standalone"}
	if err := put.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := d.m.UpdateNetwork(t.Context(), "blue", put)
	if err != nil {
		t.Fatalf("update blue: %v", err)
	}
	if n.Status.Offload != "off" || n.Status.OffloadNote == "" {
		t.Errorf("blue's status: offload %q, note %q; want off with the reason", n.Status.Offload, n.Status.OffloadNote)
	}
	got := d.logs.FilterMessage("tc tier unavailable: every rule runs in the fast path").All()
	if len(got) != 1 {
		t.Errorf("%d log entries at info or above say the tc tier is unavailable, want 1: %v", len(got), got)
	}
}
