package manager

import (
	"sort"

	"github.com/nicflow/nicflow/api/rest"
)

// vfMetrics returns the hardware counters of every VF of the uplinks whose
// networks hand out VFs (mode nic, and hairpin with vnic_type vf), naming
// the vNIC that holds each. An uplink that cannot be read is left out.
func vfMetrics(r VFStats, nets []rest.Network, vnics []rest.VNIC) []rest.VFMetrics {
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
		infos, err := r.VFs(n.Uplink)
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
				m.PCI = r.VFPCI(n.Uplink, vi.ID)
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
