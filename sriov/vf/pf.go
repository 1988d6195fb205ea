package vf

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"

	"github.com/nicflow/nicflow/offload/store"
)

// ConfigurePF gives PF pf numVFs VFs and puts its eswitch in mode ("legacy"
// or "switchdev"; "" keeps the current mode), in the order drivers need (see
// the package documentation). It does nothing that is already so, so it is
// idempotent.
//
// It refuses (ErrInUse) to shrink the VF count to or below an allocated VF
// index, and to change a non-zero count while any VF is allocated: the
// kernel only changes the count through 0, which would remove every VF.
func (a *Allocator) ConfigurePF(ctx context.Context, pf string, numVFs int, mode string) error {
	if numVFs < 0 {
		return fmt.Errorf("configure PF %s: VF count %d is negative", pf, numVFs)
	}
	switch mode {
	case "", ModeLegacy, ModeSwitchdev:
	default:
		return fmt.Errorf("configure PF %s: eswitch mode %q is not legacy or switchdev", pf, mode)
	}
	defer a.lockPF(pf)()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("configure PF %s: %w", pf, err)
	}
	cur, err := a.kernel.NumVFs(pf)
	if err != nil {
		return fmt.Errorf("configure PF %s: %w", pf, err)
	}
	if cur != numVFs {
		var pe *PFError
		if err := a.setNumVFs(pf, cur, numVFs, mode); errors.As(err, &pe) {
			return err
		} else if err != nil {
			return fmt.Errorf("configure PF %s: %w", pf, err)
		}
	}
	if mode == "" {
		return nil
	}
	have, err := a.kernel.EswitchMode(pf)
	if err != nil {
		return fmt.Errorf("configure PF %s: %w", pf, err)
	}
	if have != mode {
		if err := a.kernel.SetEswitchMode(pf, mode); err != nil {
			return &PFError{PF: pf, Setting: SettingEswitchMode, Value: mode, Err: err}
		}
	}
	return nil
}

// PFSetting is a PF-wide setting ConfigurePF changes.
type PFSetting string

// The PF-wide settings.
const (
	SettingNumVFs      PFSetting = "VF count"     // sriov_numvfs
	SettingEswitchMode PFSetting = "eswitch mode" // devlink eswitch mode
)

// PFError is the kernel's (or driver's) failure to change one PF-wide
// setting to Value, by the step Err names, in its own words: a VF count
// above what the device has (ERANGE), an eswitch mode the device has not
// (EOPNOTSUPP) or cannot take now (EBUSY). errors.Is matches its errno.
type PFError struct {
	PF      string
	Setting PFSetting
	Value   string
	Err     error
}

func (e *PFError) Error() string {
	return fmt.Sprintf("configure PF %s: set %s to %s: %v", e.PF, e.Setting, e.Value, e.Err)
}

func (e *PFError) Unwrap() error { return e.Err }

// SetNumVFs is ConfigurePF keeping the eswitch mode.
func (a *Allocator) SetNumVFs(ctx context.Context, pf string, n int) error {
	return a.ConfigurePF(ctx, pf, n, "")
}

// setNumVFs changes the VF count of pf from cur to n (PF locked). When mode
// is "" and the PF was in switchdev mode, switchdev is set again after. A
// kernel's failure on the way is a *PFError of the VF count.
func (a *Allocator) setNumVFs(pf string, cur, n int, mode string) error {
	allocated, err := a.allocatedOn(pf)
	if err != nil {
		return err
	}
	if len(allocated) > 0 {
		top := allocated[len(allocated)-1]
		if n <= top.VFIndex {
			return fmt.Errorf("%w: cannot set %d VFs: VF %d is allocated to vnic %q (detach it first); allocated: %s",
				ErrInUse, n, top.VFIndex, top.ID, describe(allocated))
		}
		return fmt.Errorf("%w: cannot change the VF count from %d to %d: the kernel goes through 0, which would remove allocated VFs (%s)",
			ErrInUse, cur, n, describe(allocated))
	}
	before, err := a.kernel.EswitchMode(pf)
	if err != nil {
		before = "" // a PF without devlink eswitch: legacy SR-IOV only
	}
	refused := func(err error) error {
		return &PFError{PF: pf, Setting: SettingNumVFs, Value: strconv.Itoa(n), Err: err}
	}
	if before == ModeSwitchdev {
		if err := a.kernel.SetEswitchMode(pf, ModeLegacy); err != nil {
			return refused(fmt.Errorf("set eswitch mode legacy first: %w", err))
		}
	}
	if cur != 0 && n != 0 {
		if err := a.kernel.WriteNumVFs(pf, 0); err != nil {
			return refused(fmt.Errorf("go through 0 VFs first (from %d): %w", cur, err))
		}
	}
	if err := a.kernel.WriteNumVFs(pf, n); err != nil {
		return refused(err)
	}
	if before == ModeSwitchdev && mode == "" {
		if err := a.kernel.SetEswitchMode(pf, ModeSwitchdev); err != nil {
			return refused(fmt.Errorf("set eswitch mode switchdev again after: %w", err))
		}
	}
	return nil
}

// allocatedOn returns the allocations of pf sorted by VF index.
func (a *Allocator) allocatedOn(pf string) ([]store.VNIC, error) {
	var out []store.VNIC
	err := a.store.View(func(tx *store.Tx) error {
		vs, err := tx.VNICs("")
		for _, v := range vs {
			if v.IsVF() && v.PF == pf {
				out = append(out, v)
			}
		}
		return err
	})
	sort.Slice(out, func(i, j int) bool { return out[i].VFIndex < out[j].VFIndex })
	return out, err
}
