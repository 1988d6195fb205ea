// Package switchdev runs the lookups of github.com/k8snetworkplumbingwg/sriovnet
// (the maintained home of Mellanox/sriovnet) that the sriov tree uses on an
// injected sysfs mount and devlink client: VF and sub-function representors,
// the representor's port flavour and VF/SF number, the uplink representor,
// PF/VF PCI relations, auxiliary (SF) devices and the host PF's MAC address
// seen from a SmartNIC/DPU.
//
// sriovnet takes no root: it reads /sys through a package variable
// (pkg/utils/filesystem.Fs) for most calls and through the os package for a
// few, and asks devlink through another package variable
// (pkg/utils/netlinkops, github.com/vishvananda/netlink by default). Host sets
// both for the duration of each call, under one lock: the filesystem to its
// Sysfs directory (read only) and devlink to the sriov tree's own devlink
// client, so sriovnet opens no devlink socket of its own. The call that reads
// /sys through os (VFRepresentor: GetVfRepresentor reads the uplink's device
// link with os.Readlink) runs only on the host's /sys and fails with
// ErrHostOnly on any other Sysfs.
//
// This is the only package of nicflow that may import sriovnet. It never
// logs.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/sriov/devlink, go.uber.org/zap.
package switchdev

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"sync"

	"github.com/k8snetworkplumbingwg/sriovnet"
	utilfs "github.com/k8snetworkplumbingwg/sriovnet/pkg/utils/filesystem"
	"github.com/k8snetworkplumbingwg/sriovnet/pkg/utils/netlinkops"

	"github.com/nicflow/nicflow/sriov/devlink"
)

// HostSysfs is where the kernel mounts sysfs, the only Sysfs on which the
// calls that read through os run.
const HostSysfs = "/sys"

// ErrHostOnly is returned (wrapped) by the calls sriovnet makes through the
// os package when Host.Sysfs is not the host's /sys.
var ErrHostOnly = errors.New("sriovnet reads the host's /sys directly for this call")

// Ports lists devlink ports: *devlink.Conn, or a fake.
type Ports interface {
	// Ports returns the ports of h, of every devlink instance when h is
	// the zero Handle.
	Ports(h devlink.Handle) ([]devlink.Port, error)
}

// Flavour is a devlink port flavour (sriovnet.PortFlavour, whose values are
// the kernel's DEVLINK_PORT_FLAVOUR_*).
type Flavour = sriovnet.PortFlavour

// Port flavours of representors.
const (
	FlavourPhysical = Flavour(sriovnet.PORT_FLAVOUR_PHYSICAL) // the uplink (pN)
	FlavourPCIPF    = Flavour(sriovnet.PORT_FLAVOUR_PCI_PF)   // a (host) PF representor (pfN)
	FlavourPCIVF    = Flavour(sriovnet.PORT_FLAVOUR_PCI_VF)   // a VF representor (pfNvfM)
	FlavourPCISF    = Flavour(sriovnet.PORT_FLAVOUR_PCI_SF)   // a sub-function representor (pfNsfM)
	FlavourUnknown  = Flavour(sriovnet.PORT_FLAVOUR_UNKNOWN)
)

// Host answers with sriovnet over a sysfs mount and devlink ports. The zero
// value reads the host's /sys and asks no devlink (sriovnet then takes port
// flavours from phys_port_name). It is safe for concurrent use; calls are
// serialised.
type Host struct {
	// Sysfs is the directory standing for /sys (HostSysfs when empty); a
	// fixture tree in tests.
	Sysfs string
	// Devlink lists devlink ports for sriovnet's flavour and peer MAC
	// questions; nil answers them from sysfs alone.
	Devlink Ports
}

// mu guards sriovnet's package variables filesystem.Fs and netlinkops
// (set for the duration of each call).
var mu sync.Mutex

func (h Host) sysfs() string {
	if h.Sysfs == "" {
		return HostSysfs
	}
	return h.Sysfs
}

// do runs f with sriovnet reading h.Sysfs and asking h.Devlink.
func (h Host) do(f func() error) error {
	mu.Lock()
	defer mu.Unlock()
	utilfs.Fs = rootFS{sys: h.sysfs()}
	netlinkops.SetNetlinkOps(ops{ports: h.Devlink})
	defer func() {
		utilfs.Fs = rootFS{sys: HostSysfs}
		netlinkops.SetNetlinkOps(ops{})
	}()
	return f()
}

