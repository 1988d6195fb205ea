package manager

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
)

// Host is the kernel of one network namespace as the manager reaches it:
// rtnetlink through a handle opened in the namespace, and the sysfs and
// procfs that show it. It is the manager's Links, Ports, LinkWatcher and
// VFStats. A port's AF_PACKET socket opens in the namespace of the calling
// thread, so Host is for the namespace the daemon runs in (NewHost) or a
// test moves its process into.
//
// It is safe for concurrent use (netlink.Handle serializes its requests).
type Host struct {
	// Netlink is a handle opened in the namespace (netlink.NewHandle,
	// netlink.NewHandleAt).
	Netlink *netlink.Handle
	// Namespace is the namespace link changes are watched in; nil: the
	// process's.
	Namespace *netns.NsHandle
	// Sysfs and Procfs are where sysfs and procfs of the namespace are
	// mounted ("/sys", "/proc").
	Sysfs, Procfs string
}

// NewHost returns the Host of the calling thread's network namespace;
// Close releases its netlink handle.
func NewHost() (*Host, error) {
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink: %w", err)
	}
	return &Host{Netlink: h, Sysfs: "/sys", Procfs: "/proc"}, nil
}

// Close releases the netlink handle.
func (h *Host) Close() { h.Netlink.Close() }

// sysfsNet is the sysfs path of a netdev's attribute.
func (h *Host) sysfsNet(name string, attr ...string) string {
	return filepath.Join(append([]string{h.Sysfs, "class", "net", name}, attr...)...)
}

// AddVeth implements Links.
func (h *Host) AddVeth(host, peer, peerMAC string, peerUp bool) error {
	if l, err := h.Netlink.LinkByName(host); err == nil {
		// A leftover of an attach that did not finish: start afresh.
		if err := h.Netlink.LinkDel(l); err != nil {
			return fmt.Errorf("delete leftover %s: %w", host, err)
		}
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host}, PeerName: peer}
	if peerMAC != "" {
		mac, err := net.ParseMAC(peerMAC)
		if err != nil {
			return fmt.Errorf("mac %q: %w", peerMAC, err)
		}
		v.PeerHardwareAddr = mac
	}
	if err := h.Netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	// The host end is a switch port: keep the kernel's own IPv6 traffic
	// (neighbour discovery) out of the network.
	_ = os.WriteFile(filepath.Join(h.Procfs, "sys/net/ipv6/conf", host, "disable_ipv6"), []byte("1"), 0o644)
	up := []string{host}
	if peerUp {
		up = append(up, peer)
	}
	for _, name := range up {
		if err := h.SetUp(name); err != nil {
			_ = h.DelLink(host)
			return err
		}
	}
	return nil
}

// LinkMAC implements Links.
func (h *Host) LinkMAC(name string) string {
	l, err := h.Netlink.LinkByName(name)
	if err != nil {
		return ""
	}
	return l.Attrs().HardwareAddr.String()
}

// HasLink implements Links.
func (h *Host) HasLink(name string) bool {
	_, err := h.Netlink.LinkByName(name)
	return err == nil
}

