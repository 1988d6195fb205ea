package offload

import (
	"fmt"
	"math/bits"
	"reflect"
	"sort"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/tcflower"
)

// TTL guards. OpenFlow's dec_nw_ttl and dec_mpls_ttl hand a packet whose
// TTL is 0 or 1 to the controller (INVALID_TTL) or drop it; tc's pedit
// and act_mpls cannot. A rule that decrements a TTL runs in tc only while
// its block has guards in chain 0 at tcflower.GuardPref, in front of every
// rule, that take each packet whose TTL is at most the decrements it may
// meet in tc (placeState.dec[0], see ttlPath) and hand it to the fast
// path as the miss filter does (tagged with its in_port, redirected to
// the miss device), which does what OpenFlow says. They run in kernel
// software: placement keeps the rules that decrement out of hardware.
// Guards grow before the rules that need them are installed and shrink
// after the rules that needed them are gone.

// guardHandleBase is set in every guard's handle: the kernel allocates
// the handles it picks from 1 up (and nicflowd its batched ones above the
// largest it found), so a guard never takes a rule's handle. The rest is
// the port number (shared block), the TTL class and what the guard
// matches: the zero bits of an ip_ttl mask, or the MPLS ethertype and
// TTL value. A handle thus always stands for the same keys, and a guard
// is widened or narrowed by adding one filter and removing another, never
// by replacing one: while filters of an earlier run remain, guards are
// only added.
const guardHandleBase = 0x80000000

func guardHandle(port uint32, c tcflower.TTLClass, k *tcflower.Keys) uint32 {
	var i uint32
	if c == tcflower.TTLMPLS {
		i = uint32(k.MPLSTTL) & 7
		if k.EthType == tcflower.EthTypeMPLSMC {
			i |= 8
		}
	} else {
		i = uint32(bits.TrailingZeros8(k.IPTTLMask))
	}
	return guardHandleBase | port<<8 | uint32(c)<<5 | i
}

// isGuard reports whether a filter found in a block is a TTL guard.
func isGuard(chain uint32, pref uint16, handle uint32) bool {
	return chain == 0 && pref == tcflower.GuardPref && handle&guardHandleBase != 0
}

// toFastPath are the actions that hand a packet that came in on p to the
// fast path: tag it with p's number and redirect it to the miss device.
// Without a miss device (the fast path sees nothing: Config.NoFastPath)
// the packet is dropped, as OpenFlow drops a packet whose TTL expires
// when the controller is not to hear of it.
func (t *tcTier) toFastPath(p PortInfo) []tcflower.Action {
	if t.cfg.MissDev == "" {
		return []tcflower.Action{{Kind: tcflower.KindGact, Gact: &tcflower.Gact{Verdict: tcflower.VerdictShot}}}
	}
	return []tcflower.Action{
		{Kind: tcflower.KindVlan, Vlan: &tcflower.Vlan{Op: tcflower.VlanPush, ID: uint16(p.No), Proto: softpath.MissTPID, HasPrio: true}},
		{Kind: tcflower.KindMirred, Mirred: &tcflower.Mirred{Dev: t.cfg.MissDev, Redirect: true}},
	}
}

// guardFilters returns the guards block b needs for dec, by handle: for
// the ports of b (its one port, or every bound port of the shared block,
// each matched by indev) and each TTL class decremented, the filters of
// tcflower.GuardKeys.
func (n *Network) guardFilters(b *tcBlock, dec ttlDec) map[uint32]*tcflower.Filter {
	if !dec.any() {
		return nil
	}
	t := n.tc
	var ports []PortInfo
	if b.port != 0 {
		if p, ok := n.ports[b.port]; ok {
			ports = append(ports, p.info)
		}
	} else {
		for _, p := range n.sortedPorts() {
			if _, bound := t.bound[p.info.No]; bound {
				ports = append(ports, p.info)
			}
		}
	}
	out := map[uint32]*tcflower.Filter{}
	for _, p := range ports {
		for c := tcflower.TTLClass(0); c < tcflower.NumTTLClasses; c++ {
			for _, k := range tcflower.GuardKeys(c, dec[c]) {
				if b.port == 0 {
					k.Indev = p.Name
				}
				f := &tcflower.Filter{
					Chain: 0, Pref: tcflower.GuardPref, Protocol: tcflower.EthPAll,
					Handle: guardHandle(p.No, c, &k), Flags: tcflower.FlagSkipHW,
					Keys: k, Actions: t.toFastPath(p),
				}
				f.Cookie = tcflower.EncodeCookie(tcflower.CookieInfo{Version: tcflower.CookieVersion, Digest: tcflower.Digest(f)})
				out[f.Handle] = f
			}
		}
	}
	return out
}

// syncGuards makes block b hold the guards dec needs, and no others. It
// returns the first error; a guard the kernel refused is not held (b
// still holds those it had).
func (n *Network) syncGuards(b *tcBlock, dec ttlDec) error {
	t := n.tc
	want := n.guardFilters(b, dec)
	var first error
	for _, h := range sortedHandles(want) {
		f := want[h]
		if have, ok := b.guards[h]; ok && reflect.DeepEqual(have, f) {
			continue
		}
		if _, err := t.cfg.Kernel.Replace(b.index, f); err != nil {
			if first == nil {
				first = fmt.Errorf("install TTL guard %s: %w", f, err)
			}
			continue
		}
		b.guards[h] = f
	}
	if len(b.orphans) > 0 {
		// Filters of an earlier run may need the guards it left: they go
		// once reconcile has removed them (Reconcile shrinks the guards).
		return first
	}
	for _, h := range sortedHandles(b.guards) {
		if _, ok := want[h]; ok {
			continue
		}
		f := b.guards[h]
		if _, err := t.cfg.Kernel.Remove(b.index, f.Chain, f.Pref, f.Handle); err != nil && !isErrno(err, unix.ENOENT) {
			if first == nil {
				first = fmt.Errorf("remove TTL guard %s: %w", f, err)
			}
			continue
		}
		delete(b.guards, h)
	}
	return first
}

// growGuards widens block b's guards to what its placement needs before
// its rules are installed; it reports false, having logged why, when a
// guard the rules need is not held, so that they are not installed: the
// next pass places them in the fast path (guardErr, until the ports
// change).
func (n *Network) growGuards(b *tcBlock) bool {
	need := b.ps.dec[0]
	grown := b.guardDec
	for c := range grown {
		grown[c] = max(grown[c], need[c])
	}
	err := n.syncGuards(b, grown)
	if err == nil {
		b.guardDec = grown
		return true
	}
	n.log.Error("tc refused a TTL guard; the rules that decrement TTLs stay in the fast path",
		zap.String(logKeyPort, b.name), zap.Error(err))
	b.guardErr = kernelMessage(err)
	n.tc.redo = allTables
	return false
}

// shrinkGuards sets block b's guards to what its placement needs, once
// its filters are in line with it.
func (n *Network) shrinkGuards(b *tcBlock) {
	need := b.ps.dec[0]
	if need == b.guardDec && !b.guardStale {
		return
	}
	b.guardStale = len(b.orphans) > 0
	if err := n.syncGuards(b, need); err != nil {
		n.log.Error("remove TTL guards", zap.String(logKeyPort, b.name), zap.Error(err))
		return
	}
	b.guardDec = need
}

func sortedHandles(m map[uint32]*tcflower.Filter) []uint32 {
	hs := make([]uint32, 0, len(m))
	for h := range m {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i] < hs[j] })
	return hs
}
