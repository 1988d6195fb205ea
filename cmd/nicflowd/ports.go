package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload"
)

// linkInfo reads a netdev's OpenFlow port description from the kernel.
func linkInfo(name string, no uint32) (offload.PortInfo, error) {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return offload.PortInfo{}, fmt.Errorf("port %s: %w", name, err)
	}
	a := l.Attrs()
	return offload.PortInfo{
		No:        no,
		Name:      name,
		HWAddr:    a.HardwareAddr,
		Up:        linkUp(a),
		AdminDown: a.Flags&netFlagUp == 0,
		SpeedKbps: speedKbps(name),
		MTU:       a.MTU,
		Ifindex:   a.Index,
		SwitchID:  switchID(name),
		Driver:    netdevDriver(name),
	}, nil
}

// netdevDriver is the driver of a netdev's device as sysfs names it ("" for
// software devices): a representor's is its PF's.
func netdevDriver(name string) string {
	target, err := os.Readlink("/sys/class/net/" + name + "/device/driver")
	if err != nil {
		return ""
	}
	return filepath.Base(target)
}

// switchID reads a netdev's phys_switch_id ("" when it has none).
func switchID(name string) string {
	b, err := os.ReadFile("/sys/class/net/" + name + "/phys_switch_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// netdevCounters reads a port's counters from its netdev: with a tc tier
// the fast path sees only the frames tc did not handle.
func netdevCounters(p offload.PortInfo) (offload.PortStat, bool) {
	if p.Ifindex == 0 {
		return offload.PortStat{}, false
	}
	l, err := netlink.LinkByIndex(p.Ifindex)
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

const netFlagUp = 1 // net.FlagUp

func linkUp(a *netlink.LinkAttrs) bool {
	return a.OperState == netlink.OperUp || (a.OperState == netlink.OperUnknown && a.RawFlags&0x10000 != 0) // IFF_LOWER_UP
}

// speedKbps reads the link speed from sysfs; veths report none, and like
// Open vSwitch we then report 10 Gb/s.
func speedKbps(name string) uint32 {
	b, err := os.ReadFile("/sys/class/net/" + name + "/speed")
	if err == nil {
		if mbps, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && mbps > 0 {
			return uint32(mbps) * 1000
		}
	}
	return 10_000_000
}

// watchLinks follows carrier changes of the ports of every network nets
// returns at the time of the change and reports
// them as PORT_STATUS through the networks.
func watchLinks(ctx context.Context, nets func() []*offload.Network, log *zap.Logger) error {
	updates := make(chan netlink.LinkUpdate, 64)
	if err := netlink.LinkSubscribeWithOptions(updates, ctx.Done(), netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			if ctx.Err() == nil {
				log.Warn("link watch", zap.Error(err))
			}
		},
	}); err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	go func() {
		for u := range updates {
			a := u.Link.Attrs()
			for _, n := range nets() {
				if p, ok := n.PortByName(a.Name); ok {
					n.SetLink(p.No, linkUp(a))
				}
			}
		}
	}()
	return nil
}
