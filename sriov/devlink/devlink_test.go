package devlink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/genetlink/genltest"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

const familyID = 0x20

var nsim = Handle{Bus: "netdevsim", Dev: "netdevsim40"}

// fakeKernel answers devlink requests from a table of rate leaves and ports
// and records the requests it saw.
type fakeKernel struct {
	mode  uint16
	rates map[uint32]Rate
	nodes map[string]bool // rate nodes
	ports []Port
	seen  []string
}

func attrs(t *testing.T, b []byte) map[uint16][]byte {
	t.Helper()
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		t.Fatal(err)
	}
	m := map[uint16][]byte{}
	for ad.Next() {
		m[ad.Type()] = ad.Bytes()
	}
	return m
}

func encode(t *testing.T, fn func(ae *netlink.AttributeEncoder)) []byte {
	t.Helper()
	ae := netlink.NewAttributeEncoder()
	fn(ae)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k *fakeKernel) dial(t *testing.T) *Conn {
	t.Helper()
	fn := func(greq genetlink.Message, nreq netlink.Message) ([]genetlink.Message, error) {
		a := attrs(t, greq.Data)
		h := Handle{Bus: strings.TrimRight(string(a[unix.DEVLINK_ATTR_BUS_NAME]), "\x00"), Dev: strings.TrimRight(string(a[unix.DEVLINK_ATTR_DEV_NAME]), "\x00")}
		reply := func(fn func(ae *netlink.AttributeEncoder)) []genetlink.Message {
			return []genetlink.Message{{Header: greq.Header, Data: encode(t, fn)}}
		}
		switch greq.Header.Command {
		case unix.DEVLINK_CMD_ESWITCH_GET:
			k.seen = append(k.seen, "eswitch get "+h.String())
			return reply(func(ae *netlink.AttributeEncoder) {
				putHandle(ae, h)
				ae.Uint16(unix.DEVLINK_ATTR_ESWITCH_MODE, k.mode)
			}), nil
		case unix.DEVLINK_CMD_ESWITCH_SET:
			if len(k.nodes) > 0 { // devlink_rate_nodes_check
				return nil, genltest.Error(int(unix.EBUSY))
			}
			k.mode = nlenc16(a[unix.DEVLINK_ATTR_ESWITCH_MODE])
			k.seen = append(k.seen, "eswitch set "+h.String()+" "+modeName(k.mode))
			return nil, genltest.Error(0) // the ack
		case unix.DEVLINK_CMD_PORT_GET:
			k.seen = append(k.seen, "port dump")
			var msgs []genetlink.Message
			for _, p := range k.ports {
				msgs = append(msgs, genetlink.Message{Header: greq.Header, Data: encode(t, func(ae *netlink.AttributeEncoder) {
					putHandle(ae, p.Handle)
					ae.Uint32(unix.DEVLINK_ATTR_PORT_INDEX, p.Index)
					ae.Uint16(unix.DEVLINK_ATTR_PORT_FLAVOUR, p.Flavour)
					if p.HasVF {
						ae.Uint16(unix.DEVLINK_ATTR_PORT_PCI_PF_NUMBER, p.PF)
						ae.Uint16(unix.DEVLINK_ATTR_PORT_PCI_VF_NUMBER, p.VF)
						ae.Uint8(unix.DEVLINK_ATTR_PORT_EXTERNAL, b2u(p.External))
					}
					if p.Netdev != "" {
						ae.String(unix.DEVLINK_ATTR_PORT_NETDEV_NAME, p.Netdev)
					}
					if p.HWAddr != nil {
						ae.Nested(unix.DEVLINK_ATTR_PORT_FUNCTION, func(fn *netlink.AttributeEncoder) error {
							fn.Bytes(unix.DEVLINK_PORT_FUNCTION_ATTR_HW_ADDR, p.HWAddr)
							return nil
						})
					}
				})})
			}
			return msgs, nil
		case unix.DEVLINK_CMD_RATE_GET:
			idx := nlenc32(a[unix.DEVLINK_ATTR_PORT_INDEX])
			r, ok := k.rates[idx]
			if !ok {
				return nil, genltest.Error(int(unix.ENODEV))
			}
			return reply(func(ae *netlink.AttributeEncoder) {
				putHandle(ae, h)
				ae.Uint32(unix.DEVLINK_ATTR_PORT_INDEX, idx)
				ae.Uint64(unix.DEVLINK_ATTR_RATE_TX_SHARE, r.TxShare)
				ae.Uint64(unix.DEVLINK_ATTR_RATE_TX_MAX, r.TxMax)
			}), nil
		case unix.DEVLINK_CMD_RATE_NEW, unix.DEVLINK_CMD_RATE_DEL:
			name := strings.TrimRight(string(a[unix.DEVLINK_ATTR_RATE_NODE_NAME]), "\x00")
			if name == "" || k.nodes[name] != (greq.Header.Command == unix.DEVLINK_CMD_RATE_DEL) {
				return nil, genltest.Error(int(unix.EINVAL))
			}
			k.nodes[name] = !k.nodes[name]
			if !k.nodes[name] {
				delete(k.nodes, name)
			}
			k.seen = append(k.seen, fmt.Sprintf("rate node %s %s/%s", map[bool]string{true: "add", false: "del"}[k.nodes[name]], h, name))
			return nil, genltest.Error(0) // the ack
		case unix.DEVLINK_CMD_RATE_SET:
			idx := nlenc32(a[unix.DEVLINK_ATTR_PORT_INDEX])
			if _, ok := k.rates[idx]; !ok {
				return nil, genltest.Error(int(unix.ENODEV))
			}
			k.rates[idx] = Rate{TxShare: nlenc64(a[unix.DEVLINK_ATTR_RATE_TX_SHARE]), TxMax: nlenc64(a[unix.DEVLINK_ATTR_RATE_TX_MAX])}
			k.seen = append(k.seen, "rate set "+h.String())
			return nil, genltest.Error(0) // the ack
		}
		return nil, genltest.Error(int(unix.EOPNOTSUPP))
	}
	c, err := newConn(genltest.Dial(genltest.ServeFamily(genetlink.Family{ID: familyID, Name: unix.DEVLINK_GENL_NAME, Version: 1}, fn)))
	if err != nil {
		t.Fatalf("newConn: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func nlenc16(b []byte) uint16 { return binary.NativeEndian.Uint16(b) }
func nlenc32(b []byte) uint32 { return binary.NativeEndian.Uint32(b) }
func nlenc64(b []byte) uint64 { return binary.NativeEndian.Uint64(b) }

func TestEswitchMode(t *testing.T) {
	k := &fakeKernel{mode: unix.DEVLINK_ESWITCH_MODE_LEGACY}
	c := k.dial(t)
	if got, err := c.EswitchMode(nsim); err != nil || got != ModeLegacy {
		t.Fatalf("EswitchMode = %q, %v; want legacy", got, err)
	}
	if err := c.SetEswitchMode(nsim, ModeSwitchdev); err != nil {
		t.Fatalf("SetEswitchMode: %v", err)
	}
	if got, err := c.EswitchMode(nsim); err != nil || got != ModeSwitchdev {
		t.Fatalf("EswitchMode after set = %q, %v; want switchdev", got, err)
	}
	if err := c.SetEswitchMode(nsim, "bogus"); err == nil {
		t.Error("SetEswitchMode(bogus) succeeded")
	}
	want := []string{"eswitch get netdevsim/netdevsim40", "eswitch set netdevsim/netdevsim40 switchdev", "eswitch get netdevsim/netdevsim40"}
	if diff := cmp.Diff(want, k.seen); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestVFPort(t *testing.T) {
	other := Handle{Bus: "pci", Dev: "0000:03:00.0"}
	k := &fakeKernel{ports: []Port{
		{Handle: nsim, Index: 0, Flavour: unix.DEVLINK_PORT_FLAVOUR_PHYSICAL, Netdev: "eth0"},
		{Handle: nsim, Index: 1, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_PF, Netdev: "pf0hpf", HWAddr: net.HardwareAddr{0x0c, 0x42, 0xa1, 0xc6, 0xcf, 0x7c}},
		{Handle: other, Index: 129, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_VF, HasVF: true, VF: 1, Netdev: "pf0vf1"},
		{Handle: nsim, Index: 200, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_VF, HasVF: true, VF: 1, External: true, Netdev: "ext1"},
		{Handle: nsim, Index: 129, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_VF, HasVF: true, VF: 1, Netdev: "eni40npf0vf1"},
	}}
	c := k.dial(t)
	got, err := c.VFPort(nsim, 1)
	if err != nil {
		t.Fatalf("VFPort: %v", err)
	}
	if diff := cmp.Diff(k.ports[4], got); diff != "" {
		t.Errorf("VFPort (-want +got):\n%s", diff)
	}
	if _, err := c.VFPort(nsim, 2); !errors.Is(err, ErrNoVFPort) {
		t.Errorf("VFPort(2) err = %v, want ErrNoVFPort", err)
	}
	ports, err := c.Ports(nsim)
	if err != nil || len(ports) != 4 {
		t.Fatalf("Ports(nsim) = %d ports, %v; want 4", len(ports), err)
	}
	if diff := cmp.Diff(k.ports[1], ports[1]); diff != "" {
		t.Errorf("PF port with a function MAC (-want +got):\n%s", diff)
	}
}

func TestRate(t *testing.T) {
	k := &fakeKernel{rates: map[uint32]Rate{129: {}}}
	c := k.dial(t)
	want := Rate{TxShare: 125_000 * 10, TxMax: 125_000 * 100}
	if err := c.SetRate(nsim, 129, want); err != nil {
		t.Fatalf("SetRate: %v", err)
	}
	got, err := c.Rate(nsim, 129)
	if err != nil {
		t.Fatalf("Rate: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Rate (-want +got):\n%s", diff)
	}
	err = c.SetRate(nsim, 7, want)
	if !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "netdevsim/netdevsim40/7") {
		t.Errorf("SetRate on a missing leaf: err = %v, want ENODEV naming netdevsim/netdevsim40/7", err)
	}
}

// TestNotSupported: the kernel's answers for a missing instance (ENODEV)
// and a device without eswitch ops (EOPNOTSUPP) are "not supported"; other
// errors are not.
func TestNotSupported(t *testing.T) {
	k := &fakeKernel{rates: map[uint32]Rate{}}
	c := k.dial(t)
	if _, err := c.Rate(nsim, 1); !IsNotSupported(err) { // ENODEV from the fake
		t.Errorf("IsNotSupported(%v) = false, want true", err)
	}
	if _, err := c.execute(unix.DEVLINK_CMD_TRAP_GET, 0, nil); !IsNotSupported(err) { // EOPNOTSUPP
		t.Errorf("IsNotSupported(%v) = false, want true", err)
	}
	if IsNotSupported(errors.New("devlink: permission denied")) || IsNotSupported(nil) {
		t.Error("IsNotSupported is true for an unrelated error or nil")
	}
}

// TestRateNode: a rate node comes and goes, and while one exists the
// eswitch mode cannot change (devlink core answers EBUSY).
func TestRateNode(t *testing.T) {
	k := &fakeKernel{mode: unix.DEVLINK_ESWITCH_MODE_SWITCHDEV, nodes: map[string]bool{}}
	c := k.dial(t)
	if err := c.NewRateNode(nsim, "grp"); err != nil {
		t.Fatalf("NewRateNode: %v", err)
	}
	if err := c.NewRateNode(nsim, "grp"); !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "netdevsim/netdevsim40/grp") {
		t.Errorf("NewRateNode again: %v, want EINVAL naming the node", err)
	}
	if err := c.SetEswitchMode(nsim, ModeLegacy); !errors.Is(err, unix.EBUSY) {
		t.Errorf("SetEswitchMode with a rate node: %v, want EBUSY", err)
	}
	if err := c.DelRateNode(nsim, "grp"); err != nil {
		t.Fatalf("DelRateNode: %v", err)
	}
	if err := c.SetEswitchMode(nsim, ModeLegacy); err != nil {
		t.Errorf("SetEswitchMode without rate nodes: %v", err)
	}
	want := []string{"rate node add netdevsim/netdevsim40/grp", "rate node del netdevsim/netdevsim40/grp", "eswitch set netdevsim/netdevsim40 legacy"}
	if diff := cmp.Diff(want, k.seen); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
