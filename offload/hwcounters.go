package offload

import "github.com/nicflow/nicflow/tcflower"

// ethHeaderLen is the Ethernet header (without VLAN tags) some drivers
// leave out of their hardware byte counters.
const ethHeaderLen = 14

// hwBytesWithoutEthernet are the drivers whose hardware flow counters
// count a packet's bytes without its 14-byte Ethernet header, where tc in
// kernel software and the fast path count the whole frame: the merge adds
// the header back for every packet the hardware counted, so a rule's
// bytes do not depend on where it ran. Keyed by the port's driver as
// sysfs names it (a representor's device/driver is its PF's).
var hwBytesWithoutEthernet = map[string]bool{
	// ConnectX (mlx5e representors and uplinks): hardware flow counters
	// count from the L3 header.
	"mlx5_core": true,
	// The VM harness's simulated SmartNIC copies mlx5
	// (test/vm/netdevsim/README.md).
	"netdevsim": true,
}

// fixHWBytes corrects the hardware part of s for block b's driver.
func (b *tcBlock) fixHWBytes(s tcflower.Stats) tcflower.Stats {
	if b.noEthBytes {
		add := ethHeaderLen * s.HWPackets
		s.HWBytes += add
		s.Bytes += add
	}
	return s
}

// The block's kernel reads: their counters corrected for its driver.

func (b *tcBlock) get(k TCKernel, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error) {
	d, err := k.Get(b.index, chain, pref, handle)
	d.Stats = b.fixHWBytes(d.Stats)
	return d, err
}

func (b *tcBlock) remove(k TCKernel, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error) {
	d, err := k.Remove(b.index, chain, pref, handle)
	d.Stats = b.fixHWBytes(d.Stats)
	return d, err
}

func (b *tcBlock) dump(k TCKernel) ([]tcflower.Dumped, error) {
	ds, err := k.Dump(b.index)
	for i := range ds {
		ds[i].Stats = b.fixHWBytes(ds[i].Stats)
	}
	return ds, err
}
