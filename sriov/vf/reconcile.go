package vf

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nicflow/nicflow/offload/store"
)

// Change is one field Reconcile set back to the recorded value.
type Change struct {
	VNICID string
	PF     string
	VF     int
	Field  Field
	Was    string // the value found in the kernel
	Now    string // the recorded value, now applied
}

func (c Change) String() string {
	return fmt.Sprintf("vnic %s (VF %d of PF %s): %s %s -> %s", c.VNICID, c.VF, c.PF, c.Field, c.Was, c.Now)
}

// Reconcile re-applies every recorded allocation's settings to the kernel
// (run at start: a restarted nicflowd keeps its allocations and fixes what
// drifted) and returns what it changed. A MAC the vNIC did not ask for is
// not compared; records of host-side vNICs (not on a VF) are skipped. It goes on past a failing vNIC and returns every failure
// joined; the allocations stay recorded either way.
func (a *Allocator) Reconcile(ctx context.Context) ([]Change, error) {
	var recs []store.VNIC
	if err := a.store.View(func(tx *store.Tx) (err error) { recs, err = tx.VNICs(""); return err }); err != nil {
		return nil, fmt.Errorf("reconcile VFs: %w", err)
	}
	byPF := map[string][]store.VNIC{}
	var pfs []string
	for _, r := range recs {
		if !r.IsVF() {
			continue // a host-side vNIC: nothing of a VF to reconcile
		}
		if _, ok := byPF[r.PF]; !ok {
			pfs = append(pfs, r.PF)
		}
		byPF[r.PF] = append(byPF[r.PF], r)
	}
	var changes []Change
	var errs []error
	for _, pf := range pfs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("reconcile VFs: %w", err))
			break
		}
		ch, err := a.reconcilePF(pf, byPF[pf])
		changes = append(changes, ch...)
		errs = append(errs, err)
	}
	return changes, errors.Join(errs...)
}

// reconcilePF reconciles the allocations recs of one PF.
func (a *Allocator) reconcilePF(pf string, recs []store.VNIC) ([]Change, error) {
	defer a.lockPF(pf)()
	vfs, err := a.kernel.VFs(pf)
	if err != nil {
		return nil, fmt.Errorf("reconcile VFs of PF %s: %w", pf, err)
	}
	var changes []Change
	var errs []error
	for _, r := range recs {
		if r.VFIndex >= len(vfs) {
			errs = append(errs, fmt.Errorf("reconcile vnic %q: VF %d of PF %s does not exist (the PF has %d VFs)", r.ID, r.VFIndex, pf, len(vfs)))
			continue
		}
		cur := vfs[r.VFIndex]
		want := fromRecord(r.Settings).desired(cur)
		done, err := a.applyFields(pf, r.VFIndex, cur, want)
		for _, f := range done {
			changes = append(changes, Change{VNICID: r.ID, PF: pf, VF: r.VFIndex, Field: f, Was: cur.format(f), Now: want.format(f)})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("reconcile vnic %q: %w", r.ID, err))
		}
	}
	return changes, errors.Join(errs...)
}

// describe lists allocations as "vnic a on VF 0, vnic b on VF 2".
func describe(recs []store.VNIC) string {
	parts := make([]string, len(recs))
	for i, r := range recs {
		parts[i] = fmt.Sprintf("vnic %q on VF %d", r.ID, r.VFIndex)
	}
	return strings.Join(parts, ", ")
}
