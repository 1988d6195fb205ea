// Package tcport sets up the kernel side of a network's tc tier: the miss
// device pair that hands tc's misses to the fast path, the shared ingress
// block, and the check that the kernel has the tc flower classifier.
//
// The miss pair is a veth pair named after the network: the miss filters
// redirect to its first end (MissDev) and the fast path reads the second
// (an AF_PACKET socket, Miss). The pair outlives nicflowd on purpose: a
// restarted nicflowd finds it, and filters in hardware keep forwarding in
// between.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/api/..., github.com/nicflow/nicflow/cmd/...,
// github.com/nicflow/nicflow/sriov/..., github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/offload/manager.
package tcport

import (
	"errors"
	"fmt"
	"hash/fnv"
	"os"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/tcflower"
)

// Setup is a network's tc tier, ready for offload.TCConfig.
type Setup struct {
	Handle *tcflower.Handle
	// Block is the network's shared block (policy tc).
	Block uint32
	// PortBlock is the block of one port of the network (policies auto
	// and hw): PortBlockIndex of the network.
	PortBlock func(no uint32) uint32
	MissDev   string           // the miss filters' redirect target
	MissPeer  string           // the end the fast path reads
	Miss      *afpacket.Socket // reads MissPeer; hand it to softpath.AddMissSource
}

// UnavailableError says why a network can have no tc tier here.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string { return "tc tier unavailable: " + e.Reason }

// Names returns the names of a network's miss pair (at most 15 bytes).
func Names(network string) (missDev, missPeer string) {
	h := fnv.New32a()
	h.Write([]byte(network))
	base := fmt.Sprintf("nfm%08x", h.Sum32())
	return base + "a", base + "b"
}

// BlockIndex is the shared block of a network: derived from its name, so a
// restarted nicflowd finds its filters again. Never 0.
func BlockIndex(network string) uint32 {
	h := fnv.New32a()
	h.Write([]byte("nicflow block " + network))
	return h.Sum32()&0x7fffffff | 0x40000000
}

// PortBlockIndex is the block of port no of a network under per-port
// blocks: derived from the network's name and the port number, so a
// restarted nicflowd finds its filters again. Never 0.
func PortBlockIndex(network string, no uint32) uint32 {
	h := fnv.New32a()
	fmt.Fprintf(h, "nicflow block %s port %d", network, no)
	return h.Sum32()&0x7fffffff | 0x40000000
}

// Open sets up the tc tier of network: it creates (or finds) the miss
// pair, checks that tc flower works in this kernel and opens the fast
// path's reader of misses. An *UnavailableError says the kernel cannot
// have a tc tier (no cls_flower, no veth), in the kernel's own words.
func Open(network string) (_ *Setup, err error) {
	s := &Setup{Block: BlockIndex(network), PortBlock: func(no uint32) uint32 { return PortBlockIndex(network, no) }}
	s.MissDev, s.MissPeer = Names(network)
	s.Handle, err = tcflower.Open()
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = s.Handle.Close()
		}
	}()
	dev, err := ensurePair(s.MissDev, s.MissPeer)
	if err != nil {
		return nil, &UnavailableError{Reason: "create the miss device pair " + s.MissDev + "/" + s.MissPeer + ": " + err.Error()}
	}
	if err := probe(s.Handle, dev); err != nil {
		removePair(s.MissDev)
		return nil, err
	}
	s.Miss, err = afpacket.Open(s.MissPeer, afpacket.Options{NoPromisc: true, Frames: missFrames})
	if err != nil {
		return nil, fmt.Errorf("open the fast path's miss reader: %w", err)
	}
	return s, nil
}

// Close closes the netlink socket; the miss reader belongs to the fast
// path by now, and the pair stays (see the package documentation).
func (s *Setup) Close() error { return s.Handle.Close() }

// ensurePair creates the veth pair a/b unless it exists, sets both ends up
// and keeps the kernel from sending its own packets (IPv6 neighbour
// discovery) into it. It returns a's link.
func ensurePair(a, b string) (netlink.Link, error) {
	l, err := netlink.LinkByName(a)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if !errors.As(err, &nf) {
			return nil, err
		}
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a, MTU: missMTU}, PeerName: b}
		if err := netlink.LinkAdd(veth); err != nil {
			return nil, err
		}
		if l, err = netlink.LinkByName(a); err != nil {
			return nil, err
		}
	}
	for _, name := range []string{a, b} {
		// Best effort: without IPv6 there is nothing to turn off.
		_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+name+"/disable_ipv6", []byte("1"), 0o644)
		link, err := netlink.LinkByName(name)
		if err != nil {
			return nil, err
		}
		if err := netlink.LinkSetUp(link); err != nil {
			return nil, fmt.Errorf("set %s up: %w", name, err)
		}
	}
	return l, nil
}

func removePair(a string) {
	if l, err := netlink.LinkByName(a); err == nil {
		_ = netlink.LinkDel(l)
	}
}

// The miss pair carries jumbo frames of any port; its reader's ring has
// 2048 slots of 16 KiB.
const (
	missMTU    = 9000
	missFrames = 2048
)

// probeBlock is a block no network uses (BlockIndex sets bit 30).
const probeBlock = 0x3fff_fff1

// probe installs and removes a flower filter on dev's ingress, in a block
// of its own: it fails with an *UnavailableError carrying the kernel's
// words when the kernel has no tc flower.
func probe(h *tcflower.Handle, dev netlink.Link) error {
	ifindex := dev.Attrs().Index
	if err := h.BindBlock(ifindex, probeBlock); err != nil {
		return &UnavailableError{Reason: "bind an ingress block: " + kernelWords(err)}
	}
	defer h.UnbindBlock(ifindex) //nolint:errcheck // removes the probe's block and filter with it
	f := &tcflower.Filter{
		Chain: 0, Pref: 1, Protocol: tcflower.EthPAll, Flags: tcflower.FlagSkipHW,
		Keys:    tcflower.Keys{Indev: dev.Attrs().Name},
		Actions: []tcflower.Action{{Kind: tcflower.KindGact, Gact: &tcflower.Gact{Verdict: tcflower.VerdictShot}}},
	}
	if _, err := h.Add(probeBlock, f); err != nil {
		return &UnavailableError{Reason: "the kernel has no working tc flower classifier (cls_flower): " + kernelWords(err)}
	}
	return nil
}

func kernelWords(err error) string {
	var e *tcflower.Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message + " (" + e.Errno.Error() + ")"
	}
	return err.Error()
}
