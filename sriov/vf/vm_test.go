package vf

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// vmEnv is the real kernel (netdevsim in the VM) and a real store.
type vmEnv struct {
	nsim *vmtest.Netdevsim
	k    *Netlink
	path string
	st   *store.Store
	a    *Allocator
}

func newVMEnv(t *testing.T, id, vfs int) *vmEnv {
	t.Helper()
	vmtest.Require(t)
	e := &vmEnv{nsim: vmtest.NewNetdevsim(t, id, vfs), path: filepath.Join(t.TempDir(), "state.db")}
	k, err := NewNetlink(NetlinkOptions{})
	if err != nil {
		t.Fatalf("NewNetlink: %v", err)
	}
	t.Cleanup(func() { k.Close() })
	e.k = k
	e.open(t)
	t.Cleanup(func() { e.st.Close() })
	return e
}

func (e *vmEnv) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(e.path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	a, err := NewAllocator(Config{Kernel: e.k, Store: st, Resolve: e.k.Locate})
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.a = st, a
}

// netlinkVFs reads the PF's VFs straight from netlink (not through Netlink).
func netlinkVFs(t *testing.T, pf string) []netlink.VfInfo {
	t.Helper()
	link, err := netlink.LinkByName(pf)
	if err != nil {
		t.Fatalf("get link %s: %v", pf, err)
	}
	return link.Attrs().Vfs
}

// vfView is what the tests compare of a netlink.VfInfo.
type vfView struct {
	MAC              string
	VLAN, QoS, Proto int
	Spoof            bool
	Trust            uint32
	LinkState        uint32
	MinRate, MaxRate uint32
}

// viewOf takes VLAN protocol 0 as 802.1Q: a fresh netdevsim VF reports 0,
// which rtnetlink does not accept back (only 802.1Q and 802.1ad), so a
// restored untagged VF reads 802.1Q.
func viewOf(v netlink.VfInfo) vfView {
	proto := v.VlanProto
	if proto == 0 {
		proto = ethP8021Q
	}
	return vfView{MAC: v.Mac.String(), VLAN: v.Vlan, QoS: v.Qos, Proto: proto, Spoof: v.Spoofchk, Trust: v.Trust,
		LinkState: v.LinkState, MinRate: v.MinTxRate, MaxRate: v.MaxTxRate}
}

