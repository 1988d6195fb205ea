// Package devlink is the one devlink client of the tree: the small part of
// the devlink generic netlink family that NIC discovery (sriov/nic), VF
// orchestration (sriov/vf), sriovnet's devlink questions
// (sriov/internal/switchdev) and the VM kernel harness's netdevsim helpers
// (test/vm/vmtest) need: eswitch mode get/set, the port list (flavour, PF
// and VF numbers, netdev of each port), rate leaf get/set and rate nodes
// (DEVLINK_CMD_RATE_*, which github.com/vishvananda/netlink does not
// cover). It is built on github.com/mdlayher/genetlink and netlink's
// AttributeEncoder/AttributeDecoder. Kernel refusals come back as
// *netlink.OpError carrying the errno and the extended-ack message. It is
// kernel glue and never logs. It sits outside sriov/internal because the
// VM harness's helpers use it too: a second devlink client (one on
// vishvananda/netlink, say) has no place in the tree.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/..., go.uber.org/zap.
package devlink

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Handle names a devlink instance, e.g. {"pci", "0000:03:00.0"} or
// {"netdevsim", "netdevsim10"}.
type Handle struct {
	Bus, Dev string
}

func (h Handle) String() string { return h.Bus + "/" + h.Dev }

// Port is one devlink port.
type Port struct {
	Handle
	Index   uint32
	Flavour uint16 // unix.DEVLINK_PORT_FLAVOUR_*
	// VF is the VF number of a pcivf port (HasVF set).
	VF       uint16
	HasVF    bool
	PF       uint16
	External bool // a port of an external controller (SmartNIC host)
	Netdev   string
	// HWAddr is the MAC address of the port's function (the PF or VF
	// behind a representor) where the driver reports one
	// (DEVLINK_PORT_FUNCTION_ATTR_HW_ADDR; mlx5 does, netdevsim does not).
	HWAddr net.HardwareAddr
}

// Rate is a rate object's limits in bytes per second; 0 is no limit.
type Rate struct {
	TxShare, TxMax uint64
}

// Conn is a devlink generic netlink connection, safe for concurrent use.
type Conn struct {
	c      *genetlink.Conn
	family uint16
}

// Dial opens a connection and resolves the devlink family.
func Dial() (*Conn, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, fmt.Errorf("dial generic netlink: %w", err)
	}
	return newConn(c)
}

// Do dials a connection, runs f on it and closes it: for callers that ask
// devlink once in a while (NIC discovery) rather than keep a Conn.
func Do(f func(*Conn) error) error {
	c, err := Dial()
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

// IsNotSupported reports whether err means devlink cannot answer for the
// device at all: the kernel has no devlink family, there is no such devlink
// instance (ENODEV), or the instance has no eswitch (EOPNOTSUPP).
func IsNotSupported(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENOENT) ||
		errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP)
}

// newConn resolves the devlink family on c (tests pass a genltest conn).
func newConn(c *genetlink.Conn) (*Conn, error) {
	// Kernels without extended acks still work, with bare errno errors.
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	f, err := c.GetFamily(unix.DEVLINK_GENL_NAME)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("resolve generic netlink family %s: %w", unix.DEVLINK_GENL_NAME, err)
	}
	return &Conn{c: c, family: f.ID}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

func (c *Conn) execute(cmd uint8, flags netlink.HeaderFlags, encode func(ae *netlink.AttributeEncoder)) ([]genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if encode != nil {
		encode(ae)
	}
	data, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	msg := genetlink.Message{Header: genetlink.Header{Command: cmd, Version: unix.DEVLINK_GENL_VERSION}, Data: data}
	return c.c.Execute(msg, c.family, netlink.Request|flags)
}

func putHandle(ae *netlink.AttributeEncoder, h Handle) {
	ae.String(unix.DEVLINK_ATTR_BUS_NAME, h.Bus)
	ae.String(unix.DEVLINK_ATTR_DEV_NAME, h.Dev)
}

// Eswitch modes as devlink names them.
const (
	ModeLegacy    = "legacy"
	ModeSwitchdev = "switchdev"
)

