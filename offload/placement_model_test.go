package offload

// TestPlacementModel is a host-side differential test of the tc tier: seeded
// random rule sets run through a real Network on fakeTC under policies hw,
// auto and tc (shared block and per-port blocks), with devices that refuse
// some filters, run out of room and, under auto, take some filters into
// hardware and not others. Random packets then run through a model of what
// tc does on their ingress port, over the filters the fake holds (flower's
// classifier modelled by tcflower.Keys.Matches), and the rules tc hits
// must be the rules the reference pipeline (pipeline.Snapshot.Evaluate)
// hits, up to where tc hands the packet to the fast path.
//
// The model of tc on one port's block:
//   - hardware first, over the filters the device holds (skip_sw, or no
//     flags with in_hw): chain 0 in pref order, the first filter that
//     matches wins; a goto chain N continues in chain N; a filter that does
//     not jump ends the packet's classification. A miss in chain 0 hands
//     the packet to kernel software; a miss in chain N > 0 is a divergence
//     (placement rule 3: a jump's target is complete in a tier that runs no
//     later).
//   - then kernel software, from chain 0, over the filters without skip_sw
//     (skip_hw, and no flags whether in hardware or not), the same way. The
//     miss filter (or a miss in chain 0) hands the packet to the fast path,
//     which runs the whole pipeline: correct by construction.
//   - filters of one pref have no defined order: two that match the same
//     packet are a divergence, unless they are the halves of one rule.
//
// What tc did is checked by outcome (which rules it hit), not by reading
// the tiers the tier records; CheckPlacement runs on every state too.
// Rules that jump do not rewrite the packet's headers first (the model does
// not run tc's actions), so every chain sees the packet as it came in,
// but for its TTL: rules decrement and set it (dec_ttl, set_nw_ttl), and
// the model follows the TTL along the filters a packet hits (tcflower's
// Filter.TTL): a decrement in hardware, of a TTL the packet does not have
// enough of (OpenFlow would report it INVALID_TTL), or of a TTL an earlier
// chain set, is a divergence. The TTL guards (filters of no rule at
// tcflower.GuardPref) hand packets to the fast path like the miss filter;
// where a guard and a rule's filter of that pref both match, the model
// takes the rule's (filters of one pref have no order: the worse case).
//
// Knobs: NICFLOW_PLACEMENT_MODEL_CASES (default 1,000,000; 300,000 under
// the race detector, 50,000 with -short), NICFLOW_PLACEMENT_MODEL_SEED
// (default 1), NICFLOW_PLACEMENT_MODEL_SET (run that rule set alone and
// report what was done to the network before a divergence). What the
// model found is kept as the TestPlacementModelRegression* tests.

import (
	"context"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/tcflower"
)

// pmVariant is a tc tier configuration the model runs.
type pmVariant struct {
	name    string
	policy  Policy
	perPort bool // TCConfig.PerPortBlocks (hw and auto have per-port blocks anyway)
}

var pmVariants = []pmVariant{
	{"hw", PolicyHW, false},
	{"auto", PolicyAuto, false},
	{"tc", PolicyTC, false},
	{"tc-per-port", PolicyTC, true},
}

func (v pmVariant) blocksPerPort() bool { return v.policy != PolicyTC || v.perPort }

// Per rule set: the initial rules, then pmRounds-1 changes; pmPackets
// packets after each.
const (
	pmRounds  = 5
	pmPackets = 500
)

// pmBudget is how many (rule set, packet) cases the test runs:
// NICFLOW_PLACEMENT_MODEL_CASES, else 1,000,000 (about 4 s of CPU), and
// fewer with -short and under the race detector, where a case costs about
// fifteen times as much (1,000,000 took 60 s on one core of two).
func pmBudget(t *testing.T) int {
	if s := os.Getenv("NICFLOW_PLACEMENT_MODEL_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("NICFLOW_PLACEMENT_MODEL_CASES=%q: want a positive number", s)
		}
		return n
	}
	switch {
	case testing.Short():
		return 50_000
	case raceEnabled:
		return 300_000
	}
	return 1_000_000
}

// pmSeed is NICFLOW_PLACEMENT_MODEL_SEED, else 1.
func pmSeed(t *testing.T) uint64 {
	if s := os.Getenv("NICFLOW_PLACEMENT_MODEL_SEED"); s != "" {
		n, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("NICFLOW_PLACEMENT_MODEL_SEED=%q: %v", s, err)
		}
		return n
	}
	return 1
}

// pmStats is what the runs found, over every rule set.
type pmStats struct {
	cases, sets, states int
	divergences         map[string]int // by kind
	reported            int            // divergences reported in full
	packets             map[string]int // where tc left the packets: hw, tc, fast path
	tiers               map[Tier]int   // rule placements (FlowStat.Tier) over every state
	perVariant          map[string]int // cases per variant
	twins               int            // packets both halves of one rule took (must be 0 with TPIDs modelled)
	ttlDecs, guarded    int            // packets whose TTL tc decremented; packets a TTL guard took
}

func newPMStats() *pmStats {
	return &pmStats{divergences: map[string]int{}, packets: map[string]int{}, tiers: map[Tier]int{}, perVariant: map[string]int{}}
}

// add adds o's counts to st's.
func (st *pmStats) add(o *pmStats) {
	st.cases += o.cases
	st.sets += o.sets
	st.states += o.states
	st.reported += o.reported
	st.twins += o.twins
	st.ttlDecs += o.ttlDecs
	st.guarded += o.guarded
	for k, n := range o.divergences {
		st.divergences[k] += n
	}
	for k, n := range o.packets {
		st.packets[k] += n
	}
	for k, n := range o.tiers {
		st.tiers[k] += n
	}
	for k, n := range o.perVariant {
		st.perVariant[k] += n
	}
}

