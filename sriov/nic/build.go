package nic

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/sriov/internal/switchdev"
)

// build assembles the NIC of port netdev nd; all is every netdev of the host
// (for representors).
func (d *Discoverer) build(nd netdev, all []netdev) (NIC, error) {
	n := NIC{
		Name:         nd.name,
		Bus:          nd.bus,
		PhysPortName: nd.portName,
		SwitchID:     nd.switchID,
		NUMANode:     -1,
	}
	if err := d.readLink(&n); err != nil {
		return n, fmt.Errorf("nic %s: %w", nd.name, err)
	}
	if err := d.readDevice(&n, nd); err != nil {
		return n, fmt.Errorf("nic %s: %w", nd.name, err)
	}
	if err := d.readSRIOV(&n, nd); err != nil {
		return n, fmt.Errorf("nic %s: %w", nd.name, err)
	}
	sw := d.switchdev()
	addRepresentors(&n, nd, all, sw)
	d.readSubFunctions(&n, sw)
	d.readHostPF(&n, nd, all, sw)
	d.readEthtool(&n)
	d.readDevlink(&n, nd)
	if n.EswitchMode != EswitchSwitchdev && !n.hasRepresentors() {
		// Outside switchdev mode the PF is not an uplink representor.
		n.UplinkRepresentor = ""
	}
	if n.Bus == BusPCI {
		vn, dn, note := d.pciNames().names(n.VendorID, n.DeviceID)
		n.VendorName, n.DeviceName = vn, dn
		if note != "" {
			n.Notes = append(n.Notes, note)
		}
	}
	n.Capabilities = LookupCapabilities(n.Driver, n.VendorID, n.DeviceID)
	return n, nil
}

// readLink reads the netdev's link attributes from sys/class/net.
func (d *Discoverer) readLink(n *NIC) error {
	s := d.sys()
	dir := path.Join(classNetDir, n.Name)
	var err error
	if n.MAC, _, err = s.optional(path.Join(dir, "address")); err != nil {
		return err
	}
	if n.MTU, err = s.optionalInt(path.Join(dir, "mtu"), 0); err != nil {
		return err
	}
	if n.OperState, _, err = s.optional(path.Join(dir, "operstate")); err != nil {
		return err
	}
	carrier, err := s.optionalInt(path.Join(dir, "carrier"), 0)
	if err != nil {
		return err
	}
	n.Carrier = carrier == 1
	// speed is -1 (or unreadable) when unknown.
	if n.SpeedMbps, err = s.optionalInt(path.Join(dir, "speed"), 0); err != nil {
		return err
	}
	if n.SpeedMbps < 0 {
		n.SpeedMbps = 0
	}
	return nil
}

// readDevice reads the driver and the PCI identity of the port.
func (d *Discoverer) readDevice(n *NIC, nd netdev) error {
	s := d.sys()
	var err error
	// The netdev's own device names the net driver (virtio_net, not the
	// virtio-pci of the PCI function under it).
	if n.Driver, _, err = s.linkBase(path.Join(nd.devDir, attrDriver)); err != nil {
		return err
	}
	dev := path.Base(nd.busDir)
	n.DevlinkHandle = nd.bus + "/" + dev
	if nd.bus != BusPCI {
		return nil
	}
	n.PCIAddress = dev
	for _, id := range []struct {
		dst  *string
		attr string
	}{
		{&n.VendorID, "vendor"}, {&n.DeviceID, "device"},
		{&n.SubsystemVendorID, "subsystem_vendor"}, {&n.SubsystemDeviceID, "subsystem_device"},
	} {
		if *id.dst, err = s.hexID(path.Join(nd.busDir, id.attr)); err != nil {
			return err
		}
	}
	n.NUMANode, err = s.optionalInt(path.Join(nd.busDir, "numa_node"), -1)
	return err
}