// ask runs f as do does and wraps its error with what was asked.
func ask[T any](h Host, what string, f func() (T, error)) (T, error) {
	var v T
	err := h.do(func() (err error) {
		v, err = f()
		return err
	})
	if err != nil {
		var zero T
		return zero, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// hostOnly refuses calls that sriovnet makes through os on a Sysfs other
// than the host's.
func (h Host) hostOnly(call string) error {
	if h.sysfs() != HostSysfs {
		return fmt.Errorf("sriovnet %s on sysfs %s: %w", call, h.sysfs(), ErrHostOnly)
	}
	return nil
}

// VFRepresentor returns the representor netdev of VF vf of the PF whose
// uplink representor (or, on netdevsim, port netdev) is uplink:
// sriovnet.GetVfRepresentor. It matches netdevs of the uplink's switch id by
// phys_port_name pfNvfM, with N the last digit of the uplink device's name
// (its PCI function; on netdevsim the last digit of netdevsimID). Host only:
// sriovnet reads the uplink's device link through os.
func (h Host) VFRepresentor(uplink string, vf int) (string, error) {
	if err := h.hostOnly("GetVfRepresentor"); err != nil {
		return "", err
	}
	return ask(h, fmt.Sprintf("representor of VF %d of %s", vf, uplink), func() (string, error) {
		return sriovnet.GetVfRepresentor(uplink, vf)
	})
}

// SFRepresentor returns the representor netdev of sub-function sfnum of
// uplink: a netdev of the uplink's device with phys_port_name pfNsfM
// (sriovnet.GetSfRepresentor).
func (h Host) SFRepresentor(uplink string, sfnum int) (string, error) {
	return ask(h, fmt.Sprintf("representor of SF %d of %s", sfnum, uplink), func() (string, error) {
		return sriovnet.GetSfRepresentor(uplink, sfnum)
	})
}

// Represented returns the flavour of representor rep and the number of the
// function it stands for: the VF number of a pcivf representor, the SF
// number of a pcisf one (sriovnet.GetRepresentorPortFlavour and
// GetPortIndexFromRepresentor). Other flavours are an error.
func (h Host) Represented(rep string) (Flavour, int, error) {
	type represented struct {
		f   Flavour
		idx int
	}
	r, err := ask(h, "function represented by "+rep, func() (r represented, err error) {
		if r.f, err = sriovnet.GetRepresentorPortFlavour(rep); err != nil {
			return r, err
		}
		r.idx, err = sriovnet.GetPortIndexFromRepresentor(rep)
		return r, err
	})
	if err != nil {
		return FlavourUnknown, 0, err
	}
	return r.f, r.idx, nil
}

// UplinkRepresentor returns the uplink representor of PCI function pci (a
// PF, or a VF through its physfn link): sriovnet.GetUplinkRepresentor. PCI
// devices only.
func (h Host) UplinkRepresentor(pci string) (string, error) {
	return ask(h, "uplink representor of "+pci, func() (string, error) {
		return sriovnet.GetUplinkRepresentor(pci)
	})
}

// PeerMAC returns the MAC address of the host PF that PF representor rep
// (flavour pcipf, on a SmartNIC/DPU such as BlueField) stands for: from the
// devlink port function, else from the uplink's smart_nic/pf/config
// (sriovnet.GetRepresentorPeerMacAddress).
func (h Host) PeerMAC(rep string) (net.HardwareAddr, error) {
	return ask(h, "peer MAC of "+rep, func() (net.HardwareAddr, error) {
		return sriovnet.GetRepresentorPeerMacAddress(rep)
	})
}

// Netdevs returns the netdevs of PCI function pci
// (sriovnet.GetNetDevicesFromPci); none when the function has no net
// directory (not bound to a net driver).
func (h Host) Netdevs(pci string) ([]string, error) {
	return ask(h, "netdevs of "+pci, func() ([]string, error) {
		return sriovnet.GetNetDevicesFromPci(pci)
	})
}

// SF is one sub-function: an auxiliary device with an sfnum.
type SF struct {
	Aux     string   // the auxiliary device, e.g. mlx5_core.sf.2
	Num     int      // its sfnum, the M of its representor's pfNsfM
	Netdevs []string // its netdevs
}

// SFs returns the sub-functions of PCI function pci: the auxiliary devices
// under it that have an sfnum (sriovnet.GetAuxNetDevicesFromPci,
// GetSfIndexByAuxDev, GetNetDevicesFromAux). A function without a net
// directory or without auxiliary devices has none.
func (h Host) SFs(pci string) ([]SF, error) {
	return ask(h, "sub-functions of "+pci, func() ([]SF, error) {
		auxs, err := sriovnet.GetAuxNetDevicesFromPci(pci)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		var sfs []SF
		for _, aux := range auxs {
			num, err := sriovnet.GetSfIndexByAuxDev(aux)
			if err != nil {
				continue // not a sub-function (mlx5_core.eth.0, mlx5_core.rdma.0)
			}
			sf := SF{Aux: aux, Num: num}
			if sf.Netdevs, err = sriovnet.GetNetDevicesFromAux(aux); err != nil {
				sf.Netdevs = nil // a SF not bound to a net driver
			}
			sfs = append(sfs, sf)
		}
		return sfs, nil
	})
}