func TestPlacementModel(t *testing.T) {
	budget, seed := pmBudget(t), pmSeed(t)
	start := time.Now()
	// The rule sets to run: enough for the budget, or one to reproduce a
	// divergence. They are independent (each seeded by seed and its
	// number), so workers share them out.
	sets := make([]int, (budget+pmRounds*pmPackets-1)/(pmRounds*pmPackets))
	for i := range sets {
		sets[i] = i
	}
	if s := os.Getenv("NICFLOW_PLACEMENT_MODEL_SET"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatalf("NICFLOW_PLACEMENT_MODEL_SET=%q: %v", s, err)
		}
		sets = []int{n}
	}
	workers := min(runtime.GOMAXPROCS(0), 4, len(sets))
	stats := make([]*pmStats, workers)
	t.Run("workers", func(t *testing.T) {
		for w := range workers {
			stats[w] = newPMStats()
			t.Run(strconv.Itoa(w), func(t *testing.T) {
				t.Parallel()
				for i := w; i < len(sets); i += workers {
					m := newPMRun(t, seed, sets[i], pmVariants[sets[i]%len(pmVariants)], stats[w])
					m.oneSet = len(sets) == 1
					m.run()
					stats[w].sets++
				}
			})
		}
	})
	st := newPMStats()
	for _, o := range stats {
		st.add(o)
	}
	var kinds []string
	total := 0
	for k, n := range st.divergences {
		kinds = append(kinds, fmt.Sprintf("%s: %d", k, n))
		total += n
	}
	sort.Strings(kinds)
	t.Logf("placement model, seed %d: %d cases (rule set state, packet) over %d rule sets (%d states) in %v; per variant %v",
		seed, st.cases, st.sets, st.states, time.Since(start).Round(time.Millisecond), st.perVariant)
	t.Logf("packets: %d classified to the end in hardware, %d in kernel software, %d handed to the fast path; rule placements over the states (a rule's latest tier over its ports): %d hw, %d tc, %d soft",
		st.packets["hw"], st.packets["tc"], st.packets["fast path"], st.tiers[TierHW], st.tiers[TierTC], st.tiers[TierSoft])
	t.Logf("TTLs: %d packets decremented in tc, %d taken by a TTL guard", st.ttlDecs, st.guarded)
	t.Logf("divergences: %d %v", total, kinds)
	if total > 0 {
		t.Errorf("%d divergences (%d reported above): %v", total, st.reported, kinds)
	}
	if st.twins > 0 {
		t.Errorf("%d packets were taken by both halves (802.1Q and 802.1ad) of one rule", st.twins)
	}
	if len(sets) == 1 {
		return // one rule set, to reproduce a divergence
	}
	// The test must be able to fail: every variant ran, and packets went
	// every way.
	for _, v := range pmVariants {
		if st.perVariant[v.name] == 0 {
			t.Errorf("variant %s ran no case", v.name)
		}
	}
	if min(st.packets["hw"], st.packets["tc"], st.packets["fast path"]) < st.cases/100 || min(st.tiers[TierHW], st.tiers[TierTC], st.tiers[TierSoft]) == 0 ||
		min(st.ttlDecs, st.guarded) < st.cases/1000 {
		t.Errorf("weak test: packets %v, placements %v, %d TTL decrements in tc, %d packets guarded", st.packets, st.tiers, st.ttlDecs, st.guarded)
	}
}

// pmRun is one rule set on one network: its rules, ports and devices.
type pmRun struct {
	t     *testing.T
	v     pmVariant
	seed  uint64
	set   int
	round int
	r     *rand.Rand
	st    *pmStats

	kern *fakeTC
	tn   *tcNet
	// rules are the rules the network holds, as the generator wrote them
	// (at most one per table, priority and match: an add replaces).
	rules  []*pmRule
	nPorts int
	live   map[uint32]bool // the ports the network has now

	// Device behaviour: refuseRate of the rules' filters are refused (per
	// block and filter), inHWRate of the filters without flags go to
	// hardware (per block, filter and epoch: the driver decides anew for
	// the filters installed after epoch changes).
	refuseRate, inHWRate float64
	epoch                uint64
	// block is the block of the filter fakeTC is installing: its refuse
	// hook sees the block, its inHW hook does not.
	block uint32

	model pmModel // the state the packets run against
	// history is what the run did to the network, for reports of a
	// single rule set (NICFLOW_PLACEMENT_MODEL_SET).
	history []string
	oneSet  bool
}

// pmRule is one rule as the generator wrote it.
type pmRule struct {
	table   uint8
	prio    uint16
	match   string // flowtext match fields, "" for none
	actions string
	key     pmRuleKey
}

type pmRuleKey struct {
	table uint8
	prio  uint16
	match pipeline.Match
}

func (r *pmRule) text() string {
	m := r.match
	if m != "" {
		m += ","
	}
	return fmt.Sprintf("table=%d,priority=%d,%sactions=%s", r.table, r.prio, m, r.actions)
}