// EswitchMode returns the eswitch mode of h.
func (c *Conn) EswitchMode(h Handle) (string, error) {
	msgs, err := c.execute(unix.DEVLINK_CMD_ESWITCH_GET, 0, func(ae *netlink.AttributeEncoder) { putHandle(ae, h) })
	if err != nil {
		return "", fmt.Errorf("devlink %s eswitch show: %w", h, err)
	}
	for _, m := range msgs {
		ad, err := netlink.NewAttributeDecoder(m.Data)
		if err != nil {
			return "", fmt.Errorf("devlink %s eswitch show: %w", h, err)
		}
		for ad.Next() {
			if ad.Type() == unix.DEVLINK_ATTR_ESWITCH_MODE {
				return modeName(ad.Uint16()), ad.Err()
			}
		}
		if err := ad.Err(); err != nil {
			return "", fmt.Errorf("devlink %s eswitch show: %w", h, err)
		}
	}
	return "", fmt.Errorf("devlink %s eswitch show: no mode in the reply", h)
}

func modeName(m uint16) string {
	switch m {
	case unix.DEVLINK_ESWITCH_MODE_LEGACY:
		return ModeLegacy
	case unix.DEVLINK_ESWITCH_MODE_SWITCHDEV:
		return ModeSwitchdev
	}
	return fmt.Sprintf("mode(%d)", m)
}

// SetEswitchMode sets the eswitch mode of h to "legacy" or "switchdev".
func (c *Conn) SetEswitchMode(h Handle, mode string) error {
	var m uint16
	switch mode {
	case ModeLegacy:
		m = unix.DEVLINK_ESWITCH_MODE_LEGACY
	case ModeSwitchdev:
		m = unix.DEVLINK_ESWITCH_MODE_SWITCHDEV
	default:
		return fmt.Errorf("devlink %s eswitch set mode %q: unknown mode", h, mode)
	}
	_, err := c.execute(unix.DEVLINK_CMD_ESWITCH_SET, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		putHandle(ae, h)
		ae.Uint16(unix.DEVLINK_ATTR_ESWITCH_MODE, m)
	})
	if err != nil {
		return fmt.Errorf("devlink %s eswitch set mode %s: %w", h, mode, err)
	}
	return nil
}