// numVFsOf reads the PF's sriov_numvfs from sysfs.
func numVFsOf(t *testing.T, pf string) int {
	t.Helper()
	s, err := sysfs{root: "/sys"}.numVFs(pf)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVMLifecycle(t *testing.T) {
	e := newVMEnv(t, 40, 0)
	ctx := context.Background()
	pf := e.nsim.PF

	// PF setup with this package's ordering: VFs first, then switchdev.
	if err := e.a.ConfigurePF(ctx, pf, 4, ModeSwitchdev); err != nil {
		t.Fatalf("ConfigurePF(4, switchdev): %v", err)
	}
	e.nsim.VFs = 4
	if got := e.nsim.EswitchMode(t); got != ModeSwitchdev {
		t.Fatalf("eswitch mode = %q, want switchdev", got)
	}
	reps := e.nsim.Representors(t)
	if err := e.a.ConfigurePF(ctx, pf, 4, ModeSwitchdev); err != nil {
		t.Fatalf("ConfigurePF again (idempotent): %v", err)
	}
	if got := numVFsOf(t, pf); got != 4 {
		t.Errorf("sriov_numvfs = %d, want 4", got)
	}
	if diff := cmp.Diff(reps, e.nsim.Representors(t)); diff != "" {
		t.Errorf("representors changed by an idempotent ConfigurePF (-want +got):\n%s", diff)
	}
	before := netlinkVFs(t, pf)

	reqs := []Request{
		{VNICID: "vm1-eth0", Network: "blue", PF: pf, Settings: Settings{
			MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, VLANProto: Proto8021AD, SpoofCheck: boolp(false), Trust: boolp(true),
			MinTxRate: 10, MaxTxRate: 100, LinkState: LinkEnable}},
		{VNICID: "vm2-eth0", Network: "blue", PF: pf, Settings: Settings{MAC: "02:00:00:00:00:22", VLAN: 200, LinkState: LinkDisable}},
	}
	wantViews := []vfView{
		{MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, Proto: 0x88a8, Spoof: false, Trust: 1, LinkState: netlink.VF_LINK_STATE_ENABLE, MinRate: 10, MaxRate: 100},
		{MAC: "02:00:00:00:00:22", VLAN: 200, Proto: 0x8100, Spoof: true, Trust: 0, LinkState: netlink.VF_LINK_STATE_DISABLE},
	}
	var allocs []Allocation
	for i, r := range reqs {
		al, err := e.a.Attach(ctx, r)
		if err != nil {
			t.Fatalf("Attach %s: %v", r.VNICID, err)
		}
		if al.VF != i {
			t.Errorf("%s got VF %d, want %d", r.VNICID, al.VF, i)
		}
		if al.Representor != reps[al.VF] {
			t.Errorf("%s representor = %q, want %q (by switch id and port name)", r.VNICID, al.Representor, reps[al.VF])
		}
		if vf, err := e.k.RepresentedVF(al.Representor); err != nil || vf != al.VF {
			t.Errorf("RepresentedVF(%s) = %d, %v; want %d", al.Representor, vf, err, al.VF)
		}
		allocs = append(allocs, al)
	}
	after := netlinkVFs(t, pf)
	for i, want := range wantViews {
		if diff := cmp.Diff(want, viewOf(after[i])); diff != "" {
			t.Errorf("VF %d read back through netlink (-want +got):\n%s", i, diff)
		}
	}
	if lo, hi, err := e.k.VFRate(pf, 0); err != nil || lo != 10 || hi != 100 {
		t.Errorf("devlink rate of VF 0 = min %d max %d, %v; want 10, 100", lo, hi, err)
	}

	// A refusal carries the driver's own message (devlink extended ack).
	_, err := e.a.Attach(ctx, Request{VNICID: "fast", Network: "blue", PF: pf, Settings: Settings{MaxTxRate: 6000}})
	if err == nil || !strings.Contains(err.Error(), "TX rate value exceed link maximum speed 5000Mbps") {
		t.Errorf("Attach with 6000 Mbit/s = %v, want netdevsim's extack message", err)
	}
	t.Logf("refusal: %v", err)
	if _, err := e.a.Get("fast"); !errors.Is(err, ErrNotFound) {
		t.Errorf("refused attach left an allocation: %v", err)
	}

	// Restart: every allocation kept, nothing drifted.
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
	got, err := e.a.Allocations("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(allocs, got); diff != "" {
		t.Errorf("allocations after restart (-want +got):\n%s", diff)
	}
	if changes, err := e.a.Reconcile(ctx); err != nil || len(changes) != 0 {
		t.Errorf("Reconcile after restart = %v, %v; want no drift", changes, err)
	}

	// Drift behind nicflowd's back, then Reconcile puts it back.
	link, err := netlink.LinkByName(pf)
	if err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetVfVlanQos(link, 0, 7, 0); err != nil {
		t.Fatalf("drift vlan: %v", err)
	}
	if err := netlink.LinkSetVfTrust(link, 0, false); err != nil {
		t.Fatalf("drift trust: %v", err)
	}
	if err := netlink.LinkSetVfSpoofchk(link, 1, false); err != nil {
		t.Fatalf("drift spoofchk: %v", err)
	}
	changes, err := e.a.Reconcile(ctx)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	var fields []string
	for _, c := range changes {
		t.Logf("reconciled: %v", c)
		fields = append(fields, c.VNICID+" "+c.Field.String())
	}
	if diff := cmp.Diff([]string{"vm1-eth0 vlan", "vm1-eth0 trust", "vm2-eth0 spoof_check"}, fields); diff != "" {
		t.Errorf("reconciled fields (-want +got):\n%s", diff)
	}
	after = netlinkVFs(t, pf)
	for i, want := range wantViews {
		if diff := cmp.Diff(want, viewOf(after[i])); diff != "" {
			t.Errorf("VF %d after Reconcile (-want +got):\n%s", i, diff)
		}
	}

	// sriov_numvfs: the current count is a no-op; shrinking below VF 1
	// (allocated) is refused and changes nothing.
	if err := e.a.SetNumVFs(ctx, pf, 4); err != nil {
		t.Errorf("SetNumVFs(4) with 4 VFs: %v", err)
	}
	err = e.a.SetNumVFs(ctx, pf, 1)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), `VF 1 is allocated to vnic "vm2-eth0"`) {
		t.Errorf("SetNumVFs(1) = %v, want ErrInUse naming VF 1 and vm2-eth0", err)
	}
	if got := numVFsOf(t, pf); got != 4 {
		t.Errorf("sriov_numvfs after the refusal = %d, want 4", got)
	}

	// Detach restores the originals.
	for _, r := range reqs {
		if err := e.a.Detach(ctx, r.VNICID); err != nil {
			t.Fatalf("Detach %s: %v", r.VNICID, err)
		}
	}
	restored := netlinkVFs(t, pf)
	for i := range 2 {
		if diff := cmp.Diff(viewOf(before[i]), viewOf(restored[i])); diff != "" {
			t.Errorf("VF %d after detach, want its original settings (-want +got):\n%s", i, diff)
		}
	}
	if lo, hi, err := e.k.VFRate(pf, 0); err != nil || lo != 0 || hi != 0 {
		t.Errorf("devlink rate of VF 0 after detach = %d, %d, %v; want 0, 0", lo, hi, err)
	}
	if err := e.a.Detach(ctx, "vm1-eth0"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Detach of a detached vNIC = %v, want ErrNotFound", err)
	}

	// With nothing allocated the count changes, through 0, keeping switchdev.
	if err := e.a.SetNumVFs(ctx, pf, 2); err != nil {
		t.Fatalf("SetNumVFs(2): %v", err)
	}
	if got := numVFsOf(t, pf); got != 2 {
		t.Errorf("sriov_numvfs = %d, want 2", got)
	}
	if got := e.nsim.EswitchMode(t); got != ModeSwitchdev {
		t.Errorf("eswitch mode after the count change = %q, want switchdev kept", got)
	}
	e.nsim.VFs = 2
	if reps := e.nsim.Representors(t); len(reps) != 2 {
		t.Errorf("representors after the count change: %v", reps)
	}
}

