package manager

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// testDaemon is a Manager over fakes of the kernel and a real store in a
// temporary directory; restart shuts both down and opens them again,
// with the fixed networks.
type testDaemon struct {
	t      *testing.T
	links  *fakeLinks
	vfk    *fakeVF
	vepa   *fakeVEPA
	path   string
	runDir string
	// apiSocket is Config.APISocket ("": none).
	apiSocket string
	fixed     []rest.NetworkSpec
	// observe makes start collect the manager's log (Info and up) in logs.
	observe bool
	logs    *observer.ObservedLogs
	st      *store.Store
	m       *Manager
}

// newTestDaemon starts a testDaemon with fixed networks (validated).
func newTestDaemon(t *testing.T, links *fakeLinks, vfk *fakeVF, fixed ...rest.NetworkSpec) *testDaemon {
	t.Helper()
	dir := t.TempDir()
	d := &testDaemon{t: t, links: links, vfk: vfk, vepa: newFakeVEPA(links), path: filepath.Join(dir, "state.db"), runDir: dir, fixed: fixed}
	d.start()
	t.Cleanup(d.stop)
	return d
}

func (d *testDaemon) start() {
	d.t.Helper()
	st, err := store.Open(d.path)
	if err != nil {
		d.t.Fatal(err)
	}
	log := zaptest.NewLogger(d.t)
	if d.observe {
		var core zapcore.Core
		core, d.logs = observer.New(zap.InfoLevel)
		log = zap.New(zapcore.NewTee(log.Core(), core))
	}
	cfg := Config{RunDir: d.runDir, APISocket: d.apiSocket, Store: st, Log: log, Ports: fakePorts{d.links}, Links: d.links,
		Watch: d.links, VEPA: d.vepa, Errc: make(chan error, 8)}
	if d.vfk != nil {
		cfg.VF = d.vfk
	}
	m, err := New(cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.st, d.m = st, m
	for i := range d.fixed {
		if err := d.fixed[i].Validate(); err != nil {
			d.t.Fatal(err)
		}
	}
	if err := m.Start(d.t.Context(), d.fixed...); err != nil {
		d.t.Fatal(err)
	}
}

func (d *testDaemon) stop() {
	if d.m == nil {
		return
	}
	if err := d.m.Shutdown(context.Background()); err != nil {
		d.t.Error(err)
	}
	d.st.Close()
	d.m = nil
}

func (d *testDaemon) restart() {
	d.t.Helper()
	d.stop()
	d.start()
}

// create validates spec as the API does and creates the network.
func (d *testDaemon) create(spec rest.NetworkSpec) (rest.Network, error) {
	if err := spec.Validate(); err != nil {
		return rest.Network{}, err
	}
	return d.m.CreateNetwork(d.t.Context(), spec)
}

func (d *testDaemon) attach(spec rest.VNICSpec) (rest.VNIC, bool, error) {
	if err := spec.Validate(); err != nil {
		return rest.VNIC{}, false, err
	}
	return d.m.AttachVNIC(d.t.Context(), spec)
}

// networks is every network as the API shows it.
func (d *testDaemon) networks() []rest.Network {
	d.t.Helper()
	nets, err := d.m.Networks(d.t.Context())
	if err != nil {
		d.t.Fatal(err)
	}
	return nets
}

// ports lists a network's OpenFlow ports as "NO NAME KIND VNIC".
func (d *testDaemon) ports(name string) []string {
	d.t.Helper()
	n, err := d.m.Network(d.t.Context(), name)
	if err != nil {
		d.t.Fatal(err)
	}
	var out []string
	for _, p := range n.Status.Ports {
		out = append(out, strings.TrimSpace(fmt.Sprintf("%d %s %s %s", p.No, p.Name, p.Kind, p.VNIC)))
	}
	return out
}

// wantAPIError checks that err is a *rest.Error of kind naming field.
func wantAPIError(t *testing.T, what string, err error, kind error, field string) {
	t.Helper()
	var e *rest.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: err = %v, want a %q error naming %q", what, err, kind, field)
		return
	}
	if e.Kind != kind || e.Field != field {
		t.Errorf("%s: kind %q field %q (%v), want %q %q", what, e.Kind, e.Field, err, kind, field)
	}
}

