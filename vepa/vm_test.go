//go:build linux

package vepa

import (
	"encoding/hex"
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

// vmNetdevsimID is this package's netdevsim device id in the VM harness.
const vmNetdevsimID = 50

// TestVMNetdevsimRefusesVEPA asks a netdevsim PF (Debian's 6.1 kernel, in
// the VM) for VEPA, in legacy and in switchdev mode. netdevsim has no
// ndo_bridge_setlink, so the kernel refuses with EOPNOTSUPP and no extended
// ack; the error must say so clearly, and the device must be left as it
// was (still no embedded bridge reported).
func TestVMNetdevsimRefusesVEPA(t *testing.T) {
	vmtest.Require(t)
	nsim := vmtest.NewNetdevsim(t, vmNetdevsimID, 2)
	h, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	want := "dev " + nsim.PF + ": the driver does not support setting the embedded bridge mode: operation not supported"
	check := func(stage string) {
		t.Helper()
		err := h.SetBridgeMode(nsim.PF, ModeVEPA)
		if err == nil {
			t.Fatalf("%s: SetBridgeMode(%s, vepa) succeeded", stage, nsim.PF)
		}
		t.Logf("%s: SetBridgeMode(%s, vepa): %v", stage, nsim.PF, err)
		if err.Error() != want {
			t.Errorf("%s: error %q, want %q", stage, err, want)
		}
		var e *Error
		if !errors.As(err, &e) || e.Errno != unix.EOPNOTSUPP || e.Message != "" {
			t.Errorf("%s: error %#v, want an *Error with EOPNOTSUPP and no extended ack", stage, err)
		}
		if !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s: error does not match ErrNotSupported", stage)
		}
		if _, err := h.BridgeMode(nsim.PF); !errors.Is(err, ErrNotSupported) {
			t.Errorf("%s: BridgeMode(%s) error = %v, want ErrNotSupported (no embedded bridge reported)", stage, nsim.PF, err)
		}
		if got, err := h.EmbeddedBridges(); err != nil || len(got) != 0 {
			t.Errorf("%s: EmbeddedBridges() = %v, %v; want none", stage, got, err)
		}
	}
	check("legacy")
	nsim.SetSwitchdev(t)
	check("switchdev")

	// The kernel's raw answer, for the record (testdata/kernel-replies-6.1.txt).
	idx, err := h.index(nsim.PF)
	if err != nil {
		t.Fatal(err)
	}
	replies, err := exchange(rtnl.RTMSetLink, unix.NLM_F_REQUEST|unix.NLM_F_ACK, rtnl.SetBridgeMode(idx, rtnl.BridgeModeVEPA), 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("request netdevsim-set-hwmode-vepa %d %#x %s", rtnl.RTMSetLink, unix.NLM_F_REQUEST|unix.NLM_F_ACK, hex.EncodeToString(rtnl.SetBridgeMode(idx, rtnl.BridgeModeVEPA)))
	for _, r := range replies {
		t.Logf("reply %s", hex.EncodeToString(r))
	}
}