// TestVMLegacyRate sets rates in legacy mode (IFLA_VF_RATE) and reads the
// VF count back as VFs reports it.
func TestVMLegacyRate(t *testing.T) {
	e := newVMEnv(t, 41, 2)
	ctx := context.Background()
	al, err := e.a.Attach(ctx, Request{VNICID: "v", Network: "n", PF: e.nsim.PF, Settings: Settings{MinTxRate: 5, MaxTxRate: 50}})
	if err != nil {
		t.Fatalf("Attach in legacy mode: %v", err)
	}
	if al.Representor != "" {
		t.Errorf("representor in legacy mode = %q, want none", al.Representor)
	}
	if vf, err := e.k.RepresentedVF(e.nsim.PF); !errors.Is(err, ErrNotVFRepresentor) {
		t.Errorf("RepresentedVF(%s) in legacy mode = %d, %v; want ErrNotVFRepresentor", e.nsim.PF, vf, err)
	}
	vi := netlinkVFs(t, e.nsim.PF)[al.VF]
	if vi.MinTxRate != 5 || vi.MaxTxRate != 50 {
		t.Errorf("VF rate = %d/%d, want 5/50", vi.MinTxRate, vi.MaxTxRate)
	}
	states, err := e.k.VFs(e.nsim.PF)
	if err != nil || len(states) != 2 {
		t.Fatalf("VFs = %d states, %v; want 2", len(states), err)
	}
	if err := e.a.Detach(ctx, "v"); err != nil {
		t.Fatal(err)
	}
	if vi := netlinkVFs(t, e.nsim.PF)[al.VF]; vi.MinTxRate != 0 || vi.MaxTxRate != 0 {
		t.Errorf("VF rate after detach = %d/%d, want 0/0", vi.MinTxRate, vi.MaxTxRate)
	}
}
