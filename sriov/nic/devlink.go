package nic

import (
	"errors"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// DevlinkReader reads devlink state of a device. Devlink is the
// implementation on the host kernel; tests use a fake.
type DevlinkReader interface {
	// EswitchMode returns the eswitch mode ("legacy", "switchdev") of the
	// devlink device bus/device ("pci", "0000:3b:00.0"). It returns an
	// error wrapping ErrNotSupported when the device has no devlink
	// instance or no eswitch.
	EswitchMode(bus, device string) (string, error)
}

// Devlink reads devlink over generic netlink (github.com/vishvananda/netlink)
// in the network namespace of the calling thread. The zero value is ready
// to use.
type Devlink struct{}

var _ DevlinkReader = Devlink{}

// EswitchMode implements DevlinkReader.
func (Devlink) EswitchMode(bus, device string) (string, error) {
	dev, err := netlink.DevLinkGetDeviceByName(bus, device)
	if err != nil {
		// ENODEV: no devlink instance; ENOENT: no devlink family.
		if errors.Is(err, unix.ENODEV) || errors.Is(err, unix.ENOENT) || errors.Is(err, unix.EOPNOTSUPP) {
			return "", fmt.Errorf("devlink %s/%s: %w (%w)", bus, device, ErrNotSupported, err)
		}
		return "", fmt.Errorf("devlink get %s/%s: %w", bus, device, err)
	}
	// The library leaves the mode empty when the eswitch get fails.
	if dev.Attrs.Eswitch.Mode == "" {
		return "", fmt.Errorf("devlink eswitch of %s/%s: %w", bus, device, ErrNotSupported)
	}
	return dev.Attrs.Eswitch.Mode, nil
}
