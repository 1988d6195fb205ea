package vf

import (
	"fmt"
	"sync"
	"syscall"
)

// fakeKernel is a stateful Kernel: PFs with VF states, a VF count and an
// eswitch mode. It renders every change as a line in ops, refuses what the
// kernel refuses (a VF count change between two non-zero counts: EBUSY)
// and fails a field, an eswitch mode or a VF count on demand.
type fakeKernel struct {
	mu   sync.Mutex // guards the fields below
	pfs  map[string]*fakePF
	ops  []string
	fail map[Field]error // SetVF of this field fails
	// failMode makes SetEswitchMode to this mode fail.
	failMode map[string]error
	// totalVFs, when set, refuses more VFs with ERANGE, as the PCI core
	// does above sriov_totalvfs.
	totalVFs int
}

type fakePF struct {
	vfs  []State
	mode string
}

// defaultVF is the state a fresh VF has in the fake.
var defaultVF = State{MAC: "00:00:00:00:00:00", VLANProto: Proto8021Q, LinkState: LinkAuto}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{pfs: map[string]*fakePF{}, fail: map[Field]error{}, failMode: map[string]error{}}
}

// addPF adds pf with n default VFs in legacy mode.
func (k *fakeKernel) addPF(pf string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p := &fakePF{mode: ModeLegacy}
	for range n {
		p.vfs = append(p.vfs, defaultVF)
	}
	k.pfs[pf] = p
}

func (k *fakeKernel) pf(name string) (*fakePF, error) {
	p, ok := k.pfs[name]
	if !ok {
		return nil, fmt.Errorf("get link %s: %w", name, syscall.ENODEV)
	}
	return p, nil
}

func (k *fakeKernel) VFs(pf string) ([]State, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return nil, err
	}
	return append([]State(nil), p.vfs...), nil
}

func (k *fakeKernel) SetVF(pf string, vf int, f Field, want State) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return err
	}
	if vf >= len(p.vfs) {
		return syscall.EINVAL
	}
	if err := k.fail[f]; err != nil {
		return err
	}
	s := &p.vfs[vf]
	switch f {
	case FieldMAC:
		s.MAC = want.MAC
	case FieldVLAN:
		s.VLAN, s.QoS, s.VLANProto = want.VLAN, want.QoS, want.VLANProto
	case FieldSpoofCheck:
		s.SpoofCheck = want.SpoofCheck
	case FieldTrust:
		s.Trust = want.Trust
	case FieldRate:
		s.MinTxRate, s.MaxTxRate = want.MinTxRate, want.MaxTxRate
	case FieldLinkState:
		s.LinkState = want.LinkState
	}
	k.ops = append(k.ops, fmt.Sprintf("set %s vf %d %s %s", pf, vf, f, want.format(f)))
	return nil
}

func (k *fakeKernel) NumVFs(pf string) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return 0, err
	}
	return len(p.vfs), nil
}

func (k *fakeKernel) WriteNumVFs(pf string, n int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return err
	}
	if len(p.vfs) != 0 && n != 0 && len(p.vfs) != n {
		return syscall.EBUSY
	}
	if k.totalVFs != 0 && n > k.totalVFs {
		return fmt.Errorf("write %d to /sys/class/net/%s/device/sriov_numvfs: %w", n, pf, syscall.ERANGE)
	}
	p.vfs = p.vfs[:0]
	for range n {
		p.vfs = append(p.vfs, defaultVF)
	}
	k.ops = append(k.ops, fmt.Sprintf("numvfs %s %d", pf, n))
	return nil
}

func (k *fakeKernel) EswitchMode(pf string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return "", err
	}
	return p.mode, nil
}

func (k *fakeKernel) SetEswitchMode(pf, mode string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	p, err := k.pf(pf)
	if err != nil {
		return err
	}
	if err := k.failMode[mode]; err != nil {
		return err
	}
	p.mode = mode
	k.ops = append(k.ops, fmt.Sprintf("eswitch %s %s", pf, mode))
	return nil
}

// vf returns the state of one VF.
func (k *fakeKernel) vf(pf string, vf int) State {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pfs[pf].vfs[vf]
}

// setState changes a VF behind the allocator's back.
func (k *fakeKernel) setState(pf string, vf int, s State) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pfs[pf].vfs[vf] = s
}

// takeOps returns and clears the recorded operations.
func (k *fakeKernel) takeOps() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	ops := k.ops
	k.ops = nil
	return ops
}
