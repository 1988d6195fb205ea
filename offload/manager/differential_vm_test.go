package manager

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/softpath/packet"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The differential test's knobs (environment; in the VM pass them with
// NICFLOW_VM_APPEND=nicflow.env=NAME=VALUE).
const (
	envDiffSeed    = "NICFLOW_DIFF_SEED"    // default dgDefaultSeed; "time": from the clock
	envDiffSets    = "NICFLOW_DIFF_SETS"    // rule sets, default 8
	envDiffRules   = "NICFLOW_DIFF_RULES"   // rules per set, default 24
	envDiffPackets = "NICFLOW_DIFF_PACKETS" // packets per phase of a set, default 250
	// envDiffPolicy is the offload policy, default auto: on veths (no
	// offload) every filter lands in kernel software, on the per-port
	// blocks of the hardware policies; tc runs the shared block.
	envDiffPolicy = "NICFLOW_DIFF_POLICY"
	// envDiffQinQ is the percentage of tagged packets sent with an 802.1ad
	// tag, default 30: OpenFlow's vlan_vid matches the outer tag whatever
	// its TPID, so a tc rule matching vlan_vid has an 802.1Q and an
	// 802.1ad filter (see TestTCTierQinQVlanMatch).
	envDiffQinQ = "NICFLOW_DIFF_QINQ"
)

const dgDefaultSeed = 20240611

// dgMaxReports bounds the divergences reported in full.
const dgMaxReports = 6

func dgEnvInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	if name == envDiffSeed && v == "time" {
		return time.Now().UnixNano()
	}
	n, err := strconv.ParseInt(v, 0, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// dgTotals are the test's figures, reported at the end.
type dgTotals struct {
	sets, rules, packets, divergences, counterDivergences int
	ruleTier                                              map[offload.Tier]int
	softReasons                                           map[string]int
	handled                                               map[string]int // rule hits by the tier that counted them; packets no rule took
	outputs                                               int
	tcGotos                                               int // offloaded rules with goto_table
	tcChained                                             int // packets that went through more than one table in tc
	// The MPLS and TTL parts: offloaded rules that decrement a TTL, that
	// push, pop or rewrite MPLS; packets sent with a label stack; packets
	// whose TTL a rule's decrement expired (INVALID_TTL), and how many of
	// those met the decrement in a rule offloaded to tc (a TTL guard took
	// them to the fast path).
	tcTTLRules, tcMPLSRules         int
	mplsPackets, expired, expiredTC int
	guards                          int // TTL guards found in the blocks (summed over the checks)
}

// TestTCTierDifferential pushes seeded random rule sets over OpenFlow into
// a network with the tc tier (policy tc), sends random packets through its
// ports and checks that what leaves every port is exactly what the
// pipeline's reference evaluation (pipeline.Snapshot.Evaluate of the
// installed snapshot) says, whichever tier (tc flower or the Go fast path
// behind the miss filters) handled the packet; and that each rule the
// reference hit counted the packet once.
func TestTCTierDifferential(t *testing.T) {
	vmtest.Require(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root (veth pairs, tc)")
	}
	seed := dgEnvInt(t, envDiffSeed, dgDefaultSeed)
	nSets := int(dgEnvInt(t, envDiffSets, 20))
	nRules := int(dgEnvInt(t, envDiffRules, 24))
	nPackets := int(dgEnvInt(t, envDiffPackets, 250))
	policy := os.Getenv(envDiffPolicy)
	if policy == "" {
		policy = "auto"
	}
	t.Logf("seed %d, policy %s, %d rule sets x %d rules x 2 phases (install, change) x %d packets (reproduce: NICFLOW_VM_APPEND=nicflow.env=%s=%d)",
		seed, policy, nSets, nRules, nPackets, envDiffSeed, seed)

	tt := newTierTopo(t, "dif", policy)
	ctx := context.Background()
	for _, gm := range dgGroups {
		if err := tt.c.GroupMod(ctx, gm); err != nil {
			t.Fatalf("group %d: %v", gm.ID, err)
		}
	}
	g := newDGGen(seed)
	g.qinq = float64(dgEnvInt(t, envDiffQinQ, 30)) / 100
	tot := &dgTotals{
		ruleTier:    map[offload.Tier]int{},
		softReasons: map[string]int{},
		handled:     map[string]int{},
	}
	start := time.Now()
	for set := 0; set < nSets; set++ {
		dr := &dgRun{t: t, tt: tt, network: "dif", g: g, set: set, seed: seed, tot: tot}
		// Every other rule set sends the packets whose TTL expires to the
		// controller (OFPC_INVALID_TTL_TO_CONTROLLER), the others drop them.
		dr.invalidTTL = set%2 == 1
		if err := tt.n.net.SetSwitchConfig(offload.SwitchConfig{InvalidTTLToController: dr.invalidTTL}); err != nil {
			t.Fatal(err)
		}
		dr.reset()
		rules := g.ruleSet(nRules)
		changes := make([]dgChange, len(rules))
		for i, r := range rules {
			changes[i] = dgChange{rule: r}
		}
		dr.apply(0, rules, changes)
		dr.traffic(0, rules, nPackets)
		// The controller changes the rule set: rules move between tiers,
		// filters are replaced and removed, tables stop or start being
		// complete.
		rules, changes = g.mutate(rules)
		dr.apply(1, rules, changes)
		dr.traffic(1, rules, nPackets)
		tot.sets++
		if t.Failed() && tot.divergences+tot.counterDivergences == 0 {
			break // a setup failure: no point in going on
		}
	}

	t.Logf("differential: %d rule sets (%d rule placements over install and change), %d packets in %v: %d output divergences, %d counter divergences",
		tot.sets, tot.rules, tot.packets, time.Since(start).Round(time.Millisecond), tot.divergences, tot.counterDivergences)
	t.Logf("tier split of rule placements: tc %d (%d with goto_table), soft %d, hw %d",
		tot.ruleTier[offload.TierTC], tot.tcGotos, tot.ruleTier[offload.TierSoft], tot.ruleTier[offload.TierHW])
	t.Logf("rule hits by the tier that counted them, and packets no rule took: %s (%d packets through several tables in tc); expected %d frames and packet-ins",
		dgFormatCounts(tot.handled), tot.tcChained, tot.outputs)
	t.Logf("why rules stayed soft: %s", dgFormatCounts(tot.softReasons))
	t.Logf("MPLS and TTLs: %d rule placements in tc decrement a TTL, %d push, pop or rewrite MPLS; %d packets sent with a label stack; %d packets' TTL expired in a rule (INVALID_TTL), %d of them at a rule in tc, taken to the fast path by a TTL guard; %d guard filters seen",
		tot.tcTTLRules, tot.tcMPLSRules, tot.mplsPackets, tot.expired, tot.expiredTC, tot.guards)
	if tot.divergences > 0 || tot.counterDivergences > 0 {
		t.Errorf("%d output and %d counter divergences between the tiers and the reference (seed %d)", tot.divergences, tot.counterDivergences, seed)
	}
	// The test only means something when both tiers and the miss path
	// carried traffic.
	if tot.ruleTier[offload.TierTC] == 0 || tot.ruleTier[offload.TierSoft] == 0 {
		t.Errorf("rules in tc %d, soft %d: want both tiers used", tot.ruleTier[offload.TierTC], tot.ruleTier[offload.TierSoft])
	}
	if tot.handled["tc"] == 0 || tot.handled["soft"] == 0 {
		t.Errorf("packets handled in tc %d, in the fast path %d: want both", tot.handled["tc"], tot.handled["soft"])
	}
	if min(tot.tcTTLRules, tot.tcMPLSRules, tot.mplsPackets, tot.expiredTC, tot.guards) == 0 {
		t.Errorf("MPLS and TTLs not exercised: %d TTL and %d MPLS rules in tc, %d MPLS packets, %d TTLs expired at a rule in tc, %d guards",
			tot.tcTTLRules, tot.tcMPLSRules, tot.mplsPackets, tot.expiredTC, tot.guards)
	}
}

// dgRun is one rule set's run.
type dgRun struct {
	t       *testing.T
	tt      *tierTopo
	network string
	g       *dgGen
	set     int
	seed    int64
	tot     *dgTotals

	byID map[uint64]offload.FlowStat // the rule set's flows after install, by flow ID
	text map[uint64]string           // rule text by flow ID
	pins [][]byte                    // packet-ins received, as dgCtrlFrame encodes them
	// invalidTTL: the network sends packets whose TTL expires to the
	// controller (OFPC_INVALID_TTL_TO_CONTROLLER).
	invalidTTL bool
}

// dgPacketRun is one packet of a run and what was expected of it.
type dgPacketRun struct {
	p    *dgPacket
	want *dgExpect
}

// reset deletes every rule and checks that only the miss filters are
// left in the block.
func (dr *dgRun) reset() {
	t, tt := dr.t, dr.tt
	ctx := context.Background()
	if err := tt.c.DelFlows(ctx, pipeline.TableAll, nil); err != nil {
		t.Fatalf("set %d: delete all flows: %v", dr.set, err)
	}
	if err := tt.c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	dr.checkFilters(0)
}

// checkFilters checks that the block holds the miss filters and the
// filters of the offloaded rules (wantRules of them, see dgFilters).
func (dr *dgRun) checkFilters(wantRules int) {
	all := kernelFilters(dr.t, dr.network, dr.tt.ports...)
	var ds []tcflower.Dumped // without the TTL guards
	for _, d := range all {
		if c, ok := tcflower.ParseCookie(d.Filter.Cookie); ok && c.FlowID == 0 && d.Filter.Chain == 0 && d.Filter.Pref == tcflower.GuardPref {
			dr.tot.guards++
			continue
		}
		ds = append(ds, d)
	}
	if len(ds) == wantRules+len(dr.tt.taps) {
		return
	}
	var fs []string
	for _, d := range ds {
		fs = append(fs, "  "+d.Filter.String())
	}
	dr.t.Errorf("set %d: the block holds %d filters, want %d for the offloaded rules and %d miss filters:\n%s",
		dr.set, len(ds), wantRules, len(dr.tt.taps), strings.Join(fs, "\n"))
}

// apply sends changes over OpenFlow, then a barrier, and records the
// placement of rules (the rule set after the changes).
func (dr *dgRun) apply(phase int, rules []*dgRule, changes []dgChange) {
	t, tt := dr.t, dr.tt
	ctx := context.Background()
	for _, c := range changes {
		if err := tt.c.FlowMod(ctx, c.flowMod()); err != nil {
			t.Fatalf("set %d: flow mod %q (delete %v): %v", dr.set, c.rule.text(), c.delete, err)
		}
	}
	if err := tt.c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	dr.byID = dr.flowStats()
	if len(dr.byID) != len(rules) {
		t.Fatalf("set %d phase %d: %d flows installed, want %d", dr.set, phase, len(dr.byID), len(rules))
	}
	byCookie := map[uint64]string{}
	for _, r := range rules {
		byCookie[r.cookie] = r.text()
	}
	dr.text = map[uint64]string{}
	offloaded := 0
	for id, fs := range dr.byID {
		dr.text[id] = byCookie[fs.Flow.Cookie]
		dr.tot.ruleTier[fs.Tier]++
		switch {
		case fs.Tier == offload.TierSoft:
			dr.tot.softReasons[dgReasonClass(fs.Reason)]++
		case fs.Flow.Instr.Goto:
			dr.tot.tcGotos++
		}
		if fs.Tier != offload.TierSoft {
			_, acts, _ := strings.Cut(byCookie[fs.Flow.Cookie], "actions=")
			if strings.Contains(acts, "dec_") {
				dr.tot.tcTTLRules++
			}
			if strings.Contains(acts, "mpls") {
				dr.tot.tcMPLSRules++
			}
		}
		offloaded += fs.Filters
	}
	dr.tot.rules += len(rules)
	dr.checkFilters(offloaded)
}

// traffic sends nPackets packets aimed at rules and checks them against
// the installed snapshot (send).
func (dr *dgRun) traffic(phase int, rules []*dgRule, nPackets int) {
	snap := dr.tt.n.net.Datapath().Snapshot()
	var packets []*dgPacket
	for i := 0; i < nPackets; i++ {
		packets = append(packets, dr.g.packet(rules, uint32(dr.set)<<16|uint32(phase)<<12|uint32(i)))
	}
	dr.send(phase, snap, packets)
}

// send sends packets back to back and compares what leaves every port and
// reaches the controller with their reference evaluation in snap, packet
// by packet (each carries its sequence number), and what every rule
// counted with how many of them the reference says it took.
func (dr *dgRun) send(phase int, snap *pipeline.Snapshot, packets []*dgPacket) {
	t, tt := dr.t, dr.tt
	var runs []*dgPacketRun
	hits := map[uint64]uint64{} // flow ID -> packets the reference says it takes
	seqs := map[uint32]bool{}
	total := 0
	for _, p := range packets {
		want, err := dgExpectOf(snap, p, dr.invalidTTL)
		if err != nil {
			t.Errorf("set %d: %v", dr.set, err)
			continue
		}
		if p.class == dgMPLS {
			dr.tot.mplsPackets++
		}
		if hit, ok := dgExpiredAt(snap, p); ok {
			dr.tot.expired++
			if dr.byID[hit].Tier != offload.TierSoft {
				dr.tot.expiredTC++
			}
		}
		pr := &dgPacketRun{p: p, want: want}
		runs = append(runs, pr)
		seqs[p.seq] = true
		total += want.total
		tc, ruled := len(want.res.Hits) > 0, false
		for _, h := range want.res.Hits {
			if h.FlowID != 0 {
				hits[h.FlowID]++
				ruled = true
				tc = tc && dr.byID[h.FlowID].Tier != offload.TierSoft
			} else {
				tc = false
			}
		}
		if tc && len(want.res.Hits) > 1 {
			dr.tot.tcChained++
		}
		if !ruled {
			dr.tot.handled["no rule (table miss)"]++
		}
		tt.taps[p.inPort-1].send(t, p.frame, 1)
		dr.tot.packets++
		dr.tot.outputs += want.total
	}
	dr.waitFrames(seqs, total)
	dr.settle(hits)
	dr.quiesce() // late or extra frames arrive before it returns
	got := dr.drain()
	reported := 0
	for _, pr := range runs {
		var want, have [4][]string
		var captured [4][][]byte
		if c := got[pr.p.seq]; c != nil {
			captured = *c
		}
		diverged := false
		for port := range want {
			wf, hf := pr.want.frames[port], captured[port]
			if pr.want.anyTPID && port != dgCtrl {
				wf, hf = dgMap(wf, dgSameTPID), dgMap(hf, dgSameTPID)
			}
			want[port] = dgHexes(wf)
			have[port] = dgHexes(hf)
			if !cmp.Equal(want[port], have[port]) {
				diverged = true
			}
		}
		delete(got, pr.p.seq)
		if !diverged {
			continue
		}
		dr.tot.divergences++
		if reported++; reported <= dgMaxReports {
			dr.report(pr, want, have)
		}
	}
	for seq, fs := range got {
		t.Errorf("set %d: frames of unknown packet %#x: %v", dr.set, seq, fs)
	}
	if reported > 0 {
		dr.dumpRules(phase)
	}
}

// dgWitnessSeq is the sequence number of quiesce's witness frames.
const dgWitnessSeq = 0xffffffff

// quiesce returns once everything the packets sent so far cause has
// reached the taps and the controller, so that what drain finds is all
// they will ever cause:
//
//  1. the fast path has handled and written out every frame tc sent it: a
//     frame with a miss tag that names no port, sent into the miss device
//     after them, is dropped (MissDropped) once the fast path has read
//     every earlier one; a second, sent after that, is read only after the
//     batch of the first was written out;
//  2. every frame written to a port has reached its tap: a witness frame
//     written to each port after them arrives behind them;
//  3. every packet-in has reached the client: a barrier reply follows the
//     asynchronous messages queued before it.
func (dr *dgRun) quiesce() {
	t, tt := dr.t, dr.tt
	dp := tt.n.net.Datapath()
	missDev, _ := tcport.Names(dr.network)
	w := dgWitnessFrame()
	tagged := append(append(append([]byte{}, w[:12]...), 0x88, 0xa8, 0, 0), w[12:]...) // softpath.MissTPID, VID 0: no port
	for range 2 {
		before := dp.MissDropped()
		tt.witness(t, missDev, tagged)
		waitfor.True(t, 5*time.Second, "the fast path to drop a miss frame naming no port", func() bool {
			return dp.MissDropped() > before
		})
	}
	for i, port := range tt.ports {
		tt.witness(t, port, dgWitnessFrame())
		tp := tt.taps[i]
		waitfor.True(t, 5*time.Second, "the witness frame on "+tp.name, func() bool {
			tp.mu.Lock()
			defer tp.mu.Unlock()
			for j, f := range tp.got {
				if seq, ok := dgSeq(f); ok && seq == dgWitnessSeq {
					tp.got = append(tp.got[:j], tp.got[j+1:]...)
					return true
				}
			}
			return false
		})
	}
	if err := tt.c.Barrier(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// dgWitnessFrame is a frame of no test packet that only quiesce sends.
func dgWitnessFrame() []byte {
	f := make([]byte, 14, 64)
	copy(f, []byte{0x02, 0, 0, 0, 0xff, 0xfe, 0x02, 0, 0, 0, 0xff, 0xff, 0x88, 0xb5}) // local experimental ethertype
	return append(f, dgPayload(dgWitnessSeq)...)
}

// flowStats returns the network's flows by ID.
func (dr *dgRun) flowStats() map[uint64]offload.FlowStat {
	out := map[uint64]offload.FlowStat{}
	for _, fs := range dr.tt.n.net.FlowStats(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}) {
		out[fs.Flow.ID] = fs
	}
	return out
}

// waitFrames waits until the taps and the controller hold want frames and
// packet-ins of the packets seqs (up to 5 s).
func (dr *dgRun) waitFrames(seqs map[uint32]bool, want int) {
	_ = waitfor.Until(5*time.Second, func() error { // send compares what came
		dr.pollPacketIns()
		n := 0
		for _, f := range dr.pins {
			if s, ok := dgSeq(f); ok && seqs[s] {
				n++
			}
		}
		for _, tp := range dr.tt.taps {
			tp.mu.Lock()
			for _, f := range tp.got {
				if s, ok := dgSeq(f); ok && seqs[s] {
					n++
				}
			}
			tp.mu.Unlock()
		}
		if n < want {
			return fmt.Errorf("%d of %d frames and packet-ins", n, want)
		}
		return nil
	})
}

// settle waits until the rules have counted as many packets as the
// reference says they took (up to 5 s), records which tier counted them,
// and checks that every rule counted exactly the packets the reference
// gave it. It moves dr.byID on to the flow stats after the packets.
func (dr *dgRun) settle(hits map[uint64]uint64) {
	var want uint64
	for _, n := range hits {
		want += n
	}
	prev := dr.byID
	var now map[uint64]offload.FlowStat
	_ = waitfor.Until(5*time.Second, func() error { // each rule's count is checked below
		now = dr.flowStats()
		var sum uint64
		for id, fs := range now {
			sum += fs.Packets - prev[id].Packets
		}
		if sum < want {
			return fmt.Errorf("%d of %d packets counted", sum, want)
		}
		return nil
	})
	for id, fs := range now {
		tc := fs.TC.Packets + fs.HW.Packets - prev[id].TC.Packets - prev[id].HW.Packets
		soft := fs.Soft.Packets - prev[id].Soft.Packets
		dr.tot.handled["tc"] += int(tc)
		dr.tot.handled["soft"] += int(soft)
		if tc+soft != hits[id] {
			dr.tot.counterDivergences++
			if dr.tot.counterDivergences <= dgMaxReports {
				dr.t.Errorf("set %d: rule %s [%s %s] counted %d packets (tc %d, soft %d), the reference gave it %d",
					dr.set, dr.text[id], fs.Tier, fs.Reason, tc+soft, tc, soft, hits[id])
			}
		}
	}
	dr.byID = now
}

// pollPacketIns takes the packet-ins the client has received.
func (dr *dgRun) pollPacketIns() {
	for {
		select {
		case m := <-dr.tt.c.Async():
			if m.Header.Type != of.TypePacketIn {
				continue
			}
			pi, err := ofwire.DecodePacketIn(m.Body)
			if err != nil {
				dr.t.Errorf("set %d: decode packet-in: %v", dr.set, err)
				continue
			}
			dr.pins = append(dr.pins, dgCtrlFrame(pi.Match.Key.InPort, pi.Reason, pi.Data))
		default:
			return
		}
	}
}

// drain takes every captured frame and packet-in, by packet sequence
// number and destination (port-1, or dgCtrl).
func (dr *dgRun) drain() map[uint32]*[4][][]byte {
	out := map[uint32]*[4][][]byte{}
	put := func(i int, where string, f []byte) {
		seq, ok := dgSeq(f)
		if !ok {
			dr.t.Logf("set %d: %s got a frame of no test packet: %x", dr.set, where, f)
			return
		}
		if out[seq] == nil {
			out[seq] = &[4][][]byte{}
		}
		out[seq][i] = append(out[seq][i], f)
	}
	for i, tp := range dr.tt.taps {
		tp.mu.Lock()
		frames := tp.got
		tp.got = nil
		tp.mu.Unlock()
		for _, f := range frames {
			put(i, tp.name, f)
		}
	}
	dr.pollPacketIns()
	for _, f := range dr.pins {
		put(dgCtrl, "the controller", f)
	}
	dr.pins = nil
	return out
}

func (dr *dgRun) report(pr *dgPacketRun, want, have [4][]string) {
	var b strings.Builder
	fmt.Fprintf(&b, "set %d (seed %d) packet %s diverges\n", dr.set, dr.seed, pr.p)
	fmt.Fprintf(&b, "  frame sent: %x\n", pr.p.frame)
	fmt.Fprintf(&b, "  reference path: %s\n", dr.formatHits(pr.want.res.Hits))
	for i := range want {
		if cmp.Equal(want[i], have[i]) {
			continue
		}
		where := fmt.Sprintf("port %d", i+1)
		if i == dgCtrl {
			where = "controller (in_port, reason, data)"
		}
		fmt.Fprintf(&b, "  %s (-want +got):\n%s", where, cmp.Diff(want[i], have[i]))
	}
	dr.t.Error(b.String())
}

func (dr *dgRun) dumpRules(phase int) {
	var lines []string
	for id, fs := range dr.byID {
		l := fmt.Sprintf("  [%s] %s", fs.Tier, dr.text[id])
		if fs.Reason != "" {
			l += "   # " + fs.Reason
		}
		lines = append(lines, l)
	}
	sort.Strings(lines)
	dr.t.Logf("set %d phase %d rules (tier, rule, reason):\n%s", dr.set, phase, strings.Join(lines, "\n"))
}

func (dr *dgRun) formatHits(hits []pipeline.Hit) string {
	var parts []string
	for _, h := range hits {
		if h.FlowID == 0 {
			parts = append(parts, fmt.Sprintf("table %d miss", h.Table))
			continue
		}
		fs := dr.byID[h.FlowID]
		parts = append(parts, fmt.Sprintf("[%s] %s", fs.Tier, dr.text[h.FlowID]))
	}
	return strings.Join(parts, " -> ")
}

func dgMap(fs [][]byte, f func([]byte) []byte) [][]byte {
	out := make([][]byte, len(fs))
	for i := range fs {
		out[i] = f(fs[i])
	}
	return out
}

func dgHexes(fs [][]byte) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, hex.EncodeToString(f))
	}
	sort.Strings(out)
	return out
}

