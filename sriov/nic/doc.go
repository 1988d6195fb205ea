// Package nic discovers the network interface cards of a host: every
// physical port (a netdev backed by a PCI function, or a netdevsim device)
// with its PCI identity and names, driver and firmware, link, NUMA node,
// SR-IOV state (VFs, their netdevs and representors), sub-functions and
// their representors, on a SmartNIC/DPU eswitch the host PF's representor
// and MAC, devlink eswitch mode, switch id, hw-tc-offload, and what its NIC
// family is known to support.
//
// Every sysfs read goes through Discoverer.Root, its own and those it asks
// of sriovnet (sriov/internal/switchdev: uplink representor, sub-functions,
// host PF MAC; see package sriov for what sriovnet does and why the rest is
// read here), so tests run discovery over fixture trees; ethtool and devlink
// sit behind the EthtoolReader and DevlinkReader interfaces. Virtual netdevs (lo, veth, bridges, tun) are not
// NICs; VF netdevs and representors are reported under their PF.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/sriov/..., go.uber.org/zap.
package nic
