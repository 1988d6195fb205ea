package manager

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/rest"
)

type fakeVFReader map[string][]netlink.VfInfo

func (f fakeVFReader) VFs(pf string) ([]netlink.VfInfo, error) {
	vs, ok := f[pf]
	if !ok {
		return nil, errors.New("no such device")
	}
	return vs, nil
}

func (f fakeVFReader) VFPCI(pf string, vf int) string { return pf + "-vf" + string(rune('0'+vf)) }

// TestVFMetrics: every VF of the uplinks of VF networks, once per uplink,
// with the vNIC holding it; host and macvlan networks have none, and an
// uplink that cannot be read is left out.
func TestVFMetrics(t *testing.T) {
	r := fakeVFReader{
		"pf0":  {{ID: 1, RxPackets: 5, RxBytes: 500, TxPackets: 7, TxBytes: 700, RxDropped: 1, TxDropped: 2}, {ID: 0, RxPackets: 3}},
		"pf1":  {{ID: 0, TxPackets: 9}},
		"eth9": {{ID: 0, TxPackets: 99}},
	}
	nets := []rest.Network{
		{NetworkSpec: rest.NetworkSpec{Name: "a", Mode: rest.ModeNIC, Uplink: "pf0"}},
		{NetworkSpec: rest.NetworkSpec{Name: "b", Mode: rest.ModeNIC, Uplink: "pf0"}}, // same uplink: counted once
		{NetworkSpec: rest.NetworkSpec{Name: "c", Mode: rest.ModeHairpin, Uplink: "pf1", VNICType: rest.VNICTypeVF}},
		{NetworkSpec: rest.NetworkSpec{Name: "d", Mode: rest.ModeHairpin, Uplink: "eth9", VNICType: rest.VNICTypeMacvlan}},
		{NetworkSpec: rest.NetworkSpec{Name: "e", Mode: rest.ModeNIC, Uplink: "gone0"}},
		{NetworkSpec: rest.NetworkSpec{Name: "f", Mode: rest.ModeHost}},
	}
	vnics := []rest.VNIC{
		{VNICSpec: rest.VNICSpec{ID: "vm1"}, Uplink: "pf0", VFIndex: 1, VF: "0000:3b:00.3"},
		{VNICSpec: rest.VNICSpec{ID: "vm2"}, Uplink: "pf1", VFIndex: 0},  // no PCI address (netdevsim)
		{VNICSpec: rest.VNICSpec{ID: "mv"}, Uplink: "eth9", VFIndex: -1}, // a macvlan
	}
	want := []rest.VFMetrics{
		{Uplink: "pf0", VF: 0, PCI: "pf0-vf0", PortCounters: rest.PortCounters{RxPackets: 3}},
		{Uplink: "pf0", VF: 1, PCI: "0000:3b:00.3", VNIC: "vm1",
			PortCounters: rest.PortCounters{RxPackets: 5, RxBytes: 500, TxPackets: 7, TxBytes: 700, RxDropped: 1, TxDropped: 2}},
		{Uplink: "pf1", VF: 0, VNIC: "vm2", PortCounters: rest.PortCounters{TxPackets: 9}},
	}
	if diff := cmp.Diff(want, vfMetrics(r, nets, vnics)); diff != "" {
		t.Errorf("VF metrics (-want +got):\n%s", diff)
	}
}
