package offload

import (
	"errors"
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/tcflower"
)

// Policy is a network's offload policy: which tiers its rules may use.
type Policy string

// The offload policies.
const (
	// PolicyAuto installs filters without flags and reads in_hw back: the
	// driver decides per filter between hardware and kernel software.
	PolicyAuto Policy = "auto"
	// PolicyHW installs filters with skip_sw: hardware or nothing.
	PolicyHW Policy = "hw"
	// PolicyTC installs filters with skip_hw: the kernel's software tc, for
	// hosts without offload-capable NICs.
	PolicyTC Policy = "tc"
	// PolicyOff keeps every rule in the Go fast path.
	PolicyOff Policy = "off"
)

// ParsePolicy checks an offload policy named in a config file or flag.
func ParsePolicy(s string) (Policy, error) {
	switch Policy(s) {
	case PolicyAuto, PolicyHW, PolicyTC, PolicyOff:
		return Policy(s), nil
	}
	return "", &ConfigError{Field: "offload", Msg: "must be auto, hw, tc or off, not " + quote(s)}
}

// rank orders tiers by when they run: hardware first, then kernel software
// tc, then the Go fast path.
func (t Tier) rank() int {
	switch t {
	case TierHW:
		return 0
	case TierTC:
		return 1
	}
	return 2
}

// laterTier returns the one of a and b that runs later.
func laterTier(a, b Tier) Tier {
	if b.rank() > a.rank() {
		return b
	}
	return a
}

// Placement is where one rule runs and, when it is not offloaded, why.
type Placement struct {
	Tier   Tier
	Reason string
	// Filter is the rule's flower form; nil when it has none.
	Filter *tcflower.Filter
}

// placeInput is what placement needs besides the pipeline.
type placeInput struct {
	policy Policy
	// port is the one port of the block being placed (0: the shared block
	// of every port): only the flows that apply on it are placed, and a
	// flow that matches nothing but in_port is a catch-all there.
	port uint32
	// tier is the tier a filter lands in when the device accepts it:
	// TierHW under PolicyHW, TierTC under PolicyTC; under PolicyAuto the
	// in_hw read back for each installed rule (missing: TierHW, the
	// optimistic guess until the kernel has answered).
	inHW map[uint64]bool
	// refused holds the device's refusal of a rule's filter, by flow ID.
	refused map[uint64]string
	// env answers the translation's questions about ports, meters and
	// groups; TableComplete is answered by place itself.
	env tcflower.Env
	// translate is tcflower.Translate, or a cache in front of it.
	translate func(*pipeline.Flow, tcflower.Env) (*tcflower.Filter, error)
	// meterUse counts the flows using each meter: a tc policer belongs to
	// one filter, so the flows of a shared meter stay in the fast path,
	// where they share one rate.
	meterUse map[uint32]int
	// fragDrop is set while IP fragments are to be dropped
	// (OFPC_FRAG_DROP): the rules that can match an IP packet stay in the
	// fast path, so that fragments pass no filter but the miss filter,
	// which hands them to the fast path, and it drops them.
	fragDrop bool
	// noRecv holds the ports with OFPPC_NO_RECV, noFwd the netdevs of
	// those with OFPPC_NO_FWD (by name, the port number): a rule that
	// would take such a port's packets, or send to it, stays in the fast
	// path, which drops them (the miss filter hands it the port's
	// packets).
	noRecv map[uint32]bool
	noFwd  map[string]uint32
	// guardErr is the kernel's refusal of a TTL guard on the block: the
	// rules that decrement TTLs stay in the fast path.
	guardErr string
}

// place assigns every flow of s a tier by the placement rules of
// DESIGN.md: (1) expressible and accepted by the device, (2) closure: every
// higher-priority overlapping rule of the same table runs no later, (3) a
// goto_table target is complete in the tiers, (4) outputs stay on the same
// switch (answered by the translation through env). It is pure.
func place(s *pipeline.Snapshot, in placeInput) map[uint64]Placement {
	out := make(map[uint64]Placement)
	var st placeState
	st.place(s, in, allTables, out)
	return out
}

