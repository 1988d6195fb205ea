package nic

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ethtool commands and constants not in x/sys/unix (include/uapi/linux/ethtool.h).
const (
	ethSSFeatures    = 4  // ETH_SS_FEATURES string set
	ethGStringLen    = 32 // ETH_GSTRING_LEN
	featureBlockSize = 16 // struct ethtool_get_features_block: 4 x u32
)

// Ethtool reads driver info and features with the SIOCETHTOOL ioctl in the
// network namespace of the calling thread. It needs no privileges. The zero
// value is ready to use and safe for concurrent use.
type Ethtool struct{}

var _ EthtoolReader = Ethtool{}

// DriverInfo implements EthtoolReader with ETHTOOL_GDRVINFO.
func (Ethtool) DriverInfo(ifname string) (DriverInfo, error) {
	fd, err := ethtoolSocket()
	if err != nil {
		return DriverInfo{}, err
	}
	defer unix.Close(fd)
	di, err := unix.IoctlGetEthtoolDrvinfo(fd, ifname)
	if err != nil {
		return DriverInfo{}, ethtoolErr("driver info", ifname, err)
	}
	return DriverInfo{
		Driver:   unix.ByteSliceToString(di.Driver[:]),
		Version:  unix.ByteSliceToString(di.Version[:]),
		Firmware: unix.ByteSliceToString(di.Fw_version[:]),
		BusInfo:  unix.ByteSliceToString(di.Bus_info[:]),
	}, nil
}

// Features implements EthtoolReader with ETHTOOL_GSSET_INFO,
// ETHTOOL_GSTRINGS and ETHTOOL_GFEATURES, as `ethtool -k` does.
func (Ethtool) Features(ifname string) (map[string]FeatureState, error) {
	fd, err := ethtoolSocket()
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)

	// struct ethtool_sset_info with one data word.
	sset := make([]byte, 4+4+8+4)
	binary.NativeEndian.PutUint32(sset[0:], unix.ETHTOOL_GSSET_INFO)
	binary.NativeEndian.PutUint64(sset[8:], 1<<ethSSFeatures)
	if err := ethtoolIoctl(fd, ifname, sset); err != nil {
		return nil, ethtoolErr("feature count", ifname, err)
	}
	if binary.NativeEndian.Uint64(sset[8:])&(1<<ethSSFeatures) == 0 {
		return nil, fmt.Errorf("ethtool feature count of %s: %w", ifname, ErrNotSupported)
	}
	n := int(binary.NativeEndian.Uint32(sset[16:]))

	// struct ethtool_gstrings.
	strs := make([]byte, 12+n*ethGStringLen)
	binary.NativeEndian.PutUint32(strs[0:], unix.ETHTOOL_GSTRINGS)
	binary.NativeEndian.PutUint32(strs[4:], ethSSFeatures)
	binary.NativeEndian.PutUint32(strs[8:], uint32(n))
	if err := ethtoolIoctl(fd, ifname, strs); err != nil {
		return nil, ethtoolErr("feature names", ifname, err)
	}

	// struct ethtool_gfeatures.
	blocks := (n + 31) / 32
	feats := make([]byte, 8+blocks*featureBlockSize)
	binary.NativeEndian.PutUint32(feats[0:], unix.ETHTOOL_GFEATURES)
	binary.NativeEndian.PutUint32(feats[4:], uint32(blocks))
	if err := ethtoolIoctl(fd, ifname, feats); err != nil {
		return nil, ethtoolErr("features", ifname, err)
	}

	out := make(map[string]FeatureState, n)
	for i := 0; i < n; i++ {
		name := unix.ByteSliceToString(strs[12+i*ethGStringLen : 12+(i+1)*ethGStringLen])
		if name == "" {
			continue
		}
		blk := feats[8+(i/32)*featureBlockSize:]
		bit := uint32(1) << (i % 32)
		available := binary.NativeEndian.Uint32(blk[0:]) // changeable
		active := binary.NativeEndian.Uint32(blk[8:])
		switch {
		case active&bit != 0:
			out[name] = FeatureOn
		case available&bit != 0:
			out[name] = FeatureOff
		default:
			out[name] = FeatureOffFixed
		}
	}
	return out, nil
}

func ethtoolSocket() (int, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open ethtool socket: %w", err)
	}
	return fd, nil
}

// ifreqData is struct ifreq with ifr_data set, padded past the size of the
// kernel's union.
type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [32]byte
}

// ethtoolIoctl runs SIOCETHTOOL with buf as the command structure.
func ethtoolIoctl(fd int, ifname string, buf []byte) error {
	if len(ifname) >= unix.IFNAMSIZ {
		return fmt.Errorf("interface name %q too long", ifname)
	}
	var ifr ifreqData
	copy(ifr.name[:], ifname)
	ifr.data = unsafe.Pointer(&buf[0])
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(buf)
	if errno != 0 {
		return errno
	}
	return nil
}

// ethtoolErr wraps an ioctl error; EOPNOTSUPP becomes ErrNotSupported.
func ethtoolErr(op, ifname string, err error) error {
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("ethtool %s of %s: %w (%w)", op, ifname, ErrNotSupported, err)
	}
	return fmt.Errorf("ethtool %s of %s: %w", op, ifname, err)
}