// dgExpiredAt returns the rule in which p's TTL expires (the last rule
// the reference hits, when it reports INVALID_TTL), if it does.
func dgExpiredAt(snap *pipeline.Snapshot, p *dgPacket) (uint64, bool) {
	res := snap.EvaluateWith(p.key(), len(p.frame), pipeline.EvalOptions{InvalidTTLToController: true})
	for _, o := range res.Outputs {
		if o.Reason == pipeline.ReasonInvalidTTL && len(res.Hits) > 0 {
			return res.Hits[len(res.Hits)-1].FlowID, true
		}
	}
	return 0, false
}

// dgReasonClass shortens a soft rule's reason to its kind, for the summary.
func dgReasonClass(r string) string {
	switch {
	case strings.Contains(r, "TTL guard"):
		return "TTL guard"
	case strings.Contains(r, "rewrites a TTL"):
		return "TTL rewrite before decrements"
	case strings.Contains(r, "push_mpls copies"):
		return "push_mpls copies what tc cannot"
	case strings.Contains(r, "Matching on MPLS"):
		return "MPLS match (device)"
	case strings.Contains(r, "higher-priority overlapping"):
		return "shadowed by a soft rule"
	case strings.Contains(r, "shares tc pref"):
		return "shares a tc pref"
	case strings.Contains(r, "is not complete"):
		return "goto to an incomplete table"
	case strings.Contains(r, "CONTROLLER"):
		return "output:CONTROLLER"
	case strings.Contains(r, "group:"):
		return "group"
	case strings.Contains(r, "write_actions with goto"):
		return "write_actions+goto"
	case strings.Contains(r, "metadata"):
		return "metadata"
	case strings.Contains(r, "set_field"):
		return "set_field"
	}
	if i := strings.IndexAny(r, ":("); i > 0 {
		return r[:i]
	}
	return r
}

