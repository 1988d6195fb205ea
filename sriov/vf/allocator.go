package vf

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nicflow/nicflow/offload/store"
)

// Errors callers branch on; the returned errors wrap them with details.
var (
	// ErrNotFound: the vNIC has no allocation (it is store.ErrNotFound).
	ErrNotFound = store.ErrNotFound
	// ErrNoFreeVF: every VF of the PF is allocated.
	ErrNoFreeVF = errors.New("no free VF")
	// ErrConflict: the vNIC is attached with a different request.
	ErrConflict = errors.New("vnic attached with a different request")
	// ErrInUse: a PF change would remove VFs that are allocated.
	ErrInUse = errors.New("VFs in use")
)

// Store is the state the Allocator keeps its allocations in (*store.Store).
type Store interface {
	Update(fn func(tx *store.Tx) error) error
	View(fn func(tx *store.Tx) error) error
}

// Location is where a VF shows up on the host; any part may be unknown
// (empty), e.g. the representor in legacy mode.
type Location struct {
	PCI         string // VF PCI address
	Netdev      string // VF netdev, when bound to a netdev driver
	Representor string // VF representor netdev, in switchdev mode
}

// Resolver finds the Location of VF vf of PF pf (NIC discovery).
type Resolver func(pf string, vf int) (Location, error)

// Config configures an Allocator.
type Config struct {
	Kernel Kernel
	Store  Store
	// Resolve is optional; without it Locations are empty.
	Resolve Resolver
	// Now is optional (time.Now).
	Now func() time.Time
}

// Request asks for a VF for one vNIC.
type Request struct {
	VNICID   string
	Network  string
	PF       string // the network's uplink PF netdev
	Settings Settings
}

// Allocation is one vNIC's VF.
type Allocation struct {
	VNICID  string
	Network string
	PF      string
	VF      int
	Location
	// OFPort is the vNIC's OpenFlow port, when the network has set one.
	OFPort   uint32
	Settings Settings // as requested
	Original Settings // the VF's settings before attach
	Attached time.Time
}

func allocationOf(r store.VNIC) Allocation {
	return Allocation{
		VNICID: r.ID, Network: r.Network, PF: r.PF, VF: r.VFIndex,
		Location: Location{PCI: r.VFPCI, Netdev: r.VFNetdev, Representor: r.Representor},
		OFPort:   r.OFPort, Settings: fromRecord(r.Settings), Original: fromRecord(r.Original),
		Attached: r.Attached,
	}
}

// Allocator gives vNICs VFs. It is safe for concurrent use: operations on
// one PF are serialized (so a VF is never given twice), operations on
// different PFs run in parallel, and every allocation is checked and
// recorded in one store transaction.
type Allocator struct {
	kernel  Kernel
	store   Store
	resolve Resolver
	now     func() time.Time

	mu    sync.Mutex             // guards pfMus
	pfMus map[string]*sync.Mutex // one per PF: held across kernel and store work
}

