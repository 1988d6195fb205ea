package manager

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// appear creates netdev name behind the manager's back and reports it to
// the link watcher as RTM_NEWLINK does (when the call returns, the
// manager has seen it).
func (l *fakeLinks) appear(name string) {
	l.add(name)
	l.mu.Lock()
	watch := l.watch
	l.mu.Unlock()
	if watch != nil {
		watch(LinkEvent{Name: name, Up: true})
	}
}

// portEvents records a network's PORT_STATUS events as "reason NO NAME".
type portEvents struct {
	mu   sync.Mutex
	seen []string
}

func (e *portEvents) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.seen
	e.seen = nil
	return out
}

// watchPorts subscribes to the PORT_STATUS events of running network name.
func (d *testDaemon) watchPorts(name string) (*offload.Network, *portEvents) {
	d.t.Helper()
	run, err := d.m.runningNet(name)
	if err != nil {
		d.t.Fatal(err)
	}
	ev := &portEvents{}
	reasons := map[uint8]string{offload.PortAdded: "add", offload.PortDeleted: "delete", offload.PortModified: "modify"}
	cancel := run.net.Subscribe(func(e offload.Event) {
		if ps, ok := e.(*offload.PortStatus); ok {
			ev.mu.Lock()
			ev.seen = append(ev.seen, fmt.Sprintf("%s %d %s", reasons[ps.Reason], ps.Port.No, ps.Port.Name))
			ev.mu.Unlock()
		}
	})
	d.t.Cleanup(cancel)
	return run.net, ev
}

// missing lists a network's ports the status shows as missing: "NO NAME".
func (d *testDaemon) missing(name string) []string {
	d.t.Helper()
	n, err := d.m.Network(d.t.Context(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, p := range n.Status.Ports {
		if p.Missing != "" {
			if !strings.Contains(p.Missing, p.Name+" was deleted") || !strings.Contains(p.Missing, "comes back") {
				d.t.Errorf("port %d missing: %q, want what happened and what brings it back", p.No, p.Missing)
			}
			out = append(out, fmt.Sprintf("%d %s", p.No, p.Name))
		}
	}
	return out
}

// TestDeletedFixedPortComesBack: a network's own port (a netdev of its
// ports, its uplink) deleted under it leaves the datapath with a
// PORT_STATUS delete and shows as missing; its rules stay; when a netdev
// of its name appears again it comes back with its number and OFPPC_*
// config (PORT_STATUS add). A vNIC's port in the same network is not
// touched, and a netdev of another name appearing brings nothing back.
func TestDeletedFixedPortComesBack(t *testing.T) {
	for _, tc := range []struct {
		name    string
		spec    rest.NetworkSpec
		gone    string
		no      uint32
		kind    string
		ports   []string // after the attach
		withVIF bool
	}{
		{name: "port", spec: rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth1", "eth2"}},
			gone: "eth2", no: 2, kind: "netdev", withVIF: true,
			ports: []string{"1 eth1 netdev", "2 eth2 netdev", "3 nfh-vm1 veth vm1"}},
		{name: "hairpin uplink", spec: rest.NetworkSpec{Name: "blue", Mode: "hairpin", Uplink: "eth1", Ports: []string{"eth2"}, Offload: "off"},
			gone: "eth1", no: 1, kind: "uplink",
			ports: []string{"1 eth1 uplink", "2 eth2 netdev"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			links := newFakeLinks("eth1", "eth2")
			d := newTestDaemon(t, links, nil)
			if _, err := d.create(tc.spec); err != nil {
				t.Fatal(err)
			}
			if tc.withVIF {
				if _, _, err := d.attach(rest.VNICSpec{ID: "vm1", Network: "blue"}); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(tc.ports, d.ports("blue")); diff != "" {
				t.Fatalf("ports (-want +got):\n%s", diff)
			}
			net, events := d.watchPorts("blue")
			rules := []string{fmt.Sprintf("priority=10,in_port=%d,actions=output:1", tc.no), "priority=5,actions=output:" + fmt.Sprint(tc.no)}
			for _, r := range rules {
				if err := net.FlowMod(t.Context(), flowtext.MustFlowMod(r)); err != nil {
					t.Fatalf("add %s: %v", r, err)
				}
			}
			p, _ := net.PortByName(tc.gone)
			pm := offload.PortMod{Port: tc.no, Config: offload.PortConfigNoFwd, Mask: offload.PortConfigNoFwd}
			copy(pm.HWAddr[:], p.HWAddr)
			if err := net.PortMod(pm); err != nil {
				t.Fatal(err)
			}
			events.take()

			links.remove(tc.gone)
			if diff := cmp.Diff([]string{fmt.Sprintf("delete %d %s", tc.no, tc.gone)}, events.take()); diff != "" {
				t.Errorf("PORT_STATUS on the deletion (-want +got):\n%s", diff)
			}
			// Listed still, in its place, as missing.
			if diff := cmp.Diff(tc.ports, d.ports("blue")); diff != "" {
				t.Errorf("status ports with %s gone (-want +got):\n%s", tc.gone, diff)
			}
			if diff := cmp.Diff([]string{fmt.Sprintf("%d %s", tc.no, tc.gone)}, d.missing("blue")); diff != "" {
				t.Errorf("missing ports (-want +got):\n%s", diff)
			}
			if _, ok := net.PortByName(tc.gone); ok {
				t.Errorf("%s is still a port of the datapath", tc.gone)
			}
			if got := len(net.FlowStats(allFlows())); got != len(rules) {
				t.Errorf("%d rules with %s gone, want %d (kept)", got, tc.gone, len(rules))
			}
			if tc.withVIF {
				if v, err := d.m.VNIC(t.Context(), "vm1"); err != nil || v.Broken != "" {
					t.Errorf("vm1 with a fixed port gone: broken %q, %v; want it untouched", v.Broken, err)
				}
			}

			links.appear("eth7") // another netdev: nothing comes back
			links.watch(LinkEvent{Name: "eth1", Up: false})
			if got := d.missing("blue"); len(got) != 1 {
				t.Errorf("missing after other link events: %v, want %s still", got, tc.gone)
			}

			events.take()
			links.appear(tc.gone)
			got := events.take()
			if len(got) == 0 || got[0] != fmt.Sprintf("add %d %s", tc.no, tc.gone) {
				t.Errorf("PORT_STATUS on the return = %q, want add %d %s first", got, tc.no, tc.gone)
			}
			if diff := cmp.Diff(tc.ports, d.ports("blue")); diff != "" {
				t.Errorf("ports after %s is back (-want +got):\n%s", tc.gone, diff)
			}
			if m := d.missing("blue"); len(m) != 0 {
				t.Errorf("still missing: %v", m)
			}
			if p, ok := net.PortByName(tc.gone); !ok || p.No != tc.no || p.Config() != offload.PortConfigNoFwd {
				t.Errorf("%s back as port %d config %#x (%v), want port %d with NO_FWD", tc.gone, p.No, p.Config(), ok, tc.no)
			}
			if got := len(net.FlowStats(allFlows())); got != len(rules) {
				t.Errorf("%d rules after %s is back, want %d", got, tc.gone, len(rules))
			}
		})
	}
}
