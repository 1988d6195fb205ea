package manager

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// plumbing is what a network's switching mode does for vNICs: it turns a
// vNIC into a device on the host (a veth, a VF) and names the netdev the
// network switches on for it (an OpenFlow port), and undoes that on
// detach. Each mode has one (hostPlumbing, nicPlumbing, hairpinPlumbing);
// a new mode plugs in by implementing it and adding a case to newPlumbing.
//
// Every method runs with the manager's operation lock held; attach and
// detach write the vNIC's store record (attach creates it with Port set
// and OFPort 0; the manager then adds the port and records its number).
type plumbing interface {
	// start prepares the mode's side of the host when the network starts
	// (nic: the uplink's VF count and eswitch mode; hairpin: the uplink's
	// embedded bridge in VEPA) and says what it changed. It is idempotent;
	// a device's refusal leaves the device as it was.
	start(ctx context.Context) ([]string, error)
	// stop undoes what start changed on the host beyond the network's own
	// devices (hairpin: the uplink's bridge mode back), when the network
	// leaves the mode or is deleted, and says what it changed.
	stop(ctx context.Context) ([]string, error)
	// eswitchMode is the uplink's eswitch mode, "" when there is none.
	eswitchMode() string
	// note says how the mode runs when it differs from what was asked
	// (switchdev refused, for example); "" otherwise.
	note() string
	// switching is where vNIC-to-vNIC traffic is switched: a
	// rest.Switch* point and the same in words.
	switching() (point, text string)
	// check refuses settings the mode cannot apply, with a *rest.Error
	// naming the field; it changes nothing.
	check(s vf.Settings) error
	// attach creates the vNIC's device, applies s and records the vNIC.
	attach(ctx context.Context, id, network string, s vf.Settings) (store.VNIC, error)
	// adopt finds the device of a recorded vNIC again after a restart,
	// re-creating what is missing, and returns the record as it now is.
	adopt(ctx context.Context, rec store.VNIC) (store.VNIC, error)
	// detach removes the vNIC's device (a VF gets its original settings
	// back) and deletes its record.
	detach(ctx context.Context, rec store.VNIC) error
}

// errNoState answers requests that need the state store when nicflowd runs
// without one.
var errNoState = rest.Unavailable("", "nicflowd runs without a state store: networks cannot be created and vNICs cannot be attached through the API")

// newPlumbing returns the plumbing of spec's mode.
func (m *Manager) newPlumbing(spec rest.NetworkSpec) (plumbing, error) {
	switch spec.Mode {
	case rest.ModeHost:
		return &hostPlumbing{links: m.cfg.Links, st: m.cfg.Store, uplink: spec.Uplink}, nil
	case rest.ModeNIC:
		if m.alloc == nil {
			return nil, rest.Unavailable("mode", "mode nic needs SR-IOV access (netlink, devlink) and the state store, and this nicflowd has none")
		}
		return &nicPlumbing{uplink: spec.Uplink, wantMode: spec.EswitchMode, numVFs: spec.NumVFs,
			alloc: m.alloc, st: m.cfg.Store, kernel: m.cfg.VF, links: m.cfg.Links}, nil
	case rest.ModeHairpin:
		if m.cfg.VEPA == nil {
			return nil, rest.Unavailable("mode", "mode hairpin needs rtnetlink access (bridge modes, macvlan) and this nicflowd has none")
		}
		p := &hairpinPlumbing{uplink: spec.Uplink, vnicType: spec.VNICType, vepa: m.cfg.VEPA, links: m.cfg.Links, st: m.cfg.Store}
		if p.vnicType == "" {
			p.vnicType = m.defaultVNICType(spec.Uplink)
		}
		if p.vnicType == rest.VNICTypeVF {
			if m.alloc == nil {
				return nil, rest.Unavailable("vnic_type", "vnic_type vf needs SR-IOV access (netlink, devlink) and the state store, and this nicflowd has none; use macvlan or macvtap")
			}
			p.vfs = &nicPlumbing{uplink: spec.Uplink, alloc: m.alloc, st: m.cfg.Store, kernel: m.cfg.VF, links: m.cfg.Links, portless: true}
		}
		return p, nil
	}
	return nil, rest.Invalid("mode", fmt.Sprintf("%q is not one of host, nic, hairpin", spec.Mode))
}

// plumbingOf returns the plumbing that detaches rec: by the kind of its
// device, so a vNIC whose network is gone can still be detached.
func (m *Manager) plumbingOf(rec store.VNIC) (plumbing, error) {
	if rec.Kind == store.KindMacvlan || rec.Kind == store.KindMacvtap {
		if m.cfg.VEPA == nil {
			return nil, fmt.Errorf("vnic %s is a %s, and this nicflowd has no rtnetlink access for it", rec.ID, rec.Kind)
		}
		return &hairpinPlumbing{vnicType: rec.Kind, vepa: m.cfg.VEPA, links: m.cfg.Links, st: m.cfg.Store}, nil
	}
	if !rec.IsVF() {
		return &hostPlumbing{links: m.cfg.Links, st: m.cfg.Store}, nil
	}
	if m.alloc == nil {
		return nil, fmt.Errorf("vnic %s is on VF %d of %s, and this nicflowd has no SR-IOV access", rec.ID, rec.VFIndex, rec.PF)
	}
	return &nicPlumbing{uplink: rec.PF, alloc: m.alloc, st: m.cfg.Store, kernel: m.cfg.VF, links: m.cfg.Links}, nil
}

// defaultVNICType is the vNIC type of a hairpin network that names none:
// vf when the uplink has SR-IOV VFs, else macvlan.
func (m *Manager) defaultVNICType(uplink string) string {
	if m.cfg.VF != nil && m.alloc != nil {
		if n, err := m.cfg.VF.NumVFs(uplink); err == nil && n > 0 {
			return rest.VNICTypeVF
		}
	}
	return rest.VNICTypeMacvlan
}

// fill completes a valid spec with what the daemon decides: the vNIC type
// of a hairpin network.
func (m *Manager) fill(spec *rest.NetworkSpec) {
	if spec.Mode == rest.ModeHairpin && spec.VNICType == "" {
		spec.VNICType = m.defaultVNICType(spec.Uplink)
	}
}

// vnicKind is the kind of device a vNIC is in spec's mode (store.Kind*).
func vnicKind(spec rest.NetworkSpec) string {
	switch spec.Mode {
	case rest.ModeNIC:
		return store.KindVF
	case rest.ModeHairpin:
		return spec.VNICType
	}
	return store.KindVeth
}

// flowRefusal is why a network in plumbing p's mode refuses flow rules
// over OpenFlow ("" when it takes them).
func flowRefusal(network string, p plumbing) string {
	if np, ok := p.(*nicPlumbing); ok {
		return np.flowRefusal(network)
	}
	return ""
}