func newPMRun(t *testing.T, seed uint64, set int, v pmVariant, st *pmStats) *pmRun {
	m := &pmRun{t: t, v: v, seed: seed, set: set, st: st, r: rand.New(rand.NewPCG(seed, uint64(set)))}
	m.refuseRate = []float64{0, 0, 0.03, 0.15}[m.r.IntN(4)]
	m.inHWRate = []float64{0, 0.5, 0.85, 1}[m.r.IntN(4)]
	m.nPorts = 3 + m.r.IntN(2)
	clock := newClock()
	m.kern = newFakeTC(clock.Now)
	m.kern.setRefuse(m.refuse)
	m.kern.setInHW(m.inHW)
	if v.policy != PolicyTC && m.r.IntN(4) == 0 {
		m.kern.setCapacity(2 + m.r.IntN(8))
	}
	m.tn = newTCNet(t, m.kern, clock, tcNetOpts{policy: v.policy, ports: m.nPorts, noRun: true, perPortBlocks: v.perPort})
	m.model = pmModel{tn: m.tn, perPort: v.blocksPerPort()}
	m.live = map[uint32]bool{}
	for no := 1; no <= m.nPorts; no++ {
		m.live[uint32(no)] = true
	}
	for _, gm := range []*pipeline.GroupMod{
		{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: 1, Buckets: []pipeline.Bucket{
			{Actions: []pipeline.Action{pipeline.Output(2)}}, {Actions: []pipeline.Action{pipeline.Output(3)}}}},
		{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeSelect, ID: 2, Buckets: []pipeline.Bucket{
			{Weight: 1, Actions: []pipeline.Action{pipeline.Output(2)}}}},
	} {
		if err := m.tn.GroupMod(context.Background(), gm); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// pmHash hashes xs to [0, 1).
func pmHash(xs ...any) float64 {
	h := fnv.New64a()
	for _, x := range xs {
		fmt.Fprint(h, x, "|")
	}
	return float64(h.Sum64()>>11) / (1 << 53)
}

// refuse is fakeTC's refuse hook: refuseRate of the rules' filters, by
// block and filter (a modified rule's filter gets a new draw).
func (m *pmRun) refuse(op string, block uint32, f *tcflower.Filter) error {
	m.block = block
	if cookieFlow(f.Cookie) == 0 || pmHash(m.seed, m.set, "refuse", block, f.Flags, string(f.Cookie)) >= m.refuseRate {
		return nil
	}
	return &tcflower.Error{Op: op + " flower filter", Errno: unix.EOPNOTSUPP, Message: "model: the device does not take this filter"}
}

// inHW is fakeTC's in_hw hook for filters without flags.
func (m *pmRun) inHW(f *tcflower.Filter) bool {
	return pmHash(m.seed, m.set, "hw", m.block, m.epoch, string(f.Cookie)) < m.inHWRate
}

func (m *pmRun) run() {
	for n := 6 + m.r.IntN(19); n > 0; n-- {
		m.addRule(m.genRule(m.genTable()))
	}
	for m.round = 0; m.round < pmRounds; m.round++ {
		if m.round > 0 {
			m.change()
		}
		m.sync()
		m.traffic(pmPackets)
	}
	m.tn.Close()
}

func (m *pmRun) flowMod(fm *pipeline.FlowMod, what string) {
	m.history = append(m.history, what)
	if err := m.tn.FlowMod(context.Background(), fm); err != nil {
		m.t.Fatalf("set %d (%s) round %d: %s: %v", m.set, m.v.name, m.round, what, err)
	}
}

// addRule adds r, replacing the rule of the same table, priority and match.
func (m *pmRun) addRule(r *pmRule) {
	fm := flowtext.MustFlowMod(r.text())
	r.key = pmRuleKey{r.table, r.prio, fm.Match}
	m.flowMod(fm, "add "+r.text())
	for i, o := range m.rules {
		if o.key == r.key {
			m.rules[i] = r
			return
		}
	}
	m.rules = append(m.rules, r)
}

// change changes the rule set as a controller would (deletes, modifies,
// adds, now and then a whole table deleted), now and then removes a port
// or brings a removed one back, and under auto now and then lets the
// driver decide anew.
func (m *pmRun) change() {
	r := m.r
	var keep []*pmRule
	for _, o := range m.rules {
		switch x := r.Float64(); {
		case x < 0.15:
			fm := flowtext.MustFlowMod(o.text())
			fm.Command = pipeline.FlowDeleteStrict
			m.flowMod(fm, "delete "+o.text())
		case x < 0.3:
			c := *o
			c.actions = m.genActions(c.table, c.match)
			fm := flowtext.MustFlowMod(c.text())
			fm.Command = pipeline.FlowModifyStrict
			m.flowMod(fm, "modify "+c.text())
			keep = append(keep, &c)
		default:
			keep = append(keep, o)
		}
	}
	m.rules = keep
	if r.IntN(20) == 0 {
		tbl := uint8(r.IntN(3))
		m.flowMod(&pipeline.FlowMod{Command: pipeline.FlowDelete, Table: tbl, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny},
			fmt.Sprintf("delete table %d", tbl))
		keep = keep[:0]
		for _, o := range m.rules {
			if o.table != tbl {
				keep = append(keep, o)
			}
		}
		m.rules = keep
	}
	for n := 1 + r.IntN(4); n > 0; n-- {
		m.addRule(m.genRule(m.genTable()))
	}
	switch x := r.IntN(8); {
	case x == 0 && len(m.live) > 1:
		ports := m.livePorts()
		no := ports[r.IntN(len(ports))]
		m.history = append(m.history, fmt.Sprintf("remove port %d", no))
		if err := m.tn.RemovePort(no); err != nil {
			m.t.Fatal(err)
		}
		delete(m.live, no)
	case x == 1 && len(m.live) < m.nPorts:
		for no := uint32(1); no <= uint32(m.nPorts); no++ {
			if !m.live[no] {
				info := PortInfo{No: no, Name: fmt.Sprintf("vf%d", no), Up: true, Ifindex: 10 + int(no), SwitchID: "sw0"}
				m.history = append(m.history, fmt.Sprintf("add port %d", no))
				if err := m.tn.AddPort(info, memio.New()); err != nil {
					m.t.Fatal(err)
				}
				m.live[no] = true
				break
			}
		}
	}
	if m.v.policy == PolicyAuto && r.IntN(5) == 0 {
		m.epoch++
		m.history = append(m.history, fmt.Sprintf("in_hw epoch %d", m.epoch))
	}
}

func (m *pmRun) livePorts() []uint32 {
	var out []uint32
	for no := range m.live {
		out = append(out, no)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// sync brings the tc tier up to date (a barrier), checks the placement
// rules on what it holds, and loads the state the packets run against.
func (m *pmRun) sync() {
	m.history = append(m.history, "barrier")
	if err := m.tn.Barrier(context.Background()); err != nil {
		m.t.Fatal(err)
	}
	m.model.load(m.livePorts())
	if err := m.tn.CheckPlacement(); err != nil {
		m.diverge("CheckPlacement", err.Error())
	}
	for _, s := range m.tn.FlowStats(allFlows) {
		m.st.tiers[s.Tier]++
	}
	m.kern.resetCalls()
	m.st.states++
}

// traffic runs n packets through the model and the reference.
func (m *pmRun) traffic(n int) {
	for i := 0; i < n; i++ {
		p := m.packet()
		where, kind := m.model.run(&p)
		m.st.cases++
		m.st.ttlDecs += m.model.ttlDecs
		if m.model.guarded {
			m.st.guarded++
		}
		m.st.perVariant[m.v.name]++
		m.st.packets[where]++
		if kind != "" {
			m.diverge(kind, m.model.describe(&p))
		}
	}
	m.st.twins += m.model.twins
	m.model.twins = 0
}

// diverge counts a divergence and reports the first ones of each kind in
// full.
func (m *pmRun) diverge(kind, detail string) {
	m.st.divergences[kind]++
	if m.st.reported >= 10 || m.st.divergences[kind] > 2 {
		return // the first two of each kind tell
	}
	m.st.reported++
	if m.oneSet {
		detail += "history:\n  " + strings.Join(m.history, "\n  ") + "\n"
	}
	m.t.Errorf("divergence %q: variant %s, seed %d, set %d, round %d (refuse %.2f, in_hw %.2f, epoch %d, ports %v of %d)\n%s\nrules:\n%s",
		kind, m.v.name, m.seed, m.set, m.round, m.refuseRate, m.inHWRate, m.epoch, m.model.ports, m.nPorts, detail, m.describeRules())
}

// pmModel is the model of tc on the blocks of a network's ports, and the
// reference, at one state of the network (see load).
type pmModel struct {
	tn      *tcNet
	perPort bool // a block per port (else the shared testBlock)

	snap   *pipeline.Snapshot
	flows  []*pipeline.Flow    // every flow of snap
	blocks map[uint32]*pmBlock // by port
	ports  []uint32            // the ports with a block, ordered
	twins  int                 // packets both halves of one rule took

	path    []pmStep // of the last packet run
	ttlDecs int      // whether the last packet's TTL was decremented in tc (0 or 1)
	guarded bool     // whether a TTL guard took the last packet
	end     pmEnd
	ref     []pipeline.Hit
}

// pmBlock is what one block holds, as the model classifies with it:
// the filters in hardware, and those in kernel software.
type pmBlock struct {
	index  uint32
	hw, sw pmChains
	flows  []*pipeline.Flow // the flows with filters here (packets aim at them)
}

// pmChains are filters by chain, each chain in pref (then handle) order.
type pmChains [][]*pmFilter

// pmFilter is one filter of a block.
type pmFilter struct {
	f      tcflower.Filter // as sent (flower matches the TPID it was given; the kernel reads both halves back as 802.1Q)
	flowID uint64          // 0: not a rule's (the port's miss filter)
	inHW   bool
	goTo   int // the chain it jumps to; -1: none
}

func (cs *pmChains) add(f *pmFilter) {
	c := int(f.f.Chain)
	for len(*cs) <= c {
		*cs = append(*cs, nil)
	}
	(*cs)[c] = append((*cs)[c], f) // in fakeTC's key order: pref, then handle
}

// load reads the pipeline and the filters of the blocks of ports.
func (mo *pmModel) load(ports []uint32) {
	mo.tn.Network.mu.Lock()
	mo.snap = mo.tn.pipe.Snapshot()
	mo.tn.Network.mu.Unlock()
	mo.flows = mo.flows[:0]
	byID := map[uint64]*pipeline.Flow{}
	for t := range uint8(pipeline.NumTables) {
		fs := mo.snap.Table(t)
		mo.flows = append(mo.flows, fs...)
		for _, f := range fs {
			byID[f.ID] = f
		}
	}
	mo.ports = ports
	byIndex := map[uint32]*pmBlock{}
	mo.blocks = map[uint32]*pmBlock{}
	for _, no := range ports {
		index := uint32(testBlock)
		if mo.perPort {
			index = portBlock(no)
		}
		if byIndex[index] == nil {
			byIndex[index] = &pmBlock{index: index}
		}
		mo.blocks[no] = byIndex[index]
	}
	k := mo.tn.kern
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keysLocked() {
		b := byIndex[key.block]
		if b == nil {
			continue
		}
		g := k.filters[key]
		f := &pmFilter{f: cloneFilter(g.f), flowID: g.flowID, inHW: g.inHW, goTo: -1}
		f.f.Keys = g.sent
		f.f.Handle = key.handle
		if n := len(g.f.Actions); n > 0 {
			if a := g.f.Actions[n-1]; a.Kind == tcflower.KindGact && a.Gact.Verdict == tcflower.VerdictGotoChain {
				f.goTo = int(a.Gact.Chain)
			}
		}
		if fl := byID[f.flowID]; fl != nil && (len(b.flows) == 0 || b.flows[len(b.flows)-1] != fl) {
			b.flows = append(b.flows, fl)
		}
		if f.inHW {
			b.hw.add(f)
		}
		if g.f.Flags&tcflower.FlagSkipSW == 0 {
			b.sw.add(f)
		}
	}
}

// pmEnd is where a pass of classification left a packet.
type pmEnd int

const (
	pmEndDone         pmEnd = iota // a filter that does not jump took it
	pmEndMiss                      // no filter of chain 0 took it
	pmEndFastPath                  // a miss filter handed it to the fast path
	pmEndChainMiss                 // divergence: no filter of chain N > 0 took it
	pmEndTie                       // divergence: filters of two rules at one pref took it
	pmEndLoop                      // divergence: a jump to a chain not after this one
	pmEndTTLHW                     // divergence: a filter in hardware decrements a TTL (the guards run in software)
	pmEndTTLExpired                // divergence: a filter decrements a TTL that OpenFlow reports as invalid
	pmEndTTLRewritten              // divergence: a filter decrements a TTL an earlier chain rewrote
)

func (e pmEnd) String() string {
	return [...]string{"done", "miss in chain 0", "handed to the fast path", "miss in a chain jumped to", "two rules' filters at one pref", "jump backwards",
		"TTL decremented in hardware", "TTL decremented in tc to expiry", "TTL decremented in tc after a rewrite in an earlier chain"}[e]
}

// isGuard reports whether f is a TTL guard.
func (f *pmFilter) isGuard() bool { return f.flowID == 0 && isGuard(f.f.Chain, f.f.Pref, f.f.Handle) }

// pmStep is one filter a packet hit.
type pmStep struct {
	hw bool
	f  *pmFilter
}

// run runs packet p, arriving on port p.Key.InPort, through the model of
// tc and through the reference. It returns where tc left the packet (hw,
// tc: a filter ended its classification there; fast path) and the kind of
// divergence, "" when tc hit the reference's rules (or handed the packet
// to the fast path before any). describe tells the details.
func (mo *pmModel) run(p *tcflower.Packet) (where, divergence string) {
	mo.ref = mo.snap.Evaluate(p.Key, 64).Hits
	b := mo.blocks[p.Key.InPort]
	mo.path = mo.path[:0]
	where = "hw"
	if mo.path, mo.end = mo.classify(b.hw, true, p, mo.path); mo.end == pmEndMiss {
		where = "tc"
		mo.path, mo.end = mo.classify(b.sw, false, p, mo.path)
	}
	if e := mo.ttlCheck(p); e != pmEndDone {
		mo.end = e
		return where, e.String() + " (" + where + ")"
	}
	switch mo.end {
	case pmEndMiss, pmEndFastPath:
		return "fast path", ""
	case pmEndDone:
		if !mo.sameHits() {
			return where, "other rules than the reference's (" + where + ")"
		}
		return where, ""
	}
	return where, mo.end.String() + " (" + where + ")"
}

// classify runs p through chains from chain 0, appending the filters it
// hits to path.
func (mo *pmModel) classify(cs pmChains, hw bool, p *tcflower.Packet, path []pmStep) ([]pmStep, pmEnd) {
	chain := 0
	for {
		var hit *pmFilter
		if chain < len(cs) {
			for _, f := range cs[chain] {
				if hit != nil && f.f.Pref != hit.f.Pref {
					break
				}
				if !f.f.Keys.Matches(p) {
					continue
				}
				if hit == nil {
					hit = f
					continue
				}
				if hit.isGuard() || f.isGuard() {
					if hit.isGuard() && !f.isGuard() {
						hit = f // the worse case: the rule before the guard
					}
					continue
				}
				if f.flowID != hit.flowID || f.flowID == 0 {
					return append(path, pmStep{hw, hit}, pmStep{hw, f}), pmEndTie
				}
				mo.twins++
			}
		}
		switch {
		case hit == nil && chain == 0:
			return path, pmEndMiss
		case hit == nil:
			return path, pmEndChainMiss
		case hit.flowID == 0:
			return append(path, pmStep{hw, hit}), pmEndFastPath
		}
		path = append(path, pmStep{hw, hit})
		if hit.goTo < 0 {
			return path, pmEndDone
		}
		if hit.goTo <= chain {
			return path, pmEndLoop
		}
		chain = hit.goTo
	}
}

// ttlCheck follows p's TTL along the filters it hit (mo.path): every
// decrement must be of a TTL the packet came with, in kernel software
// (behind the TTL guards), and leave it above 0.
func (mo *pmModel) ttlCheck(p *tcflower.Packet) pmEnd {
	mo.ttlDecs, mo.guarded = 0, false
	var c tcflower.TTLClass
	switch p.Key.EthType {
	case pipeline.EthTypeIPv4:
		c = tcflower.TTLIPv4
	case pipeline.EthTypeIPv6:
		c = tcflower.TTLIPv6
	default:
		return pmEndDone
	}
	ttl, known := int(p.Key.IPTTL), true
	for _, s := range mo.path {
		if s.f.flowID == 0 {
			mo.guarded = s.f.isGuard()
			break // to the fast path
		}
		u := s.f.f.TTL
		if dec := int(u.Dec[c]); dec > 0 {
			switch {
			case s.hw:
				return pmEndTTLHW
			case !known:
				return pmEndTTLRewritten
			case ttl <= dec:
				return pmEndTTLExpired
			}
			ttl -= dec
			mo.ttlDecs = 1
		}
		if u.Rewrites {
			known = false
		}
	}
	return pmEndDone
}

// sameHits reports whether tc hit the rules the reference hit.
func (mo *pmModel) sameHits() bool {
	if len(mo.path) != len(mo.ref) {
		return false
	}
	for i, s := range mo.path {
		if uint32(mo.ref[i].Table) != s.f.f.Chain || mo.ref[i].FlowID != s.f.flowID {
			return false
		}
	}
	return true
}

// describe says what happened to p, the packet run last.
func (mo *pmModel) describe(p *tcflower.Packet) string {
	var w strings.Builder
	fmt.Fprintf(&w, "packet on port %d, TPID %#04x, TTL %d: %+v\n", p.Key.InPort, p.TPID, p.Key.IPTTL, p.Key)
	fmt.Fprintf(&w, "reference hits (table/flow ID): %v\n", mo.ref)
	fmt.Fprintf(&w, "tc hits:\n")
	for _, s := range mo.path {
		where := "sw"
		if s.hw {
			where = "hw"
		}
		fmt.Fprintf(&w, "  %s flow %d: %s\n", where, s.f.flowID, s.f.f.String())
	}
	fmt.Fprintf(&w, "tc ended: %v\n", mo.end)
	b := mo.blocks[p.Key.InPort]
	fmt.Fprintf(&w, "block %d:\n", b.index)
	seen := map[*pmFilter]bool{}
	for _, cs := range []pmChains{b.hw, b.sw} {
		for _, c := range cs {
			for _, f := range c {
				if !seen[f] {
					seen[f] = true
					fmt.Fprintf(&w, "  flow %d in_hw %v: %s\n", f.flowID, f.inHW, f.f.String())
				}
			}
		}
	}
	return w.String()
}

// describeRules lists the pipeline's flows with their generator text and
// their placement.
func (m *pmRun) describeRules() string {
	text := map[pmRuleKey]string{}
	for _, r := range m.rules {
		text[r.key] = r.text()
	}
	var w strings.Builder
	for _, s := range m.tn.FlowStats(allFlows) {
		f := s.Flow
		fmt.Fprintf(&w, "  flow %d: %s  [%s: %s]\n", f.ID, text[pmRuleKey{f.Table, f.Priority, f.Match}], s.Tier, s.Reason)
	}
	return w.String()
}

// The generator's value pools are small, so that rules overlap and
// packets hit them.
var (
	pmPrios = []uint16{1, 5, 10, 10, 20, 100, 100, 1000, 32768, 65533, 65534, 65535}
	pmIPs   = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("10.0.1.1"),
		netip.MustParseAddr("10.1.0.1"), netip.MustParseAddr("192.168.0.1")}
	pmBits     = []int{8, 16, 24, 32}
	pmTps      = []uint16{53, 80, 443}
	pmMACs     = []string{"02:00:00:00:00:01", "02:00:00:00:00:02", "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff"}
	pmMACBytes = func() (out [][6]byte) {
		for _, s := range pmMACs {
			out = append(out, [6]byte(mustMAC(s)))
		}
		return out
	}()
	pmMasks = []string{"ff:ff:ff:ff:ff:ff", "01:00:00:00:00:00", "ff:ff:ff:00:00:00"}
	pmVIDs  = []uint16{10, 20}
	// pmEthTypes are the packets' ethertypes: IPv4 mostly, IPv6, ARP,
	// and one no rule names.
	pmEthTypes = []uint16{0x0800, 0x0800, 0x0800, 0x86dd, 0x0806, 0x88b5}
	pmProtos   = []uint8{6, 17, 1}
)

func (m *pmRun) chance(p float64) bool { return m.r.Float64() < p }

// pick returns an index into weights, drawn by weight.
func (m *pmRun) pick(weights ...float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := m.r.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

// port is a port number of the rules: one of the network's, now and then
// one beyond (no such port in a network of three).
func (m *pmRun) port() uint32 {
	if m.r.IntN(10) == 0 {
		return 4
	}
	return uint32(1 + m.r.IntN(3))
}

func (m *pmRun) genTable() uint8 { return uint8(m.pick(0.5, 0.3, 0.2)) }

// genRule returns a rule of table t: a catch-all now and then (of the
// table, or of one port), else a random match at a priority from a pool
// where they collide.
func (m *pmRun) genRule(t uint8) *pmRule {
	r := &pmRule{table: t}
	if m.chance([]float64{0.08, 0.4, 0.45}[t]) {
		if m.chance(0.3) {
			r.match = fmt.Sprintf("in_port=%d", m.port())
		}
		r.actions = []string{"drop", fmt.Sprintf("output:%d", m.port()), "output:CONTROLLER", "goto_table:2"}[m.pick(5, 3, 1, float64(2-t))]
		return r
	}
	r.prio = pmPrios[m.r.IntN(len(pmPrios))]
	r.match = m.genMatch(t)
	r.actions = m.genActions(t, r.match)
	return r
}

// pmIsIP reports whether a generated match says the packet is IPv4 or
// IPv6 (the TTL actions need it).
func pmIsIP(match string) bool {
	for _, f := range strings.Split(match, ",") {
		switch f {
		case "ip", "tcp", "udp", "icmp", "ipv6":
			return true
		}
	}
	return false
}

func (m *pmRun) genMatch(t uint8) string {
	var parts []string
	add := func(f string, args ...any) { parts = append(parts, fmt.Sprintf(f, args...)) }
	if m.chance(0.5) {
		add("in_port=%d", m.port())
	}
	class := []string{"", "ip", "tcp", "udp", "icmp", "arp", "ipv6"}[m.pick(0.25, 0.2, 0.2, 0.15, 0.05, 0.08, 0.07)]
	if class != "" {
		add("%s", class)
	}
	tagged := false
	switch m.pick(0.6, 0.15, 0.1, 0.15) {
	case 1:
		add("vlan_vid=none")
	case 2:
		add("vlan_vid=present")
		tagged = true
	case 3:
		add("vlan_vid=%d", pmVIDs[m.r.IntN(len(pmVIDs))])
		tagged = true
	}
	if tagged && m.chance(0.2) {
		add("vlan_pcp=%d", m.r.IntN(3))
	}
	if m.chance(0.15) {
		mac, mask := pmMACs[m.r.IntN(len(pmMACs))], pmMasks[m.r.IntN(len(pmMasks))]
		hw, mk := net.HardwareAddr(mustMAC(mac)), net.HardwareAddr(mustMAC(mask))
		for i := range hw {
			hw[i] &= mk[i]
		}
		add("eth_dst=%s/%s", hw, mk)
	}
	prefix := func(field string) {
		a, bits := pmIPs[m.r.IntN(len(pmIPs))], pmBits[m.r.IntN(len(pmBits))]
		add("%s=%s", field, netip.PrefixFrom(a, bits).Masked())
	}
	switch class {
	case "ip", "tcp", "udp", "icmp":
		if m.chance(0.5) {
			prefix("ipv4_dst")
		}
		if m.chance(0.15) {
			prefix("ipv4_src")
		}
		if m.chance(0.05) {
			add("ip_dscp=%d", m.r.IntN(2)*10)
		}
	case "arp":
		if m.chance(0.3) {
			add("arp_op=%d", 1+m.r.IntN(2))
		}
		if m.chance(0.3) {
			prefix("arp_tpa")
		}
	}
	if class == "tcp" || class == "udp" {
		if m.chance(0.5) {
			add("%s_dst=%d", class, pmTps[m.r.IntN(len(pmTps))])
		}
		if m.chance(0.15) {
			add("%s_src=%d", class, pmTps[m.r.IntN(len(pmTps))])
		}
	}
	if t > 0 && m.chance(0.03) {
		add("metadata=0/0xff") // every packet: no flower key, so the fast path's
	}
	return strings.Join(parts, ",")
}

// genActions returns the instructions of a rule with match: a jump to a
// later table (output before it now and then: nothing that rewrites the
// packet but its TTL), or outputs, drop, CONTROLLER, groups, a rewrite and
// an output, TTL decrements.
func (m *pmRun) genActions(t uint8, match string) string {
	ip := pmIsIP(match)
	if t < 2 && m.chance(0.3) {
		s := fmt.Sprintf("goto_table:%d", int(t)+1+m.r.IntN(2-int(t)))
		if m.chance(0.2) {
			s = fmt.Sprintf("output:%d,%s", m.port(), s)
		}
		if ip && m.chance(0.3) {
			s = []string{"dec_ttl,", "dec_ttl,dec_ttl,", "set_nw_ttl:2,"}[m.pick(3, 1, 2)] + s
		}
		return s
	}
	if ip && m.chance(0.2) {
		s := []string{"dec_ttl,output:%d", "dec_ttl,dec_ttl,output:%d", "output:%d,dec_ttl", "set_nw_ttl:3,dec_ttl,output:%d"}[m.pick(4, 1, 1, 1)]
		return fmt.Sprintf(s, m.port())
	}
	switch m.pick(4, 2, 0.5, 0.8, 0.3, 0.5, 0.4, 0.8) {
	case 0:
		return fmt.Sprintf("output:%d", m.port())
	case 1:
		return "drop"
	case 2:
		return "output:CONTROLLER"
	case 3:
		return "group:1"
	case 4:
		return "group:2"
	case 5:
		return fmt.Sprintf("set_field:%s->eth_dst,output:%d", pmMACs[m.r.IntN(2)], m.port())
	case 6:
		return "output:IN_PORT"
	}
	return fmt.Sprintf("output:%d,output:%d", m.port(), m.port())
}

func mustMAC(s string) []byte {
	hw, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return hw
}

// packet returns a packet arriving on a live port: random fields from the
// pools, most often overlaid with a rule's match (on the rule's in_port
// when it has one) and then perturbed in a field or two, so that packets
// hit rules, the rules above them and the rules below.
func (m *pmRun) packet() tcflower.Packet {
	r := m.r
	var k pipeline.Key
	k.EthType = pmEthTypes[r.IntN(len(pmEthTypes))]
	if r.IntN(2) == 0 {
		k.VlanVID = pipeline.VIDPresent | []uint16{10, 20, 30}[r.IntN(3)]
		k.VlanPCP = uint8(r.IntN(3))
	}
	mac := func() [6]byte { return pmMACBytes[r.IntN(len(pmMACBytes))] }
	ip := func() [16]byte {
		var b [16]byte
		a := pmIPs[r.IntN(len(pmIPs))].As4()
		copy(b[:], a[:])
		b[3] ^= byte(r.IntN(2)) // near the pool, not always on it
		return b
	}
	k.EthDst, k.EthSrc = mac(), mac()
	k.L3Src, k.L3Dst = ip(), ip()
	k.IPProto = pmProtos[r.IntN(len(pmProtos))]
	k.TpSrc, k.TpDst = pmTps[r.IntN(len(pmTps))], pmTps[r.IntN(len(pmTps))]
	k.ArpOp = uint16(1 + r.IntN(2))
	k.IPDSCP = uint8(r.IntN(2) * 10)
	mo := &m.model
	port := mo.ports[r.IntN(len(mo.ports))]
	var f *pipeline.Flow
	switch x := r.IntN(10); {
	case x < 4 && len(mo.blocks[port].flows) > 0:
		f = mo.blocks[port].flows[r.IntN(len(mo.blocks[port].flows))]
	case x < 9 && len(mo.flows) > 0:
		f = mo.flows[r.IntN(len(mo.flows))]
		if in := f.Match.Key.InPort; f.Match.Mask.InPort != 0 && m.live[in] && r.IntN(10) < 7 {
			port = in
		}
	}
	if f != nil {
		pmOverlay(&k, &f.Match)
		for n := r.IntN(4) - 1; n > 0; n-- {
			switch r.IntN(6) {
			case 0:
				k.EthType = pmEthTypes[r.IntN(len(pmEthTypes))]
			case 1:
				k.VlanVID = []uint16{0, pipeline.VIDPresent | 10, pipeline.VIDPresent | 30}[r.IntN(3)]
			case 2:
				k.L3Dst = ip()
			case 3:
				k.IPProto = pmProtos[r.IntN(len(pmProtos))]
			case 4:
				k.TpDst = pmTps[r.IntN(len(pmTps))]
			case 5:
				k.EthDst = mac()
			}
		}
	}
	if k.VlanVID&pipeline.VIDPresent == 0 {
		k.VlanVID, k.VlanPCP = 0, 0
	}
	k.InPort, k.Metadata, k.TunnelID = port, 0, 0
	if k.EthType == pipeline.EthTypeIPv4 || k.EthType == pipeline.EthTypeIPv6 {
		k.IPTTL = []uint8{0, 1, 2, 3, 4, 64}[r.IntN(6)]
	}
	p := tcflower.Packet{Key: k, In: tcflower.Port{Name: fmt.Sprintf("vf%d", port)}}
	if r.IntN(4) == 0 {
		p.TPID = tcflower.EthType8021AD
	}
	return p
}

// pmOverlay sets the bits of k that m matches to m's values (every field
// the generator matches; in_port, metadata and tunnel_id are the caller's).
func pmOverlay(k *pipeline.Key, m *pipeline.Match) {
	v, mk := &m.Key, &m.Mask
	pmOverlayBytes(k.EthDst[:], v.EthDst[:], mk.EthDst[:])
	pmOverlayBytes(k.EthSrc[:], v.EthSrc[:], mk.EthSrc[:])
	pmOverlayBytes(k.L3Src[:], v.L3Src[:], mk.L3Src[:])
	pmOverlayBytes(k.L3Dst[:], v.L3Dst[:], mk.L3Dst[:])
	pmOverlayBytes(k.NDTarget[:], v.NDTarget[:], mk.NDTarget[:])
	pmOverlayBytes(k.ArpSHA[:], v.ArpSHA[:], mk.ArpSHA[:])
	pmOverlayBytes(k.ArpTHA[:], v.ArpTHA[:], mk.ArpTHA[:])
	k.EthType = k.EthType&^mk.EthType | v.EthType
	k.VlanVID = k.VlanVID&^mk.VlanVID | v.VlanVID
	k.VlanPCP = k.VlanPCP&^mk.VlanPCP | v.VlanPCP
	k.IPDSCP = k.IPDSCP&^mk.IPDSCP | v.IPDSCP
	k.IPECN = k.IPECN&^mk.IPECN | v.IPECN
	k.IPProto = k.IPProto&^mk.IPProto | v.IPProto
	k.ICMPType = k.ICMPType&^mk.ICMPType | v.ICMPType
	k.ICMPCode = k.ICMPCode&^mk.ICMPCode | v.ICMPCode
	k.TCPFlags = k.TCPFlags&^mk.TCPFlags | v.TCPFlags
	k.TpSrc = k.TpSrc&^mk.TpSrc | v.TpSrc
	k.TpDst = k.TpDst&^mk.TpDst | v.TpDst
	k.ArpOp = k.ArpOp&^mk.ArpOp | v.ArpOp
	k.IPv6Flabel = k.IPv6Flabel&^mk.IPv6Flabel | v.IPv6Flabel
}

func pmOverlayBytes(k, v, mask []byte) {
	for i := range k {
		k[i] = k[i]&^mask[i] | v[i]
	}
}

// pmRegression installs rules (flowtext; "barrier" for a barrier) on a
// network of policy with ports 1..ports, its device set up by setup,
// checks the placement rules on what the tc tier holds (CheckPlacement)
// and runs packets through the model: each must take the reference's rules
// in tc or reach the fast path.
func pmRegression(t *testing.T, policy Policy, ports int, setup func(*fakeTC), rules []string, packets ...tcflower.Packet) {
	t.Helper()
	clock := newClock()
	kern := newFakeTC(clock.Now)
	if setup != nil {
		setup(kern)
	}
	tn := newTCNet(t, kern, clock, tcNetOpts{policy: policy, ports: ports, noRun: true})
	for _, r := range rules {
		if r == "barrier" {
			tn.barrier(t)
			continue
		}
		tn.mod(t, flowtext.MustFlowMod(r))
	}
	tn.barrier(t) // and CheckPlacement
	mo := pmModel{tn: tn, perPort: policy != PolicyTC}
	var all []uint32
	for no := uint32(1); no <= uint32(ports); no++ {
		all = append(all, no)
	}
	mo.load(all)
	for _, p := range packets {
		if _, kind := mo.run(&p); kind != "" {
			var w strings.Builder
			for _, s := range tn.FlowStats(allFlows) {
				fmt.Fprintf(&w, "  flow %d: table %d priority %d: %s %s\n", s.Flow.ID, s.Flow.Table, s.Flow.Priority, s.Tier, s.Reason)
			}
			t.Errorf("%s\n%srules:\n%s", kind, mo.describe(&p), w.String())
		}
	}
}

// pmPacket is a packet arriving on port in whose fields are those named by
// a flowtext match ("ip,vlan_vid=10"), the others zero; tpid is its outer
// tag's TPID.
func pmPacket(t *testing.T, in uint32, tpid uint16, fields string) tcflower.Packet {
	t.Helper()
	f, err := flowtext.Flow(fields + ",actions=drop")
	if err != nil {
		t.Fatal(err)
	}
	k := f.Match.Key
	k.InPort = in
	return tcflower.Packet{Key: k, TPID: tpid, In: tcflower.Port{Name: fmt.Sprintf("vf%d", in)}}
}

// pmInHWByTPID makes the device take a filter without flags into hardware
// by the TPID it matches: q answers for the 802.1Q half of a VLAN rule
// and for filters that match no tag, ad for the 802.1ad half. fakeTC asks
// its inHW hook with the filter as read back (both halves say 802.1Q), so
// the refuse hook, which sees the filter as sent, notes the TPID first.
func pmInHWByTPID(k *fakeTC, q, ad bool) {
	var sent uint16 // guarded by k.mu, under which fakeTC calls both hooks
	k.setRefuse(func(_ string, _ uint32, f *tcflower.Filter) error {
		sent = f.Keys.EthType
		return nil
	})
	k.setInHW(func(*tcflower.Filter) bool {
		return q && sent != tcflower.EthType8021AD || ad && sent == tcflower.EthType8021AD
	})
}

// Found by TestPlacementModel (seed 1): two overlapping rules of one
// priority share a tc pref, where flower does not order filters, and were
// both offloaded; the pipeline and the fast path let the older one win.
func TestPlacementModelRegressionOverlapAtOnePriority(t *testing.T) {
	for _, policy := range []Policy{PolicyHW, PolicyAuto, PolicyTC} {
		t.Run(string(policy), func(t *testing.T) {
			pmRegression(t, policy, 2, nil, []string{
				"table=0,priority=10,in_port=1,actions=output:2",
				"table=0,priority=10,in_port=1,ip,actions=drop",
			}, pmPacket(t, 1, 0, "ip"), pmPacket(t, 1, 0, "arp"))
		})
	}
}

// Found by TestPlacementModel (seeds 1-3): under auto the driver answers
// in_hw per filter, so it may take one half of a VLAN rule
// (tcflower.Filter.Twin) into hardware and not the other; placement goes
// by the 802.1Q half's answer alone.
func TestPlacementModelRegressionVlanHalvesApartInHardware(t *testing.T) {
	// The 802.1Q half in hardware, the 802.1ad half not: the rule counts
	// as in hardware, so the lower rule stays there too, and takes the
	// 802.1ad-tagged packets ahead of the higher rule's 802.1ad half in
	// kernel software.
	t.Run("802.1ad half in software", func(t *testing.T) {
		pmRegression(t, PolicyAuto, 2, func(k *fakeTC) { pmInHWByTPID(k, true, false) }, []string{
			"table=0,priority=100,vlan_vid=10,actions=drop",
			"table=0,priority=10,actions=output:2",
		}, pmPacket(t, 1, tcflower.EthType8021AD, "ip,vlan_vid=10"), pmPacket(t, 1, tcflower.EthType8021Q, "ip,vlan_vid=10"))
	})
	// The 802.1ad half alone in hardware: the rule counts as in kernel
	// software, so the chain it jumps to needs to be complete there only,
	// but its 802.1ad half jumps in hardware, into a chain where the
	// hardware holds nothing.
	t.Run("802.1ad half alone in hardware", func(t *testing.T) {
		pmRegression(t, PolicyAuto, 2, func(k *fakeTC) { pmInHWByTPID(k, false, true) }, []string{
			"table=0,priority=100,vlan_vid=10,actions=goto_table:1",
			"table=1,priority=0,actions=drop",
		}, pmPacket(t, 1, tcflower.EthType8021AD, "ip,vlan_vid=10"), pmPacket(t, 1, tcflower.EthType8021Q, "ip,vlan_vid=10"))
	})
}

// Found by TestPlacementModel (seeds 1, 2): devices with room for two
// filters per port. A sync installs a table's rules lowest priority first,
// so the lower rules take the room and the higher, overlapping one is
// refused (ENOSPC); placing again moves them all out (closure), which
// frees the room, which gives the refused rule another try, and so on:
// the sync's passes (shared by the blocks of both ports) run out with the
// lower rules in hardware on port 1 and the higher one in no filter.
func TestPlacementModelRegressionDeviceFullTakesTheHigherRule(t *testing.T) {
	pmRegression(t, PolicyHW, 2, func(k *fakeTC) { k.setCapacity(2) }, []string{
		"table=0,priority=50,arp,actions=drop",
		"table=0,priority=15,in_port=1,tcp,actions=drop",
		"table=0,priority=10,ip,actions=drop",
		"barrier",
		"table=0,priority=25,vlan_vid=10,actions=drop",
	}, pmPacket(t, 1, tcflower.EthType8021Q, "tcp,vlan_vid=10"), pmPacket(t, 1, 0, "tcp"))
}
