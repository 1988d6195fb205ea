package nic

import (
	"fmt"

	"github.com/nicflow/nicflow/sriov/devlink"
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

// Devlink reads devlink over generic netlink with the sriov tree's one
// devlink client (sriov/devlink, also used by sriov/vf), in the
// network namespace of the calling thread. Each call opens and closes its
// own connection. The zero value is ready to use.
type Devlink struct{}

var _ DevlinkReader = Devlink{}

// EswitchMode implements DevlinkReader.
func (Devlink) EswitchMode(bus, device string) (string, error) {
	h := devlink.Handle{Bus: bus, Dev: device}
	var mode string
	err := devlink.Do(func(c *devlink.Conn) error {
		var err error
		mode, err = c.EswitchMode(h)
		return err
	})
	switch {
	case devlink.IsNotSupported(err):
		return "", fmt.Errorf("devlink %s: %w (%w)", h, ErrNotSupported, err)
	case err != nil:
		return "", fmt.Errorf("devlink %s: %w", h, err)
	}
	return mode, nil
}

// dialPorts lists devlink ports over a connection of its own per call: the
// devlink client of discovery's sriovnet calls (switchdev.Ports).
type dialPorts struct{}

func (dialPorts) Ports(h devlink.Handle) ([]devlink.Port, error) {
	var ports []devlink.Port
	err := devlink.Do(func(c *devlink.Conn) (err error) {
		ports, err = c.Ports(h)
		return err
	})
	return ports, err
}