func TestHostNetworkVNICsAndRestart(t *testing.T) {
	ctx := t.Context()
	d := newTestDaemon(t, newFakeLinks("eth9"), nil)
	n, err := d.create(rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth9"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if n.Status.Origin != rest.OriginAPI || !n.Status.Running || n.Mode != rest.ModeHost {
		t.Errorf("created network status = %+v", n.Status)
	}
	dpid := n.Status.DatapathID
	v1, created, err := d.attach(rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:00:01"})
	if err != nil || !created {
		t.Fatalf("attach vm1: created %v, %v", created, err)
	}
	want := rest.VNIC{VNICSpec: rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:00:01", VLANProto: "802.1Q",
		SpoofCheck: ptr(true), Trust: ptr(false), LinkState: "auto"}, VFIndex: -1, Netdev: "nfv-vm1", OFPort: 2}
	if diff := cmp.Diff(want, v1); diff != "" {
		t.Errorf("attach vm1 (-want +got):\n%s", diff)
	}
	if _, _, err := d.attach(rest.VNICSpec{ID: "vm2", Network: "blue"}); err != nil {
		t.Fatalf("attach vm2: %v", err)
	}
	wantPorts := []string{"1 eth9 netdev", "2 nfh-vm1 veth vm1", "3 nfh-vm2 veth vm2"}
	if diff := cmp.Diff(wantPorts, d.ports("blue")); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	// Idempotent per id; another spec is a conflict; bad input changes nothing.
	if again, created, err := d.attach(rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:00:01"}); err != nil || created || again.OFPort != 2 {
		t.Errorf("attach vm1 again = port %d, created %v, %v; want port 2, not created", again.OFPort, created, err)
	}
	before := d.links.names()
	_, _, err = d.attach(rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:00:09"})
	wantAPIError(t, "attach vm1 with another MAC", err, rest.ErrConflict, "id")
	_, _, err = d.attach(rest.VNICSpec{ID: "vm3", Network: "red"})
	wantAPIError(t, "attach to an unknown network", err, rest.ErrNotFound, "network")
	_, _, err = d.attach(rest.VNICSpec{ID: "vm3", Network: "blue", VLAN: 10})
	wantAPIError(t, "attach a host vNIC with a VLAN", err, rest.ErrInvalid, "vlan")
	if diff := cmp.Diff(before, d.links.names()); diff != "" {
		t.Errorf("refused attaches changed the links (-want +got):\n%s", diff)
	}
	wantAPIError(t, "delete with vNICs", d.m.DeleteNetwork(ctx, "blue"), rest.ErrConflict, "name")
	_, err = d.m.UpdateNetwork(ctx, "blue", rest.NetworkSpec{Name: "blue", Mode: "host", FailMode: "secure", Offload: "off"})
	wantAPIError(t, "drop a port with vNICs attached", err, rest.ErrConflict, "ports")

	// A restart brings the network back with its vNICs on the same ports.
	d.restart()
	n, err = d.m.Network(ctx, "blue")
	if err != nil || !n.Status.Running || n.Status.DatapathID != dpid {
		t.Fatalf("after restart: %+v, %v; want running with datapath id %v", n.Status, err, dpid)
	}
	if diff := cmp.Diff(wantPorts, d.ports("blue")); diff != "" {
		t.Errorf("ports after restart (-want +got):\n%s", diff)
	}
	// An update restarts the network; the vNICs keep their ports.
	n, err = d.m.UpdateNetwork(ctx, "blue", rest.NetworkSpec{Name: "blue", Mode: "host", FailMode: "standalone", Offload: "off", Ports: []string{"eth9"}})
	if err != nil || n.FailMode != "standalone" || n.Status.DatapathID != dpid {
		t.Fatalf("update: %+v, %v", n, err)
	}
	if diff := cmp.Diff(wantPorts, d.ports("blue")); diff != "" {
		t.Errorf("ports after update (-want +got):\n%s", diff)
	}

	// Detach is idempotent; the freed port number is reused.
	for _, id := range []string{"vm1", "vm1", "never-attached"} {
		if err := d.m.DetachVNIC(ctx, id); err != nil {
			t.Errorf("detach %s: %v", id, err)
		}
	}
	if d.links.HasLink("nfh-vm1") || d.links.HasLink("nfv-vm1") {
		t.Errorf("veth of vm1 left after detach: %v", d.links.names())
	}
	if v, _, err := d.attach(rest.VNICSpec{ID: "vm4", Network: "blue"}); err != nil || v.OFPort != 2 {
		t.Errorf("attach vm4 = port %d, %v; want the free port 2", v.OFPort, err)
	}
	for _, id := range []string{"vm2", "vm4"} {
		if err := d.m.DetachVNIC(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.m.DeleteNetwork(ctx, "blue"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	d.restart()
	if nets := d.networks(); len(nets) != 0 {
		t.Errorf("networks after delete and restart: %v", nets)
	}
}

func ptr[T any](v T) *T { return &v }

func TestConfigNetworksAreReadOnly(t *testing.T) {
	ctx := t.Context()
	d := newTestDaemon(t, newFakeLinks("eth1"), nil, rest.NetworkSpec{Name: "nf0", Ports: []string{"eth1"}, Offload: "off"})
	wantAPIError(t, "delete", d.m.DeleteNetwork(ctx, "nf0"), rest.ErrConflict, "name")
	_, err := d.m.UpdateNetwork(ctx, "nf0", rest.NetworkSpec{Name: "nf0", Mode: "host", FailMode: "secure", Offload: "off"})
	wantAPIError(t, "update", err, rest.ErrConflict, "name")
	_, err = d.create(rest.NetworkSpec{Name: "nf0", Offload: "off"})
	wantAPIError(t, "create with a configuration network's name", err, rest.ErrConflict, "name")
	_, err = d.create(rest.NetworkSpec{Name: "other", Offload: "off", Ports: []string{"eth1"}})
	wantAPIError(t, "create with a port of another network", err, rest.ErrConflict, "ports[0]")
	_, err = d.create(rest.NetworkSpec{Name: "other", Offload: "off", Ports: []string{"nosuch0"}})
	wantAPIError(t, "create with a missing port", err, rest.ErrInvalid, "ports[0]")
	_, err = d.create(rest.NetworkSpec{Name: "vepa", Mode: "hairpin", Uplink: "eth1", Offload: "off"})
	wantAPIError(t, "create in mode hairpin on a port of another network", err, rest.ErrConflict, "uplink")
	// Host vNICs attach to a configuration network too.
	if v, _, err := d.attach(rest.VNICSpec{ID: "c1", Network: "nf0"}); err != nil || v.OFPort != 2 {
		t.Errorf("attach to nf0 = port %d, %v; want port 2", v.OFPort, err)
	}
	if got := d.networks(); len(got) != 1 || got[0].Status.Origin != rest.OriginConfig {
		t.Errorf("networks = %+v, want nf0 only, origin config", got)
	}
}

func TestNICNetworkSwitchdev(t *testing.T) {
	ctx := t.Context()
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 4)
	d := newTestDaemon(t, links, k)
	n, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if n.Status.EswitchMode != vf.ModeSwitchdev {
		t.Errorf("eswitch mode = %q, want switchdev", n.Status.EswitchMode)
	}
	spec := rest.VNICSpec{ID: "vm1", Network: "sriov", MAC: "02:00:00:00:01:01", VLAN: 100, QoS: 2, SpoofCheck: ptr(false),
		Trust: ptr(true), MinTxRate: 10, MaxTxRate: 100, LinkState: "enable"}
	v, created, err := d.attach(spec)
	if err != nil || !created {
		t.Fatalf("attach: %v", err)
	}
	if v.VFIndex != 0 || v.Representor != "pf0r0" || v.OFPort != 2 || v.Uplink != "pf0" || v.Netdev != "pf0v0" {
		t.Errorf("vnic = %+v, want VF 0, representor pf0r0 on port 2", v)
	}
	wantState := vf.State{MAC: "02:00:00:00:01:01", VLAN: 100, QoS: 2, VLANProto: "802.1Q", SpoofCheck: false, Trust: true,
		MinTxRate: 10, MaxTxRate: 100, LinkState: "enable"}
	if diff := cmp.Diff(wantState, k.state("pf0", 0)); diff != "" {
		t.Errorf("VF 0 (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink", "2 pf0r0 representor vm1"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	// Restart: the allocation, its port and the VF settings stay; drift is
	// reconciled.
	_ = k.SetVF("pf0", 0, vf.FieldVLAN, vf.State{VLAN: 7, VLANProto: "802.1Q"})
	d.restart()
	if diff := cmp.Diff(wantState, k.state("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after restart (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink", "2 pf0r0 representor vm1"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports after restart (-want +got):\n%s", diff)
	}
	if err := d.m.DetachVNIC(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(freshVF, k.state("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after detach, want it fresh again (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports after detach (-want +got):\n%s", diff)
	}
}

func TestNICNetworkLegacyFallback(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf1", 2)
	k.refuseSwitchdev = true
	d := newTestDaemon(t, links, k)
	n, err := d.create(rest.NetworkSpec{Name: "veb", Mode: "nic", Uplink: "pf1", Offload: "off"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if n.Status.EswitchMode != vf.ModeLegacy || !strings.Contains(n.Status.ModeNote, "switchdev refused") {
		t.Errorf("status = %+v, want legacy with a note", n.Status)
	}
	v, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "veb", VLAN: 5})
	if err != nil {
		t.Fatal(err)
	}
	if v.OFPort != 0 || v.Representor != "" || k.state("pf1", 0).VLAN != 5 {
		t.Errorf("legacy vnic = %+v, want no OpenFlow port and VLAN 5 on VF 0", v)
	}
	k.addPF("pf2", 2)
	_, err = d.create(rest.NetworkSpec{Name: "strict", Mode: "nic", Uplink: "pf2", EswitchMode: "switchdev", Offload: "off"})
	wantAPIError(t, "create with eswitch_mode switchdev on a NIC that refuses it", err, rest.ErrRefused, "eswitch_mode")
	if err == nil || !strings.Contains(err.Error(), "configure PF pf2: set eswitch mode to switchdev: set eswitch mode: operation not supported") {
		t.Errorf("error %v does not carry the kernel's words naming pf2", err)
	}
}

func TestConcurrentAttachGivesNoVFTwice(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 4)
	d := newTestDaemon(t, links, k)
	if _, err := d.create(rest.NetworkSpec{Name: "n", Mode: "nic", Uplink: "pf0", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	vfs, ports := map[int]string{}, map[uint32]string{}
	var conflicts int
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("vm%d", i)
			v, _, err := d.attach(rest.VNICSpec{ID: id, Network: "n"})
			mu.Lock()
			defer mu.Unlock()
			var e *rest.Error
			switch {
			case errors.As(err, &e) && e.Kind == rest.ErrConflict:
				conflicts++
			case err != nil:
				t.Errorf("attach %s: %v", id, err)
			default:
				if other, ok := vfs[v.VFIndex]; ok {
					t.Errorf("VF %d given to %s and %s", v.VFIndex, other, id)
				}
				if other, ok := ports[v.OFPort]; ok {
					t.Errorf("port %d given to %s and %s", v.OFPort, other, id)
				}
				vfs[v.VFIndex], ports[v.OFPort] = id, id
			}
		}()
	}
	wg.Wait()
	if len(vfs) != 4 || conflicts != 4 {
		t.Errorf("%d attached, %d refused; want 4 and 4 (4 VFs)", len(vfs), conflicts)
	}
}

func TestVethNames(t *testing.T) {
	for _, tc := range []struct{ id, host, peer string }{
		{"vm1", "nfh-vm1", "nfv-vm1"},
		{"vm1-eth0.10", "nfh-vm1-eth0.10", "nfv-vm1-eth0.10"},
		{"vm1-eth0.100", "nfh-vm1-a1819f6", "nfv-vm1-a1819f6"},
		{"ns:pod:eth0", "nfh-ns_paff749e", "nfv-ns_paff749e"},
	} {
		host, peer := vethNames(tc.id)
		if host != tc.host || peer != tc.peer || len(host) > 15 {
			t.Errorf("vethNames(%q) = %q, %q; want %q, %q (at most 15 bytes)", tc.id, host, peer, tc.host, tc.peer)
		}
	}
}

// TestNICAttachKernelRefusal: the driver's refusal of a VF setting is a
// refusal (rest.ErrRefused, 422 over HTTP) naming the field, in the
// driver's words, and the VF is left as it was and free.
func TestNICAttachKernelRefusal(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 2)
	k.maxRate = 1000
	d := newTestDaemon(t, links, k)
	if _, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"}); err != nil {
		t.Fatalf("create: %v", err)
	}
	before := k.state("pf0", 0)
	_, _, err := d.attach(rest.VNICSpec{ID: "vm1", Network: "sriov", MAC: "02:00:00:00:01:01", MaxTxRate: 5000})
	wantAPIError(t, "a rate above the link speed", err, rest.ErrRefused, "max_tx_rate")
	if err == nil || !strings.Contains(err.Error(), "above link speed 1000") {
		t.Errorf("error %v does not carry the driver's words", err)
	}
	if diff := cmp.Diff(before, k.state("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after the refused attach (-before +after):\n%s", diff)
	}
	if v, _, err := d.attach(rest.VNICSpec{ID: "vm1", Network: "sriov", MaxTxRate: 500}); err != nil || v.VFIndex != 0 {
		t.Errorf("attach within the link speed = VF %d, %v; want VF 0 (freed by the refusal)", v.VFIndex, err)
	}
}

// TestControllerStatus: a target is connected while a channel of it (as
// the switch names it) is up, with that channel's role.
func TestControllerStatus(t *testing.T) {
	channels := []openflow.Channel{{Target: "tcp:127.0.0.1:6653", Controller: true, Role: "master"}, {Target: "ptcp:6654", Role: "equal"}}
	for _, tt := range []struct {
		target string
		want   rest.ControllerStatus
	}{
		{"tcp:127.0.0.1:6653", rest.ControllerStatus{Target: "tcp:127.0.0.1:6653", Connected: true, Role: "master"}},
		{"tcp:127.0.0.1", rest.ControllerStatus{Target: "tcp:127.0.0.1", Connected: true, Role: "master"}}, // default port
		{"ptcp:6654", rest.ControllerStatus{Target: "ptcp:6654", Connected: true, Role: "equal"}},
		{"tcp:127.0.0.2:6653", rest.ControllerStatus{Target: "tcp:127.0.0.2:6653"}},
	} {
		if diff := cmp.Diff(tt.want, controllerStatus(tt.target, channels, nil)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.target, diff)
		}
	}
}

// TestReadsDuringUpdate reads the networks (as concurrent REST GETs do)
// while updates restart one: under -race, a spec written without the
// lock the readers take is reported.
func TestReadsDuringUpdate(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1"), nil)
	spec := rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth1"}}
	if _, err := d.create(spec); err != nil {
		t.Fatal(err)
	}
	stopReads := d.readWhile("blue")
	for i := range 20 {
		spec.FailMode = []string{"secure", "standalone"}[i%2]
		if _, err := d.update(spec); err != nil {
			t.Errorf("update %d: %v", i, err)
		}
	}
	stopReads()
}

// readWhile reads network name as concurrent REST GETs do (every network,
// the network, its ports, the vNICs) from two goroutines until the
// returned stop is called; name is the only network.
func (d *testDaemon) readWhile(name string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for {
				select {
				case <-done:
					return
				default:
				}
				nets, _ := d.m.Networks(ctx)
				for _, n := range nets {
					if n.Name != name {
						d.t.Errorf("network %q, want %s only", n.Name, name)
					}
				}
				if _, err := d.m.Network(ctx, name); err != nil {
					d.t.Error(err)
				}
				if _, err := d.m.Ports(ctx, name); err != nil && !errors.Is(err, rest.ErrUnavailable) { // restarting
					d.t.Error(err)
				}
				if _, err := d.m.VNICs(ctx); err != nil {
					d.t.Error(err)
				}
			}
		}()
	}
	return func() { close(done); wg.Wait() }
}

// TestConcurrentAttachDetach attaches and detaches host vNICs from several
// goroutines while others read: every attached vNIC has a port of its own
// with its veth, and once every vNIC is detached nothing is left of them.
func TestConcurrentAttachDetach(t *testing.T) {
	ctx := t.Context()
	d := newTestDaemon(t, newFakeLinks("eth1"), nil)
	if _, err := d.create(rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth1"}}); err != nil {
		t.Fatal(err)
	}
	stopReads := d.readWhile("blue")
	// Each writer attaches its ids, detaches every other one, attaches it
	// again and detaches the last: ids 0 and 2 stay attached.
	var writers sync.WaitGroup
	for g := range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range 4 {
				id := fmt.Sprintf("w%d-%d", g, i)
				if _, _, err := d.attach(rest.VNICSpec{ID: id, Network: "blue"}); err != nil {
					t.Errorf("attach %s: %v", id, err)
				}
				if i%2 == 1 {
					if err := d.m.DetachVNIC(ctx, id); err != nil {
						t.Errorf("detach %s: %v", id, err)
					}
				}
			}
		}()
	}
	writers.Wait()
	stopReads()

	vnics, err := d.m.VNICs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"1 eth1 netdev"}
	byPort := map[uint32]string{}
	for _, v := range vnics {
		if other, ok := byPort[v.OFPort]; ok {
			t.Errorf("port %d given to %s and %s", v.OFPort, other, v.ID)
		}
		byPort[v.OFPort] = v.ID
	}
	nos := slices.Sorted(maps.Keys(byPort))
	for _, no := range nos {
		host, _ := vethNames(byPort[no])
		want = append(want, fmt.Sprintf("%d %s veth %s", no, host, byPort[no]))
	}
	if len(nos) > 0 && nos[0] < 2 {
		t.Errorf("ports %v: a vNIC on a fixed port's number", nos)
	}
	if len(vnics) != 8 {
		t.Errorf("%d vNICs attached, want 8 (ids 0 and 2 of 4 writers)", len(vnics))
	}
	if diff := cmp.Diff(want, d.ports("blue")); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	var detach sync.WaitGroup
	for _, v := range vnics {
		detach.Add(1)
		go func() {
			defer detach.Done()
			if err := d.m.DetachVNIC(ctx, v.ID); err != nil {
				t.Errorf("detach %s: %v", v.ID, err)
			}
		}()
	}
	detach.Wait()
	if diff := cmp.Diff([]string{"1 eth1 netdev"}, d.ports("blue")); diff != "" {
		t.Errorf("ports after detaching all (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"eth1"}, d.links.names()); diff != "" {
		t.Errorf("links after detaching all (-want +got):\n%s", diff)
	}
}
