// Package sriov is the SR-IOV side of nicflow: NIC discovery (sriov/nic) and
// the lifecycle of virtual functions (sriov/vf). Its packages read sysfs,
// devlink and ethtool through small interfaces so that tests can point them
// at fixture trees and fakes; they return errors and never log.
package sriov
