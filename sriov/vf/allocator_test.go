package vf

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/store"
)

var attachedAt = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// env is an Allocator over a fake kernel and a real store in t.TempDir().
type env struct {
	k    *fakeKernel
	path string
	st   *store.Store
	a    *Allocator
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{k: newFakeKernel(), path: filepath.Join(t.TempDir(), "state.db")}
	e.open(t)
	t.Cleanup(func() { e.st.Close() })
	return e
}

// open opens the store and makes a new Allocator (a "restart").
func (e *env) open(t *testing.T) {
	t.Helper()
	st, err := store.Open(e.path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	resolve := func(pf string, vf int) (Location, error) {
		return Location{PCI: fmt.Sprintf("0000:03:00.%d", vf+2), Representor: fmt.Sprintf("%s_%d", pf, vf)}, nil
	}
	a, err := NewAllocator(Config{Kernel: e.k, Store: st, Resolve: resolve, Now: func() time.Time { return attachedAt }})
	if err != nil {
		t.Fatal(err)
	}
	e.st, e.a = st, a
}

func (e *env) restart(t *testing.T) {
	t.Helper()
	if err := e.st.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

var (
	reqA = Request{VNICID: "vm1-eth0", Network: "blue", PF: "pf0", Settings: Settings{
		MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, SpoofCheck: boolp(false), Trust: boolp(true),
		MinTxRate: 10, MaxTxRate: 100, LinkState: LinkEnable}}
	reqB = Request{VNICID: "vm2-eth0", Network: "blue", PF: "pf0", Settings: Settings{MAC: "02:00:00:00:00:22"}}
	// origVF0 is what VF 0 holds before attach in the tests.
	origVF0 = State{MAC: "00:00:00:00:00:00", VLANProto: Proto8021Q, SpoofCheck: true, MaxTxRate: 5, LinkState: LinkDisable}
)

func TestAttachDetachRestores(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 4)
	e.k.setState("pf0", 0, origVF0)
	ctx := context.Background()

	got, err := e.a.Attach(ctx, reqA)
	if err != nil {
		t.Fatalf("Attach: %v", err)
	}
	want := Allocation{
		VNICID: "vm1-eth0", Network: "blue", PF: "pf0", VF: 0,
		Location: Location{PCI: "0000:03:00.2", Representor: "pf0_0"},
		Settings: reqA.Settings, Original: settingsOf(origVF0), Attached: attachedAt,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Attach (-want +got):\n%s", diff)
	}
	wantVF := State{MAC: "02:00:00:00:00:11", VLAN: 100, QoS: 3, VLANProto: Proto8021Q, SpoofCheck: false, Trust: true, MinTxRate: 10, MaxTxRate: 100, LinkState: LinkEnable}
	if diff := cmp.Diff(wantVF, e.k.vf("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after attach (-want +got):\n%s", diff)
	}
	wantOps := []string{
		"set pf0 vf 0 mac 02:00:00:00:00:11",
		"set pf0 vf 0 vlan 100 qos 3 proto 802.1Q",
		"set pf0 vf 0 spoof_check off",
		"set pf0 vf 0 trust on",
		"set pf0 vf 0 rate min 10 max 100 Mbit/s",
		"set pf0 vf 0 link_state enable",
	}
	if diff := cmp.Diff(wantOps, e.k.takeOps()); diff != "" {
		t.Errorf("kernel ops of attach (-want +got):\n%s", diff)
	}
	rec, err := e.st.GetVNIC("vm1-eth0")
	if err != nil {
		t.Fatalf("store: %v", err)
	}
	if diff := cmp.Diff(toRecord(settingsOf(origVF0)), rec.Original); diff != "" {
		t.Errorf("recorded original (-want +got):\n%s", diff)
	}

	// Second vNIC: next VF, defaults (spoof check on, trust off).
	gotB, err := e.a.Attach(ctx, reqB)
	if err != nil {
		t.Fatalf("Attach B: %v", err)
	}
	if gotB.VF != 1 {
		t.Errorf("B got VF %d, want 1", gotB.VF)
	}
	if s := e.k.vf("pf0", 1); !s.SpoofCheck || s.Trust || s.LinkState != LinkAuto || s.MAC != "02:00:00:00:00:22" {
		t.Errorf("VF 1 = %+v, want MAC 02:00:00:00:00:22, spoof check on, trust off, link auto", s)
	}
	e.k.takeOps()

	if err := e.a.Detach(ctx, "vm1-eth0"); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	if diff := cmp.Diff(origVF0, e.k.vf("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after detach, want the original (-want +got):\n%s", diff)
	}
	if _, err := e.st.GetVNIC("vm1-eth0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("record after detach: err = %v, want not found", err)
	}
	if err := e.a.Detach(ctx, "vm1-eth0"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `vm1-eth0`) {
		t.Errorf("second Detach: err = %v, want ErrNotFound naming the vNIC", err)
	}
	// The freed VF is given again.
	again, err := e.a.Attach(ctx, Request{VNICID: "vm3-eth0", Network: "blue", PF: "pf0"})
	if err != nil || again.VF != 0 {
		t.Errorf("Attach after detach = VF %d, %v; want VF 0", again.VF, err)
	}
}

func TestAttachIdempotent(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 4)
	e.k.addPF("pf1", 4)
	ctx := context.Background()
	first, err := e.a.Attach(ctx, reqA)
	if err != nil {
		t.Fatal(err)
	}
	e.k.takeOps()

	// Same request, defaults spelled out and MAC in upper case: same allocation, no kernel change.
	same := reqA
	same.Settings.MAC = "02:00:00:00:00:11"
	same.Settings.VLANProto = Proto8021Q
	again, err := e.a.Attach(ctx, same)
	if err != nil {
		t.Fatalf("repeated Attach: %v", err)
	}
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("repeated Attach (-first +again):\n%s", diff)
	}
	if ops := e.k.takeOps(); len(ops) != 0 {
		t.Errorf("repeated Attach changed the kernel: %v", ops)
	}

	for _, tc := range []struct {
		name  string
		edit  func(r *Request)
		wants []string
	}{
		{"settings", func(r *Request) { r.Settings.VLAN = 200; r.Settings.Trust = nil },
			[]string{"settings.vlan 100 (requested 200)", "settings.trust true (requested false)"}},
		{"network", func(r *Request) { r.Network = "red" }, []string{`network "blue" (requested "red")`}},
		{"pf", func(r *Request) { r.PF = "pf1" }, []string{`pf "pf0" (requested "pf1")`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := reqA
			tc.edit(&r)
			_, err := e.a.Attach(ctx, r)
			if !errors.Is(err, ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
			for _, w := range tc.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v, want it to name %q", err, w)
				}
			}
		})
	}
	if ops := e.k.takeOps(); len(ops) != 0 {
		t.Errorf("conflicting Attach changed the kernel: %v", ops)
	}
}

