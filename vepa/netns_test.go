//go:build linux

package vepa

import (
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/hairpinlab"
	"github.com/nicflow/nicflow/test/netns"
)

// The namespace tests need root (netns.New skips otherwise); every name
// starts with "vp".

// newNS creates a namespace with IPv6 off (so no router solicitations or
// DAD frames disturb the counters) and returns it with a vepa Handle in it.
func newNS(t *testing.T, prefix string) (*netns.NS, *Handle) {
	t.Helper()
	ns := netns.New(t, prefix)
	ns.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
	ns.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
	return ns, openIn(t, ns)
}

func openIn(t *testing.T, ns *netns.NS) *Handle {
	t.Helper()
	h, err := OpenNetNS(ns.Handle())
	if err != nil {
		t.Fatalf("OpenNetNS(%s): %v", ns.Name, err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// hairpinLab is the lab (test/hairpinlab): an external switch (a
// Linux bridge in namespace vpsw-* whose port vpsp is one end of a veth),
// a host (namespace vphost-*) whose uplink vpup is the veth's other end,
// and two VMs (namespaces) each holding one macvlan vNIC of the uplink,
// with a vepa Handle in each namespace.
type hairpinLab struct {
	*hairpinlab.Lab
	swH, hostH, vm1H, vm2H *Handle
}

func newHairpinLab(t *testing.T) *hairpinLab {
	t.Helper()
	host, hostH := newNS(t, "vphost")
	l := hairpinlab.New(t, hairpinlab.Config{Prefix: "vp", Net: 77, Port: 7777, Host: host})
	lab := &hairpinLab{Lab: l, hostH: hostH, swH: openIn(t, l.Switch), vm1H: openIn(t, l.VMs[0]), vm2H: openIn(t, l.VMs[1])}
	for i, name := range []string{"vpm1", "vpm2"} {
		mac, _ := net.ParseMAC(l.MACs[i])
		spec := MacvlanSpec{Name: name, Parent: l.Uplink, Mode: MacvlanVEPA, MAC: mac}
		if _, err := lab.hostH.AddMacvlan(spec); err != nil {
			t.Fatalf("AddMacvlan: %v", err)
		}
		got, err := lab.hostH.Macvlan(name)
		if err != nil {
			t.Fatalf("Macvlan(%s): %v", name, err)
		}
		if diff := cmp.Diff(spec, got); diff != "" {
			t.Errorf("Macvlan(%s) read back (-want +got):\n%s", name, diff)
		}
		l.Plug(i, name)
	}
	return lab
}

func (lab *hairpinLab) setHairpin(t *testing.T, on bool) {
	t.Helper()
	if err := lab.swH.SetHairpin(lab.SwitchPort, on); err != nil {
		t.Fatalf("SetHairpin(vpsp, %v): %v", on, err)
	}
	got, err := lab.swH.Hairpin(lab.SwitchPort)
	if err != nil || got != on {
		t.Fatalf("Hairpin(vpsp) = %v, %v after setting it %v", got, err, on)
	}
}

func (lab *hairpinLab) setMacvlanMode(t *testing.T, m MacvlanMode) {
	t.Helper()
	for _, vm := range []struct {
		h    *Handle
		name string
	}{{lab.vm1H, "vpm1"}, {lab.vm2H, "vpm2"}} {
		if err := vm.h.SetMacvlanMode(vm.name, m); err != nil {
			t.Fatalf("SetMacvlanMode: %v", err)
		}
		got, err := vm.h.Macvlan(vm.name)
		if err != nil {
			t.Fatalf("Macvlan(%s): %v", vm.name, err)
		}
		// The parent stays in the host namespace: not resolvable here.
		if got.Mode != m || got.Parent != "" || !got.Up {
			t.Fatalf("Macvlan(%s) = %+v after setting mode %v", vm.name, got, m)
		}
	}
}

// TestHairpinLab is the proof: two macvlan vNICs in VEPA mode reach
// each other only through the external switch and only while its port has
// hairpin on, every frame going out and coming back; in bridge mode they
// talk without leaving the host. The lab's Echo knows a datagram lost once
// a witness sent after it along the same path has arrived: no waiting.
func TestHairpinLab(t *testing.T) {
	lab := newHairpinLab(t)
	const n = 3 // datagrams per step; each is echoed back

	step := func(name string, wantReach bool, want hairpinlab.Counts) {
		t.Helper()
		before := lab.SwitchCounts()
		reached, echoed := lab.Echo(n)
		got := lab.SwitchCounts().Sub(before)
		wantN := 0
		if wantReach {
			wantN = n
		}
		if reached != wantN || echoed != wantN {
			t.Errorf("%s: %d of %d datagrams reached VM 2 and %d echoes came back, want %d and %d", name, reached, n, echoed, wantN, wantN)
		}
		if got != want {
			t.Errorf("%s: bridge port vpsp: %v, want %v", name, got, want)
		}
		t.Logf("%s: %d reached, %d echoed, bridge port vpsp: %v", name, reached, echoed, got)
	}

	// VEPA + hairpin: 3 datagrams and 3 echoes each go out and come back.
	lab.setHairpin(t, true)
	step("vepa, hairpin on", true, hairpinlab.Counts{Out: 2 * n, Back: 2 * n})

	// VEPA without hairpin: the datagrams go out and nothing comes back.
	lab.setHairpin(t, false)
	step("vepa, hairpin off", false, hairpinlab.Counts{Out: n, Back: 0})

	// Bridge mode: switched inside the host even with hairpin on.
	lab.setHairpin(t, true)
	lab.setMacvlanMode(t, MacvlanBridge)
	step("bridge, hairpin on", true, hairpinlab.Counts{})

	// And back to VEPA: through the switch again.
	lab.setMacvlanMode(t, MacvlanVEPA)
	step("vepa again, hairpin on", true, hairpinlab.Counts{Out: 2 * n, Back: 2 * n})
}

// TestMacvlanModes creates, reads back and deletes macvlan and macvtap vNICs
// in every mode.
func TestMacvlanModes(t *testing.T) {
	host, h := newNS(t, "vpmv")
	netns.Veth(t, "vpl0", host, "vpl1", host)
	for _, tap := range []bool{false, true} {
		for _, m := range []MacvlanMode{MacvlanVEPA, MacvlanBridge, MacvlanPrivate, MacvlanPassthru} {
			spec := MacvlanSpec{Name: "vpmv0", Parent: "vpl0", Mode: m, Tap: tap, Up: true}
			t.Run(spec.kind()+"-"+m.String(), func(t *testing.T) {
				l, err := h.AddMacvlan(spec)
				if err != nil {
					t.Fatalf("AddMacvlan(%+v): %v", spec, err)
				}
				t.Cleanup(func() { _ = h.DelMacvlan(spec.Name) })
				if l.Type() != spec.kind() || l.Attrs().Index == 0 {
					t.Errorf("AddMacvlan returned a %s with index %d", l.Type(), l.Attrs().Index)
				}
				got, err := h.Macvlan(spec.Name)
				if err != nil {
					t.Fatalf("Macvlan: %v", err)
				}
				want := spec
				want.MAC = l.Attrs().HardwareAddr // picked by the kernel
				if len(want.MAC) != 6 {
					t.Errorf("no MAC address read back: %v", want.MAC)
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Macvlan read back (-want +got):\n%s", diff)
				}
				if err := h.DelMacvlan(spec.Name); err != nil {
					t.Fatalf("DelMacvlan: %v", err)
				}
				if _, err := h.Macvlan(spec.Name); err == nil {
					t.Error("the vNIC is still there after DelMacvlan")
				}
			})
		}
	}

	t.Run("refusals", func(t *testing.T) {
		if err := h.DelMacvlan("vpl1"); err == nil {
			t.Error("DelMacvlan deleted a veth")
		}
		if _, err := h.Macvlan("vpl1"); err == nil {
			t.Error("Macvlan(veth) succeeded")
		}
		if _, err := h.AddMacvlan(MacvlanSpec{Name: "vpmv1", Parent: "vpnosuch"}); err == nil {
			t.Error("AddMacvlan on a missing parent succeeded")
		}
		// Passthru owns its uplink: a second vNIC on it is refused.
		if _, err := h.AddMacvlan(MacvlanSpec{Name: "vpmv2", Parent: "vpl1", Mode: MacvlanPassthru}); err != nil {
			t.Fatalf("AddMacvlan passthru: %v", err)
		}
		if _, err := h.AddMacvlan(MacvlanSpec{Name: "vpmv3", Parent: "vpl1", Mode: MacvlanVEPA}); err == nil {
			t.Error("a second vNIC on a passthru uplink was accepted")
		}
		if err := h.SetMacvlanMode("vpmv2", MacvlanBridge); err == nil {
			t.Error("changing a passthru vNIC's mode was accepted")
		}
	})
}

// TestBridgeModeRefusedByVeth: a veth has no embedded bridge; asking it for
// VEPA gets the kernel's EOPNOTSUPP as a clear error.
func TestBridgeModeRefusedByVeth(t *testing.T) {
	ns, h := newNS(t, "vpbm")
	netns.Veth(t, "vpv0", ns, "vpv1", ns)

	err := h.SetBridgeMode("vpv0", ModeVEPA)
	want := "dev vpv0: the driver does not support setting the embedded bridge mode: operation not supported"
	if err == nil || err.Error() != want {
		t.Errorf("SetBridgeMode(vpv0, vepa) error = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrNotSupported) || !errors.Is(err, unix.EOPNOTSUPP) {
		t.Errorf("error %v does not match ErrNotSupported and EOPNOTSUPP", err)
	}
	var e *Error
	if !errors.As(err, &e) || e.Dev != "vpv0" || e.Op != "set embedded bridge mode to vepa" {
		t.Errorf("error %#v: want an *Error for vpv0", err)
	}
	if _, err := h.BridgeMode("vpv0"); !errors.Is(err, ErrNotSupported) {
		t.Errorf("BridgeMode(vpv0) error = %v, want ErrNotSupported", err)
	}
	if got, err := h.EmbeddedBridges(); err != nil || len(got) != 0 {
		t.Errorf("EmbeddedBridges() = %v, %v; want none", got, err)
	}
	if _, err := h.Hairpin("vpv0"); !errors.Is(err, ErrNotBridgePort) {
		t.Errorf("Hairpin(vpv0) error = %v, want ErrNotBridgePort", err)
	}
	if err := h.SetHairpin("vpv0", true); !errors.Is(err, ErrNotSupported) {
		t.Errorf("SetHairpin(vpv0) error = %v, want ErrNotSupported", err)
	}
	if err := h.SetBridgeMode("vpnosuch", ModeVEPA); err == nil {
		t.Error("SetBridgeMode on a missing device succeeded")
	}
}

// TestPackageFuncsUseCallerNetNS checks that the package-level functions
// work in the calling thread's namespace.
func TestPackageFuncsUseCallerNetNS(t *testing.T) {
	ns, _ := newNS(t, "vppf")
	ns.IP(t, "link", "add", "vpbr9", "type", "bridge")
	netns.Veth(t, "vpq0", ns, "vpq1", ns)
	ns.IP(t, "link", "set", "vpq0", "master", "vpbr9")
	err := ns.Do(func() error {
		if err := SetHairpin("vpq0", true); err != nil {
			return err
		}
		on, err := Hairpin("vpq0")
		if err != nil {
			return err
		}
		if !on {
			return errors.New("hairpin is off after SetHairpin(on)")
		}
		if err := SetBridgeMode("vpq1", ModeVEPA); !errors.Is(err, ErrNotSupported) {
			return errors.New("SetBridgeMode(veth) did not fail with ErrNotSupported: " + errString(err))
		}
		if _, err := AddMacvlan(MacvlanSpec{Name: "vpmq", Parent: "vpq1", Mode: MacvlanPrivate}); err != nil {
			return err
		}
		s, err := Macvlan("vpmq")
		if err != nil {
			return err
		}
		if s.Mode != MacvlanPrivate || s.Parent != "vpq1" {
			return errors.New("read back " + s.Mode.String() + " on " + s.Parent)
		}
		if err := SetMacvlanMode("vpmq", MacvlanVEPA); err != nil {
			return err
		}
		return DelMacvlan("vpmq")
	})
	if err != nil {
		t.Fatal(err)
	}
	if out := ns.IP(t, "-d", "link", "show", "vpq0"); !strings.Contains(out, "hairpin on") {
		t.Errorf("ip -d link show vpq0 does not show hairpin on:\n%s", out)
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}
