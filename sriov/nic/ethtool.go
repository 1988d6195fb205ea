package nic

import "errors"

// ErrNotSupported is returned (wrapped) by an EthtoolReader or DevlinkReader
// when the device does not offer what was asked: no ethtool driver info, no
// devlink instance or no eswitch. Discovery then leaves the field empty.
var ErrNotSupported = errors.New("not supported by the device")

// DriverInfo is what ethtool's ETHTOOL_GDRVINFO reports for a netdev.
type DriverInfo struct {
	Driver   string
	Version  string
	Firmware string
	BusInfo  string
}

// EthtoolReader reads ethtool information of a netdev. Ethtool is the
// implementation on the host kernel; tests use a fake.
type EthtoolReader interface {
	// DriverInfo returns the netdev's driver, driver version and firmware.
	DriverInfo(ifname string) (DriverInfo, error)
	// Features returns the netdev's features by their ethtool names
	// ("hw-tc-offload").
	Features(ifname string) (map[string]FeatureState, error)
}

// featureHWTCOffload is ethtool's name of NETIF_F_HW_TC.
const featureHWTCOffload = "hw-tc-offload"
