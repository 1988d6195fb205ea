package vmtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/test/waitfor"
)

// Sysfs paths of the netdevsim bus (drivers/net/netdevsim/bus.c).
const (
	nsimBus     = "/sys/bus/netdevsim"
	nsimNew     = nsimBus + "/new_device"
	nsimDel     = nsimBus + "/del_device"
	nsimDevices = nsimBus + "/devices"
	sysClassNet = "/sys/class/net"
	devlinkBus  = "netdevsim"
	waitTimeout = 10 * time.Second
)

// Netdevsim is one simulated device created by NewNetdevsim: a PF netdev
// with VFs whose devlink instance is netdevsim/netdevsim<ID>.
type Netdevsim struct {
	ID  int
	VFs int
	// PF is the name of the device's first port netdev (phys_port_name p0).
	PF string
}

// DevlinkName is the devlink device name, e.g. "netdevsim10"; the bus name is
// "netdevsim".
func (n *Netdevsim) DevlinkName() string {
	return "netdevsim" + strconv.Itoa(n.ID)
}

// SysfsDir is the device's directory on the netdevsim bus.
func (n *Netdevsim) SysfsDir() string {
	return filepath.Join(nsimDevices, n.DevlinkName())
}

// NewNetdevsim creates netdevsim device id with one port and vfs VFs
// (sriov_numvfs), still in legacy eswitch mode, and deletes it when the test
// ends. It skips outside the VM and fails the test on any error. Use a
// distinct id per device alive at the same time.
func NewNetdevsim(t testing.TB, id, vfs int) *Netdevsim {
	t.Helper()
	Require(t)
	if _, err := os.Stat(nsimNew); err != nil {
		t.Fatalf("netdevsim is not loaded: %v", err)
	}
	if err := writeSysfs(nsimNew, fmt.Sprintf("%d 1", id)); err != nil {
		t.Fatalf("create netdevsim %d: %v", id, err)
	}
	n := &Netdevsim{ID: id}
	t.Cleanup(func() {
		if err := writeSysfs(nsimDel, strconv.Itoa(id)); err != nil {
			t.Errorf("delete netdevsim %d: %v", id, err)
		}
	})
	var pf string
	if err := waitfor.Until(waitTimeout, func() (err error) {
		pf, err = n.findPF()
		return err
	}); err != nil {
		t.Fatalf("netdevsim %d: find PF netdev: %v", id, err)
	}
	n.PF = pf
	if vfs > 0 {
		if err := writeSysfs(filepath.Join(n.SysfsDir(), "sriov_numvfs"), strconv.Itoa(vfs)); err != nil {
			t.Fatalf("netdevsim %d: enable %d VFs: %v", id, vfs, err)
		}
	}
	n.VFs = vfs
	return n
}

// findPF returns the netdev of port 0 of the device.
func (n *Netdevsim) findPF() (string, error) {
	ents, err := os.ReadDir(filepath.Join(n.SysfsDir(), "net"))
	if err != nil {
		return "", err
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) == 0 {
		return "", errors.New("no netdev yet")
	}
	sort.Strings(names)
	return names[0], nil
}

// devlinkHandle is the device's devlink instance.
func (n *Netdevsim) devlinkHandle() devlink.Handle {
	return devlink.Handle{Bus: devlinkBus, Dev: n.DevlinkName()}
}

// SetSwitchdev switches the device's eswitch to switchdev mode over devlink,
// which creates one representor per VF.
func (n *Netdevsim) SetSwitchdev(t testing.TB) {
	t.Helper()
	n.SetEswitchMode(t, devlink.ModeSwitchdev)
}

// SetEswitchMode sets the device's eswitch mode ("legacy" or "switchdev")
// over devlink (sriov/devlink, the tree's one devlink client).
func (n *Netdevsim) SetEswitchMode(t testing.TB, mode string) {
	t.Helper()
	if err := devlink.Do(func(c *devlink.Conn) error { return c.SetEswitchMode(n.devlinkHandle(), mode) }); err != nil {
		t.Fatalf("netdevsim %d: %v", n.ID, err)
	}
}

// EswitchMode reads the device's eswitch mode back over devlink ("legacy" or
// "switchdev").
func (n *Netdevsim) EswitchMode(t testing.TB) string {
	t.Helper()
	var mode string
	if err := devlink.Do(func(c *devlink.Conn) (err error) {
		mode, err = c.EswitchMode(n.devlinkHandle())
		return err
	}); err != nil {
		t.Fatalf("netdevsim %d: %v", n.ID, err)
	}
	return mode
}

