package nic

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/nicflow/nicflow/sriov/internal/switchdev"
)

// ErrNotFound is returned (wrapped) by Get for a name that is not a NIC: no
// such netdev, a virtual netdev, a VF or a representor (the message says
// which).
var ErrNotFound = errors.New("no such NIC")

// Discoverer finds the NICs of a host. Set its fields before the first call;
// after that it is safe for concurrent use. The pci.ids database is loaded
// once, on first use.
type Discoverer struct {
	// Root is the directory holding sys/ ("/" when empty); tests point it at
	// fixture trees.
	Root string
	// PCIIDs is the path of the pci.ids database (DefaultPCIIDs when
	// empty). Without it names are left empty and each NIC carries a note.
	PCIIDs string
	// Ethtool reads driver versions, firmware and features; nil leaves
	// them empty.
	Ethtool EthtoolReader
	// Devlink reads eswitch modes; nil leaves them empty.
	Devlink DevlinkReader

	namesOnce sync.Once
	names     *pciNames
}

// NewDiscoverer returns a Discoverer of the host: root "/", Debian's pci.ids,
// and the kernel's ethtool and devlink.
func NewDiscoverer() *Discoverer {
	return &Discoverer{Root: "/", PCIIDs: DefaultPCIIDs, Ethtool: Ethtool{}, Devlink: Devlink{}}
}

// netdev is what discovery needs to know of every netdev of the host to
// tell NICs from VFs, representors and virtual devices.
type netdev struct {
	name     string
	devDir   string // the netdev's device directory, relative to the root; "" if virtual
	bus      string // BusPCI, BusNetdevsim, or "" for other buses
	busDir   string // the PCI function or netdevsim device directory
	portName string
	port     portName
	switchID string
	physfn   string // the PF's PCI address when the netdev is on a VF
}

// List returns the NICs of the host, sorted by name.
func (d *Discoverer) List() ([]NIC, error) {
	all, err := d.scan()
	if err != nil {
		return nil, err
	}
	var nics []NIC
	for _, nd := range all {
		if nd.notNIC() != "" {
			continue
		}
		n, err := d.build(nd, all)
		if err != nil {
			return nil, err
		}
		nics = append(nics, n)
	}
	return nics, nil
}

// Get returns the NIC whose port netdev is name.
func (d *Discoverer) Get(name string) (NIC, error) {
	all, err := d.scan()
	if err != nil {
		return NIC{}, err
	}
	for _, nd := range all {
		if nd.name != name {
			continue
		}
		if why := nd.notNIC(); why != "" {
			return NIC{}, fmt.Errorf("%s is %s: %w", name, why, ErrNotFound)
		}
		return d.build(nd, all)
	}
	return NIC{}, fmt.Errorf("netdev %s: %w", name, ErrNotFound)
}

// notNIC says why a netdev is not a NIC, or "" when it is one.
func (nd netdev) notNIC() string {
	switch {
	case nd.devDir == "":
		return "a virtual netdev"
	case nd.bus == "":
		return "not on the PCI or netdevsim bus"
	case nd.port.isRepresentor():
		return "a representor (phys_port_name " + nd.portName + ")"
	case nd.physfn != "":
		return "a VF netdev of PF " + nd.physfn
	}
	return ""
}

func (d *Discoverer) sys() sysfs {
	if d.Root == "" {
		return sysfs{root: "/"}
	}
	return sysfs{root: d.Root}
}

// switchdev is sriovnet over the Discoverer's sysfs, asking devlink for
// ports when Devlink is the kernel's.
func (d *Discoverer) switchdev() switchdev.Host {
	h := switchdev.Host{Sysfs: filepath.Join(d.sys().root, sysDir)}
	if _, ok := d.Devlink.(Devlink); ok {
		h.Devlink = dialPorts{}
	}
	return h
}

func (d *Discoverer) pciNames() *pciNames {
	d.namesOnce.Do(func() { d.names = newPCINames(d.PCIIDs) })
	return d.names
}

// scan reads every netdev of sys/class/net.
func (d *Discoverer) scan() ([]netdev, error) {
	s := d.sys()
	if _, ok, err := s.resolve(sysDir); err != nil || !ok {
		if err == nil {
			err = fmt.Errorf("no %s under %s", sysDir, s.root)
		}
		return nil, fmt.Errorf("sysfs root: %w", err)
	}
	names, err := s.names(classNetDir)
	if err != nil {
		return nil, err
	}
	out := make([]netdev, 0, len(names))
	for _, name := range names {
		nd, err := scanNetdev(s, name)
		if err != nil {
			return nil, fmt.Errorf("netdev %s: %w", name, err)
		}
		out = append(out, nd)
	}
	return out, nil
}

func scanNetdev(s sysfs, name string) (netdev, error) {
	nd := netdev{name: name}
	dir := path.Join(classNetDir, name)
	var err error
	if nd.portName, _, err = s.optional(path.Join(dir, "phys_port_name")); err != nil {
		return nd, err
	}
	if nd.switchID, _, err = s.optional(path.Join(dir, "phys_switch_id")); err != nil {
		return nd, err
	}
	nd.port = parsePortName(nd.portName, nd.switchID != "")
	devDir, err := deviceDir(s, dir)
	if err != nil || devDir == "" {
		return nd, err
	}
	nd.devDir = devDir
	if nd.bus, nd.busDir, err = busOf(s, devDir); err != nil || nd.bus != BusPCI {
		return nd, err
	}
	nd.physfn, _, err = s.linkBase(path.Join(nd.busDir, attrPhysfn))
	return nd, err
}

// deviceDir returns the device directory of the netdev at dir (under
// sys/class/net), or "" for a virtual netdev. It follows the netdev's device
// link; trees without it (ghw snapshots keep only the class link) fall back
// to the parent of the netdev's net/ directory, where the kernel puts every
// netdev of a device.
func deviceDir(s sysfs, dir string) (string, error) {
	devDir, ok, err := s.resolve(path.Join(dir, attrDevice))
	if err != nil || ok {
		return devDir, err
	}
	self, ok, err := s.resolve(dir)
	if err != nil || !ok {
		return "", err
	}
	parent := path.Dir(self)
	if path.Base(parent) != "net" || strings.HasPrefix(self, virtualDevs+"/") {
		return "", nil
	}
	return path.Dir(parent), nil
}

var pciAddrRe = regexp.MustCompile(`^[0-9a-f]{4,}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$`)

// busOf returns the bus of a netdev's device and the directory of the bus
// device: the device itself, or its parent PCI function for a virtio
// device. Trees without subsystem links (ghw snapshots) are recognised by
// the PCI address form of the directory name.
func busOf(s sysfs, devDir string) (bus, busDir string, err error) {
	subsys, ok, err := s.linkBase(path.Join(devDir, attrSubsys))
	if err != nil {
		return "", "", err
	}
	if !ok && pciAddrRe.MatchString(path.Base(devDir)) {
		subsys = BusPCI
	}
	switch subsys {
	case BusPCI, BusNetdevsim:
		return subsys, devDir, nil
	case "virtio":
		parent := path.Dir(devDir)
		if psub, _, err := s.linkBase(path.Join(parent, attrSubsys)); err != nil || psub == BusPCI ||
			pciAddrRe.MatchString(path.Base(parent)) {
			return BusPCI, parent, err
		}
	}
	return "", "", nil
}
