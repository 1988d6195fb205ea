package manager

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"syscall"
	"time"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
	"github.com/nicflow/nicflow/vepa"
)

// hairpinNote is the mode note of every hairpin network: why its rules
// run in the fast path.
const hairpinNote = "hairpin: rules are enforced in tc on the uplink's ingress; the frames the external switch reflects back go on to the vNICs, so the fast path never sees them and rules tc cannot run are listed as not enforced"

// hairpinNoFastPath is a hairpin network's offload.Config.NoFastPath.
const hairpinNoFastPath = "hairpin: the uplink's frames belong to the vNICs, only tc acts on them"

// hairpinPlumbing is mode hairpin: vNIC-to-vNIC traffic leaves through the
// uplink and the external switch reflects it back (VEPA, hairpin on its
// port); the network's OpenFlow port is the uplink, where nicflow applies
// the rules. A vNIC is a VF of the uplink, whose embedded bridge goes to
// VEPA (vnic type vf), or a macvlan/macvtap device in VEPA mode on the
// uplink named like a host vNIC's netdev ("nfv-" and the id). vNICs have
// no OpenFlow port of their own; their port numbers stay reserved for a
// change back to mode host or nic.
type hairpinPlumbing struct {
	uplink   string
	vnicType string // rest.VNICTypeVF, VNICTypeMacvlan, VNICTypeMacvtap
	vepa     VEPAKernel
	links    Links
	st       *store.Store
	vfs      *nicPlumbing // vnic type vf: the VFs, without ports

	// before is the uplink's embedded bridge mode before this network put
	// it in VEPA ("veb", "vepa"), "" when nicflowd did not change it; the
	// manager keeps it in the network's record.
	before string
}

func (p *hairpinPlumbing) eswitchMode() string {
	if p.vfs != nil {
		return p.vfs.mode
	}
	return ""
}

func (p *hairpinPlumbing) note() string { return hairpinNote }

func (p *hairpinPlumbing) switching() (string, string) {
	return rest.SwitchExternal, "hairpin: external switch (VEPA reflective relay); rules on the uplink"
}

func (p *hairpinPlumbing) tap() bool { return p.vnicType == rest.VNICTypeMacvtap }

// start puts the uplink's embedded bridge in VEPA (vnic type vf). The
// driver's refusal is an ErrRefused in its own words, and nothing is
// changed.
func (p *hairpinPlumbing) start(ctx context.Context) ([]string, error) {
	if p.vnicType != rest.VNICTypeVF {
		return nil, nil
	}
	mode, err := p.vfs.kernel.EswitchMode(p.uplink)
	if err != nil {
		mode = vf.ModeLegacy
	}
	p.vfs.mode = mode
	cur, rerr := p.vepa.BridgeMode(p.uplink)
	if rerr == nil && cur == vepa.ModeVEPA {
		return nil, nil // already (restart, or set by someone else)
	}
	if err := p.vepa.SetBridgeMode(p.uplink, vepa.ModeVEPA); err != nil {
		return nil, &rest.Error{Kind: rest.ErrRefused, Field: "mode", Err: err,
			Msg: fmt.Sprintf("uplink %s refuses VEPA, which mode hairpin with vnic_type vf needs (its VFs' traffic must leave through the uplink): %v; "+
				"on most NICs VEPA needs the eswitch in legacy mode (eswitch mode now %s), or use vnic_type macvlan or macvtap", p.uplink, err, mode)}
	}
	was := vepa.ModeVEB
	if rerr == nil {
		was = cur
	}
	if p.before == "" {
		p.before = was.String()
	}
	return []string{fmt.Sprintf("pf %s: embedded bridge %s -> VEPA", p.uplink, upper(was.String()))}, nil
}