func dgFormatCounts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// TestTCTierQinQVlanMatch is the smallest case of a divergence the
// differential test found with 802.1ad-tagged packets: the pipeline (and
// the fast path) match vlan_vid on the outer tag whatever its TPID, a
// flower filter on the TPID its eth_type names, so with only an 802.1Q
// filter an 802.1ad frame skipped the offloaded vlan rule and took the
// lower offloaded one. The vlan rule now has a second, 802.1ad filter at
// the same pref, which rewrites the VID keeping the tag's TPID.
func TestTCTierQinQVlanMatch(t *testing.T) {
	vmtest.Require(t)
	tt := newTierTopo(t, "dq", "tc")
	tt.add(t,
		"priority=200,in_port=1,vlan_vid=10,actions=set_field:20->vlan_vid,output:2",
		"priority=100,in_port=1,actions=output:3",
	)
	dr := &dgRun{t: t, tt: tt, network: "dq", tot: &dgTotals{handled: map[string]int{}}}
	dr.byID = dr.flowStats()
	dr.text = map[uint64]string{}
	for id, fs := range dr.byID {
		if fs.Tier != offload.TierTC {
			t.Fatalf("rule of priority %d in tier %s (%s), want tc", fs.Flow.Priority, fs.Tier, fs.Reason)
		}
		dr.text[id] = fmt.Sprintf("priority=%d", fs.Flow.Priority)
	}
	dr.checkFilters(3) // the vlan rule's 802.1Q and 802.1ad filters, the other rule's
	var packets []*dgPacket
	for i, tpid := range []uint16{pipeline.EthTypeVLAN, pipeline.EthTypeQinQ} {
		p := &dgPacket{seq: uint32(i), inPort: 1, class: dgUDP, spec: packet.Spec{
			EthDst: packet.MAC("02:00:00:00:00:02"), EthSrc: packet.MAC("02:00:00:00:00:01"),
			VLANs: []packet.VLAN{{TPID: tpid, VID: 10}},
			IPv4:  &packet.IPv4{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")},
			UDP:   &packet.UDP{Src: 1000, Dst: 2000}, Payload: dgPayload(uint32(i)),
		}}
		p.frame = packet.Build(p.spec)
		packets = append(packets, p)
	}
	dr.send(0, tt.n.net.Datapath().Snapshot(), packets)
	if dr.tot.divergences > 0 {
		t.Errorf("%d of %d packets diverge", dr.tot.divergences, len(packets))
	}
}