// tableSet is a set of table numbers.
type tableSet uint32

// allTables holds every table.
const allTables tableSet = 1<<pipeline.NumTables - 1

func (s tableSet) has(t int) bool { return s&(1<<t) != 0 }
func (s *tableSet) add(t int)     { *s |= 1 << t }

// placeState is what the last placement found about each table, so that a
// sync re-places only the tables that changed and those that jump to them.
type placeState struct {
	snap      *pipeline.Snapshot // the snapshot last placed (nil: none)
	complete  [pipeline.NumTables]bool
	tableTier [pipeline.NumTables]Tier // the latest tier of the table's offloaded flows
	gotos     [pipeline.NumTables]tableSet
	// dec is, per table, the most TTL decrements (per TTL class) a packet
	// meets in tc from that table on: dec[0] is what the block's TTL
	// guards must cover (see ttlPath).
	dec [pipeline.NumTables]ttlDec
}

// ttlDec counts TTL decrements per TTL class.
type ttlDec [tcflower.NumTTLClasses]uint8

func (d ttlDec) any() bool { return d != ttlDec{} }

// place places the flows of the tables in dirty, and of every table that
// jumps to a table whose completeness or tier this changes, into out (the
// placements of the other tables' flows stay as they are). It returns the
// tables it placed.
//
// A flow's placement depends only on the flows of its own table (closure,
// pref twins), on its goto target's completeness and tier, and on inputs
// outside the snapshot (policy, translation environment, refusals, in_hw):
// callers mark the tables whose inputs changed dirty. Tables are placed
// from the last to the first, because goto_table only leads forward: a
// table's completeness is known before any rule that jumps to it is placed.
func (st *placeState) place(s *pipeline.Snapshot, in placeInput, dirty tableSet, out map[uint64]Placement) tableSet {
	if st.snap == nil {
		dirty = allTables
	}
	env := &placeEnv{Env: in.env, complete: &st.complete}
	var changed, placed tableSet
	for t := pipeline.NumTables - 1; t >= 0; t-- {
		if !dirty.has(t) && st.gotos[t]&changed == 0 {
			continue
		}
		complete, tier, gotos, dec := placeTable(s.Table(uint8(t)), in, env, st, out)
		if st.snap == nil || complete != st.complete[t] || tier != st.tableTier[t] || dec != st.dec[t] {
			changed.add(t)
		}
		st.complete[t], st.tableTier[t], st.gotos[t], st.dec[t] = complete, tier, gotos, dec
		placed.add(t)
	}
	st.snap = s
	return placed
}

// placeTable places the flows of one table into out. It returns whether
// the table is complete in the tiers, the latest tier of its offloaded
// flows, the tables its flows jump to, and the most TTL decrements a
// packet meets in tc from the table on. The tables after it are placed
// in st.
func placeTable(flows []*pipeline.Flow, in placeInput, env *placeEnv, st *placeState, out map[uint64]Placement) (complete bool, tier Tier, gotos tableSet, dec ttlDec) {
	latest := TierHW // the latest tier among the flows placed so far in this table
	tier = TierHW
	var twins prefIndex
	for i, f := range flows {
		if !appliesOn(f, in.port) {
			delete(out, f.ID) // it may have applied before a modify
			continue
		}
		if f.Instr.Goto {
			gotos.add(int(f.Instr.GotoTable))
		}
		p, path := placeOne(f, in, env, st)
		if p.Tier != TierSoft && latest.rank() > p.Tier.rank() {
			if g := shadowing(f, flows[:i], out, p.Tier); g != nil {
				p = Placement{Tier: out[g.ID].Tier, Filter: p.Filter,
					Reason: fmt.Sprintf("a higher-priority overlapping rule (table %d, priority %d, cookie %#x) runs in tier %s",
						g.Table, g.Priority, g.Cookie, out[g.ID].Tier)}
				if p.Tier == TierSoft {
					p.Filter = nil
				}
			}
		}
		if p.Tier != TierSoft {
			if g := twins.overlapping(f); g != nil {
				p = Placement{Tier: TierSoft, Reason: fmt.Sprintf(
					"shares tc pref %d with the overlapping offloaded rule of priority %d", tcflower.Pref(f.Priority), g.Priority)}
			} else {
				twins.add(f)
			}
		}
		out[f.ID] = p
		latest = laterTier(latest, p.Tier)
		if p.Tier != TierSoft {
			tier = laterTier(tier, p.Tier)
			if catchAll(f, in.port) {
				complete = true
			}
			for c := range dec {
				dec[c] = max(dec[c], path[c])
			}
		}
	}
	// Closure makes every rule above an offloaded catch-all offloaded
	// too, so the table is complete exactly when it has one.
	return complete, tier, gotos, dec
}

