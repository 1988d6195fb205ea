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

// checkHostNetdevs refuses an uplink or port the host itself uses (its
// addresses, its default route) unless spec.AllowHostNetdev says the
// request means it, naming the field.
func (m *Manager) checkHostNetdevs(spec rest.NetworkSpec) error {
	hu, ok := m.cfg.Links.(hostUse)
	if !ok || spec.AllowHostNetdev {
		return nil
	}
	fields := map[string]string{}
	var order []string
	if spec.Uplink != "" {
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