func TestAttachRefusesBadRequest(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	for _, tc := range []struct {
		req  Request
		want string
	}{
		{Request{Network: "n", PF: "pf0"}, "missing vnic id"},
		{Request{VNICID: "x", PF: "pf0"}, "missing network"},
		{Request{VNICID: "x", Network: "n", PF: "pf0", Settings: Settings{VLAN: 4095}}, "vlan: 4095"},
		{Request{VNICID: "x", Network: "n", PF: "nope"}, "read VFs of PF nope"},
	} {
		if _, err := e.a.Attach(context.Background(), tc.req); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Attach(%+v) = %v, want an error containing %q", tc.req, err, tc.want)
		}
	}
	if vs, _ := e.st.VNICs(""); len(vs) != 0 || len(e.k.takeOps()) != 0 {
		t.Errorf("refused requests left %d records or changed the kernel", len(vs))
	}
}

func TestAttachExhaustion(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	e.k.addPF("novfs", 0)
	ctx := context.Background()
	for i := range 2 {
		if _, err := e.a.Attach(ctx, Request{VNICID: fmt.Sprint("v", i), Network: "n", PF: "pf0"}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := e.a.Attach(ctx, Request{VNICID: "v2", Network: "n", PF: "pf0"})
	if !errors.Is(err, ErrNoFreeVF) || !strings.Contains(err.Error(), "no free VF on PF pf0: all 2 VFs are allocated") {
		t.Errorf("third Attach: err = %v, want ErrNoFreeVF %q", err, "no free VF on PF pf0: all 2 VFs are allocated")
	}
	_, err = e.a.Attach(ctx, Request{VNICID: "v3", Network: "n", PF: "novfs"})
	if !errors.Is(err, ErrNoFreeVF) || !strings.Contains(err.Error(), "PF novfs: it has no VFs") {
		t.Errorf("Attach on a PF without VFs: err = %v", err)
	}
}

func TestAttachRollsBackOnKernelRefusal(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 2)
	e.k.setState("pf0", 0, origVF0)
	e.k.fail[FieldTrust] = fmt.Errorf("%w: netdevsim: trust refused", syscall.EOPNOTSUPP)
	_, err := e.a.Attach(context.Background(), reqA)
	if err == nil {
		t.Fatal("Attach succeeded with a refusing kernel")
	}
	for _, w := range []string{`attach vnic "vm1-eth0"`, "set trust of VF 0 of PF pf0 to on", "netdevsim: trust refused"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want it to contain %q", err, w)
		}
	}
	if !errors.Is(err, syscall.EOPNOTSUPP) {
		t.Errorf("err = %v does not wrap the kernel's errno", err)
	}
	if diff := cmp.Diff(origVF0, e.k.vf("pf0", 0)); diff != "" {
		t.Errorf("VF 0 after a failed attach, want the original (-want +got):\n%s", diff)
	}
	if vs, _ := e.st.VNICs(""); len(vs) != 0 {
		t.Errorf("failed attach left records: %+v", vs)
	}
}

