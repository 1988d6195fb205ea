package switchdev

import (
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/sriov/internal/sysfstest"
)

// fixtureHost is a Host reading the sysfs of a fixture, with no devlink.
func fixtureHost(t *testing.T, fixture string) Host {
	t.Helper()
	return Host{Sysfs: filepath.Join(sysfstest.Unpack(t, fixture), "sys")}
}

// fakePorts is a devlink port dump; calls counts the dumps.
type fakePorts struct {
	mu    sync.Mutex
	ports []devlink.Port
	calls int
}

func (f *fakePorts) Ports(h devlink.Handle) ([]devlink.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	var out []devlink.Port
	for _, p := range f.ports {
		if h == (devlink.Handle{}) || p.Handle == h {
			out = append(out, p)
		}
	}
	return out, nil
}

func TestUplinkRepresentor(t *testing.T) {
	tests := []struct {
		fixture, pci, want string
	}{
		{"cx6dx-switchdev", "0000:3b:00.0", "enp59s0f0np0"},
		{"cx6dx-switchdev", "0000:3b:00.2", "enp59s0f0np0"}, // a VF, through physfn
		{"bluefield2-arm", "0000:03:00.0", "p0"},
		{"e810-legacy", "0000:af:00.0", ""}, // no phys_switch_id in legacy mode
		{"cx6dx-switchdev", "0000:99:00.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.fixture+"/"+tt.pci, func(t *testing.T) {
			got, err := fixtureHost(t, tt.fixture).UplinkRepresentor(tt.pci)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("UplinkRepresentor(%s) = %q, want an error", tt.pci, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("UplinkRepresentor(%s) = %q, %v; want %q", tt.pci, got, err, tt.want)
			}
		})
	}
}

func TestSFs(t *testing.T) {
	h := fixtureHost(t, "cx6dx-switchdev")
	sfs, err := h.SFs("0000:3b:00.0")
	if err != nil {
		t.Fatal(err)
	}
	want := []SF{{Aux: "mlx5_core.sf.2", Num: 88, Netdevs: []string{"enp59s0f0s88"}}}
	if diff := cmp.Diff(want, sfs); diff != "" {
		t.Errorf("SFs (-want +got):\n%s", diff)
	}
	if rep, err := h.SFRepresentor("enp59s0f0np0", 88); err != nil || rep != "enp59s0f0npf0sf88" {
		t.Errorf("SFRepresentor(88) = %q, %v; want enp59s0f0npf0sf88", rep, err)
	}
	if rep, err := h.SFRepresentor("enp59s0f0np0", 1); err == nil {
		t.Errorf("SFRepresentor(1) = %q, want an error", rep)
	}
	for _, tt := range []struct{ fixture, pci string }{
		{"cx6dx-switchdev", "0000:3b:00.2"}, // a VF without auxiliary devices
		{"ixgbe", "0000:04:00.0"},
		{"ixgbe", "0000:04:10.2"}, // bound to vfio-pci: no net directory
	} {
		if sfs, err := fixtureHost(t, tt.fixture).SFs(tt.pci); err != nil || len(sfs) != 0 {
			t.Errorf("%s: SFs(%s) = %v, %v; want none", tt.fixture, tt.pci, sfs, err)
		}
	}
}

func TestRepresented(t *testing.T) {
	h := fixtureHost(t, "cx6dx-switchdev")
	tests := []struct {
		rep     string
		flavour Flavour
		num     int
		wantErr bool
	}{
		{rep: "enp59s0f0npf0vf1", flavour: FlavourPCIVF, num: 1},
		{rep: "enp59s0f0npf0sf88", flavour: FlavourPCISF, num: 88},
		{rep: "enp59s0f0np0", wantErr: true}, // the uplink stands for no function
		{rep: "enp59s0f0v0", wantErr: true},  // a VF netdev, not a switch port
	}
	for _, tt := range tests {
		t.Run(tt.rep, func(t *testing.T) {
			f, num, err := h.Represented(tt.rep)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Represented(%s) = %v, %d; want an error", tt.rep, f, num)
				}
				return
			}
			if err != nil || f != tt.flavour || num != tt.num {
				t.Errorf("Represented(%s) = %v, %d, %v; want %v, %d", tt.rep, f, num, err, tt.flavour, tt.num)
			}
		})
	}

	// With devlink, the flavour is the port's: pf0vf1 is a VF where
	// devlink says so, and no function at all where devlink calls it an SF
	// (its name then does not parse as one).
	vfPort := devlink.Port{Handle: devlink.Handle{Bus: "pci", Dev: "0000:3b:00.0"}, Index: 7, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_VF, Netdev: "enp59s0f0npf0vf1"}
	ports := &fakePorts{ports: []devlink.Port{vfPort}}
	h.Devlink = ports
	if f, num, err := h.Represented("enp59s0f0npf0vf1"); f != FlavourPCIVF || num != 1 || err != nil {
		t.Errorf("Represented with devlink saying pcivf = %v, %d, %v; want pcivf, 1", f, num, err)
	}
	if ports.calls == 0 {
		t.Error("devlink was not asked")
	}
	vfPort.Flavour = uint16(FlavourPCISF)
	h.Devlink = &fakePorts{ports: []devlink.Port{vfPort}}
	if f, num, err := h.Represented("enp59s0f0npf0vf1"); err == nil {
		t.Errorf("Represented with devlink saying pcisf = %v, %d; want an error (pf0vf1 is no SF name)", f, num)
	}
}