// NewAllocator returns an Allocator over cfg.Kernel and cfg.Store.
func NewAllocator(cfg Config) (*Allocator, error) {
	if cfg.Kernel == nil || cfg.Store == nil {
		return nil, errors.New("new VF allocator: Kernel and Store are required")
	}
	a := &Allocator{kernel: cfg.Kernel, store: cfg.Store, resolve: cfg.Resolve, now: cfg.Now, pfMus: map[string]*sync.Mutex{}}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// lockPF locks PF pf and returns the unlock function.
func (a *Allocator) lockPF(pf string) func() {
	a.mu.Lock()
	m, ok := a.pfMus[pf]
	if !ok {
		m = &sync.Mutex{}
		a.pfMus[pf] = m
	}
	a.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// Attach gives req.VNICID a free VF of req.PF, records it with the VF's
// original settings, and applies req.Settings.
//
// Attach is idempotent per vNIC id: attaching an attached id with the same
// request (after defaults) returns the existing allocation unchanged; with a
// different network, PF or settings it fails with ErrConflict and an error
// naming each difference (detach first to change a vNIC's VF settings).
func (a *Allocator) Attach(ctx context.Context, req Request) (Allocation, error) {
	if err := checkRequest(req); err != nil {
		return Allocation{}, err
	}
	defer a.lockPF(req.PF)()
	if err := ctx.Err(); err != nil {
		return Allocation{}, fmt.Errorf("attach vnic %q: %w", req.VNICID, err)
	}
	if rec, ok, err := a.existing(req); ok || err != nil {
		return rec, err
	}
	vfs, err := a.kernel.VFs(req.PF)
	if err != nil {
		return Allocation{}, fmt.Errorf("attach vnic %q: read VFs of PF %s: %w", req.VNICID, req.PF, err)
	}
	idx, err := a.freeVF(req.PF, len(vfs))
	if err != nil {
		return Allocation{}, fmt.Errorf("attach vnic %q: %w", req.VNICID, err)
	}
	var loc Location
	if a.resolve != nil {
		if loc, err = a.resolve(req.PF, idx); err != nil {
			return Allocation{}, fmt.Errorf("attach vnic %q: locate VF %d of PF %s: %w", req.VNICID, idx, req.PF, err)
		}
	}
	rec := store.VNIC{
		ID: req.VNICID, Network: req.Network, PF: req.PF, VFIndex: idx,
		VFPCI: loc.PCI, VFNetdev: loc.Netdev, Representor: loc.Representor,
		Settings: toRecord(req.Settings), Original: toRecord(settingsOf(vfs[idx])),
		Attached: a.now().UTC(),
	}
	// Record first (checked against the store once more), then apply: a
	// crash in between leaves a record that Reconcile applies at start.
	if err := a.store.Update(func(tx *store.Tx) error { return claim(tx, rec) }); err != nil {
		return Allocation{}, fmt.Errorf("attach vnic %q: %w", req.VNICID, err)
	}
	if err := a.apply(req.PF, idx, vfs[idx], req.Settings.desired(vfs[idx])); err != nil {
		// Undo: put back what was changed, free the VF.
		rerr := a.apply(req.PF, idx, a.current(req.PF, idx, vfs[idx]), vfs[idx])
		derr := a.store.Update(func(tx *store.Tx) error { return tx.DeleteVNIC(rec.ID) })
		return Allocation{}, errors.Join(fmt.Errorf("attach vnic %q: %w", req.VNICID, err), rerr, derr)
	}
	return allocationOf(rec), nil
}

func checkRequest(req Request) error {
	var missing []string
	for _, f := range []struct{ name, v string }{{"vnic id", req.VNICID}, {"network", req.Network}, {"pf", req.PF}} {
		if f.v == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("attach vnic %q: missing %s", req.VNICID, strings.Join(missing, ", "))
	}
	if err := req.Settings.Validate(); err != nil {
		return fmt.Errorf("attach vnic %q: %w", req.VNICID, err)
	}
	return nil
}

// existing returns the allocation of req.VNICID when it matches req, a
// conflict error when it does not, and ok false when there is none.
func (a *Allocator) existing(req Request) (Allocation, bool, error) {
	var rec store.VNIC
	err := a.store.View(func(tx *store.Tx) (err error) { rec, err = tx.VNIC(req.VNICID); return err })
	if errors.Is(err, store.ErrNotFound) {
		return Allocation{}, false, nil
	}
	if err != nil {
		return Allocation{}, false, fmt.Errorf("attach vnic %q: %w", req.VNICID, err)
	}
	if d := requestDiff(rec, req); len(d) > 0 {
		return Allocation{}, false, fmt.Errorf("attach vnic %q: %w: attached with %s", req.VNICID, ErrConflict, strings.Join(d, ", "))
	}
	return allocationOf(rec), true, nil
}

// requestDiff names what differs between an allocation and a request.
func requestDiff(rec store.VNIC, req Request) []string {
	var d []string
	if rec.Network != req.Network {
		d = append(d, fmt.Sprintf("network %q (requested %q)", rec.Network, req.Network))
	}
	if rec.PF != req.PF {
		d = append(d, fmt.Sprintf("pf %q (requested %q)", rec.PF, req.PF))
	}
	return append(d, diffSettings(fromRecord(rec.Settings), req.Settings)...)
}

// freeVF returns the lowest VF index of pf (which has n VFs) without an
// allocation.
func (a *Allocator) freeVF(pf string, n int) (int, error) {
	used := map[int]bool{}
	err := a.store.View(func(tx *store.Tx) error {
		vs, err := tx.VNICs("")
		for _, v := range vs {
			if v.IsVF() && v.PF == pf {
				used[v.VFIndex] = true
			}
		}
		return err
	})
	if err != nil {
		return 0, err
	}
	for i := range n {
		if !used[i] {
			return i, nil
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("%w on PF %s: it has no VFs (set its VF count first)", ErrNoFreeVF, pf)
	}
	return 0, fmt.Errorf("%w on PF %s: all %d VFs are allocated", ErrNoFreeVF, pf, n)
}

// claim records rec after checking, in the same transaction, that neither
// its id nor its VF is taken.
func claim(tx *store.Tx, rec store.VNIC) error {
	if old, err := tx.VNIC(rec.ID); err == nil {
		return fmt.Errorf("%w: attached to VF %d of PF %s", ErrConflict, old.VFIndex, old.PF)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	vs, err := tx.VNICs("")
	if err != nil {
		return err
	}
	for _, v := range vs {
		if v.PF == rec.PF && v.VFIndex == rec.VFIndex {
			return fmt.Errorf("VF %d of PF %s is already allocated to vnic %q", rec.VFIndex, rec.PF, v.ID)
		}
	}
	return tx.PutVNIC(rec)
}

// SetError is the kernel's (or driver's) refusal of one VF setting; Err
// carries its own words.
type SetError struct {
	PF    string
	VF    int
	Field Field
	Value string
	Err   error
}

func (e *SetError) Error() string {
	return fmt.Sprintf("set %s of VF %d of PF %s to %s: %v", e.Field, e.VF, e.PF, e.Value, e.Err)
}

func (e *SetError) Unwrap() error { return e.Err }

// apply sets every field where cur differs from want.
func (a *Allocator) apply(pf string, vf int, cur, want State) error {
	_, err := a.applyFields(pf, vf, cur, want)
	return err
}

// applyFields is apply returning the fields it set.
func (a *Allocator) applyFields(pf string, vf int, cur, want State) ([]Field, error) {
	var done []Field
	for _, f := range diff(cur, want) {
		if err := a.kernel.SetVF(pf, vf, f, want); err != nil {
			return done, &SetError{PF: pf, VF: vf, Field: f, Value: want.format(f), Err: err}
		}
		done = append(done, f)
	}
	return done, nil
}

// current reads VF vf of pf again, falling back to fallback when it cannot.
func (a *Allocator) current(pf string, vf int, fallback State) State {
	vfs, err := a.kernel.VFs(pf)
	if err != nil || vf >= len(vfs) {
		return fallback
	}
	return vfs[vf]
}

// Detach restores the VF of vNIC id to its original settings and frees it.
// An unknown id is an error matching ErrNotFound. When the VF no longer
// exists (the PF is gone or has fewer VFs) there is nothing to restore and
// the VF is freed; when restoring fails, the allocation is kept so the
// detach can be retried.
func (a *Allocator) Detach(ctx context.Context, id string) error {
	rec, err := a.get(id)
	if err != nil {
		return fmt.Errorf("detach vnic %q: %w", id, err)
	}
	defer a.lockPF(rec.PF)()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("detach vnic %q: %w", id, err)
	}
	// Read again under the PF lock: a concurrent Detach may have won.
	if rec, err = a.get(id); err != nil {
		return fmt.Errorf("detach vnic %q: %w", id, err)
	}
	vfs, err := a.kernel.VFs(rec.PF)
	if err == nil && rec.VFIndex < len(vfs) {
		cur := vfs[rec.VFIndex]
		if err := a.apply(rec.PF, rec.VFIndex, cur, fromRecord(rec.Original).desired(cur)); err != nil {
			return fmt.Errorf("detach vnic %q: restore original settings: %w", id, err)
		}
	}
	if err := a.store.Update(func(tx *store.Tx) error { return tx.DeleteVNIC(id) }); err != nil {
		return fmt.Errorf("detach vnic %q: %w", id, err)
	}
	return nil
}

// Get returns the allocation of vNIC id (an error matching ErrNotFound when
// there is none).
func (a *Allocator) Get(id string) (Allocation, error) {
	rec, err := a.get(id)
	if err != nil {
		return Allocation{}, fmt.Errorf("get vnic %q: %w", id, err)
	}
	return allocationOf(rec), nil
}

func (a *Allocator) get(id string) (rec store.VNIC, err error) {
	err = a.store.View(func(tx *store.Tx) error { rec, err = tx.VNIC(id); return err })
	return rec, err
}

// Allocations returns the allocations of network (all when empty), sorted
// by vNIC id.
func (a *Allocator) Allocations(network string) ([]Allocation, error) {
	var recs []store.VNIC
	err := a.store.View(func(tx *store.Tx) (err error) { recs, err = tx.VNICs(network); return err })
	if err != nil {
		return nil, fmt.Errorf("list allocations: %w", err)
	}
	out := make([]Allocation, len(recs))
	for i, r := range recs {
		out[i] = allocationOf(r)
	}
	return out, nil
}
