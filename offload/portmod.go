package offload

import (
	"fmt"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
)

// Port config bits (OFPPC_*) of OpenFlow 1.3 that PortMod takes.
const (
	PortConfigDown       uint32 = 1 << 0
	PortConfigNoRecv     uint32 = 1 << 2
	PortConfigNoFwd      uint32 = 1 << 5
	PortConfigNoPacketIn uint32 = 1 << 6

	portConfigAll = PortConfigDown | PortConfigNoRecv | PortConfigNoFwd | PortConfigNoPacketIn
)

// PortMod is an OFPT_PORT_MOD.
type PortMod struct {
	Port uint32
	// HWAddr must be the port's address (a sanity check: it cannot be
	// changed).
	HWAddr [6]byte
	// Config holds the new values of the OFPPC_* bits Mask selects.
	Config, Mask uint32
	// Advertise must be 0 (no change): the advertised features are the
	// device's.
	Advertise uint32
}

// Config returns the port's OFPPC_* bits.
func (p PortInfo) Config() uint32 {
	var c uint32
	for _, b := range []struct {
		on  bool
		bit uint32
	}{{p.AdminDown, PortConfigDown}, {p.NoRecv, PortConfigNoRecv}, {p.NoFwd, PortConfigNoFwd}, {p.NoPacketIn, PortConfigNoPacketIn}} {
		if b.on {
			c |= b.bit
		}
	}
	return c
}

// Live reports whether the port forwards (OFPPS_LIVE): its link is up and
// it is not administratively down; otherwise OpenFlow reports it
// OFPPS_LINK_DOWN.
func (p PortInfo) Live() bool { return p.Up && !p.AdminDown }

// PortMod changes a port's config as OpenFlow 1.3.5 section 7.3.4.3 says,
// in force in every tier when it returns, and announces the change with a
// PORT_STATUS (modify). Errors are OFPET_PORT_MOD_FAILED: BAD_PORT for a
// port the network does not have, BAD_HW_ADDR when pm.HWAddr is not the
// port's, BAD_CONFIG for a bit other than PORT_DOWN, NO_RECV, NO_FWD and
// NO_PACKET_IN in the mask (1.0's STP and flood bits included),
// BAD_ADVERTISE for advertised features to set, and EPERM when the kernel
// refuses to set the netdev down or up; nothing changed then.
//
//   - PORT_DOWN sets the port's netdev administratively down (Open vSwitch
//     does too): the port forwards nothing, and its link is down
//     (OFPPS_LINK_DOWN) until it is set up again and the carrier returns
//     (SetLink reports it).
//   - NO_RECV drops what the port receives, NO_FWD what is sent to it, in
//     every tier: the tc tier keeps out the rules that would take the
//     port's packets or send to it, so that they reach the fast path.
//   - NO_PACKET_IN sends no packet-in for packets the port received.
func (n *Network) PortMod(pm PortMod) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.ports[pm.Port]
	if !ok {
		return pipeline.Errorf(pipeline.ErrPortModFailed, pipeline.PortModBadPort, "port %d does not exist", pm.Port)
	}
	var hw [6]byte
	copy(hw[:], p.info.HWAddr)
	if pm.HWAddr != hw {
		return pipeline.Errorf(pipeline.ErrPortModFailed, pipeline.PortModBadHWAddr,
			"port %d has hardware address %s, not %s", pm.Port, fmtMAC(hw), fmtMAC(pm.HWAddr))
	}
	if bad := pm.Mask &^ portConfigAll; bad != 0 {
		return pipeline.Errorf(pipeline.ErrPortModFailed, pipeline.PortModBadConfig,
			"port %d: config bits %#x are not supported (PORT_DOWN, NO_RECV, NO_FWD and NO_PACKET_IN are)", pm.Port, bad)
	}
	if pm.Advertise != 0 {
		return pipeline.Errorf(pipeline.ErrPortModFailed, pipeline.PortModBadAdvertise,
			"port %d: the advertised features (%#x) are the device's", pm.Port, pm.Advertise)
	}
	old := p.info
	want := old.Config()&^pm.Mask | pm.Config&pm.Mask
	info := old
	info.AdminDown = want&PortConfigDown != 0
	info.NoRecv = want&PortConfigNoRecv != 0
	info.NoFwd = want&PortConfigNoFwd != 0
	info.NoPacketIn = want&PortConfigNoPacketIn != 0
	if want == old.Config() {
		return nil
	}
	if info.AdminDown != old.AdminDown && n.cfg.SetAdminUp != nil {
		if err := n.cfg.SetAdminUp(old, !info.AdminDown); err != nil {
			return pipeline.Errorf(pipeline.ErrPortModFailed, pipeline.PortModEperm, "port %d: %v", pm.Port, err)
		}
		if info.AdminDown {
			info.Up = false // a netdev that is down has no link; set up, the carrier comes back by SetLink
		}
	}
	p.info = info
	n.dp.SetPortLive(pm.Port, info.Live())
	n.dp.SetPortConfig(pm.Port, softpath.PortConfig{NoRecv: info.NoRecv, NoFwd: info.NoFwd, NoPacketIn: info.NoPacketIn})
	if n.tc != nil && (info.NoRecv != old.NoRecv || info.NoFwd != old.NoFwd) {
		n.tc.invalidate()
		n.syncTC()
	}
	n.emit(&PortStatus{Reason: PortModified, Port: info})
	n.log.Info("port config changed", zap.String(logKeyPort, info.Name), zap.Uint32("ofport", info.No),
		zap.String("config", fmt.Sprintf("%#x", want)))
	return nil
}

func fmtMAC(a [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3], a[4], a[5])
}

// portConfigs returns the ports with OFPPC_NO_RECV and the netdevs of those
// with OFPPC_NO_FWD, for placement (nil when there are none). Callers hold
// mu.
func (n *Network) portConfigs() (noRecv map[uint32]bool, noFwd map[string]uint32) {
	for no, p := range n.ports {
		if p.info.NoRecv {
			if noRecv == nil {
				noRecv = map[uint32]bool{}
			}
			noRecv[no] = true
		}
		if p.info.NoFwd {
			if noFwd == nil {
				noFwd = map[string]uint32{}
			}
			noFwd[p.info.Name] = no
		}
	}
	return noRecv, noFwd
}