func TestPeerMAC(t *testing.T) {
	h := fixtureHost(t, "bluefield2-arm")
	// Without devlink: the uplink's smart_nic/pf/config.
	mac, err := h.PeerMAC("pf0hpf")
	if err != nil || mac.String() != "0c:42:a1:c6:cf:7c" {
		t.Errorf("PeerMAC(pf0hpf) from sysfs = %v, %v; want 0c:42:a1:c6:cf:7c", mac, err)
	}
	// With devlink: the port function's hw_addr comes first.
	fn := net.HardwareAddr{0x0c, 0x42, 0xa1, 0x00, 0x00, 0x99}
	h.Devlink = &fakePorts{ports: []devlink.Port{
		{Handle: devlink.Handle{Bus: "pci", Dev: "0000:03:00.0"}, Index: 1, Flavour: unix.DEVLINK_PORT_FLAVOUR_PCI_PF, Netdev: "pf0hpf", HWAddr: fn},
	}}
	if mac, err := h.PeerMAC("pf0hpf"); err != nil || mac.String() != fn.String() {
		t.Errorf("PeerMAC(pf0hpf) from devlink = %v, %v; want %v", mac, err, fn)
	}
	for _, rep := range []string{"pf0vf0", "p0", "lo"} { // VF rep, uplink, not a switch port
		if mac, err := h.PeerMAC(rep); err == nil {
			t.Errorf("PeerMAC(%s) = %v, want an error", rep, mac)
		}
	}
}

func TestNetdevs(t *testing.T) {
	h := fixtureHost(t, "cx6dx-switchdev")
	for _, tt := range []struct {
		pci  string
		want []string
	}{
		{"0000:3b:00.2", []string{"enp59s0f0v0"}},
		{"0000:3b:00.0", []string{"enp59s0f0np0", "enp59s0f0npf0sf88", "enp59s0f0npf0vf0", "enp59s0f0npf0vf1"}},
	} {
		got, err := h.Netdevs(tt.pci)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Netdevs(%s) (-want +got):\n%s", tt.pci, diff)
		}
	}
	if got, err := h.Netdevs("0000:3b:00.9"); err == nil {
		t.Errorf("Netdevs of a missing function = %v, want an error", got)
	}
}

// TestHostOnly: the call sriovnet makes through os refuses a fixture tree
// instead of reading the host's /sys.
func TestHostOnly(t *testing.T) {
	h := fixtureHost(t, "cx6dx-switchdev")
	if rep, err := h.VFRepresentor("enp59s0f0np0", 0); !errors.Is(err, ErrHostOnly) {
		t.Errorf("VFRepresentor on a fixture = %q, %v; want ErrHostOnly", rep, err)
	}
}

// TestConcurrent: calls on different trees from many goroutines each read
// their own tree (sriovnet's package variables are set under the lock).
func TestConcurrent(t *testing.T) {
	hosts := map[string]Host{
		"enp59s0f0np0": fixtureHost(t, "cx6dx-switchdev"),
		"p0":           fixtureHost(t, "bluefield2-arm"),
	}
	pcis := map[string]string{"enp59s0f0np0": "0000:3b:00.0", "p0": "0000:03:00.0"}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 50 {
		for want, h := range hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if got, err := h.UplinkRepresentor(pcis[want]); err != nil || got != want {
					errs <- fmt.Errorf("call %d: UplinkRepresentor(%s) = %q, %v; want %q", i, pcis[want], got, err, want)
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestRootFSReadOnly(t *testing.T) {
	r := rootFS{sys: t.TempDir()}
	if err := r.WriteFile("/sys/class/net/p0/smart_nic/vf0/mac", []byte("x"), 0); !errors.Is(err, errReadOnly) {
		t.Errorf("WriteFile = %v, want errReadOnly", err)
	}
	if got, want := r.path("/sys/class/net/p0"), filepath.Join(r.sys, "class/net/p0"); got != want {
		t.Errorf("path(/sys/class/net/p0) = %s, want %s", got, want)
	}
	if got := r.path("/sysfoo/x"); got == filepath.Join(r.sys, "foo/x") {
		t.Errorf("path(/sysfoo/x) = %s, inside the sysfs tree", got)
	}
}