// readSRIOV reads the SR-IOV state and the VFs of the port.
func (d *Discoverer) readSRIOV(n *NIC, nd netdev) error {
	s := d.sys()
	num, ok, err := s.optional(path.Join(nd.busDir, "sriov_numvfs"))
	if err != nil || !ok {
		return err
	}
	n.SRIOV.Capable = true
	if n.SRIOV.NumVFs, err = strconv.Atoi(num); err != nil {
		return fmt.Errorf("read %s: not an integer: %q", path.Join(nd.busDir, "sriov_numvfs"), num)
	}
	if n.SRIOV.TotalVFs, err = s.optionalInt(path.Join(nd.busDir, "sriov_totalvfs"), 0); err != nil {
		return err
	}
	vfs := make(map[int]*VF)
	for i := 0; i < n.SRIOV.NumVFs; i++ {
		vfs[i] = &VF{Index: i}
	}
	ents, err := s.names(nd.busDir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		idx, err := strconv.Atoi(strings.TrimPrefix(e, virtfnPrefix))
		if !strings.HasPrefix(e, virtfnPrefix) || err != nil {
			continue
		}
		vf, err := readVF(s, path.Join(nd.busDir, e), idx)
		if err != nil {
			return err
		}
		vfs[idx] = &vf
	}
	for _, vf := range vfs {
		n.SRIOV.VFs = append(n.SRIOV.VFs, *vf)
	}
	sort.Slice(n.SRIOV.VFs, func(i, j int) bool { return n.SRIOV.VFs[i].Index < n.SRIOV.VFs[j].Index })
	return nil
}

// readVF reads the VF behind a virtfnN link.
func readVF(s sysfs, link string, idx int) (VF, error) {
	vf := VF{Index: idx}
	dir, ok, err := s.resolve(link)
	if err != nil || !ok {
		return vf, err
	}
	vf.PCIAddress = path.Base(dir)
	if vf.DeviceID, err = s.hexID(path.Join(dir, "device")); err != nil {
		return vf, err
	}
	if vf.Driver, _, err = s.linkBase(path.Join(dir, attrDriver)); err != nil {
		return vf, err
	}
	nets, err := s.names(path.Join(dir, "net"))
	if err != nil || len(nets) == 0 {
		return vf, err
	}
	vf.Netdev = nets[0]
	return vf, nil
}

// addRepresentors finds the uplink and VF representors of the port: netdevs
// with its phys_switch_id whose phys_port_name is pfNvfM with N the port's
// PF number, and the uplink: sriovnet's for a PCI port (a netdev of the
// port's PCI function with the switch id, named pN), the port itself on
// netdevsim (not a PCI device, so sriovnet cannot look it up).
func addRepresentors(n *NIC, nd netdev, all []netdev, sw switchdev.Host) {
	if nd.switchID == "" {
		return
	}
	if n.Bus == BusPCI {
		// sriovnet's errors do not tell "none" from a failed read.
		n.UplinkRepresentor, _ = sw.UplinkRepresentor(n.PCIAddress)
	}
	pf := pfNumber(nd)
	for _, o := range all {
		if o.switchID != nd.switchID {
			continue
		}
		switch o.port.kind {
		case portPhysical:
			if n.Bus == BusNetdevsim && o.busDir == nd.busDir && (n.UplinkRepresentor == "" || o.name == nd.name) {
				n.UplinkRepresentor = o.name
			}
		case portVFRep:
			if o.port.pf != pf && o.port.pf != -1 {
				continue
			}
			n.setRepresentor(o.port.fn, o.name)
		}
	}
}

// readSubFunctions finds the port's sub-functions and their representors
// with sriovnet (PCI ports only).
func (d *Discoverer) readSubFunctions(n *NIC, sw switchdev.Host) {
	if n.Bus != BusPCI {
		return
	}
	sfs, err := sw.SFs(n.PCIAddress)
	if err != nil {
		n.Notes = append(n.Notes, err.Error())
		return
	}
	for _, s := range sfs {
		sf := SF{Num: s.Num, AuxDevice: s.Aux}
		if len(s.Netdevs) > 0 {
			sf.Netdev = s.Netdevs[0]
		}
		if n.UplinkRepresentor != "" {
			sf.Representor, _ = sw.SFRepresentor(n.UplinkRepresentor, s.Num)
		}
		n.SFs = append(n.SFs, sf)
	}
}

