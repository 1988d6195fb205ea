package manager

import (
	"context"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/sriov/nic"
	"github.com/nicflow/nicflow/sriov/vf"
	"github.com/nicflow/nicflow/vepa"
)

// The manager's kernel access, each behind an interface it defines as
// their consumer and takes in its Config: Host (rtnetlink through a handle
// of one namespace, and its sysfs) is Links, Ports, LinkWatcher and
// VFStats; KernelTC is TC; *vf.Netlink is VFKernel, *vepa.Handle
// VEPAKernel and *nic.Discoverer NICs. The unit tests run the manager on
// stateful fakes of them.

// Links creates and deletes the netdevs of host-side vNICs, sets
// representors up, and sets ports down and up for OFPPC_PORT_DOWN.
type Links interface {
	// AddVeth creates the veth pair host <-> peer, host up without IPv6,
	// peer with MAC peerMAC ("" lets the kernel pick) and up when peerUp.
	// It replaces a leftover link named host.
	AddVeth(host, peer, peerMAC string, peerUp bool) error
	// HasLink reports whether netdev name exists.
	HasLink(name string) bool
	// LinkMAC is netdev name's MAC address, "" when it does not exist.
	LinkMAC(name string) string
	// DelLink deletes netdev name (a veth takes its peer along); a missing
	// one is not an error.
	DelLink(name string) error
	// SetUp sets netdev name administratively up.
	SetUp(name string) error
	// SetDown sets netdev name administratively down.
	SetDown(name string) error
}

// Ports opens netdevs as OpenFlow ports: their description and packet
// I/O, and their netdev counters.
type Ports interface {
	// OpenPort opens netdev name as OpenFlow port no; with noReceive its
	// packet I/O only sends (a tc tier hands the port's frames to the fast
	// path through its miss device).
	OpenPort(name string, no uint32, noReceive bool) (offload.PortInfo, softpath.PacketIO, error)
	// PortCounters reads a port's counters from its netdev (false: none).
	PortCounters(p offload.PortInfo) (offload.PortStat, bool)
}

// LinkWatcher follows the netdevs: their carrier, and their deletion.
type LinkWatcher interface {
	// WatchLinks calls changed with each change of a netdev until ctx is
	// done, and failed with what goes wrong on the way; it fails when it
	// cannot subscribe.
	WatchLinks(ctx context.Context, changed func(LinkEvent), failed func(error)) error
}

// LinkEvent is a change of a netdev: its carrier, or that it is gone.
type LinkEvent struct {
	Name  string
	Index int  // the ifindex (0: unknown)
	Up    bool // the carrier
	Gone  bool // deleted (RTM_DELLINK)
}

// VFKernel is the SR-IOV access of modes nic and hairpin with VFs.
type VFKernel interface {
	vf.Kernel
	Locate(pf string, vf int) (vf.Location, error)
}

// VEPAKernel is the bridge-mode and macvlan access of mode hairpin.
type VEPAKernel interface {
	BridgeMode(dev string) (vepa.Mode, error)
	SetBridgeMode(dev string, m vepa.Mode) error
	AddMacvlan(spec vepa.MacvlanSpec) (netlink.Link, error)
	DelMacvlan(name string) error
}

// TC is the tc access of the networks' tc tiers.
type TC interface {
	// Open sets up a network's tc tier (tcport.Open); a
	// *tcport.UnavailableError says why the kernel can have none.
	Open(network string) (*tcport.Setup, error)
	// Sweep takes nicflow's tc filters and block bindings off the netdevs
	// keep does not name (tcport.Sweep).
	Sweep(keep func(ifindex int) bool) (tcport.SweepReport, error)
}

// VFStats reads a PF's VFs with their hardware counters (IFLA_VF_STATS)
// and a VF's PCI address.
type VFStats interface {
	VFs(pf string) ([]netlink.VfInfo, error)
	// VFPCI is VF vf's PCI address, "" when unknown.
	VFPCI(pf string, vf int) string
}

// NICs lists the host's NIC ports.
type NICs interface {
	List() ([]nic.NIC, error)
	// Get finds one by netdev name or PCI address (nic.ErrNotFound).
	Get(name string) (nic.NIC, error)
}

// OpenKernel fills cfg's kernel access with the kernel's, in the calling
// thread's network namespace: Host (Ports, Links, Watch, VFStats),
// KernelTC, netdev claims (DefaultClaimPrefix), NIC discovery, and SR-IOV
// (*vf.Netlink) and VEPA (*vepa.Handle) where the kernel gives them;
// without them it logs what becomes unavailable. release closes what it
// opened.
func (cfg *Config) OpenKernel() (release func(), err error) {
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	host, err := NewHost()
	if err != nil {
		return nil, err
	}
	closers := []func(){host.Close}
	cfg.Ports, cfg.Links, cfg.Watch, cfg.VFStats = host, host, host, host
	if cfg.ClaimPrefix == "" {
		cfg.ClaimPrefix = DefaultClaimPrefix
	}
	cfg.TC, cfg.NICs = KernelTC{}, nic.NewDiscoverer()
	if k, err := vf.NewNetlink(vf.NetlinkOptions{}); err != nil {
		log.Warn("no SR-IOV access: networks in mode nic are unavailable", zap.Error(err))
	} else {
		cfg.VF = k
		closers = append(closers, func() { _ = k.Close() })
	}
	if h, err := vepa.Open(); err != nil {
		log.Warn("no rtnetlink bridge access: networks in mode hairpin are unavailable", zap.Error(err))
	} else {
		cfg.VEPA = h
		closers = append(closers, func() { _ = h.Close() })
	}
	return func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}, nil
}
