package manager

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/vepa"
)

// update validates spec as the API does and updates the network.
func (d *testDaemon) update(spec rest.NetworkSpec) (rest.Network, error) {
	if err := spec.Validate(); err != nil {
		return rest.Network{}, err
	}
	return d.m.UpdateNetwork(d.t.Context(), spec.Name, spec)
}

// snapshot is what the API shows of every network and vNIC (rules
// included), to check that a refused change left everything as it was.
func (d *testDaemon) snapshot() ([]rest.Network, []rest.VNIC) {
	d.t.Helper()
	vs, err := d.m.VNICs(d.t.Context())
	if err != nil {
		d.t.Fatal(err)
	}
	return d.networks(), vs
}

func vnicRecord(t *testing.T, d *testDaemon, id string) store.VNIC {
	t.Helper()
	rec, err := d.st.GetVNIC(id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestHairpinMacvlanNetworkAndModeChanges: a hairpin network on an uplink
// without VFs gets macvlan vNICs in VEPA mode, no ports of their own
// (their numbers reserved), adopted after a restart even when moved out
// of sight; PUT mode host re-plumbs them as veths on their reserved port
// numbers with their MACs, and says so step by step; back to hairpin
// and to host again keeps the numbers.
func TestHairpinMacvlanNetworkAndModeChanges(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1"), nil)
	n, err := d.create(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Offload: "off", FailMode: "standalone"})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	// Offload off (the host kernel has no tc tier, the VM kernel has one:
	// the test runs the same in both).
	wantStatus := []string{rest.VNICTypeMacvlan, "off", rest.SwitchExternal, "hairpin: external switch (VEPA reflective relay); rules on the uplink"}
	if diff := cmp.Diff(wantStatus, []string{n.VNICType, n.Status.Offload, n.Status.SwitchingPoint, n.Status.Switching}); diff != "" {
		t.Errorf("hairpin network vnic_type, offload, switching (-want +got):\n%s", diff)
	}
	if !strings.Contains(n.Status.ModeNote, "the fast path never sees them") {
		t.Errorf("mode note = %q, want why only tc enforces rules", n.Status.ModeNote)
	}
	if !strings.HasPrefix(n.Status.OffloadNote, "no rule is enforced: hairpin") {
		t.Errorf("offload note = %q, want no rule enforced (no tc tier, no fast path)", n.Status.OffloadNote)
	}
	for _, s := range []rest.VNICSpec{{ID: "a", Network: "hp", MAC: "02:00:00:00:0a:01"}, {ID: "b", Network: "hp"}} {
		v, _, err := d.attach(s)
		if err != nil {
			t.Fatalf("attach %s: %v", s.ID, err)
		}
		if v.OFPort != 0 || v.Netdev != "nfv-"+s.ID {
			t.Errorf("hairpin vnic %s = port %d, netdev %q; want no port, nfv-%s", s.ID, v.OFPort, v.Netdev, s.ID)
		}
	}
	bMAC := vnicMAC(vnicRecord(t, d, "b"))
	wantMacvlans := []string{"nfv-a on eth1 02:00:00:00:0a:01 vepa", "nfv-b on eth1 " + bMAC + " vepa"}
	if diff := cmp.Diff(wantMacvlans, d.vepa.list()); diff != "" {
		t.Errorf("macvlans (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"1 eth1 uplink"}, d.ports("hp")); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}
	if a, b := vnicRecord(t, d, "a"), vnicRecord(t, d, "b"); a.OFPort != 2 || b.OFPort != 3 {
		t.Errorf("reserved port numbers = %d, %d; want 2, 3", a.OFPort, b.OFPort)
	}
	_, _, err = d.attach(rest.VNICSpec{ID: "c", Network: "hp", VLAN: 5})
	wantAPIError(t, "a VLAN on a macvlan vNIC", err, rest.ErrInvalid, "vlan")

	// Restart: nfv-a is still there, nfv-b was moved into a VM's
	// namespace (its MAC still taken on the uplink): both adopted, nothing
	// duplicated.
	d.vepa.moveAway("nfv-b")
	d.restart()
	if diff := cmp.Diff(wantMacvlans[:1], d.vepa.list()); diff != "" {
		t.Errorf("macvlans after restart (-want +got):\n%s", diff)
	}

	// PUT mode host: veths on the reserved numbers, same MACs.
	n, err = d.update(rest.NetworkSpec{Name: "hp", Mode: "host", Uplink: "eth1", Offload: "off", FailMode: "standalone"})
	if err != nil {
		t.Fatalf("PUT mode host: %v", err)
	}
	wantChanges := []string{
		"network hp: mode hairpin (macvlan) -> host",
		"vnic a: macvlan (vepa) nfv-a, no port (number 2 kept) -> veth nfv-a, port 2 (nfh-a)",
		"vnic b: macvlan (vepa) nfv-b, no port (number 3 kept) -> veth nfv-b, port 3 (nfh-b)",
	}
	// Leaving hairpin, the network restarts to put the fast path back on
	// its ports; its rules are installed again.
	if len(n.Status.Changes) != 4 || !strings.HasPrefix(n.Status.Changes[3], "network hp: restarted with the fast path on its ports") {
		t.Errorf("last change = %q, want the restart with the fast path", n.Status.Changes)
	} else if diff := cmp.Diff(wantChanges, n.Status.Changes[:3]); diff != "" {
		t.Errorf("changes of PUT mode host (-want +got):\n%s", diff)
	}
	// The uplink stays in the spec, parked: no port in mode host, its
	// number 1 kept for the way back (see parkedUplink).
	if n.Status.SwitchingPoint != rest.SwitchNicflow || !strings.Contains(n.Status.ModeNote, "uplink eth1 is kept") {
		t.Errorf("host network switching %q, note %q; want nicflow, the uplink kept", n.Status.SwitchingPoint, n.Status.ModeNote)
	}
	wantHostPorts := []string{"2 nfh-a veth a", "3 nfh-b veth b"}
	if diff := cmp.Diff(wantHostPorts, d.ports("hp")); diff != "" {
		t.Errorf("ports after PUT mode host (-want +got):\n%s", diff)
	}
	if got := []string{d.links.LinkMAC("nfv-a"), d.links.LinkMAC("nfv-b")}; !cmp.Equal(got, []string{"02:00:00:00:0a:01", bMAC}) {
		t.Errorf("veth MACs = %v, want the macvlans' 02:00:00:00:0a:01, %s", got, bMAC)
	}
	if got := d.vepa.list(); len(got) != 0 {
		t.Errorf("macvlans left after PUT mode host: %v", got)
	}

	// Back to hairpin and to host again: the numbers stay. The VM has let
	// nfv-b's old macvlan go (until it does, its MAC is taken).
	_, err = d.update(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Offload: "off", FailMode: "standalone"})
	wantAPIError(t, "PUT mode hairpin while a VM holds nfv-b's old macvlan", err, rest.ErrConflict, "mac")
	if diff := cmp.Diff(wantHostPorts, d.ports("hp")); diff != "" {
		t.Errorf("ports after a refused PUT mode hairpin (-want +got):\n%s", diff)
	}
	d.vepa.release()
	if _, err := d.update(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Offload: "off", FailMode: "standalone", VNICType: "macvtap"}); err != nil {
		t.Fatalf("PUT mode hairpin: %v", err)
	}
	if got := d.vepa.list(); len(got) != 2 || !strings.HasSuffix(got[0], "tap") {
		t.Errorf("macvtaps = %v, want nfv-a and nfv-b", got)
	}
	d.restart()
	if _, err := d.update(rest.NetworkSpec{Name: "hp", Mode: "host", Uplink: "eth1", Offload: "off", FailMode: "standalone"}); err != nil {
		t.Fatalf("PUT mode host again: %v", err)
	}
	if diff := cmp.Diff(wantHostPorts, d.ports("hp")); diff != "" {
		t.Errorf("ports after hairpin and host again (-want +got):\n%s", diff)
	}

	// A change of mode comes alone.
	_, err = d.update(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Offload: "off", FailMode: "secure"})
	wantAPIError(t, "mode and fail_mode in one update", err, rest.ErrConflict, "fail_mode")
}

