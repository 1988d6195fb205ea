package vepa

import (
	vnl "github.com/vishvananda/netlink"
)

// The functions below open a Handle in the calling thread's network
// namespace for one call and close it. Long-lived callers (nicflowd) keep a
// Handle instead.

func with[T any](f func(h *Handle) (T, error)) (T, error) {
	h, err := Open()
	if err != nil {
		var zero T
		return zero, err
	}
	defer h.Close()
	return f(h)
}

// BridgeMode returns dev's embedded bridge mode; see Handle.BridgeMode.
func BridgeMode(dev string) (Mode, error) {
	return with(func(h *Handle) (Mode, error) { return h.BridgeMode(dev) })
}

// SetBridgeMode sets dev's embedded bridge mode; see Handle.SetBridgeMode.
func SetBridgeMode(dev string, m Mode) error {
	_, err := with(func(h *Handle) (struct{}, error) { return struct{}{}, h.SetBridgeMode(dev, m) })
	return err
}

// Hairpin reports whether bridge port port has hairpin on; see
// Handle.Hairpin.
func Hairpin(port string) (bool, error) {
	return with(func(h *Handle) (bool, error) { return h.Hairpin(port) })
}

// SetHairpin turns hairpin on bridge port port on or off; see
// Handle.SetHairpin.
func SetHairpin(port string, on bool) error {
	_, err := with(func(h *Handle) (struct{}, error) { return struct{}{}, h.SetHairpin(port, on) })
	return err
}

// AddMacvlan creates a macvlan/macvtap vNIC; see Handle.AddMacvlan.
func AddMacvlan(spec MacvlanSpec) (vnl.Link, error) {
	return with(func(h *Handle) (vnl.Link, error) { return h.AddMacvlan(spec) })
}

// Macvlan reads a macvlan/macvtap vNIC back; see Handle.Macvlan.
func Macvlan(name string) (MacvlanSpec, error) {
	return with(func(h *Handle) (MacvlanSpec, error) { return h.Macvlan(name) })
}

// SetMacvlanMode changes a live vNIC's mode; see Handle.SetMacvlanMode.
func SetMacvlanMode(name string, m MacvlanMode) error {
	_, err := with(func(h *Handle) (struct{}, error) { return struct{}{}, h.SetMacvlanMode(name, m) })
	return err
}

// DelMacvlan deletes a macvlan/macvtap vNIC; see Handle.DelMacvlan.
func DelMacvlan(name string) error {
	_, err := with(func(h *Handle) (struct{}, error) { return struct{}{}, h.DelMacvlan(name) })
	return err
}
