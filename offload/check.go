package offload

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// CheckPlacement checks what the tc tier holds now against DESIGN.md's
// placement rules, on every block: no packet can match a rule in an
// earlier tier than an overlapping rule the pipeline tries first (a higher
// priority, or the same priority and older) (closure, with the tier each
// filter really runs in, as the kernel answered), two overlapping
// offloaded rules never share a tc pref (also not at one priority), and a
// rule that jumps to a table in tc jumps into a chain that is complete on
// that block; and, for the TTL decrements, that no filter in hardware
// decrements a TTL, none that rewrites a TTL jumps to a chain whose
// filters decrement one, and the TTL guards the block holds cover the
// most decrements a packet can meet along the chains (see ttlPath); and,
// while IP fragments are dropped, that no rule that can match IP is in
// tc (placeInput.fragDrop); that no filter takes the packets of a port
// with OFPPC_NO_RECV or sends to one with OFPPC_NO_FWD. Tests
// call it after every change; it reads no counters and sends nothing to
// the kernel. nil: every rule holds.
func (n *Network) CheckPlacement() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tc == nil {
		return nil
	}
	snap := n.pipe.Snapshot()
	noRecv, noFwd := n.portConfigs()
	var errs []error
	for _, b := range n.tc.sortedBlocks() {
		where := "shared block"
		if b.port != 0 {
			where = fmt.Sprintf("port %d (%s)", b.port, b.name)
		}
		var complete [pipeline.NumTables]Tier // a complete table's catch-all tier ("": not complete)
		for t := pipeline.NumTables - 1; t >= 0; t-- {
			var seen []*pipeline.Flow
			for _, f := range snap.Table(uint8(t)) {
				if !appliesOn(f, b.port) {
					continue
				}
				tf := b.tierOf(f)
				for _, g := range seen {
					tg := b.tierOf(g)
					if !g.Match.Overlaps(&f.Match) {
						continue
					}
					// g comes first: a higher priority, or the same
					// and older (the pipeline's order).
					if tg.rank() > tf.rank() {
						errs = append(errs, fmt.Errorf("%s, table %d: priority %d runs in %s ahead of the overlapping priority %d in %s",
							where, t, f.Priority, tf, g.Priority, tg))
					}
					if tf != TierSoft && tg != TierSoft && tcflower.Pref(g.Priority) == tcflower.Pref(f.Priority) {
						errs = append(errs, fmt.Errorf("%s, table %d: overlapping priorities %d and %d share tc pref %d in tc",
							where, t, g.Priority, f.Priority, tcflower.Pref(f.Priority)))
					}
				}
				seen = append(seen, f)
				if r := b.rules[f.ID]; tf != TierSoft && r != nil {
					if no := noRecvPort(f, placeInput{port: b.port, noRecv: noRecv}); no != 0 {
						errs = append(errs, fmt.Errorf("%s, table %d: priority %d takes the packets of port %d (NO_RECV) in %s",
							where, t, f.Priority, no, tf))
					}
					if no, ok := outputsTo(r.filter, noFwd); ok {
						errs = append(errs, fmt.Errorf("%s, table %d: priority %d outputs to port %d (NO_FWD) in %s",
							where, t, f.Priority, no, tf))
					}
				}
				if tf != TierSoft && n.tc.fragDrop && matchesIP(&f.Match) {
					errs = append(errs, fmt.Errorf("%s, table %d: priority %d can match IP and runs in %s while IP fragments are dropped",
						where, t, f.Priority, tf))
				}
				if tf != TierSoft && f.Instr.Goto {
					target := f.Instr.GotoTable
					if complete[target] == "" || complete[target].rank() > tf.rank() {
						errs = append(errs, fmt.Errorf("%s, table %d: priority %d jumps in %s to table %d, which is not complete there",
							where, t, f.Priority, tf, target))
					}
				}
				if tf != TierSoft && catchAll(f, b.port) && complete[t] == "" {
					complete[t] = tf
				}
			}
		}
		errs = append(errs, n.checkGuards(b, snap, where)...)
	}
	return errors.Join(errs...)
}

// checkGuards checks the TTL decrements of the filters block b holds and
// its TTL guards, from the filters themselves.
func (n *Network) checkGuards(b *tcBlock, snap *pipeline.Snapshot, where string) []error {
	var errs []error
	var dec [pipeline.NumTables]ttlDec
	for t := pipeline.NumTables - 1; t >= 0; t-- {
		for _, f := range snap.Table(uint8(t)) {
			r := b.rules[f.ID]
			if !appliesOn(f, b.port) || b.tierOf(f) == TierSoft || r == nil || r.filter == nil {
				continue
			}
			u := r.filter.TTL
			var next ttlDec
			if f.Instr.Goto {
				next = dec[f.Instr.GotoTable]
			}
			if u.Rewrites && next.any() {
				errs = append(errs, fmt.Errorf("%s, table %d: priority %d rewrites a TTL and jumps to table %d, whose filters decrement TTLs", where, t, f.Priority, f.Instr.GotoTable))
			}
			if u.Decrements() && b.tierOf(f) == TierHW {
				errs = append(errs, fmt.Errorf("%s, table %d: priority %d decrements a TTL in hardware, ahead of the TTL guards", where, t, f.Priority))
			}
			for c := range next {
				dec[t][c] = max(dec[t][c], u.Dec[c]+next[c])
			}
		}
	}
	for _, want := range n.guardFilters(b, dec[0]) {
		if !b.holdsGuard(want) {
			errs = append(errs, fmt.Errorf("%s: no TTL guard %s (filters decrement TTLs %v times along their chains)", where, want, dec[0]))
		}
	}
	return errs
}

// holdsGuard reports whether b holds guard g (or a wider one of its class
// and port: an IP guard whose ip_ttl mask has more zero bits).
func (b *tcBlock) holdsGuard(g *tcflower.Filter) bool {
	for _, h := range b.guards {
		k, w := h.Keys, g.Keys
		if k.EthType != w.EthType || k.Indev != w.Indev || k.HasMPLSTTL != w.HasMPLSTTL || k.MPLSTTL != w.MPLSTTL {
			continue
		}
		if k.IPTTLMask&w.IPTTLMask == k.IPTTLMask && reflect.DeepEqual(h.Actions, g.Actions) {
			return true
		}
	}
	return false
}

// tierOf is where f runs on b now: the tier of its installed filter (the
// later of its two halves' for a VLAN rule), soft when it has none (or one
// of an older version of the flow).
func (b *tcBlock) tierOf(f *pipeline.Flow) Tier {
	r := b.rules[f.ID]
	if r == nil || r.filter == nil || r.flow != f {
		return TierSoft
	}
	if tw := b.twins[f.ID]; tw != nil && tw.filter != nil && tw.flow == f {
		return laterTier(r.tier, tw.tier)
	}
	return r.tier
}
