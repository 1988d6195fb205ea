package vf

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/sriov/internal/devlink"
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

// vfLocation reads the VF's PCI address and netdev from the PF's virtfnN
// link; both are empty when the device has none (netdevsim).
func (s sysfs) vfLocation(pf string, vf int) (pci, netdev string) {
	dir, err := filepath.EvalSymlinks(filepath.Join(s.deviceDir(pf), "virtfn"+strconv.Itoa(vf)))
	if err != nil {
		return "", ""
	}
	ents, err := os.ReadDir(filepath.Join(dir, "net"))
	if err == nil && len(ents) > 0 {
		netdev = ents[0].Name()
	}
	return filepath.Base(dir), netdev
}
