package vf

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/store"
)

func TestRestartKeepsAllocationsAndReconciles(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 4)
	ctx := context.Background()
	a1, err := e.a.Attach(ctx, reqA)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := e.a.Attach(ctx, reqB)
	if err != nil {
		t.Fatal(err)
	}
	e.k.takeOps()

	e.restart(t)
	all, err := e.a.Allocations("")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Allocation{a1, b1}, all); diff != "" {
		t.Errorf("allocations after restart (-want +got):\n%s", diff)
	}
	changes, err := e.a.Reconcile(ctx)
	if err != nil || len(changes) != 0 {
		t.Errorf("Reconcile without drift = %v, %v; want no changes", changes, err)
	}
	if ops := e.k.takeOps(); len(ops) != 0 {
		t.Errorf("Reconcile without drift changed the kernel: %v", ops)
	}

	// Drift: someone changes VF 0 (vm1) and VF 1 (vm2) behind nicflowd's back.
	drifted := e.k.vf("pf0", 0)
	drifted.VLAN, drifted.Trust = 7, false
	e.k.setState("pf0", 0, drifted)
	d1 := e.k.vf("pf0", 1)
	d1.SpoofCheck, d1.MAC = false, "02:00:00:00:00:99"
	e.k.setState("pf0", 1, d1)

	changes, err = e.a.Reconcile(ctx)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.String())
	}
	want := []string{
		"vnic vm1-eth0 (VF 0 of PF pf0): vlan 7 qos 3 proto 802.1Q -> 100 qos 3 proto 802.1Q",
		"vnic vm1-eth0 (VF 0 of PF pf0): trust off -> on",
		"vnic vm2-eth0 (VF 1 of PF pf0): mac 02:00:00:00:00:99 -> 02:00:00:00:00:22",
		"vnic vm2-eth0 (VF 1 of PF pf0): spoof_check off -> on",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("changes (-want +got):\n%s", diff)
	}
	if s := e.k.vf("pf0", 0); s.VLAN != 100 || !s.Trust {
		t.Errorf("VF 0 after Reconcile = %+v, want VLAN 100 and trust on", s)
	}
	if changes, err := e.a.Reconcile(ctx); err != nil || len(changes) != 0 {
		t.Errorf("second Reconcile = %v, %v; want nothing left to change", changes, err)
	}
}

func TestReconcileReportsMissingVF(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	e.k.addPF("pf1", 2)
	ctx := context.Background()
	for _, r := range []Request{{VNICID: "a", Network: "n", PF: "pf0"}, {VNICID: "b", Network: "n", PF: "pf0"}, {VNICID: "c", Network: "n", PF: "pf1"}} {
		if _, err := e.a.Attach(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// pf0 lost its VFs (e.g. a driver reload); pf1 drifted.
	e.k.addPF("pf0", 1)
	e.k.setState("pf1", 0, State{MAC: "00:00:00:00:00:00", VLANProto: Proto8021Q, LinkState: LinkAuto})
	changes, err := e.a.Reconcile(ctx)
	if err == nil || !strings.Contains(err.Error(), `reconcile vnic "b": VF 1 of PF pf0 does not exist (the PF has 1 VFs)`) {
		t.Errorf("err = %v, want it to name vnic b's missing VF", err)
	}
	if len(changes) != 2 { // a: spoof check back on; c: spoof check back on
		t.Errorf("changes = %v, want spoof check of a and c", changes)
	}
	if all, _ := e.a.Allocations(""); len(all) != 3 {
		t.Errorf("%d allocations after a failed reconcile, want all 3 kept", len(all))
	}
}

func TestReconcileSkipsHostVNICs(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	ctx := context.Background()
	if _, err := e.a.Attach(ctx, reqA); err != nil {
		t.Fatal(err)
	}
	// A host-side vNIC (veth) shares the store; it has no PF and no VF.
	if err := e.st.PutVNIC(store.VNIC{ID: "h1", Network: "n", Kind: store.KindVeth, VFNetdev: "nfv-h1", Port: "nfh-h1"}); err != nil {
		t.Fatal(err)
	}
	e.k.takeOps()
	if changes, err := e.a.Reconcile(ctx); err != nil || len(changes) != 0 {
		t.Errorf("Reconcile = %v, %v; want no change and no error for a veth record", changes, err)
	}
	// The veth record takes no VF: the next attach gets VF 1.
	al, err := e.a.Attach(ctx, reqB)
	if err != nil || al.VF != 1 {
		t.Errorf("Attach after a veth record = VF %d, %v; want VF 1", al.VF, err)
	}
}