// stop puts the uplink's embedded bridge back in the mode it had before
// the network was hairpin.
func (p *hairpinPlumbing) stop(context.Context) ([]string, error) {
	if p.vnicType != rest.VNICTypeVF || p.before == "" || p.before == vepa.ModeVEPA.String() {
		p.before = ""
		return nil, nil
	}
	m, err := vepa.ParseMode(p.before)
	if err != nil {
		return nil, err
	}
	if err := p.vepa.SetBridgeMode(p.uplink, m); err != nil {
		return nil, refused("mode", p.uplink, fmt.Errorf("put the embedded bridge of %s back to %s: %w", p.uplink, upper(p.before), err))
	}
	line := fmt.Sprintf("pf %s: embedded bridge VEPA -> %s (as before the network was hairpin)", p.uplink, upper(p.before))
	p.before = ""
	return []string{line}, nil
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// check: a VF takes every setting; a macvlan takes a MAC and a link state,
// like a host vNIC.
func (p *hairpinPlumbing) check(s vf.Settings) error {
	if p.vnicType == rest.VNICTypeVF {
		return nil
	}
	return checkHostSettings(s, "a hairpin vNIC of type "+p.vnicType+" is a host-side device (use vnic_type vf, or OpenFlow rules on the uplink)")
}

func (p *hairpinPlumbing) attach(ctx context.Context, id, network string, s vf.Settings) (store.VNIC, error) {
	if p.vnicType == rest.VNICTypeVF {
		return p.vfs.attach(ctx, id, network, s)
	}
	_, name := vethNames(id)
	rec := store.VNIC{ID: id, Network: network, Kind: store.KindMacvlan, VFIndex: -1, VFNetdev: name,
		Settings: store.VFSettings(s), Attached: time.Now().UTC()}
	if p.tap() {
		rec.Kind = store.KindMacvtap
	}
	if err := p.create(rec); errors.Is(err, syscall.EADDRINUSE) {
		return store.VNIC{}, rest.Conflict("mac", fmt.Sprintf("%s is in use on uplink %s (by another vNIC, or by an old device of this one that a VM or container still holds in its namespace): %v",
			vnicMAC(rec), p.uplink, err))
	} else if err != nil {
		return store.VNIC{}, err
	}
	if err := p.st.PutVNIC(rec); err != nil {
		_ = p.vepa.DelMacvlan(name)
		return store.VNIC{}, fmt.Errorf("record vnic: %w", err)
	}
	return rec, nil
}

// create makes rec's macvlan/macvtap in VEPA mode on the uplink.
func (p *hairpinPlumbing) create(rec store.VNIC) error {
	mac, err := net.ParseMAC(vnicMAC(rec))
	if err != nil {
		return rest.Invalid("mac", err.Error())
	}
	spec := vepa.MacvlanSpec{Name: rec.VFNetdev, Parent: p.uplink, Mode: vepa.MacvlanVEPA, Tap: rec.Kind == store.KindMacvtap,
		MAC: mac, Up: rec.Settings.LinkState != vf.LinkDisable}
	if _, err := p.vepa.AddMacvlan(spec); err != nil {
		return refused("network", p.uplink, err) // the uplink takes no such macvlan
	}
	return nil
}

// vnicMAC is the MAC of a host-side vNIC: the requested one, else one
// derived from the network and id (locally administered, stable, so a
// re-created device keeps it and the kernel recognizes one that lives on
// in another namespace).
func vnicMAC(rec store.VNIC) string {
	if rec.Settings.MAC != "" {
		return rec.Settings.MAC
	}
	h := fnv.New32a()
	h.Write([]byte(rec.Network + "/" + rec.ID))
	v := h.Sum32()
	return fmt.Sprintf("0a:6e:66:%02x:%02x:%02x", byte(v>>16), byte(v>>8), byte(v))
}

// adopt keeps a vNIC device that survived the restart and re-creates a
// missing one. A macvlan moved into a VM's or container's namespace is
// not visible here: re-creating it with its MAC fails with EADDRINUSE
// (the uplink has it), which means it lives on.
func (p *hairpinPlumbing) adopt(ctx context.Context, rec store.VNIC) (store.VNIC, error) {
	if rec.IsVF() {
		return p.vfs.adopt(ctx, rec)
	}
	if p.links.HasLink(rec.VFNetdev) {
		return rec, nil
	}
	err := p.create(rec)
	if errors.Is(err, syscall.EADDRINUSE) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("re-create %s %s: %w", rec.Kind, rec.VFNetdev, err)
	}
	return rec, nil
}

func (p *hairpinPlumbing) detach(ctx context.Context, rec store.VNIC) error {
	if rec.IsVF() {
		return p.vfs.detach(ctx, rec)
	}
	if p.links.HasLink(rec.VFNetdev) {
		if err := p.vepa.DelMacvlan(rec.VFNetdev); err != nil {
			return fmt.Errorf("delete %s %s: %w", rec.Kind, rec.VFNetdev, err)
		}
	}
	if err := p.st.DeleteVNIC(rec.ID); err != nil {
		return fmt.Errorf("forget vnic: %w", err)
	}
	return nil
}