// AddRateNode creates devlink rate node name on the device (switchdev mode
// only), as `devlink port function rate add netdevsim/netdevsimID/name`
// does, and deletes it when the test ends if it is still there. While a
// rate node exists, devlink refuses to change the eswitch mode ("Rate
// node(s) exists.", EBUSY): a real kernel refusal for tests to provoke.
func (n *Netdevsim) AddRateNode(t testing.TB, name string) {
	t.Helper()
	if err := devlink.Do(func(c *devlink.Conn) error { return c.NewRateNode(n.devlinkHandle(), name) }); err != nil {
		t.Fatalf("netdevsim %d: %v", n.ID, err)
	}
	t.Cleanup(func() {
		_ = devlink.Do(func(c *devlink.Conn) error { return c.DelRateNode(n.devlinkHandle(), name) })
	})
}

// DelRateNode deletes devlink rate node name of the device.
func (n *Netdevsim) DelRateNode(t testing.TB, name string) {
	t.Helper()
	if err := devlink.Do(func(c *devlink.Conn) error { return c.DelRateNode(n.devlinkHandle(), name) }); err != nil {
		t.Fatalf("netdevsim %d: %v", n.ID, err)
	}
}

// SwitchID returns the PF's phys_switch_id (hex, as in sysfs).
func (n *Netdevsim) SwitchID(t testing.TB) string {
	t.Helper()
	id, err := readSysfs(filepath.Join(sysClassNet, n.PF, "phys_switch_id"))
	if err != nil {
		t.Fatalf("netdevsim %d: read PF switch id: %v", n.ID, err)
	}
	if id == "" {
		t.Fatalf("netdevsim %d: PF %s has an empty phys_switch_id", n.ID, n.PF)
	}
	return id
}

// vfRepName matches the phys_port_name of a VF representor.
var vfRepName = regexp.MustCompile(`^pf(\d+)vf(\d+)$`)

// Representors waits until every VF has its representor (same
// phys_switch_id as the PF, phys_port_name pf0vfN) and returns their netdev
// names indexed by VF number.
func (n *Netdevsim) Representors(t testing.TB) []string {
	t.Helper()
	switchID := n.SwitchID(t)
	var reps []string
	if err := waitfor.Until(waitTimeout, func() (err error) {
		if reps, err = representors(sysClassNet, switchID, n.VFs); err != nil {
			return err
		}
		for vf, name := range reps {
			if name == "" {
				return fmt.Errorf("no representor for VF %d yet", vf)
			}
		}
		return nil
	}); err != nil {
		t.Fatalf("netdevsim %d: representors: %v", n.ID, err)
	}
	return reps
}

// representors scans netdevs under classNet for VF representors of switch
// switchID and returns their names indexed by VF number (empty when missing).
func representors(classNet, switchID string, vfs int) ([]string, error) {
	ents, err := os.ReadDir(classNet)
	if err != nil {
		return nil, err
	}
	reps := make([]string, vfs)
	for _, e := range ents {
		dir := filepath.Join(classNet, e.Name())
		// Netdevs without a switch or a port name fail these reads.
		sid, err := readSysfs(filepath.Join(dir, "phys_switch_id"))
		if err != nil || sid != switchID {
			continue
		}
		port, err := readSysfs(filepath.Join(dir, "phys_port_name"))
		if err != nil {
			continue
		}
		m := vfRepName.FindStringSubmatch(port)
		if m == nil || m[1] != "0" {
			continue
		}
		vf, _ := strconv.Atoi(m[2])
		if vf >= vfs {
			return nil, fmt.Errorf("%s is the representor of VF %d, beyond %d VFs", e.Name(), vf, vfs)
		}
		reps[vf] = e.Name()
	}
	return reps, nil
}

func writeSysfs(path, value string) error {
	// sysfs takes the value in one write; os.WriteFile would truncate first.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return fmt.Errorf("write %q to %s: %w", value, path, err)
	}
	return f.Close()
}

func readSysfs(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// DevlinkPorts returns the device's devlink ports (the PF port and, in
// switchdev mode, one port of flavour pcivf per VF).
func (n *Netdevsim) DevlinkPorts(t testing.TB) []devlink.Port {
	t.Helper()
	var ports []devlink.Port
	if err := devlink.Do(func(c *devlink.Conn) (err error) {
		ports, err = c.Ports(n.devlinkHandle())
		return err
	}); err != nil {
		t.Fatalf("netdevsim %d: %v", n.ID, err)
	}
	return ports
}
