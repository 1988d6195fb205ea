package vepa_test

import (
	"errors"
	"fmt"

	"github.com/nicflow/nicflow/vepa"
)

// A hairpin network first asks the PF's embedded bridge for VEPA; a device
// that cannot do it (most virtual devices, netdevsim) says so, and the
// network falls back to macvlan vNICs in VEPA mode on the uplink.
func Example() {
	h, err := vepa.Open()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()

	err = h.SetBridgeMode("eth0", vepa.ModeVEPA)
	switch {
	case errors.Is(err, vepa.ErrNotSupported):
		// e.g. "dev eth0: the driver does not support setting the
		// embedded bridge mode: operation not supported"
		_, err = h.AddMacvlan(vepa.MacvlanSpec{Name: "vm1-nic0", Parent: "eth0", Mode: vepa.MacvlanVEPA, Up: true})
	case err == nil:
		var m vepa.Mode
		m, err = h.BridgeMode("eth0")
		fmt.Println("eth0 embedded bridge:", m)
	}
	if err != nil {
		fmt.Println(err)
	}
}

// The external switch of a lab: a Linux bridge port reflecting frames back.
func ExampleHandle_SetHairpin() {
	h, err := vepa.Open()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer h.Close()
	if err := h.SetHairpin("swp1", true); err != nil {
		fmt.Println(err)
		return
	}
	on, err := h.Hairpin("swp1")
	fmt.Println(on, err)
}