// TestHairpinVFModeChanges: between modes nic and hairpin a vNIC keeps its
// VF and port number; the PF's embedded bridge goes to VEPA and back, the
// representor port goes and comes back.
func TestHairpinVFModeChanges(t *testing.T) {
	ctx := t.Context()
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 4)
	d := newTestDaemon(t, links, k)
	if _, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "sriov", MAC: "02:00:00:00:01:01", VLAN: 10}); err != nil {
		t.Fatal(err)
	}
	vfBefore := k.state("pf0", 0)

	n, err := d.update(rest.NetworkSpec{Name: "sriov", Mode: "hairpin", Uplink: "pf0", Offload: "off"})
	if err != nil {
		t.Fatalf("PUT mode hairpin: %v", err)
	}
	want := []string{
		"network sriov: mode nic -> hairpin (vf)",
		"pf pf0: embedded bridge VEB -> VEPA",
		"vnic a: VF 0 of pf0, port 2 (pf0r0) -> VF 0 of pf0, no port (number 2 kept)",
		"network sriov: restarted without the fast path on the uplink (no rule is enforced: " + hairpinNoFastPath + ", and there is no tc tier); 0 rules, 0 groups, 0 meters installed again (their counters restart)",
	}
	if diff := cmp.Diff(want, n.Status.Changes); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if d.vepa.bridgeMode("pf0") != vepa.ModeVEPA || n.VNICType != rest.VNICTypeVF {
		t.Errorf("pf0 bridge mode %v, vnic_type %q; want vepa, vf", d.vepa.bridgeMode("pf0"), n.VNICType)
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports in mode hairpin (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(vfBefore, k.state("pf0", 0)); diff != "" {
		t.Errorf("VF 0 changed (-before +after):\n%s", diff)
	}
	// A restart keeps what the bridge mode was before.
	d.restart()
	n, err = d.update(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"})
	if err != nil {
		t.Fatalf("PUT mode nic: %v", err)
	}
	want = []string{
		"network sriov: mode hairpin (vf) -> nic",
		"pf pf0: embedded bridge VEPA -> VEB (as before the network was hairpin)",
		"vnic a: VF 0 of pf0, no port (number 2 kept) -> VF 0 of pf0, port 2 (pf0r0)",
		"network sriov: restarted with the fast path on its ports (offload policy is off: every rule runs in the fast path); 0 rules, 0 groups, 0 meters installed again (their counters restart)",
	}
	if diff := cmp.Diff(want, n.Status.Changes); diff != "" {
		t.Errorf("changes back (-want +got):\n%s", diff)
	}
	if d.vepa.bridgeMode("pf0") != vepa.ModeVEB {
		t.Errorf("pf0 bridge mode %v after leaving hairpin, want veb", d.vepa.bridgeMode("pf0"))
	}
	if diff := cmp.Diff([]string{"1 pf0 uplink", "2 pf0r0 representor a"}, d.ports("sriov")); diff != "" {
		t.Errorf("ports back in mode nic (-want +got):\n%s", diff)
	}

	// A hairpin network created as such puts the bridge back when deleted.
	k.addPF("pf1", 2)
	if _, err := d.create(rest.NetworkSpec{Name: "hp1", Mode: "hairpin", Uplink: "pf1"}); err != nil {
		t.Fatal(err)
	}
	if d.vepa.bridgeMode("pf1") != vepa.ModeVEPA {
		t.Errorf("pf1 bridge mode %v, want vepa", d.vepa.bridgeMode("pf1"))
	}
	if err := d.m.DeleteNetwork(ctx, "hp1"); err != nil {
		t.Fatal(err)
	}
	if d.vepa.bridgeMode("pf1") != vepa.ModeVEB {
		t.Errorf("pf1 bridge mode %v after delete, want veb", d.vepa.bridgeMode("pf1"))
	}
}

// TestHairpinRefusedLeavesNetwork: a PF that refuses VEPA answers PUT mode
// hairpin with a refusal (rest.ErrRefused) in the driver's words; nothing
// changes.
func TestHairpinRefusedLeavesNetwork(t *testing.T) {
	links := newFakeLinks()
	k := newFakeVF(links)
	k.addPF("pf0", 2)
	d := newTestDaemon(t, links, k)
	d.vepa.refuse["pf0"] = refusal("pf0")
	if _, err := d.create(rest.NetworkSpec{Name: "sriov", Mode: "nic", Uplink: "pf0", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.attach(rest.VNICSpec{ID: "a", Network: "sriov"}); err != nil {
		t.Fatal(err)
	}
	nets0, vnics0 := d.snapshot()
	links0 := links.names()
	_, err := d.update(rest.NetworkSpec{Name: "sriov", Mode: "hairpin", Uplink: "pf0", Offload: "off"})
	wantAPIError(t, "PUT mode hairpin on a PF refusing VEPA", err, rest.ErrRefused, "mode")
	if err == nil || !strings.Contains(err.Error(), "netdevsim: bridge mode not supported") {
		t.Errorf("error %v does not carry the driver's words", err)
	}
	nets1, vnics1 := d.snapshot()
	if diff := cmp.Diff(nets0, nets1); diff != "" {
		t.Errorf("networks after the refusal (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics0, vnics1); diff != "" {
		t.Errorf("vNICs after the refusal (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(links0, links.names()); diff != "" {
		t.Errorf("links after the refusal (-before +after):\n%s", diff)
	}
	if d.vepa.bridgeMode("pf0") != vepa.ModeVEB {
		t.Errorf("pf0 bridge mode %v, want veb", d.vepa.bridgeMode("pf0"))
	}
	rec, err := d.st.GetNetwork("sriov")
	if err != nil || rec.Mode != rest.ModeNIC {
		t.Errorf("stored network = %+v, %v; want mode nic", rec, err)
	}
}

// TestModeChangeRollsBack: when re-plumbing the second vNIC fails, the
// first is put back as it was and the error is the kernel's.
func TestModeChangeRollsBack(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1"), nil)
	if _, err := d.create(rest.NetworkSpec{Name: "h", Mode: "hairpin", Uplink: "eth1", Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.update(rest.NetworkSpec{Name: "h", Mode: "host", Uplink: "eth1", Offload: "off"}); err != nil {
		t.Fatal(err) // a host network keeps the uplink it had
	}
	for _, id := range []string{"a", "b"} {
		if _, _, err := d.attach(rest.VNICSpec{ID: id, Network: "h", MAC: "02:00:00:00:0b:0" + id[:1]}); err != nil {
			t.Fatal(err)
		}
	}
	d.vepa.failAdd["nfv-b"] = errors.New("add macvlan nfv-b on eth1 mode vepa: " + syscall.ENOMEM.Error())
	nets0, vnics0 := d.snapshot()
	links0 := d.links.names()
	recs0, _ := d.st.VNICs("h")
	_, err := d.update(rest.NetworkSpec{Name: "h", Mode: "hairpin", Uplink: "eth1", Offload: "off"})
	if err == nil || !strings.Contains(err.Error(), "vnic b: add macvlan nfv-b on eth1 mode vepa: cannot allocate memory") {
		t.Fatalf("PUT mode hairpin = %v, want the failure of vnic b in the kernel's words", err)
	}
	nets1, vnics1 := d.snapshot()
	if diff := cmp.Diff(nets0, nets1); diff != "" {
		t.Errorf("networks after rollback (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(vnics0, vnics1); diff != "" {
		t.Errorf("vNICs after rollback (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(links0, d.links.names()); diff != "" {
		t.Errorf("links after rollback (-before +after):\n%s", diff)
	}
	recs1, _ := d.st.VNICs("h")
	if diff := cmp.Diff(recs0, recs1); diff != "" {
		t.Errorf("vNIC records after rollback (-before +after):\n%s", diff)
	}
	if got := d.vepa.list(); len(got) != 0 {
		t.Errorf("macvlans left after rollback: %v", got)
	}
}

// TestModeChangeKeepsSwitchAndPortConfig: the restart of a change of mode
// installs the switch configuration and the ports' OFPPC_* config again;
// a hairpin network refuses OFPC_FRAG_DROP, and the change says so.
func TestModeChangeKeepsSwitchAndPortConfig(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth1", "eth2"), nil)
	if _, err := d.create(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Ports: []string{"eth2"}, Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.update(rest.NetworkSpec{Name: "hp", Mode: "host", Uplink: "eth1", Ports: []string{"eth2"}, Offload: "off"}); err != nil {
		t.Fatal(err)
	}
	net := func() *offload.Network {
		t.Helper()
		run, err := d.m.runningNet("hp")
		if err != nil {
			t.Fatal(err)
		}
		return run.net
	}
	port := func() offload.PortInfo {
		t.Helper()
		p, ok := net().PortByName("eth2")
		if !ok || p.No != 2 {
			t.Fatalf("port eth2 = %d (%v), want port 2", p.No, ok)
		}
		return p
	}
	sc := offload.SwitchConfig{FragDrop: true, InvalidTTLToController: true}
	if err := net().SetSwitchConfig(sc); err != nil {
		t.Fatal(err)
	}
	cfg := offload.PortConfigNoRecv | offload.PortConfigNoPacketIn
	pm := offload.PortMod{Port: port().No, Config: cfg, Mask: cfg}
	copy(pm.HWAddr[:], port().HWAddr)
	if err := net().PortMod(pm); err != nil {
		t.Fatal(err)
	}

	n, err := d.update(rest.NetworkSpec{Name: "hp", Mode: "hairpin", Uplink: "eth1", Ports: []string{"eth2"}, Offload: "off"})
	if err != nil {
		t.Fatalf("PUT mode hairpin: %v", err)
	}
	last := n.Status.Changes[len(n.Status.Changes)-1]
	if !strings.Contains(last, "not installed again: switch configuration") || !strings.Contains(last, "fast path") {
		t.Errorf("restart into hairpin: %q, want the switch configuration's FRAG_DROP refused", last)
	}
	if got := net().SwitchConfig(); got != (offload.SwitchConfig{}) {
		t.Errorf("hairpin switch config %+v, want the zero one (FRAG_DROP refused, nothing applied)", got)
	}
	if got := port().Config(); got != cfg {
		t.Errorf("port config in hairpin %#x, want %#x", got, cfg)
	}
	if err := net().SetSwitchConfig(offload.SwitchConfig{InvalidTTLToController: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.update(rest.NetworkSpec{Name: "hp", Mode: "host", Uplink: "eth1", Ports: []string{"eth2"}, Offload: "off"}); err != nil {
		t.Fatalf("PUT mode host: %v", err)
	}
	if got := net().SwitchConfig(); got != (offload.SwitchConfig{InvalidTTLToController: true}) {
		t.Errorf("switch config back in host %+v, want invalid_ttl_to_controller", got)
	}
	if got := port().Config(); got != cfg {
		t.Errorf("port config back in host %#x, want %#x", got, cfg)
	}
}