// readHostPF finds, on a SmartNIC/DPU eswitch, the representor of the host
// PF (phys_port_name [cN]pfN with the port's switch id and PF number) and
// asks sriovnet for the host PF's MAC (devlink port function, else
// MLNX_OFED's smart_nic/pf/config).
func (d *Discoverer) readHostPF(n *NIC, nd netdev, all []netdev, sw switchdev.Host) {
	if nd.switchID == "" {
		return
	}
	pf := pfNumber(nd)
	for _, o := range all {
		if o.switchID != nd.switchID || o.port.kind != portPFRep || o.port.pf != pf {
			continue
		}
		n.HostPF = &HostPF{Representor: o.name}
		mac, err := sw.PeerMAC(o.name)
		if err != nil {
			n.Notes = append(n.Notes, err.Error())
			return
		}
		n.HostPF.MAC = mac.String()
		return
	}
}

// setRepresentor records rep as the representor of VF idx, adding the VF
// when sysfs did not list it.
func (n *NIC) setRepresentor(idx int, rep string) {
	for i := range n.SRIOV.VFs {
		if n.SRIOV.VFs[i].Index == idx {
			n.SRIOV.VFs[i].Representor = rep
			return
		}
	}
	n.SRIOV.VFs = append(n.SRIOV.VFs, VF{Index: idx, Representor: rep})
	sort.Slice(n.SRIOV.VFs, func(i, j int) bool { return n.SRIOV.VFs[i].Index < n.SRIOV.VFs[j].Index })
}

func (n *NIC) hasRepresentors() bool {
	for _, vf := range n.SRIOV.VFs {
		if vf.Representor != "" {
			return true
		}
	}
	return false
}

// pfNumber is the PF number representors of the port carry in pfNvfM: the
// PCI function number (mlx5 and ice name VF representors of function 1
// pf1vfM), 0 on netdevsim. The physical port number of a pN name is not it:
// netdevsim names its port p1 and the representors pf0vfM.
func pfNumber(nd netdev) int {
	if i := strings.LastIndexByte(nd.busDir, '.'); nd.bus == BusPCI && i >= 0 {
		if f, err := strconv.Atoi(nd.busDir[i+1:]); err == nil {
			return f
		}
	}
	return 0
}

// readEthtool fills driver version, firmware and hw-tc-offload; failures
// other than "not supported" become notes.
func (d *Discoverer) readEthtool(n *NIC) {
	n.Offload.HWTCOffload = FeatureUnknown
	if d.Ethtool == nil {
		return
	}
	di, err := d.Ethtool.DriverInfo(n.Name)
	switch {
	case err == nil:
		n.DriverVersion, n.FirmwareVersion = di.Version, di.Firmware
		if n.Driver == "" {
			n.Driver = di.Driver
		}
	case !errors.Is(err, ErrNotSupported):
		n.Notes = append(n.Notes, err.Error())
	}
	feats, err := d.Ethtool.Features(n.Name)
	switch {
	case err == nil:
		if st, ok := feats[featureHWTCOffload]; ok {
			n.Offload.HWTCOffload = st
		}
	case !errors.Is(err, ErrNotSupported):
		n.Notes = append(n.Notes, err.Error())
	}
}

// readDevlink fills the eswitch mode.
func (d *Discoverer) readDevlink(n *NIC, nd netdev) {
	if d.Devlink == nil {
		return
	}
	mode, err := d.Devlink.EswitchMode(nd.bus, path.Base(nd.busDir))
	switch {
	case err == nil:
		n.EswitchMode = mode
	case !errors.Is(err, ErrNotSupported):
		n.Notes = append(n.Notes, err.Error())
	}
}