// appliesOn reports whether f can match a packet that came in on port (0:
// any port).
func appliesOn(f *pipeline.Flow, port uint32) bool {
	return port == 0 || f.Match.Key.InPort == port&f.Match.Mask.InPort
}

// catchAll reports whether f matches every packet that comes in on port
// (0: on any port).
func catchAll(f *pipeline.Flow, port uint32) bool {
	if port == 0 || f.Match.Mask.InPort == 0 {
		return f.Match.Mask.IsZero()
	}
	m := f.Match.Mask
	m.InPort = 0
	return m.IsZero() // and appliesOn(f, port): in_port is implied
}

// placeOne places f on its own: policy, translation, refusal, goto target,
// TTL guards. It also returns the TTL decrements a packet meets in tc
// from f on (see ttlPath).
func placeOne(f *pipeline.Flow, in placeInput, env *placeEnv, st *placeState) (Placement, ttlDec) {
	if in.policy == PolicyOff {
		return Placement{Tier: TierSoft, Reason: "offload policy is off"}, ttlDec{}
	}
	if in.fragDrop && matchesIP(&f.Match) {
		return Placement{Tier: TierSoft, Reason: fragDropReason}, ttlDec{}
	}
	if no := noRecvPort(f, in); no != 0 {
		return Placement{Tier: TierSoft, Reason: fmt.Sprintf(
			"takes the packets of port %d, which receives none (OFPPC_NO_RECV): the fast path drops them", no)}, ttlDec{}
	}
	if m := f.Instr.Meter; m != 0 && in.meterUse[m] > 1 {
		return Placement{Tier: TierSoft, Reason: fmt.Sprintf(
			"meter %d is shared by %d flows: a tc policer serves one filter, so they would not share its rate", m, in.meterUse[m])}, ttlDec{}
	}
	translate := in.translate
	if translate == nil {
		translate = tcflower.Translate
	}
	filter, err := translate(f, env)
	if err != nil {
		var ne *tcflower.NotExpressibleError
		if errors.As(err, &ne) {
			return Placement{Tier: TierSoft, Reason: ne.Reason}, ttlDec{}
		}
		return Placement{Tier: TierSoft, Reason: err.Error()}, ttlDec{}
	}
	if no, ok := outputsTo(filter, in.noFwd); ok {
		return Placement{Tier: TierSoft, Reason: fmt.Sprintf(
			"outputs to port %d, which forwards nothing (OFPPC_NO_FWD): the fast path drops it", no)}, ttlDec{}
	}
	path, why := ttlPath(f, filter, in, st)
	if why != "" {
		return Placement{Tier: TierSoft, Reason: why}, ttlDec{}
	}
	if why, ok := in.refused[f.ID]; ok {
		return Placement{Tier: TierSoft, Reason: "device refused the filter: " + why}, ttlDec{}
	}
	tier := TierTC
	switch in.policy {
	case PolicyHW:
		tier = TierHW
	case PolicyAuto:
		if hw, ok := in.inHW[f.ID]; !ok || hw {
			tier = TierHW
		}
	}
	if path.any() {
		// The TTL guards run in kernel software: a hardware filter
		// would see the packets before them.
		tier = laterTier(tier, TierTC)
	}
	if f.Instr.Goto {
		// The target table's rules must run no later than the jump.
		tier = laterTier(tier, st.tableTier[f.Instr.GotoTable])
	}
	return Placement{Tier: tier, Filter: filter}, path
}

