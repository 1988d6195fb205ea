// Package sriov is the SR-IOV side of nicflow: NIC discovery (sriov/nic) and
// the lifecycle of virtual functions (sriov/vf). Its packages read sysfs,
// devlink and ethtool through small interfaces so that tests can point them
// at fixture trees and fakes; they return errors and never log. Each ends
// its doc comment with what it must not import: nothing under sriov/
// imports cmd/, api/, the other components or a logger, nor offload/ but
// for sriov/vf's allocations in offload/store. This package holds only
// this comment.
//
// # Kernel glue
//
// sriov/devlink is the one devlink client of the tree (generic
// netlink through github.com/mdlayher/genetlink): eswitch mode get/set for
// discovery and PF setup, the port dump (flavour, PF/VF numbers, netdev,
// function MAC) and rate leaves for VF rates in switchdev mode. It is not
// internal: the VM harness's netdevsim helpers (test/vm/vmtest) use it
// too, so that the tree has no second devlink client.
//
// sriov/internal/switchdev runs github.com/k8snetworkplumbingwg/sriovnet
// (the maintained home of Mellanox/sriovnet) and is the only package that
// imports it. sriovnet has no sysfs root: it reads /sys through a package
// variable for most calls and through the os package for a few, and asks
// devlink through another package variable. switchdev.Host sets both for the
// duration of each call, under one lock, to its Sysfs directory and to the
// devlink client above, so sriovnet runs on fixture trees in tests and opens
// no devlink socket of its own (its default, github.com/vishvananda/netlink,
// would be a second client).
//
// # What sriovnet does for us
//
//   - VF to representor (GetVfRepresentor): vf.Netlink.Locate. It reads the
//     uplink's device link through os, so it runs on the host's /sys only
//     and is proven in the VM on netdevsim (sriov/vf TestVMLifecycle,
//     switchdev TestVMVFRepresentors). It takes the PF number of pfNvfM
//     from the last character of the uplink's device name: on netdevsim,
//     representors are found only for device ids ending in 0.
//   - Representor back to its VF or SF, with the port flavour
//     (GetRepresentorPortFlavour, GetPortIndexFromRepresentor; flavour
//     from devlink, else from phys_port_name): vf.Netlink.RepresentedVF.
//     Proven in the VM on netdevsim representors, with and without devlink,
//     and on fixtures.
//   - The uplink representor of a PCI port (GetUplinkRepresentor), the
//     netdevs of a VF's PCI function (GetNetDevicesFromPci), sub-functions
//     (GetAuxNetDevicesFromPci, GetSfIndexByAuxDev, GetNetDevicesFromAux)
//     and their representors (GetSfRepresentor), and on a BlueField DPU
//     the host PF's MAC behind its pfNhpf representor
//     (GetRepresentorPeerMacAddress): NIC discovery and vf.Netlink.Locate.
//     These read /sys only through sriovnet's filesystem variable, so they
//     are proven on fixture trees (sriov/internal/sysfstest: ConnectX-6 Dx
//     with a sub-function, BlueField-2 Arm side); netdevsim is not a PCI
//     device and has no sub-functions, so the VM cannot show them.
//
// # What we still read ourselves, and why
//
//   - Discovery's one pass over sys/class/net (every netdev's port name,
//     switch id, device, bus, physfn) and the VF representors and DPU host
//     PF representor it finds by switch id and pfN[vfM]: sriovnet answers
//     point questions (one VF of one uplink) and has no enumeration; its
//     representor index drops the PF number that tells pf0vf0 from pf1vf0
//     on a two-port card; its port-name parser is unexported and does not
//     know the old bare-number names; and netdevsim is not on the PCI bus
//     that its lookups assume. The port-name patterns are sriovnet's.
//   - The uplink of a netdevsim port (the port itself): not PCI.
//   - sriov_numvfs/sriov_totalvfs, the virtfnN links (VF PCI address, id,
//     driver) and physfn: sriovnet's readers of virtfnN are unexported or
//     go through os with no root, its sriov_numvfs helpers log, and
//     GetPfPciFromVfPci flattens errors so that "not a VF" cannot be told
//     from a failed read.
//   - GetPciFromNetDevice is never called: it loops forever on a netdev
//     that is not on PCI (lo, veth, netdevsim), whose relative sysfs link
//     never reaches a PCI address.
//
// It imports no other nicflow package.
package sriov