// Ports returns the ports of h (every instance's when h is zero).
func (c *Conn) Ports(h Handle) ([]Port, error) {
	msgs, err := c.execute(unix.DEVLINK_CMD_PORT_GET, netlink.Dump, nil)
	if err != nil {
		return nil, fmt.Errorf("devlink port show: %w", err)
	}
	var ports []Port
	for _, m := range msgs {
		p, err := parsePort(m.Data)
		if err != nil {
			return nil, fmt.Errorf("devlink port show: %w", err)
		}
		if h == (Handle{}) || p.Handle == h {
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func parsePort(b []byte) (Port, error) {
	var p Port
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return p, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.DEVLINK_ATTR_BUS_NAME:
			p.Bus = ad.String()
		case unix.DEVLINK_ATTR_DEV_NAME:
			p.Dev = ad.String()
		case unix.DEVLINK_ATTR_PORT_INDEX:
			p.Index = ad.Uint32()
		case unix.DEVLINK_ATTR_PORT_FLAVOUR:
			p.Flavour = ad.Uint16()
		case unix.DEVLINK_ATTR_PORT_PCI_VF_NUMBER:
			p.VF, p.HasVF = ad.Uint16(), true
		case unix.DEVLINK_ATTR_PORT_PCI_PF_NUMBER:
			p.PF = ad.Uint16()
		case unix.DEVLINK_ATTR_PORT_EXTERNAL:
			p.External = ad.Uint8() != 0
		case unix.DEVLINK_ATTR_PORT_NETDEV_NAME:
			p.Netdev = ad.String()
		case unix.DEVLINK_ATTR_PORT_FUNCTION:
			ad.Nested(func(fn *netlink.AttributeDecoder) error {
				for fn.Next() {
					if fn.Type() == unix.DEVLINK_PORT_FUNCTION_ATTR_HW_ADDR {
						p.HWAddr = net.HardwareAddr(bytes.Clone(fn.Bytes()))
					}
				}
				return fn.Err()
			})
		}
	}
	return p, ad.Err()
}

// ErrNoVFPort is returned by VFPort when h has no devlink port for the VF
// (legacy mode, or a driver without VF ports).
var ErrNoVFPort = errors.New("no devlink port for the VF")

// VFPort returns the (local, not external) pcivf port of VF vf of h.
func (c *Conn) VFPort(h Handle, vf int) (Port, error) {
	ports, err := c.Ports(h)
	if err != nil {
		return Port{}, err
	}
	for _, p := range ports {
		if p.Flavour == unix.DEVLINK_PORT_FLAVOUR_PCI_VF && p.HasVF && int(p.VF) == vf && !p.External {
			return p, nil
		}
	}
	return Port{}, fmt.Errorf("devlink %s VF %d: %w", h, vf, ErrNoVFPort)
}

// Rate returns the limits of the rate leaf of port index of h.
func (c *Conn) Rate(h Handle, index uint32) (Rate, error) {
	msgs, err := c.execute(unix.DEVLINK_CMD_RATE_GET, 0, func(ae *netlink.AttributeEncoder) {
		putHandle(ae, h)
		ae.Uint32(unix.DEVLINK_ATTR_PORT_INDEX, index)
	})
	if err != nil {
		return Rate{}, fmt.Errorf("devlink port function rate show %s/%d: %w", h, index, err)
	}
	for _, m := range msgs {
		r, err := parseRate(m.Data)
		if err != nil {
			return Rate{}, fmt.Errorf("devlink port function rate show %s/%d: %w", h, index, err)
		}
		return r, nil
	}
	return Rate{}, fmt.Errorf("devlink port function rate show %s/%d: empty reply", h, index)
}

func parseRate(b []byte) (Rate, error) {
	var r Rate
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return r, err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.DEVLINK_ATTR_RATE_TX_SHARE:
			r.TxShare = ad.Uint64()
		case unix.DEVLINK_ATTR_RATE_TX_MAX:
			r.TxMax = ad.Uint64()
		}
	}
	return r, ad.Err()
}

// SetRate sets both limits of the rate leaf of port index of h.
func (c *Conn) SetRate(h Handle, index uint32, r Rate) error {
	_, err := c.execute(unix.DEVLINK_CMD_RATE_SET, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		putHandle(ae, h)
		ae.Uint32(unix.DEVLINK_ATTR_PORT_INDEX, index)
		ae.Uint64(unix.DEVLINK_ATTR_RATE_TX_SHARE, r.TxShare)
		ae.Uint64(unix.DEVLINK_ATTR_RATE_TX_MAX, r.TxMax)
	})
	if err != nil {
		return fmt.Errorf("devlink port function rate set %s/%d tx_share %d tx_max %d (bytes/s): %w", h, index, r.TxShare, r.TxMax, err)
	}
	return nil
}

// NewRateNode creates rate node name of h (DEVLINK_CMD_RATE_NEW): a group
// the rate leaves of ports can be given as parent, as `devlink port
// function rate add` makes it. Drivers take nodes in switchdev mode only,
// and devlink refuses to change the eswitch mode while one exists.
func (c *Conn) NewRateNode(h Handle, name string) error {
	_, err := c.execute(unix.DEVLINK_CMD_RATE_NEW, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		putHandle(ae, h)
		ae.String(unix.DEVLINK_ATTR_RATE_NODE_NAME, name)
	})
	if err != nil {
		return fmt.Errorf("devlink port function rate add %s/%s: %w", h, name, err)
	}
	return nil
}

// DelRateNode deletes rate node name of h (DEVLINK_CMD_RATE_DEL).
func (c *Conn) DelRateNode(h Handle, name string) error {
	_, err := c.execute(unix.DEVLINK_CMD_RATE_DEL, netlink.Acknowledge, func(ae *netlink.AttributeEncoder) {
		putHandle(ae, h)
		ae.String(unix.DEVLINK_ATTR_RATE_NODE_NAME, name)
	})
	if err != nil {
		return fmt.Errorf("devlink port function rate del %s/%s: %w", h, name, err)
	}
	return nil
}