// TestConcurrentAttachDetach runs 50 vNICs against 8 VFs, each attaching
// and detaching a few times; no VF may ever be held by two vNICs.
func TestConcurrentAttachDetach(t *testing.T) {
	e := newEnv(t)
	const vfs, vnics, rounds = 8, 50, 3
	e.k.addPF("pf0", vfs)
	ctx := context.Background()

	var mu sync.Mutex
	holder := map[int]string{}
	attached, exhausted := 0, 0
	var wg sync.WaitGroup
	for i := range vnics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("vnic-%02d", i)
			for range rounds {
				al, err := e.a.Attach(ctx, Request{VNICID: id, Network: "n", PF: "pf0", Settings: Settings{VLAN: i + 1}})
				if errors.Is(err, ErrNoFreeVF) {
					mu.Lock()
					exhausted++
					mu.Unlock()
					continue
				}
				if err != nil {
					t.Errorf("Attach %s: %v", id, err)
					return
				}
				mu.Lock()
				if other, ok := holder[al.VF]; ok {
					t.Errorf("VF %d given to %s while held by %s", al.VF, id, other)
				}
				holder[al.VF] = id
				attached++
				mu.Unlock()
				if got := e.k.vf("pf0", al.VF).VLAN; got != i+1 {
					t.Errorf("VF %d of %s has VLAN %d, want %d", al.VF, id, got, i+1)
				}
				mu.Lock()
				delete(holder, al.VF)
				mu.Unlock()
				if err := e.a.Detach(ctx, id); err != nil {
					t.Errorf("Detach %s: %v", id, err)
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("%d attaches, %d refused for lack of a VF", attached, exhausted)
	if attached == 0 || attached+exhausted != vnics*rounds {
		t.Errorf("attached %d + exhausted %d, want %d in all and some attached", attached, exhausted, vnics*rounds)
	}
	if vs, _ := e.st.VNICs(""); len(vs) != 0 {
		t.Errorf("%d records left after every vNIC detached", len(vs))
	}
	for vf := range vfs {
		if diff := cmp.Diff(defaultVF, e.k.vf("pf0", vf)); diff != "" {
			t.Errorf("VF %d not restored (-want +got):\n%s", vf, diff)
		}
	}
}

// TestConcurrentSameID attaches one vNIC id from many goroutines: all get
// the same VF and only one VF is used.
func TestConcurrentSameID(t *testing.T) {
	e := newEnv(t)
	e.k.addPF("pf0", 8)
	var wg sync.WaitGroup
	got := make([]int, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			al, err := e.a.Attach(context.Background(), reqB)
			if err != nil {
				t.Errorf("Attach: %v", err)
			}
			got[i] = al.VF
		}()
	}
	wg.Wait()
	for i, vf := range got {
		if vf != got[0] {
			t.Errorf("goroutine %d got VF %d, goroutine 0 got %d", i, vf, got[0])
		}
	}
	if vs, _ := e.st.VNICs(""); len(vs) != 1 {
		t.Errorf("%d records, want 1", len(vs))
	}
}
