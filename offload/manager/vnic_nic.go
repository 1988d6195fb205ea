package manager

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// representorWait is how long attach waits for a VF's representor netdev
// to appear in switchdev mode.
const representorWait = 3 * time.Second

// nicPlumbing is mode nic: a vNIC is a VF of the uplink. In switchdev mode
// the VF's representor is the OpenFlow port; in legacy mode the NIC's VEB
// switches the VF by MAC and VLAN, and the vNIC has no OpenFlow port.
type nicPlumbing struct {
	uplink   string
	wantMode string // rest.EswitchSwitchdev, rest.EswitchLegacy, "" (switchdev when the NIC can)
	numVFs   int    // 0 keeps the PF's count
	alloc    *vf.Allocator
	st       *store.Store
	kernel   VFKernel
	links    Links

	// portless records VFs without a port (mode hairpin: the external
	// switch switches them, whatever the eswitch mode).
	portless bool

	mode string // the eswitch mode in effect
	why  string // why it differs from the one asked
}

func (p *nicPlumbing) eswitchMode() string { return p.mode }
func (p *nicPlumbing) note() string        { return p.why }

func (p *nicPlumbing) switching() (string, string) {
	if p.mode == vf.ModeSwitchdev {
		return rest.SwitchEswitch, "nic: NIC eswitch (switchdev), rules on representors in tc/hw"
	}
	return rest.SwitchVEB, "nic: NIC VEB (legacy), MAC/VLAN only"
}

// flowRefusal is why the network's OpenFlow datapath refuses flow rules:
// a legacy VEB switches VF traffic by MAC and VLAN and never shows it to
// nicflow. "" in switchdev mode.
func (p *nicPlumbing) flowRefusal(network string) string {
	if p.mode == vf.ModeSwitchdev {
		return ""
	}
	return fmt.Sprintf("network %s: uplink %s is in legacy eswitch mode; its VEB switches by MAC and VLAN only and cannot enforce flow rules; use eswitch_mode switchdev",
		network, p.uplink)
}

func (p *nicPlumbing) stop(context.Context) ([]string, error) { return nil, nil }
func (p *nicPlumbing) check(vf.Settings) error {
	return nil // a VF takes every setting; the driver's refusals come back from attach
}

// start sets the uplink's VF count and eswitch mode. Asked for no
// particular mode, it tries switchdev and falls back to legacy VEB when
// the NIC refuses, saying why.
func (p *nicPlumbing) start(ctx context.Context) ([]string, error) {
	before, berr := p.kernel.EswitchMode(p.uplink)
	n := p.numVFs
	if n == 0 {
		cur, err := p.kernel.NumVFs(p.uplink)
		if err != nil {
			return nil, &rest.Error{Kind: rest.ErrInvalid, Field: "uplink", Msg: fmt.Sprintf("%s is not an SR-IOV PF: %v", p.uplink, err), Err: err}
		}
		n = cur
	}
	want := p.wantMode
	if want == "" {
		want = vf.ModeSwitchdev
	}
	err := p.alloc.ConfigurePF(ctx, p.uplink, n, want)
	if err != nil && p.wantMode == "" && !errors.Is(err, vf.ErrInUse) {
		p.why = fmt.Sprintf("switchdev refused, running in legacy (VEB) mode: %v", err)
		err = p.alloc.ConfigurePF(ctx, p.uplink, n, "")
	}
	if errors.Is(err, vf.ErrInUse) {
		return nil, rest.Conflict("num_vfs", err.Error())
	}
	if err != nil {
		return nil, refusedPF(err) // a VF count or eswitch mode the device does not take
	}
	p.mode, err = p.kernel.EswitchMode(p.uplink)
	if err != nil {
		p.mode = vf.ModeLegacy // no devlink eswitch: SR-IOV legacy only
	}
	if berr == nil && before != p.mode {
		return []string{fmt.Sprintf("pf %s: eswitch mode %s -> %s", p.uplink, before, p.mode)}, nil
	}
	return nil, nil
}

func (p *nicPlumbing) attach(ctx context.Context, id, network string, s vf.Settings) (store.VNIC, error) {
	al, err := p.alloc.Attach(ctx, vf.Request{VNICID: id, Network: network, PF: p.uplink, Settings: s})
	switch {
	case errors.Is(err, vf.ErrNoFreeVF):
		return store.VNIC{}, rest.Conflict("network", err.Error())
	case errors.Is(err, vf.ErrConflict):
		return store.VNIC{}, rest.Conflict("id", err.Error())
	case err != nil:
		return store.VNIC{}, refusedSetting(err) // the driver refused a VF setting
	}
	rec, err := p.locate(ctx, id, al.Location)
	if err != nil {
		return store.VNIC{}, errors.Join(err, p.alloc.Detach(ctx, id))
	}
	return rec, nil
}

// locate finishes a VF's record: in switchdev mode it waits for the
// representor, sets it up and names it as the vNIC's port.
func (p *nicPlumbing) locate(ctx context.Context, id string, loc vf.Location) (store.VNIC, error) {
	rec, err := p.st.GetVNIC(id)
	if err != nil {
		return rec, err
	}
	if p.mode != vf.ModeSwitchdev || p.portless {
		rec.Port = ""
		return rec, p.put(rec)
	}
	deadline := time.Now().Add(representorWait)
	for loc.Representor == "" || !p.links.HasLink(loc.Representor) {
		if time.Now().After(deadline) {
			return rec, fmt.Errorf("VF %d of %s has no representor netdev after %v", rec.VFIndex, rec.PF, representorWait)
		}
		select {
		case <-ctx.Done():
			return rec, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if l, err := p.kernel.Locate(rec.PF, rec.VFIndex); err == nil {
			loc = l
		}
	}
	if err := p.links.SetUp(loc.Representor); err != nil {
		return rec, err
	}
	rec.VFPCI, rec.VFNetdev, rec.Representor, rec.Port = loc.PCI, loc.Netdev, loc.Representor, loc.Representor
	return rec, p.put(rec)
}

func (p *nicPlumbing) put(rec store.VNIC) error {
	return p.st.PutVNIC(rec)
}

// adopt finds the VF's netdev and representor again (their names can
// change across a reboot); its settings are reconciled separately.
func (p *nicPlumbing) adopt(ctx context.Context, rec store.VNIC) (store.VNIC, error) {
	loc, err := p.kernel.Locate(rec.PF, rec.VFIndex)
	if err != nil {
		return rec, err
	}
	return p.locate(ctx, rec.ID, loc)
}

func (p *nicPlumbing) detach(ctx context.Context, rec store.VNIC) error {
	err := p.alloc.Detach(ctx, rec.ID)
	if errors.Is(err, vf.ErrNotFound) {
		return nil
	}
	return err
}