// fragDropReason says why a rule that can match IP is not in tc while
// fragments are dropped.
const fragDropReason = "IP fragments are dropped (OFPC_FRAG_DROP): the fast path drops them, and a flower filter here does not tell a fragment apart, so the rules that can match IP run in the fast path"

// matchesIP reports whether m can match an IPv4 or IPv6 packet.
func matchesIP(m *pipeline.Match) bool {
	et := m.Key.EthType & m.Mask.EthType
	return m.Mask.EthType == 0 || et == pipeline.EthTypeIPv4 || et == pipeline.EthTypeIPv6
}

// noRecvPort returns a port with OFPPC_NO_RECV whose packets f would take
// on the block placed (its own port's, or on the shared block those of
// its in_port or, without one, of any port), or 0.
func noRecvPort(f *pipeline.Flow, in placeInput) uint32 {
	if len(in.noRecv) == 0 {
		return 0
	}
	switch {
	case in.port != 0:
		if in.noRecv[in.port] {
			return in.port
		}
	case f.Match.Mask.InPort != 0:
		if in.noRecv[f.Match.Key.InPort] {
			return f.Match.Key.InPort
		}
	default:
		var low uint32
		for no := range in.noRecv {
			if low == 0 || no < low {
				low = no
			}
		}
		return low
	}
	return 0
}

// outputsTo reports whether filter f sends to one of the netdevs in devs,
// and the port it is.
func outputsTo(f *tcflower.Filter, devs map[string]uint32) (uint32, bool) {
	if f == nil || len(devs) == 0 {
		return 0, false
	}
	for _, a := range f.Actions {
		if a.Kind == tcflower.KindMirred && a.Mirred != nil {
			if no, ok := devs[a.Mirred.Dev]; ok {
				return no, true
			}
		}
	}
	return 0, false
}

// ttlPath returns the TTL decrements a packet meets in tc from f's filter
// on: the filter's own (tcflower.Filter.TTL) and, after a goto_table,
// the most the target table's offloaded rules lead to. A TTL guard in
// chain 0 (see syncGuards) hands every packet whose TTL is at most the
// sum for table 0 to the fast path, so that no decrement in tc meets a TTL
// that OpenFlow reports as invalid. why says when f may not run in tc: a
// guard reads the TTL packets arrive with, so a filter that rewrites a
// TTL may not lead to decrements in later tables; the guards cover
// tcflower.MaxTTLDec decrements; they run in kernel software, which
// policy hw does not use; and they share pref 1 with the rules of
// priority 65533 and up, with no order among them.
func ttlPath(f *pipeline.Flow, flt *tcflower.Filter, in placeInput, st *placeState) (path ttlDec, why string) {
	var next ttlDec
	if f.Instr.Goto {
		next = st.dec[f.Instr.GotoTable]
	}
	if next.any() && flt.TTL.Rewrites {
		return path, fmt.Sprintf("rewrites a TTL (set_nw_ttl, set_mpls_ttl, push_mpls or pop_mpls) before goto_table %d, whose rules decrement TTLs in tc: the TTL guards in chain 0 read the TTLs packets arrive with",
			f.Instr.GotoTable)
	}
	for c := range path {
		n := int(flt.TTL.Dec[c]) + int(next[c])
		if n > tcflower.MaxTTLDec {
			return path, fmt.Sprintf("a packet may meet %d decrements of its %s TTL from here on in tc: the TTL guards cover at most %d",
				n, tcflower.TTLClass(c), tcflower.MaxTTLDec)
		}
		path[c] = uint8(n)
	}
	switch {
	case !path.any():
	case in.guardErr != "":
		return path, "decrements a TTL, and the kernel refused the TTL guard that hands packets whose TTL expires to the fast path: " + in.guardErr
	case in.policy == PolicyHW:
		return path, "decrements a TTL: the TTL guard that hands packets whose TTL expires to the fast path runs in kernel software, which policy hw does not use"
	case f.Table == 0 && tcflower.Pref(f.Priority) == tcflower.GuardPref:
		return path, fmt.Sprintf("decrements a TTL at priority %d: it would share tc pref %d with the TTL guards, and filters of one pref have no order",
			f.Priority, tcflower.GuardPref)
	}
	return path, ""
}

