package manager

import (
	"fmt"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/api/rest"
)

// hostUse is the optional part of Links that says how the host itself
// uses a netdev: its global addresses and whether the default route
// leaves by it ("" when the host does not use it). A netdev in use is not
// made an OpenFlow port (promiscuous, its frames the switch's) unless the
// request sets allow_host_netdev.
type hostUse interface {
	HostUse(name string) (string, error)
}

// HostUse implements hostUse: the netdev's global unicast addresses and
// the default routes through it.
func (h *Host) HostUse(name string) (string, error) {
	l, err := h.Netlink.LinkByName(name)
	if err != nil {
		return "", nil // a missing netdev is checkPorts' to refuse
	}
	var uses []string
	addrs, err := h.Netlink.AddrList(l, netlink.FAMILY_ALL)
	if err != nil {
		return "", fmt.Errorf("list addresses of %s: %w", name, err)
	}
	for _, a := range addrs {
		if a.IP.IsGlobalUnicast() {
			uses = append(uses, "address "+a.IPNet.String())
		}
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		routes, err := h.Netlink.RouteList(l, fam)
		if err != nil {
			return "", fmt.Errorf("list routes of %s: %w", name, err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() && isZeroMask(r.Dst.Mask) {
				uses = append(uses, "the default route")
				break
			}
		}
	}
	return strings.Join(uses, ", "), nil
}

func isZeroMask(m []byte) bool {
	for _, b := range m {
		if b != 0 {
			return false
		}
	}
	return true
}

// An uplink in mode host.
//
// The uplink is the PF of modes nic and hairpin: the VFs or macvlans of
// the vNICs hang off it, and it is their OpenFlow port 1. Mode host
// switches veths; the netdevs it switches besides them are named in
// ports. A host network that took an uplink used to make it an OpenFlow
// port, promiscuous, its frames the switch's: given the host's main NIC,
// that cut the host off. So a request that gives a host network an
// uplink is refused (400, field uplink), and says to name the netdev in
// ports if switching it is meant.
//
// One uplink is accepted in mode host: the one a network had in mode nic
// or hairpin when it changes to host live, so that the PUT of the spec as
// GET shows it with mode host (what nicflowctl networks mode does) works,
// and the way back to nic or hairpin finds its uplink. In mode host that
// uplink is parked: no OpenFlow port, not opened, not promiscuous, not
// claimed; port number 1 stays its own, so no port of the network is
// renumbered by the round trip, and the rules naming port 1 stay. The
// other way, a network created in mode host has no uplink, and a live
// change to nic or hairpin cannot give it one: port 1 is taken by its
// first port or vNIC (see changeMode).

// parkedUplink reports whether spec carries an uplink that is not a port:
// mode host (see above).
func parkedUplink(spec rest.NetworkSpec) bool {
	return spec.Mode == rest.ModeHost && spec.Uplink != ""
}

// checkUplink refuses an uplink in mode host unless old (the network's
// spec before the request; nil for a new network) had the same uplink.
func checkUplink(spec rest.NetworkSpec, old *rest.NetworkSpec) error {
	if !parkedUplink(spec) || old != nil && old.Uplink == spec.Uplink {
		return nil
	}
	return rest.Invalid("uplink", fmt.Sprintf("mode host takes no uplink (the uplink is the PF of modes nic and hairpin); to switch %s in this network name it in ports", spec.Uplink))
}

// checkHostNetdevs refuses an uplink in mode host (checkUplink; old is
// the network's spec before the request, nil for a new one), and an
// uplink or port the host itself uses (its addresses, its default route)
// unless spec.AllowHostNetdev says the request means it, naming the field.
func (m *Manager) checkHostNetdevs(spec rest.NetworkSpec, old *rest.NetworkSpec) error {
	if err := checkUplink(spec, old); err != nil {
		return err
	}
	hu, ok := m.cfg.Links.(hostUse)
	if !ok || spec.AllowHostNetdev {
		return nil
	}
	fields := map[string]string{}
	var order []string
	if spec.Uplink != "" && !parkedUplink(spec) {
		fields[spec.Uplink], order = "uplink", append(order, spec.Uplink)
	}
	for i, p := range spec.Ports {
		fields[p], order = fmt.Sprintf("ports[%d]", i), append(order, p)
	}
	for _, p := range order {
		use, err := hu.HostUse(p)
		if err != nil {
			return err
		}
		if use != "" {
			return rest.Conflict(fields[p], fmt.Sprintf("%s carries the host's %s: as an OpenFlow port it would be promiscuous and its traffic the switch's, cutting the host off; set allow_host_netdev: true if that is meant", p, use))
		}
	}
	return nil
}
