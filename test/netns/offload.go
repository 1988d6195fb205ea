//go:build linux

package netns

import (
	"fmt"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Legacy ethtool commands (linux/ethtool.h) to switch one offload.
const (
	ethtoolSTSO = 0x1f // TCP segmentation offload
	ethtoolSGSO = 0x24 // generic segmentation offload
	ethtoolSGRO = 0x2c // generic receive offload
)

type ethtoolValue struct {
	cmd  uint32
	data uint32
}

type ifreqData struct {
	name [unix.IFNAMSIZ]byte
	data unsafe.Pointer
	_    [16]byte
}

// NoSegmentation turns off TSO, GSO and GRO on dev in the namespace, so
// every frame on it is at most MTU-sized (as a software switch reading
// frames with AF_PACKET needs). Checksum offload stays on.
func (n *NS) NoSegmentation(t testing.TB, dev string) {
	t.Helper()
	err := n.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket: %w", err)
		}
		defer unix.Close(fd)
		for _, cmd := range []uint32{ethtoolSTSO, ethtoolSGSO, ethtoolSGRO} {
			v := ethtoolValue{cmd: cmd}
			var req ifreqData
			copy(req.name[:], dev)
			req.data = unsafe.Pointer(&v)
			if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&req))); e != 0 {
				return fmt.Errorf("ethtool command %#x on %s: %w", cmd, dev, e)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("turn off segmentation offloads in netns %s: %v", n.Name, err)
	}
}