// shadowing returns, among the higher-priority rules placed before f that
// overlap it and run later than tier, the first of those that run latest;
// nil when there is none.
func shadowing(f *pipeline.Flow, placed []*pipeline.Flow, out map[uint64]Placement, tier Tier) *pipeline.Flow {
	var worst *pipeline.Flow
	for _, g := range placed {
		gp, ok := out[g.ID]
		if !ok {
			continue // does not apply on this block
		}
		gt := gp.Tier
		if gt.rank() <= tier.rank() || (worst != nil && gt.rank() <= out[worst.ID].Tier.rank()) {
			continue
		}
		if g.Match.Overlaps(&f.Match) {
			worst = g
		}
	}
	return worst
}

// prefIndex holds the offloaded flows of one tc pref placed so far in a
// table, to find one that overlaps the next flow of that pref: flower does
// not order filters of one pref, so only one of two overlapping rules may
// be offloaded. Rules of one priority share a pref (the pipeline lets the
// older one win where they overlap, as the fast path does), and so do
// priorities 65535, 65534 and 65533 (pref 1). Flows come in priority
// order, so a pref's flows come together.
//
// Two matches overlap when their keys agree on the bits both masks cover.
// The flows are grouped by mask, and each group keeps its flows by key
// under the masks it was asked about, so a table of many rules at one
// priority (host routes, say) costs a lookup per rule and mask, not a
// comparison with every earlier rule.
type prefIndex struct {
	pref   uint16
	groups []*maskGroup
}

type maskGroup struct {
	mask  pipeline.Key
	flows []*pipeline.Flow
	// byCommon maps a mask (the group's and another flow's in common) to
	// the group's flows by their keys under it.
	byCommon map[pipeline.Key]map[pipeline.Key]*pipeline.Flow
}

// overlapping returns the indexed flow of f's pref that overlaps f, or
// nil. A flow of another pref starts the index over.
func (x *prefIndex) overlapping(f *pipeline.Flow) *pipeline.Flow {
	if pref := tcflower.Pref(f.Priority); pref != x.pref {
		x.pref, x.groups = pref, x.groups[:0]
		return nil
	}
	for _, g := range x.groups {
		common := f.Match.Mask.And(&g.mask)
		idx, ok := g.byCommon[common]
		if !ok {
			idx = make(map[pipeline.Key]*pipeline.Flow, len(g.flows))
			for _, h := range g.flows {
				k := h.Match.Key.And(&common)
				if idx[k] == nil {
					idx[k] = h
				}
			}
			g.byCommon[common] = idx
		}
		if h := idx[f.Match.Key.And(&common)]; h != nil {
			return h
		}
	}
	return nil
}

// add indexes offloaded flow f (of the pref overlapping last looked at).
func (x *prefIndex) add(f *pipeline.Flow) {
	if pref := tcflower.Pref(f.Priority); pref != x.pref {
		x.pref, x.groups = pref, x.groups[:0]
	}
	var g *maskGroup
	for _, c := range x.groups {
		if c.mask == f.Match.Mask {
			g = c
			break
		}
	}
	if g == nil {
		g = &maskGroup{mask: f.Match.Mask, byCommon: map[pipeline.Key]map[pipeline.Key]*pipeline.Flow{}}
		x.groups = append(x.groups, g)
	}
	g.flows = append(g.flows, f)
	for common, idx := range g.byCommon {
		if k := f.Match.Key.And(&common); idx[k] == nil {
			idx[k] = f
		}
	}
}

// placeEnv answers TableComplete from the placement so far.
type placeEnv struct {
	tcflower.Env
	complete *[pipeline.NumTables]bool
}

func (e *placeEnv) TableComplete(t uint8) bool { return int(t) < len(e.complete) && e.complete[t] }
