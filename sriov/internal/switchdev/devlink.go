package switchdev

import (
	"errors"
	"fmt"
	"net"

	"github.com/k8snetworkplumbingwg/sriovnet/pkg/utils/netlinkops"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/sriov/devlink"
	"golang.org/x/sys/unix"
)

// errNoRtnetlink answers the rtnetlink calls of sriovnet's NetlinkOps: the
// calls nicflow makes ask only devlink.
var errNoRtnetlink = errors.New("switchdev: sriovnet's rtnetlink calls are not used by nicflow")

// ops is sriovnet's NetlinkOps answering its devlink questions with the
// sriov tree's devlink client. With no ports every devlink question fails
// with ENODEV, and sriovnet falls back to sysfs.
type ops struct {
	ports Ports
}

var _ netlinkops.NetlinkOps = ops{}

func (o ops) DevLinkGetAllPortList() ([]*netlink.DevlinkPort, error) {
	if o.ports == nil {
		return nil, fmt.Errorf("devlink port list: no devlink client: %w", unix.ENODEV)
	}
	ps, err := o.ports.Ports(devlink.Handle{})
	if err != nil {
		return nil, err
	}
	out := make([]*netlink.DevlinkPort, 0, len(ps))
	for _, p := range ps {
		out = append(out, vnlPort(p))
	}
	return out, nil
}

func (o ops) DevLinkGetPortByNetdevName(netdev string) (*netlink.DevlinkPort, error) {
	ps, err := o.DevLinkGetAllPortList()
	if err != nil {
		return nil, err
	}
	for _, p := range ps {
		if p.NetdeviceName == netdev {
			return p, nil
		}
	}
	return nil, fmt.Errorf("devlink port of netdev %s: %w", netdev, unix.ENODEV)
}

// vnlPort is p as sriovnet reads it.
func vnlPort(p devlink.Port) *netlink.DevlinkPort {
	vp := &netlink.DevlinkPort{BusName: p.Bus, DeviceName: p.Dev, PortIndex: p.Index, PortFlavour: p.Flavour, NetdeviceName: p.Netdev}
	if p.HWAddr != nil {
		vp.Fn = &netlink.DevlinkPortFn{HwAddr: p.HWAddr}
	}
	return vp
}

func (ops) LinkByName(string) (netlink.Link, error) { return nil, errNoRtnetlink }
func (ops) LinkSetUp(netlink.Link) error            { return errNoRtnetlink }
func (ops) LinkSetVfHardwareAddr(netlink.Link, int, net.HardwareAddr) error {
	return errNoRtnetlink
}
func (ops) LinkSetVfVlan(netlink.Link, int, int) error { return errNoRtnetlink }
func (ops) LinkSetVfNodeGUID(netlink.Link, int, net.HardwareAddr) error {
	return errNoRtnetlink
}
func (ops) LinkSetVfPortGUID(netlink.Link, int, net.HardwareAddr) error {
	return errNoRtnetlink
}
func (ops) LinkSetVfTrust(netlink.Link, int, bool) error    { return errNoRtnetlink }
func (ops) LinkSetVfSpoofchk(netlink.Link, int, bool) error { return errNoRtnetlink }
