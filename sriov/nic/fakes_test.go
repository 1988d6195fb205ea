package nic

import "fmt"

// fakeEthtool answers from maps; a netdev missing from info (or feats) is
// not supported, one in errs fails with that error.
type fakeEthtool struct {
	info  map[string]DriverInfo
	feats map[string]FeatureState // hw-tc-offload per netdev
	errs  map[string]error
}

func (f fakeEthtool) DriverInfo(ifname string) (DriverInfo, error) {
	if err := f.errs[ifname]; err != nil {
		return DriverInfo{}, err
	}
	di, ok := f.info[ifname]
	if !ok {
		return DriverInfo{}, fmt.Errorf("ethtool driver info of %s: %w", ifname, ErrNotSupported)
	}
	return di, nil
}

func (f fakeEthtool) Features(ifname string) (map[string]FeatureState, error) {
	st, ok := f.feats[ifname]
	if !ok {
		return nil, fmt.Errorf("ethtool features of %s: %w", ifname, ErrNotSupported)
	}
	return map[string]FeatureState{featureHWTCOffload: st, "rx-checksum": FeatureOn}, nil
}

// fakeDevlink maps "bus/device" to an eswitch mode or an error; other
// devices have no devlink eswitch.
type fakeDevlink map[string]any

func (f fakeDevlink) EswitchMode(bus, device string) (string, error) {
	switch v := f[bus+"/"+device].(type) {
	case string:
		return v, nil
	case error:
		return "", v
	}
	return "", fmt.Errorf("devlink %s/%s: %w", bus, device, ErrNotSupported)
}

// fixtureEthtool is what the fixtures' drivers report through ethtool.
var fixtureEthtool = fakeEthtool{
	info: map[string]DriverInfo{
		"enp59s0f0np0": {Driver: "mlx5_core", Version: "6.1.0-18-amd64", Firmware: "22.39.1002 (MT_0000000359)", BusInfo: "0000:3b:00.0"},
		"ens5f0np0":    {Driver: "ice", Version: "6.1.0-18-amd64", Firmware: "4.40 0x8001af1c 1.3429.0", BusInfo: "0000:af:00.0"},
		"enp4s0f0":     {Driver: "ixgbe", Version: "6.1.0-18-amd64", Firmware: "0x61bd0001", BusInfo: "0000:04:00.0"},
		"eno1":         {Driver: "e1000e", Version: "6.1.0-18-amd64", Firmware: "0.8-4", BusInfo: "0000:00:1f.6"},
		"eth0":         {Driver: "virtio_net", Version: "1.0.0", BusInfo: "0000:00:03.0"},
		"eth1":         {Driver: "netdevsim", Version: "6.1.0-18-amd64", Firmware: "10.20.30"},
	},
	feats: map[string]FeatureState{
		"enp59s0f0np0": FeatureOn,
		"ens5f0np0":    FeatureOff,
		"enp4s0f0":     FeatureOff,
		"eno1":         FeatureOffFixed,
		"eth0":         FeatureOffFixed,
		"eth1":         FeatureOff,
	},
}

// fixtureDevlink is the eswitch modes of the fixtures' devlink devices.
var fixtureDevlink = fakeDevlink{
	"pci/0000:3b:00.0":      EswitchSwitchdev,
	"pci/0000:af:00.0":      EswitchLegacy,
	"netdevsim/netdevsim30": EswitchSwitchdev,
	"pci/0000:03:00.0":      EswitchSwitchdev,
}
