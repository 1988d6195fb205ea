// Package nic discovers the network interface cards of a host: every
// physical port (a netdev backed by a PCI function, or a netdevsim device)
// with its PCI identity and names, driver and firmware, link, NUMA node,
// SR-IOV state (VFs, their netdevs and representors), devlink eswitch mode,
// switch id, hw-tc-offload, and what its NIC family is known to support.
//
// Every sysfs read goes through Discoverer.Root, so tests run discovery over
// fixture trees; ethtool and devlink sit behind the EthtoolReader and
// DevlinkReader interfaces. Virtual netdevs (lo, veth, bridges, tun) are not
// NICs; VF netdevs and representors are reported under their PF.
package nic
