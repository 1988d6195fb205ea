package vf

// VFKernel reads and sets the VFs of a PF.
type VFKernel interface {
	// VFs returns the state of every VF of PF pf (a netdev name), indexed
	// by VF number; its length is the PF's VF count.
	VFs(pf string) ([]State, error)
	// SetVF sets field f of VF vf to its value in want.
	SetVF(pf string, vf int, f Field, want State) error
}

// PFKernel reads and sets PF-wide SR-IOV state.
type PFKernel interface {
	// NumVFs is the PF's sriov_numvfs.
	NumVFs(pf string) (int, error)
	// WriteNumVFs writes sriov_numvfs as is (no going through 0).
	WriteNumVFs(pf string, n int) error
	// EswitchMode returns "legacy" or "switchdev".
	EswitchMode(pf string) (string, error)
	SetEswitchMode(pf, mode string) error
}

// Kernel is all the kernel access of this package. Netlink implements it
// for the running kernel; tests use a fake.
type Kernel interface {
	VFKernel
	PFKernel
}

// Eswitch modes.
const (
	ModeLegacy    = "legacy"
	ModeSwitchdev = "switchdev"
)