// DelLink implements Links.
func (h *Host) DelLink(name string) error {
	l, err := h.Netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := h.Netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

// SetUp implements Links.
func (h *Host) SetUp(name string) error {
	l, err := h.Netlink.LinkByName(name)
	if err == nil {
		err = h.Netlink.LinkSetUp(l)
	}
	if err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}

// SetDown implements Links.
func (h *Host) SetDown(name string) error {
	l, err := h.Netlink.LinkByName(name)
	if err == nil {
		err = h.Netlink.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("set %s down: %w", name, err)
	}
	return nil
}

// OpenPort implements Ports: the netdev's description from rtnetlink and
// sysfs, its packet I/O an AF_PACKET socket.
func (h *Host) OpenPort(name string, no uint32, noReceive bool) (offload.PortInfo, softpath.PacketIO, error) {
	info, err := h.portInfo(name, no)
	if err != nil {
		return offload.PortInfo{}, nil, err
	}
	sock, err := afpacket.Open(name, afpacket.Options{NoReceive: noReceive})
	if err != nil {
		return offload.PortInfo{}, nil, fmt.Errorf("open port %s: %w", name, err)
	}
	return info, sock, nil
}

// portInfo reads a netdev's OpenFlow port description.
func (h *Host) portInfo(name string, no uint32) (offload.PortInfo, error) {
	l, err := h.Netlink.LinkByName(name)
	if err != nil {
		return offload.PortInfo{}, fmt.Errorf("port %s: %w", name, err)
	}
	a := l.Attrs()
	return offload.PortInfo{
		No:        no,
		Name:      name,
		HWAddr:    a.HardwareAddr,
		Up:        linkUp(a),
		AdminDown: a.Flags&net.FlagUp == 0,
		SpeedKbps: h.speedKbps(name),
		MTU:       a.MTU,
		Ifindex:   a.Index,
		SwitchID:  h.readSysfs(h.sysfsNet(name, "phys_switch_id")),
		Driver:    h.netdevDriver(name),
	}, nil
}

// netdevDriver is the driver of a netdev's device as sysfs names it ("" for
// software devices): a representor's is its PF's.
func (h *Host) netdevDriver(name string) string {
	target, err := os.Readlink(h.sysfsNet(name, "device", "driver"))
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// readSysfs reads a sysfs attribute, "" when there is none.
func (h *Host) readSysfs(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// speedKbps reads the link speed from sysfs; veths report none, and like
// Open vSwitch we then report 10 Gb/s.
func (h *Host) speedKbps(name string) uint32 {
	if mbps, err := strconv.Atoi(h.readSysfs(h.sysfsNet(name, "speed"))); err == nil && mbps > 0 {
		return uint32(mbps) * 1000
	}
	return 10_000_000
}

// PortCounters implements Ports: the netdev's counters (with a tc tier
// the fast path sees only the frames tc did not handle).
func (h *Host) PortCounters(p offload.PortInfo) (offload.PortStat, bool) {
	if p.Ifindex == 0 {
		return offload.PortStat{}, false
	}
	l, err := h.Netlink.LinkByIndex(p.Ifindex)
	if err != nil || l.Attrs().Statistics == nil {
		return offload.PortStat{}, false
	}
	s := l.Attrs().Statistics
	return offload.PortStat{
		PortNo:    p.No,
		RxPackets: s.RxPackets, TxPackets: s.TxPackets,
		RxBytes: s.RxBytes, TxBytes: s.TxBytes,
		RxDropped: s.RxDropped, TxDropped: s.TxDropped,
		RxErrors: s.RxErrors, TxErrors: s.TxErrors,
	}, true
}

// linkUp reports the carrier: operstate up, or unknown with IFF_LOWER_UP.
func linkUp(a *netlink.LinkAttrs) bool {
	return a.OperState == netlink.OperUp || (a.OperState == netlink.OperUnknown && a.RawFlags&0x10000 != 0) // IFF_LOWER_UP
}

// WatchLinks implements LinkWatcher with an rtnetlink subscription.
func (h *Host) WatchLinks(ctx context.Context, changed func(LinkEvent), failed func(error)) error {
	updates := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(updates, ctx.Done(), netlink.LinkSubscribeOptions{
		Namespace: h.Namespace,
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				failed(err)
			}
		},
	}); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	go func() {
		for u := range updates {
			a := u.Link.Attrs()
			changed(LinkEvent{Name: a.Name, Index: a.Index, Up: linkUp(a), Gone: u.Header.Type == unix.RTM_DELLINK})
		}
	}()
	return nil
}

// VFs implements VFStats.
func (h *Host) VFs(pf string) ([]netlink.VfInfo, error) {
	l, err := h.Netlink.LinkByName(pf)
	if err != nil {
		return nil, err
	}
	return l.Attrs().Vfs, nil
}

// VFPCI implements VFStats: it reads SYSFS/class/net/PF/device/virtfnN.
func (h *Host) VFPCI(pf string, vf int) string {
	dst, err := os.Readlink(h.sysfsNet(pf, "device", "virtfn"+strconv.Itoa(vf)))
	if err != nil {
		return ""
	}
	return filepath.Base(dst)
}
