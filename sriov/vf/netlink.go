package vf

import (
	"errors"
	"fmt"
	"net"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/sriov/internal/switchdev"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// NetlinkOptions configures Netlink.
type NetlinkOptions struct {
	// SysfsRoot is where sysfs is mounted ("/sys" when empty).
	SysfsRoot string
}

// Netlink is the Kernel of the running system: VF settings over rtnetlink
// (github.com/vishvananda/netlink), eswitch mode, ports and rate over
// devlink, the VF count through sysfs, representors through sriovnet. It is
// safe for concurrent use.
type Netlink struct {
	sys   sysfs
	dl    *devlink.Conn // nil when devlink is unavailable
	dlErr error         // why dl is nil
	reps  representors
}

// representors is what Netlink asks of sriovnet: switchdev.Host on the
// running system (proven in the VM), a fake in tests on fixture trees.
type representors interface {
	// VFRepresentor returns the representor netdev of VF vf of uplink.
	VFRepresentor(uplink string, vf int) (string, error)
	// Represented returns the flavour of representor rep and the VF or
	// SF number it stands for.
	Represented(rep string) (switchdev.Flavour, int, error)
	// Netdevs returns the netdevs of a PCI function.
	Netdevs(pci string) ([]string, error)
}

var _ Kernel = (*Netlink)(nil)

// bytesPerMbit converts Mbit/s (rtnetlink VF rates) to bytes/s (devlink).
const bytesPerMbit = 1_000_000 / 8

// NewNetlink returns the real Kernel. A kernel without devlink still gives
// VF settings; eswitch and devlink rate operations then fail.
//
// It turns on netlink extended-ack error messages in
// github.com/vishvananda/netlink (a package-wide switch), so kernel refusals
// carry the driver's message.
func NewNetlink(opts NetlinkOptions) (*Netlink, error) {
	if opts.SysfsRoot == "" {
		opts.SysfsRoot = "/sys"
	}
	nl.EnableErrorMessageReporting = true
	n := &Netlink{sys: sysfs{root: opts.SysfsRoot}}
	n.dl, n.dlErr = devlink.Dial()
	host := switchdev.Host{Sysfs: opts.SysfsRoot}
	if n.dl != nil {
		host.Devlink = n.dl
	}
	n.reps = host
	return n, nil
}

// Close releases the devlink connection.
func (n *Netlink) Close() error {
	if n.dl != nil {
		return n.dl.Close()
	}
	return nil
}

func (n *Netlink) devlink(pf string) (*devlink.Conn, devlink.Handle, error) {
	if n.dl == nil {
		return nil, devlink.Handle{}, fmt.Errorf("devlink unavailable: %w", n.dlErr)
	}
	h, err := n.sys.devlinkHandle(pf)
	return n.dl, h, err
}

// VFs reads the PF's IFLA_VFINFO_LIST. In switchdev mode the rates come
// from the VFs' devlink rate leaves where they exist.
func (n *Netlink) VFs(pf string) ([]State, error) {
	link, err := netlink.LinkByName(pf)
	if err != nil {
		return nil, fmt.Errorf("get link %s: %w", pf, err)
	}
	infos := link.Attrs().Vfs
	states := make([]State, len(infos))
	for i, vi := range infos {
		states[i] = stateOf(vi)
	}
	if len(states) > 0 {
		if mode, err := n.EswitchMode(pf); err == nil && mode == ModeSwitchdev {
			n.devlinkRates(pf, states)
		}
	}
	return states, nil
}

// devlinkRates overwrites the rates of states with those of the VFs'
// devlink rate leaves, where there are any (one port dump for all VFs).
func (n *Netlink) devlinkRates(pf string, states []State) {
	dl, h, err := n.devlink(pf)
	if err != nil {
		return
	}
	ports, err := dl.Ports(h)
	if err != nil {
		return
	}
	for _, p := range ports {
		if !p.HasVF || p.External || p.Flavour != unix.DEVLINK_PORT_FLAVOUR_PCI_VF || int(p.VF) >= len(states) {
			continue
		}
		if r, err := dl.Rate(h, p.Index); err == nil {
			states[p.VF].MinTxRate, states[p.VF].MaxTxRate = int(r.TxShare/bytesPerMbit), int(r.TxMax/bytesPerMbit)
		}
	}
}

// VLAN protocol numbers (IFLA_VF_VLAN_INFO vlan_proto).
const (
	ethP8021Q  = 0x8100
	ethP8021AD = 0x88a8
)

// stateOf converts the netlink view of a VF.
func stateOf(vi netlink.VfInfo) State {
	mac := net.HardwareAddr(make([]byte, 6))
	if len(vi.Mac) == 6 {
		mac = vi.Mac
	}
	proto := Proto8021Q
	if vi.VlanProto == ethP8021AD {
		proto = Proto8021AD
	}
	maxRate := int(vi.MaxTxRate)
	if maxRate == 0 {
		maxRate = vi.TxRate // drivers with only the old IFLA_VF_TX_RATE
	}
	return State{
		MAC:        mac.String(),
		VLAN:       vi.Vlan,
		QoS:        vi.Qos,
		VLANProto:  proto,
		SpoofCheck: vi.Spoofchk,
		Trust:      vi.Trust != 0,
		MinTxRate:  int(vi.MinTxRate),
		MaxTxRate:  maxRate,
		LinkState:  linkStateName(vi.LinkState),
	}
}

func linkStateName(s uint32) string {
	switch s {
	case netlink.VF_LINK_STATE_AUTO:
		return LinkAuto
	case netlink.VF_LINK_STATE_ENABLE:
		return LinkEnable
	case netlink.VF_LINK_STATE_DISABLE:
		return LinkDisable
	}
	return fmt.Sprintf("state(%d)", s)
}

// SetVF sets one field group of VF vf of pf to its value in want.
func (n *Netlink) SetVF(pf string, vf int, f Field, want State) error {
	link, err := netlink.LinkByName(pf)
	if err != nil {
		return fmt.Errorf("get link %s: %w", pf, err)
	}
	switch f {
	case FieldMAC:
		mac, err := net.ParseMAC(want.MAC)
		if err != nil {
			return err
		}
		return netlink.LinkSetVfHardwareAddr(link, vf, mac)
	case FieldVLAN:
		proto := ethP8021Q
		if want.VLANProto == Proto8021AD {
			proto = ethP8021AD
		}
		return netlink.LinkSetVfVlanQosProto(link, vf, want.VLAN, want.QoS, proto)
	case FieldSpoofCheck:
		return netlink.LinkSetVfSpoofchk(link, vf, want.SpoofCheck)
	case FieldTrust:
		return netlink.LinkSetVfTrust(link, vf, want.Trust)
	case FieldRate:
		return n.setRate(link, vf, want.MinTxRate, want.MaxTxRate)
	case FieldLinkState:
		var s uint32
		switch want.LinkState {
		case LinkAuto:
			s = netlink.VF_LINK_STATE_AUTO
		case LinkEnable:
			s = netlink.VF_LINK_STATE_ENABLE
		case LinkDisable:
			s = netlink.VF_LINK_STATE_DISABLE
		default:
			return fmt.Errorf("unknown link state %q", want.LinkState)
		}
		return netlink.LinkSetVfState(link, vf, s)
	}
	return fmt.Errorf("unknown VF field %v", f)
}

// setRate uses the VF's devlink rate leaf in switchdev mode and
// IFLA_VF_RATE otherwise.
func (n *Netlink) setRate(link netlink.Link, vf, minRate, maxRate int) error {
	pf := link.Attrs().Name
	if mode, err := n.EswitchMode(pf); err == nil && mode == ModeSwitchdev {
		dl, h, err := n.devlink(pf)
		if err != nil {
			return err
		}
		port, err := dl.VFPort(h, vf)
		if err != nil {
			return err
		}
		return dl.SetRate(h, port.Index, devlink.Rate{TxShare: uint64(minRate) * bytesPerMbit, TxMax: uint64(maxRate) * bytesPerMbit})
	}
	return netlink.LinkSetVfRate(link, vf, minRate, maxRate)
}

// VFRate reads the min and max rate (Mbit/s) of VF vf of pf from its
// devlink rate leaf (switchdev mode).
func (n *Netlink) VFRate(pf string, vf int) (minRate, maxRate int, err error) {
	dl, h, err := n.devlink(pf)
	if err != nil {
		return 0, 0, err
	}
	port, err := dl.VFPort(h, vf)
	if err != nil {
		return 0, 0, err
	}
	r, err := dl.Rate(h, port.Index)
	if err != nil {
		return 0, 0, err
	}
	return int(r.TxShare / bytesPerMbit), int(r.TxMax / bytesPerMbit), nil
}

// NumVFs reads the PF's sriov_numvfs.
func (n *Netlink) NumVFs(pf string) (int, error) { return n.sys.numVFs(pf) }

// WriteNumVFs writes the PF's sriov_numvfs.
func (n *Netlink) WriteNumVFs(pf string, num int) error { return n.sys.writeNumVFs(pf, num) }

// EswitchMode reads the eswitch mode of the PF's devlink instance.
func (n *Netlink) EswitchMode(pf string) (string, error) {
	dl, h, err := n.devlink(pf)
	if err != nil {
		return "", err
	}
	return dl.EswitchMode(h)
}

// SetEswitchMode sets the eswitch mode of the PF's devlink instance.
func (n *Netlink) SetEswitchMode(pf, mode string) error {
	dl, h, err := n.devlink(pf)
	if err != nil {
		return err
	}
	return dl.SetEswitchMode(h, mode)
}

// Locate is a Resolver from sysfs and sriovnet: the VF's PCI address from
// the PF's virtfnN link, its netdev from the VF's PCI function
// (sriovnet.GetNetDevicesFromPci) and, in switchdev mode, its representor
// (sriovnet.GetVfRepresentor: the netdev of the PF's switch whose
// phys_port_name is pfNvfM). Parts it cannot find are left empty: sriovnet
// does not tell a missing representor from a failed read, so Locate
// returns no error.
func (n *Netlink) Locate(pf string, vf int) (Location, error) {
	var loc Location
	loc.PCI = n.sys.vfPCI(pf, vf)
	if loc.PCI != "" {
		if nets, err := n.reps.Netdevs(loc.PCI); err == nil && len(nets) > 0 {
			loc.Netdev = nets[0]
		}
	}
	if rep, err := n.reps.VFRepresentor(pf, vf); err == nil {
		loc.Representor = rep
	}
	return loc, nil
}

// ErrNotVFRepresentor is returned (wrapped) by RepresentedVF for a netdev
// that is not the representor of a VF.
var ErrNotVFRepresentor = errors.New("not a VF representor")

// RepresentedVF returns the number of the VF that representor netdev rep
// stands for: its devlink port's flavour must be pcivf (or, without a
// devlink port, its phys_port_name pfNvfM), the number is the M of
// pfNvfM (sriovnet.GetRepresentorPortFlavour and
// GetPortIndexFromRepresentor). The PF is the one whose switch id rep
// carries.
func (n *Netlink) RepresentedVF(rep string) (int, error) {
	f, vf, err := n.reps.Represented(rep)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNotVFRepresentor, err)
	}
	if f != switchdev.FlavourPCIVF {
		return 0, fmt.Errorf("%s has port flavour %d: %w", rep, f, ErrNotVFRepresentor)
	}
	return vf, nil
}
