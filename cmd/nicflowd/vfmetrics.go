package main

import (
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/rest"
)

// vfReader reads a PF's VFs with their hardware counters (IFLA_VF_STATS)
// and a VF's PCI address. The kernel's is kernelVFs; tests fake it.
type vfReader interface {
	vfs(pf string) ([]netlink.VfInfo, error)
	vfPCI(pf string, vf int) string
}

type kernelVFs struct{}

func (kernelVFs) vfs(pf string) ([]netlink.VfInfo, error) {
	l, err := netlink.LinkByName(pf)
	if err != nil {
		return nil, err
	}
	return l.Attrs().Vfs, nil
}

// vfPCI reads /sys/class/net/PF/device/virtfnN; "" when there is none.
func (kernelVFs) vfPCI(pf string, vf int) string {
	dst, err := os.Readlink(filepath.Join("/sys/class/net", pf, "device", "virtfn"+strconv.Itoa(vf)))
	if err != nil {
		return ""
	}
	return filepath.Base(dst)
}

// vfMetrics returns the hardware counters of every VF of the uplinks whose
// networks hand out VFs (mode nic, and hairpin with vnic_type vf), naming
// the vNIC that holds each. An uplink that cannot be read is left out.
func vfMetrics(r vfReader, nets []rest.Network, vnics []rest.VNIC) []rest.VFMetrics {
	type key struct {
		pf string
		vf int
	}
	holder := map[key]rest.VNIC{}
	for _, v := range vnics {
		if v.Uplink != "" && v.VFIndex >= 0 {
			holder[key{v.Uplink, v.VFIndex}] = v
		}
	}
	seen := map[string]bool{}
	var out []rest.VFMetrics
	for _, n := range nets {
		vfNet := n.Mode == rest.ModeNIC || n.Mode == rest.ModeHairpin && n.VNICType == rest.VNICTypeVF
		if !vfNet || n.Uplink == "" || seen[n.Uplink] {
			continue
		}
		seen[n.Uplink] = true
		infos, err := r.vfs(n.Uplink)
		if err != nil {
			continue
		}
		for _, vi := range infos {
			m := rest.VFMetrics{Uplink: n.Uplink, VF: vi.ID, PortCounters: rest.PortCounters{
				RxPackets: vi.RxPackets, RxBytes: vi.RxBytes, RxDropped: vi.RxDropped,
				TxPackets: vi.TxPackets, TxBytes: vi.TxBytes, TxDropped: vi.TxDropped}}
			if v, ok := holder[key{n.Uplink, vi.ID}]; ok {
				m.VNIC, m.PCI = v.ID, v.VF
			} else {
				m.PCI = r.vfPCI(n.Uplink, vi.ID)
			}
			out = append(out, m)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Uplink != out[j].Uplink {
			return out[i].Uplink < out[j].Uplink
		}
		return out[i].VF < out[j].VF
	})
	return out
}
