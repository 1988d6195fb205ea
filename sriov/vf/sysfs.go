package vf

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/sriov/devlink"
)

// sysfs reads and writes the SR-IOV files of PF netdevs under a sysfs root.
type sysfs struct {
	root string // "/sys", or a fixture tree
}

// deviceDir is the PF's device directory (/sys/class/net/PF/device).
func (s sysfs) deviceDir(pf string) string {
	return filepath.Join(s.root, "class", "net", pf, "device")
}

func (s sysfs) numVFs(pf string) (int, error) {
	path := filepath.Join(s.deviceDir(pf), "sriov_numvfs")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read VF count of PF %s: %w", pf, err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read VF count of PF %s: %s: %w", pf, path, err)
	}
	return n, nil
}

func (s sysfs) writeNumVFs(pf string, n int) error {
	path := filepath.Join(s.deviceDir(pf), "sriov_numvfs")
	// sysfs takes the value in one write; no O_TRUNC.
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("write VF count of PF %s: %w", pf, err)
	}
	_, err = f.WriteString(strconv.Itoa(n))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %d to %s: %w", n, path, err)
	}
	return nil
}

// devlinkHandle names the devlink instance of the PF's device: its bus
// (the device's subsystem: "pci", "netdevsim") and device name.
func (s sysfs) devlinkHandle(pf string) (devlink.Handle, error) {
	dev, err := filepath.EvalSymlinks(s.deviceDir(pf))
	if err != nil {
		return devlink.Handle{}, fmt.Errorf("find device of PF %s: %w", pf, err)
	}
	bus, err := filepath.EvalSymlinks(filepath.Join(dev, "subsystem"))
	if err != nil {
		return devlink.Handle{}, fmt.Errorf("find bus of PF %s: %w", pf, err)
	}
	return devlink.Handle{Bus: filepath.Base(bus), Dev: filepath.Base(dev)}, nil
}

// vfPCI reads the VF's PCI address from the PF's virtfnN link; empty when
// the device has none (netdevsim). sriovnet's reader of that link is
// unexported (its exported GetVfPciDevList lists only the link names).
func (s sysfs) vfPCI(pf string, vf int) string {
	dir, err := filepath.EvalSymlinks(filepath.Join(s.deviceDir(pf), "virtfn"+strconv.Itoa(vf)))
	if err != nil {
		return ""
	}
	return filepath.Base(dir)
}
