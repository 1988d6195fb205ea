package manager

// Rule and packet generation for TestTCTierDifferential: seeded random
// OpenFlow rule sets in ovs-ofctl syntax over ports 1..3 of a network,
// packets that hit and miss them, and the reference model that turns the
// pipeline's evaluation (a key per output) back into the frame that must
// leave.
//
// The generator keeps to what the reference can model exactly:
//   - push_vlan only where the rule's match says the frame is untagged (the
//     pipeline's key holds one tag, so a second tag cannot be modelled);
//   - pop_vlan, set vlan_vid and set vlan_pcp only where the frame is known
//     to be tagged (OpenFlow's prerequisites);
//   - TTL and MPLS actions only where OpenFlow's validation (on the packet
//     as the actions change it) takes them: dec_ttl and set_nw_ttl on IP,
//     push_mpls onto IPv4 or MPLS, pop_mpls to IPv4 of a bottom label and
//     to MPLS of one above, the MPLS field and TTL actions on MPLS;
//   - every output to a numbered port comes from a rule that matches
//     in_port and never names that port (OpenFlow drops it).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/softpath/packet"
)

// dgClass is what a rule matches above Ethernet, or what a packet carries.
type dgClass uint8

const (
	dgAny   dgClass = iota // rules only: no eth_type match
	dgIP                   // rules only: IPv4, any protocol
	dgUDP                  // IPv4 UDP
	dgTCP                  // IPv4 TCP
	dgICMP                 // IPv4 ICMP
	dgOther                // eth_type 0x88b5 (not IP)
	dgMPLS                 // MPLS unicast: one or two labels, IPv4 UDP inside
	dgUDP6                 // IPv6 UDP
)

// isIP reports whether the class is IPv4.
func (c dgClass) isIP() bool { return c == dgIP || c == dgUDP || c == dgTCP || c == dgICMP }

// dgVlan is a rule's vlan_vid match.
type dgVlan uint8

const (
	dgVlanAny     dgVlan = iota // not matched
	dgVlanNone                  // vlan_vid=none: untagged
	dgVlanPresent               // vlan_vid=present: any tag
	dgVlanVID                   // one VID
)

// dgTagState is what the rule's actions know about the frame's tag.
type dgTagState uint8

const (
	dgTagUnknown dgTagState = iota
	dgTagNo
	dgTagYes
)

type dgMAC struct{ val, mask [6]byte } // mask zero: not matched

type dgPrefix struct {
	addr [4]byte
	bits int // 0: not matched
}

// dgRule is one generated rule: its match as fields (to aim packets at
// it) and its actions as text.
type dgRule struct {
	table          uint8
	prio           uint16
	inPort         uint32 // 0: not matched
	ethSrc, ethDst dgMAC
	class          dgClass
	vlan           dgVlan
	vid            uint16
	ipSrc, ipDst   dgPrefix
	tpSrc, tpDst   uint16 // 0: not matched
	dscp           int    // -1: not matched
	// mplsLabel, mplsTC and mplsBoS are the MPLS matches (class dgMPLS);
	// -1: not matched.
	mplsLabel, mplsTC, mplsBoS int
	metadata                   bool // metadata=0x1/0xff
	actions                    string
	cookie                     uint64 // names this version of the rule in the network
}

// dgGroups are the groups every rule set may use: an ALL group of plain
// outputs (tc: mirred mirrors), a SELECT group (soft) and an INDIRECT
// group whose bucket rewrites before its output (soft).
var dgGroups = []*pipeline.GroupMod{
	{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: 1, Buckets: []pipeline.Bucket{
		{Actions: []pipeline.Action{pipeline.Output(1)}},
		{Actions: []pipeline.Action{pipeline.Output(2)}},
		{Actions: []pipeline.Action{pipeline.Output(3)}},
	}},
	{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeSelect, ID: 2, Buckets: []pipeline.Bucket{
		{Weight: 1, Actions: []pipeline.Action{pipeline.Output(2)}},
	}},
	{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeIndirect, ID: 3, Buckets: []pipeline.Bucket{
		{Actions: dgActions("set_field:02:00:00:00:0e:0e->eth_src,output:3")},
	}},
}

func dgActions(s string) []pipeline.Action {
	a, err := flowtext.Actions(s)
	if err != nil {
		panic(err)
	}
	return a
}

// The value pools are small so that rules overlap and packets hit them.
var (
	dgMACs = [][6]byte{
		packet.MAC("02:00:00:00:00:01"), packet.MAC("02:00:00:00:00:02"), packet.MAC("02:00:00:00:00:03"),
		packet.MAC("02:00:00:00:01:01"), packet.MAC("02:00:00:00:01:02"), packet.MAC("ff:ff:ff:ff:ff:ff"),
		packet.MAC("01:00:5e:00:00:01"),
	}
	dgMACMasks = [][6]byte{
		packet.MAC("ff:ff:ff:ff:ff:00"), packet.MAC("01:00:00:00:00:00"), packet.MAC("ff:ff:ff:00:00:00"),
	}
	dgIPs = [][4]byte{
		{10, 0, 0, 1}, {10, 0, 0, 2}, {10, 0, 1, 5}, {10, 1, 0, 1}, {192, 168, 1, 1}, {192, 168, 1, 2},
	}
	dgPrefixBits = []int{8, 16, 24, 32}
	dgTpPorts    = []uint16{53, 80, 1000, 1001, 4789, 5000}
	dgDSCPs      = []uint8{0, 10, 46}
	dgVIDs       = []uint16{10, 20}
	dgPorts      = []uint32{1, 2, 3}
	dgLabels     = []uint32{16, 100, 1000}
	// dgTTLs are the packets' IP TTLs, hop limits and MPLS TTLs: 64 most
	// of the time, and those that a decrement or two expires.
	dgTTLs       = []uint8{64, 1, 2, 3}
	dgTTLWeights = []float64{0.6, 0.15, 0.15, 0.1}
	dgIP6Src     = netip.MustParseAddr("2001:db8::1")
	dgIP6Dst     = netip.MustParseAddr("2001:db8::2")
)

// dgMagic starts the payload of every generated packet; the packet's
// sequence number follows, so a captured frame names the packet it came
// from (no action touches the payload).
var dgMagic = []byte("nfdf")

// dgGen generates rule sets and packets from one seeded source.
type dgGen struct {
	rng        *rand.Rand
	lastCookie uint64
	// soft allows the constructs that keep a rule in the fast path; off
	// for some tables so that they are complete in tc and rules can jump
	// there in tc.
	soft bool
	// qinq is the share of tagged packets whose tag is 802.1ad (0x88a8).
	qinq float64
}

func newDGGen(seed int64) *dgGen { return &dgGen{rng: rand.New(rand.NewSource(seed))} }

func (g *dgGen) chance(p float64) bool { return g.rng.Float64() < p }

// pick returns an index into weights, drawn by weight.
func (g *dgGen) pick(weights ...float64) int {
	var sum float64
	for _, w := range weights {
		sum += w
	}
	x := g.rng.Float64() * sum
	for i, w := range weights {
		if x < w {
			return i
		}
		x -= w
	}
	return len(weights) - 1
}

func (g *dgGen) port() uint32 { return dgPorts[g.rng.Intn(len(dgPorts))] }

// otherPort returns a port other than p.
func (g *dgGen) otherPort(p uint32) uint32 {
	for {
		if q := g.port(); q != p {
			return q
		}
	}
}

func (g *dgGen) mac() [6]byte { return dgMACs[g.rng.Intn(len(dgMACs))] }
func (g *dgGen) ip() [4]byte  { return dgIPs[g.rng.Intn(len(dgIPs))] }
func (g *dgGen) tp() uint16   { return dgTpPorts[g.rng.Intn(len(dgTpPorts))] }

// ruleSet returns about n rules over tables 0..2: half in table 0, the
// rest in tables 1 and 2, with catch-alls (some), a pair of priorities
// 65535/65534 that share a tc pref (some), and rules that copy another
// rule's match at another priority (shadowing).
func (g *dgGen) ruleSet(n int) []*dgRule {
	perTable := [3]int{n / 2, n * 3 / 10, n - n/2 - n*3/10}
	var all []*dgRule
	for t := uint8(0); t < 3; t++ {
		g.soft = t == 0 || g.chance(0.5)
		used := map[uint16]bool{}
		var rules []*dgRule
		add := func(r *dgRule) {
			used[r.prio] = true
			r.actions = g.actions(r)
			r.cookie = g.nextCookie()
			rules = append(rules, r)
		}
		prio := func() uint16 {
			for {
				p := uint16(1 + g.rng.Intn(300))
				if !used[p] {
					return p
				}
			}
		}
		catchAll := (t > 0 && g.chance(0.75)) || (t == 0 && g.chance(0.25))
		if catchAll {
			add(&dgRule{table: t, prio: 0, dscp: -1, mplsLabel: -1, mplsTC: -1, mplsBoS: -1})
		}
		if t == 0 && g.chance(0.5) {
			hi := g.match(t)
			if hi.inPort == 0 {
				hi.inPort = g.port()
			}
			hi.prio = 65535
			lo := *hi
			lo.prio = 65534 - uint16(g.rng.Intn(2)) // 65534 or 65533: pref 1 too
			g.vary(&lo)
			add(hi)
			add(&lo)
		}
		for len(rules) < perTable[t] {
			var r *dgRule
			n := len(rules)
			switch {
			case n > 0 && rules[n-1].prio != 0 && rules[n-1].inPort != 0 && g.chance(0.1):
				// A twin of the last rule on another in_port at the same
				// priority: the same tc pref, no overlap.
				c := *rules[n-1]
				taken := map[uint32]bool{}
				for _, o := range rules {
					if o.prio == c.prio {
						taken[o.inPort] = true
					}
				}
				for _, p := range dgPorts {
					if !taken[p] {
						c.inPort = p
						add(&c)
						break
					}
				}
				continue
			case n > 0 && rules[n-1].prio != 0 && g.chance(0.25):
				// Shadow (or be shadowed by) the last rule: its match, or
				// a more general one, at another priority.
				c := *rules[n-1]
				g.vary(&c)
				r = &c
			default:
				r = g.match(t)
			}
			r.prio = prio()
			add(r)
		}
		all = append(all, rules...)
	}
	return all
}

func (g *dgGen) nextCookie() uint64 {
	g.lastCookie++
	return g.lastCookie
}

// dgChange is one flow mod of a change to a rule set: an add (new, or
// replacing the actions of the rule of the same match and priority) or a
// strict delete.
type dgChange struct {
	rule   *dgRule
	delete bool
}

// mutate changes rules as a controller would: it deletes some, gives some
// new actions and adds a few. It returns the rule set after the change
// and the flow mods that make it.
func (g *dgGen) mutate(rules []*dgRule) ([]*dgRule, []dgChange) {
	var out []*dgRule
	var changes []dgChange
	used := map[[2]int]bool{}
	for _, r := range rules {
		used[[2]int{int(r.table), int(r.prio)}] = true
		switch x := g.rng.Float64(); {
		case x < 0.2:
			changes = append(changes, dgChange{rule: r, delete: true})
		case x < 0.45:
			c := *r
			g.soft = c.table == 0 || g.chance(0.3)
			c.actions = g.actions(&c)
			c.cookie = g.nextCookie()
			changes = append(changes, dgChange{rule: &c})
			out = append(out, &c)
		default:
			out = append(out, r)
		}
	}
	for i := 0; i < 3; i++ {
		t := uint8(g.rng.Intn(3))
		g.soft = t == 0 || g.chance(0.3)
		r := g.match(t)
		for r.prio == 0 || used[[2]int{int(t), int(r.prio)}] {
			r.prio = uint16(1 + g.rng.Intn(300))
		}
		used[[2]int{int(t), int(r.prio)}] = true
		r.actions = g.actions(r)
		r.cookie = g.nextCookie()
		changes = append(changes, dgChange{rule: r})
		out = append(out, r)
	}
	return out, changes
}

// flowMod is the flow mod that makes c.
func (c dgChange) flowMod() *pipeline.FlowMod {
	fm := flowtext.MustFlowMod(c.rule.text())
	fm.Cookie = c.rule.cookie
	if c.delete {
		fm.Command = pipeline.FlowDeleteStrict
	}
	return fm
}

// match returns a rule of table t with a random match.
func (g *dgGen) match(t uint8) *dgRule {
	r := &dgRule{table: t, dscp: -1, mplsLabel: -1, mplsTC: -1, mplsBoS: -1}
	if g.chance(0.85) {
		r.inPort = g.port()
	}
	r.class = []dgClass{dgAny, dgIP, dgUDP, dgTCP, dgICMP, dgOther, dgMPLS, dgUDP6}[g.pick(0.2, 0.15, 0.25, 0.2, 0.08, 0.12, 0.15, 0.08)]
	r.vlan = []dgVlan{dgVlanAny, dgVlanNone, dgVlanPresent, dgVlanVID}[g.pick(0.5, 0.2, 0.12, 0.18)]
	if r.vlan == dgVlanVID {
		r.vid = dgVIDs[g.rng.Intn(len(dgVIDs))]
	}
	if g.chance(0.2) {
		r.ethSrc = g.macMatch()
	}
	if g.chance(0.25) {
		r.ethDst = g.macMatch()
	}
	if r.class.isIP() {
		if g.chance(0.3) {
			r.ipSrc = dgPrefix{addr: g.ip(), bits: dgPrefixBits[g.rng.Intn(len(dgPrefixBits))]}
		}
		if g.chance(0.35) {
			r.ipDst = dgPrefix{addr: g.ip(), bits: dgPrefixBits[g.rng.Intn(len(dgPrefixBits))]}
		}
		if g.chance(0.15) {
			r.dscp = int(dgDSCPs[g.rng.Intn(len(dgDSCPs))])
		}
	}
	if r.class == dgUDP || r.class == dgTCP || r.class == dgUDP6 {
		if g.chance(0.5) {
			r.tpDst = g.tp()
		}
		if g.chance(0.2) {
			r.tpSrc = g.tp()
		}
	}
	if r.class == dgMPLS {
		if g.chance(0.5) {
			r.mplsLabel = int(dgLabels[g.rng.Intn(len(dgLabels))])
		}
		if g.chance(0.25) {
			r.mplsTC = []int{0, 3}[g.rng.Intn(2)]
		}
		if g.chance(0.5) {
			r.mplsBoS = g.rng.Intn(2)
		}
	}
	if t > 0 && g.soft && g.chance(0.08) {
		r.metadata = true
	}
	if r.inPort == 0 && r.class == dgAny {
		// Without in_port, keep the rule narrow enough not to take over
		// the whole table.
		r.class, r.tpDst = dgUDP, g.tp()
	}
	return r
}

func (g *dgGen) macMatch() dgMAC {
	m := dgMAC{val: g.mac(), mask: packet.MAC("ff:ff:ff:ff:ff:ff")}
	if g.chance(0.5) {
		m.mask = dgMACMasks[g.rng.Intn(len(dgMACMasks))]
	}
	for i := range m.val {
		m.val[i] &= m.mask[i]
	}
	return m
}

// vary makes r's match more general (drops one field) or leaves it.
func (g *dgGen) vary(r *dgRule) {
	switch g.rng.Intn(7) {
	case 0:
		r.ethSrc = dgMAC{}
	case 1:
		r.ethDst = dgMAC{}
	case 2:
		r.ipSrc = dgPrefix{}
	case 3:
		r.ipDst = dgPrefix{}
	case 4:
		r.tpDst, r.tpSrc = 0, 0
	case 5:
		r.dscp = -1
	case 6:
		r.mplsLabel = -1
	}
}

// actions draws r's instructions, tracking what is known about the tag.
func (g *dgGen) actions(r *dgRule) string {
	tag, vidKnown := dgTagUnknown, false
	switch r.vlan {
	case dgVlanNone:
		tag = dgTagNo
	case dgVlanPresent:
		tag = dgTagYes
	case dgVlanVID:
		tag, vidKnown = dgTagYes, true
	}
	in := r.inPort
	var items []string
	type cand struct {
		w  float64
		ok bool
		do func()
	}
	// What the packet is as the actions so far leave it: the rule's
	// class (orig) until a push_mpls or pop_mpls; ip4/ip6/mpls whether it
	// is known to be IPv4, IPv6 or MPLS; bos the top label's bottom of
	// stack bit (-1: unknown).
	orig, ip4, ip6, mpls, bos := true, r.class.isIP(), r.class == dgUDP6, r.class == dgMPLS, r.mplsBoS
	ttl := func() uint8 { return []uint8{2, 5, 100}[g.rng.Intn(3)] }
	pushMPLS := func() {
		s := "push_mpls:0x8847"
		if g.chance(0.75) {
			// Label, tc and TTL set: act_mpls push can take it.
			s += fmt.Sprintf(",set_field:%d->mpls_label,set_field:%d->mpls_tc,set_mpls_ttl:%d", 200+g.rng.Intn(3), g.rng.Intn(8), ttl())
		}
		items = append(items, s)
		if mpls {
			bos = 0
		} else {
			bos = 1
		}
		orig, ip4, ip6, mpls = false, false, false, true
	}
	n := g.rng.Intn(4)
	if r.prio == 0 && in == 0 {
		n = 0 // a catch-all drops or jumps
	}
	if n > 0 && g.chance(0.3) {
		// A router's first action.
		switch {
		case ip4 || ip6:
			items = append(items, "dec_ttl")
		case mpls:
			items = append(items, "dec_mpls_ttl")
		}
	}
	for i := 0; i < n; i++ {
		cands := []cand{
			{4, in != 0, func() { items = append(items, fmt.Sprintf("output:%d", g.otherPort(in))) }},
			{0.4, in != 0, func() { items = append(items, "output:IN_PORT") }},
			{1.5, true, func() {
				f := []string{"eth_dst", "eth_src"}[g.rng.Intn(2)]
				items = append(items, fmt.Sprintf("set_field:%s->%s", dgMACString(g.mac()), f))
			}},
			{1, orig && r.class.isIP(), func() {
				f := []string{"ipv4_src", "ipv4_dst"}[g.rng.Intn(2)]
				items = append(items, fmt.Sprintf("set_field:%s->%s", netip.AddrFrom4(g.ip()), f))
			}},
			{0.7, orig && (r.class.isIP() || r.class == dgUDP6), func() {
				items = append(items, fmt.Sprintf("set_field:%d->ip_dscp", dgDSCPs[g.rng.Intn(len(dgDSCPs))]))
			}},
			{0.3, orig && r.class.isIP(), func() { items = append(items, fmt.Sprintf("set_field:%d->ip_ecn", 1+g.rng.Intn(3))) }},
			// TTL and MPLS actions.
			{1.2, ip4 || ip6, func() { items = append(items, "dec_ttl") }},
			{0.4, ip4 || ip6, func() { items = append(items, fmt.Sprintf("set_nw_ttl:%d", ttl())) }},
			{0.7, ip4 || mpls, pushMPLS},
			{0.7, mpls && bos == 1, func() {
				items = append(items, "pop_mpls:0x0800")
				orig, ip4, mpls, bos = false, true, false, -1
			}},
			{0.4, mpls && bos == 0, func() { items = append(items, "pop_mpls:0x8847"); orig, bos = false, -1 }},
			{0.7, mpls, func() { items = append(items, fmt.Sprintf("set_field:%d->mpls_label", 17+g.rng.Intn(3))) }},
			{0.4, mpls, func() { items = append(items, fmt.Sprintf("set_field:%d->mpls_tc", g.rng.Intn(8))) }},
			{0.4, mpls, func() { items = append(items, fmt.Sprintf("set_mpls_ttl:%d", []uint8{1, 5, 64}[g.rng.Intn(3)])) }},
			{1, mpls, func() { items = append(items, "dec_mpls_ttl") }},
			{1, orig && (r.class == dgUDP || r.class == dgTCP || r.class == dgUDP6), func() {
				p := "udp"
				if r.class == dgTCP {
					p = "tcp"
				}
				f := []string{"_dst", "_dst", "_src"}[g.rng.Intn(3)]
				items = append(items, fmt.Sprintf("set_field:%d->%s%s", g.tp(), p, f))
			}},
			{1, tag == dgTagNo, func() {
				s := "push_vlan:0x8100"
				if g.chance(0.8) {
					s += fmt.Sprintf(",set_field:%d->vlan_vid", 100+g.rng.Intn(3))
				}
				if g.chance(0.6) {
					s += fmt.Sprintf(",set_field:%d->vlan_pcp", g.rng.Intn(8))
				}
				items = append(items, s)
				tag, vidKnown = dgTagYes, true
			}},
			{0.8, tag == dgTagYes, func() { items = append(items, "pop_vlan"); tag = dgTagNo }},
			{0.6, tag == dgTagYes, func() {
				items = append(items, fmt.Sprintf("set_field:%d->vlan_vid", 200+g.rng.Intn(3)))
				vidKnown = true
			}},
			// Without a known VID, tc's vlan modify cannot set the PCP: soft.
			{0.4, tag == dgTagYes && (vidKnown || g.soft), func() { items = append(items, fmt.Sprintf("set_field:%d->vlan_pcp", g.rng.Intn(8))) }},
			{0.4, g.soft, func() { items = append(items, "output:CONTROLLER") }},
			{0.5, in != 0, func() { items = append(items, "group:1") }},
			{0.25, in != 0 && g.soft, func() { items = append(items, "group:2") }},
			{0.25, in != 0 && g.soft, func() { items = append(items, "group:3") }},
			// icmpv4_type has no pedit form: soft.
			{0.3, orig && r.class == dgICMP && g.soft, func() { items = append(items, fmt.Sprintf("set_field:%d->icmpv4_type", 3+g.rng.Intn(3))) }},
		}
		var ws []float64
		var ok []cand
		for _, c := range cands {
			if c.ok {
				ws, ok = append(ws, c.w), append(ok, c)
			}
		}
		ok[g.pick(ws...)].do()
	}
	switch {
	case r.table < 2 && g.chance(0.35):
		if in != 0 && g.soft && g.chance(0.15) {
			items = append(items, fmt.Sprintf("write_actions(output:%d)", g.otherPort(in)))
		}
		if g.soft && g.chance(0.12) {
			items = append(items, "write_metadata:0x1/0xff")
		}
		items = append(items, fmt.Sprintf("goto_table:%d", int(r.table)+1+g.rng.Intn(2-int(r.table))))
	case in != 0 && g.chance(0.12):
		if g.chance(0.5) {
			items = append(items, fmt.Sprintf("write_actions(set_field:%s->eth_dst,output:%d)", dgMACString(g.mac()), g.otherPort(in)))
		} else {
			items = append(items, fmt.Sprintf("write_actions(output:%d)", g.otherPort(in)))
		}
	}
	if len(items) == 0 {
		return "drop"
	}
	return strings.Join(items, ",")
}

func dgMACString(m [6]byte) string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5])
}

// text is r in ovs-ofctl syntax.
func (r *dgRule) text() string {
	parts := []string{fmt.Sprintf("table=%d", r.table), fmt.Sprintf("priority=%d", r.prio)}
	if r.inPort != 0 {
		parts = append(parts, fmt.Sprintf("in_port=%d", r.inPort))
	}
	mac := func(name string, m dgMAC) {
		switch m.mask {
		case [6]byte{}:
		case [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}:
			parts = append(parts, name+"="+dgMACString(m.val))
		default:
			parts = append(parts, name+"="+dgMACString(m.val)+"/"+dgMACString(m.mask))
		}
	}
	mac("eth_src", r.ethSrc)
	mac("eth_dst", r.ethDst)
	switch r.class {
	case dgIP:
		parts = append(parts, "ip")
	case dgUDP:
		parts = append(parts, "udp")
	case dgTCP:
		parts = append(parts, "tcp")
	case dgICMP:
		parts = append(parts, "icmp")
	case dgOther:
		parts = append(parts, "eth_type=0x88b5")
	case dgMPLS:
		parts = append(parts, "mpls")
	case dgUDP6:
		parts = append(parts, "udp6")
	}
	switch r.vlan {
	case dgVlanNone:
		parts = append(parts, "vlan_vid=none")
	case dgVlanPresent:
		parts = append(parts, "vlan_vid=present")
	case dgVlanVID:
		parts = append(parts, fmt.Sprintf("vlan_vid=%d", r.vid))
	}
	pfx := func(name string, p dgPrefix) {
		if p.bits != 0 {
			parts = append(parts, fmt.Sprintf("%s=%s/%d", name, netip.PrefixFrom(netip.AddrFrom4(p.addr), p.bits).Masked().Addr(), p.bits))
		}
	}
	pfx("ipv4_src", r.ipSrc)
	pfx("ipv4_dst", r.ipDst)
	if r.dscp >= 0 {
		parts = append(parts, fmt.Sprintf("ip_dscp=%d", r.dscp))
	}
	l4 := "udp"
	if r.class == dgTCP {
		l4 = "tcp"
	}
	if r.tpSrc != 0 {
		parts = append(parts, fmt.Sprintf("%s_src=%d", l4, r.tpSrc))
	}
	if r.tpDst != 0 {
		parts = append(parts, fmt.Sprintf("%s_dst=%d", l4, r.tpDst))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"mpls_label", r.mplsLabel}, {"mpls_tc", r.mplsTC}, {"mpls_bos", r.mplsBoS}} {
		if f.v >= 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", f.name, f.v))
		}
	}
	if r.metadata {
		parts = append(parts, "metadata=0x1/0xff")
	}
	return strings.Join(parts, ",") + ",actions=" + r.actions
}

// dgPacket is one generated packet: the port it enters on and its frame's
// description.
type dgPacket struct {
	seq    uint32
	inPort uint32
	class  dgClass
	spec   packet.Spec
	frame  []byte
}

// packet returns packet seq: aimed at a random rule of rules most of the
// time (its in_port and match fields), else random.
func (g *dgGen) packet(rules []*dgRule, seq uint32) *dgPacket {
	p := &dgPacket{seq: seq, inPort: g.port()}
	p.class = []dgClass{dgUDP, dgTCP, dgICMP, dgOther, dgMPLS, dgUDP6}[g.pick(0.35, 0.3, 0.12, 0.23, 0.15, 0.08)]
	labels := 1 + g.rng.Intn(2) // MPLS: the stack's depth, its top entry
	label, tc := dgLabels[g.rng.Intn(len(dgLabels))], uint8(g.rng.Intn(8))
	ttl := func() uint8 { return dgTTLs[g.pick(dgTTLWeights...)] }
	ethSrc, ethDst := g.mac(), g.mac()
	tagged := g.chance(0.4)
	vid, pcp := dgVIDs[g.rng.Intn(len(dgVIDs))], uint8(g.rng.Intn(8))
	src, dst := g.ip(), g.ip()
	sport, dport := g.tp(), g.tp()
	dscp := dgDSCPs[g.rng.Intn(len(dgDSCPs))]
	if len(rules) > 0 && g.chance(0.7) {
		// Aim at a rule, of table 0 most of the time (the others are
		// reached only through a goto_table).
		r := rules[g.rng.Intn(len(rules))]
		for i := 0; i < 2 && r.table != 0; i++ {
			r = rules[g.rng.Intn(len(rules))]
		}
		if r.inPort != 0 {
			p.inPort = r.inPort
		}
		switch {
		case r.class == dgIP && p.class == dgOther:
			p.class = []dgClass{dgUDP, dgTCP, dgICMP}[g.rng.Intn(3)]
		case r.class != dgAny && r.class != dgIP:
			p.class = r.class
		}
		switch r.vlan {
		case dgVlanNone:
			tagged = false
		case dgVlanPresent:
			tagged = true
		case dgVlanVID:
			tagged, vid = true, r.vid
		}
		for i := range ethSrc {
			ethSrc[i] = r.ethSrc.val[i] | ethSrc[i]&^r.ethSrc.mask[i]
			ethDst[i] = r.ethDst.val[i] | ethDst[i]&^r.ethDst.mask[i]
		}
		src, dst = dgWithPrefix(src, r.ipSrc), dgWithPrefix(dst, r.ipDst)
		if r.tpSrc != 0 {
			sport = r.tpSrc
		}
		if r.tpDst != 0 {
			dport = r.tpDst
		}
		if r.dscp >= 0 {
			dscp = uint8(r.dscp)
		}
		if r.mplsLabel >= 0 {
			label = uint32(r.mplsLabel)
		}
		if r.mplsTC >= 0 {
			tc = uint8(r.mplsTC)
		}
		if r.mplsBoS >= 0 {
			labels = 2 - r.mplsBoS
		}
	}
	payload := dgPayload(seq)
	for i := len(dgMagic) + 4; i < len(payload); i++ {
		payload[i] = byte(g.rng.Intn(256))
	}
	s := packet.Spec{EthDst: ethDst, EthSrc: ethSrc, Payload: payload}
	if tagged {
		s.VLANs = []packet.VLAN{{VID: vid, PCP: pcp}}
		if g.qinq > 0 && g.chance(g.qinq) {
			// OpenFlow's vlan_vid is the outer tag's, 802.1Q or 802.1ad.
			s.VLANs[0].TPID = pipeline.EthTypeQinQ
		}
	}
	switch p.class {
	case dgOther:
		s.EthType = 0x88b5
		s.Payload = append(payload, make([]byte, 20)...)
	case dgUDP6:
		s.IPv6 = &packet.IPv6{Src: dgIP6Src, Dst: dgIP6Dst, DSCP: dscp, HopLimit: ttl()}
		s.UDP = &packet.UDP{Src: sport, Dst: dport}
	default:
		if p.class == dgMPLS {
			s.MPLS = []packet.MPLS{{Label: label, TC: tc, TTL: ttl()}}
			if labels == 2 {
				s.MPLS = append(s.MPLS, packet.MPLS{Label: 17, TC: 1, TTL: ttl()})
			}
		}
		s.IPv4 = &packet.IPv4{Src: netip.AddrFrom4(src), Dst: netip.AddrFrom4(dst), DSCP: dscp, ID: uint16(seq), TTL: ttl()}
		if g.chance(0.2) {
			s.IPv4.ECN = uint8(1 + g.rng.Intn(3))
		}
		switch p.class {
		case dgUDP, dgMPLS:
			s.UDP = &packet.UDP{Src: sport, Dst: dport}
		case dgTCP:
			s.TCP = &packet.TCP{Src: sport, Dst: dport, Seq: seq, Flags: packet.TCPAck | packet.TCPPsh, Window: 512}
		case dgICMP:
			s.ICMPv4 = &packet.ICMPv4{Type: 8, Rest: [4]byte{0, 1, byte(seq >> 8), byte(seq)}}
		}
	}
	p.spec = s
	p.frame = packet.Build(s)
	return p
}

// dgPayload is a 32-byte payload that names packet seq (dgSeq).
func dgPayload(seq uint32) []byte {
	b := make([]byte, 32)
	copy(b, dgMagic)
	binary.BigEndian.PutUint32(b[len(dgMagic):], seq)
	return b
}

// dgWithPrefix returns a with the first p.bits bits of p.addr.
func dgWithPrefix(a [4]byte, p dgPrefix) [4]byte {
	if p.bits == 0 {
		return a
	}
	m := binary.BigEndian.Uint32(p.addr[:])
	x := binary.BigEndian.Uint32(a[:])
	mask := ^uint32(0) << (32 - p.bits)
	var out [4]byte
	binary.BigEndian.PutUint32(out[:], m&mask|x&^mask)
	return out
}

// key is p's OpenFlow flow key, from its description (not from a parser).
func (p *dgPacket) key() pipeline.Key {
	s := &p.spec
	k := pipeline.Key{InPort: p.inPort, EthDst: s.EthDst, EthSrc: s.EthSrc}
	if len(s.VLANs) > 0 {
		k.VlanVID = s.VLANs[0].VID | pipeline.VIDPresent
		k.VlanPCP = s.VLANs[0].PCP
		if s.VLANs[0].TPID == pipeline.EthTypeQinQ {
			k.Parsed |= pipeline.ParsedVlanSTag
		}
	}
	switch {
	case s.IPv6 != nil:
		k.EthType = pipeline.EthTypeIPv6
		k.IPDSCP, k.IPECN, k.IPTTL = s.IPv6.DSCP, s.IPv6.ECN, s.IPv6.HopLimit
		k.L3Src, k.L3Dst = s.IPv6.Src.As16(), s.IPv6.Dst.As16()
	case s.IPv4 == nil:
		k.EthType = s.EthType
		return k
	default:
		k.EthType = pipeline.EthTypeIPv4
		k.IPDSCP, k.IPECN = s.IPv4.DSCP, s.IPv4.ECN
		k.IPTTL = s.IPv4.TTL
		src, dst := s.IPv4.Src.As4(), s.IPv4.Dst.As4()
		copy(k.L3Src[:], src[:])
		copy(k.L3Dst[:], dst[:])
	}
	if k.IPTTL == 0 {
		k.IPTTL = 64 // packet.Build's default
	}
	if len(s.MPLS) > 0 {
		// The parser reads the IPv4 packet after the bottom of the stack
		// into the key's IP fields.
		k.EthType, k.MPLSDepth = pipeline.EthTypeMPLS, uint8(len(s.MPLS))
		for i, m := range s.MPLS {
			k.MPLS[i] = m.LSE(i == len(s.MPLS)-1)
		}
		k.Parsed |= pipeline.ParsedMPLSIPv4
	}
	switch {
	case s.UDP != nil:
		k.IPProto, k.TpSrc, k.TpDst = pipeline.ProtoUDP, s.UDP.Src, s.UDP.Dst
	case s.TCP != nil:
		k.IPProto, k.TpSrc, k.TpDst, k.TCPFlags = pipeline.ProtoTCP, s.TCP.Src, s.TCP.Dst, s.TCP.Flags
	case s.ICMPv4 != nil:
		k.IPProto, k.ICMPType, k.ICMPCode = pipeline.ProtoICMP, s.ICMPv4.Type, s.ICMPv4.Code
	}
	return k
}

// frameFor is the frame p becomes when its key is k: p's headers with
// k's values, built afresh (lengths and checksums computed). A tag keeps
// the TPID of p's tag (see dgExpect.anyTPID). ok is false when k has no
// frame form (wantLen differs: e.g. a second tag).
func (p *dgPacket) frameFor(k *pipeline.Key, wantLen int) ([]byte, bool) {
	s := p.spec
	s.EthDst, s.EthSrc = k.EthDst, k.EthSrc
	s.VLANs = nil
	if k.VlanVID&pipeline.VIDPresent != 0 {
		s.VLANs = []packet.VLAN{{VID: k.VlanVID & 0xfff, PCP: k.VlanPCP}}
		if len(p.spec.VLANs) > 0 {
			s.VLANs[0].TPID = p.spec.VLANs[0].TPID
		}
	}
	// The label stack: the key's (MPLSDepth entries, all in the key for
	// the stacks of two the packets and pushes make).
	s.MPLS, s.EthType = nil, p.spec.EthType
	switch {
	case k.EthType == pipeline.EthTypeMPLS || k.EthType == pipeline.EthTypeMPLSMcast:
		if int(k.MPLSDepth) > len(k.MPLS) {
			return nil, false
		}
		for i := 0; i < int(k.MPLSDepth); i++ {
			e := k.MPLS[i]
			if (e&0x100 != 0) != (i == int(k.MPLSDepth)-1) {
				return nil, false // a stack Build does not write
			}
			s.MPLS = append(s.MPLS, packet.MPLS{Label: e >> 12, TC: uint8(e >> 9 & 7), TTL: uint8(e)})
		}
		s.EthType = k.EthType
	case s.IPv4 != nil && k.EthType != pipeline.EthTypeIPv4:
		return nil, false
	}
	if k.IPTTL == 0 && (s.IPv4 != nil || s.IPv6 != nil) {
		return nil, false // Build writes 64 for 0
	}
	if s.IPv4 != nil {
		ip := *s.IPv4
		ip.Src, ip.Dst = k.IPv4Src(), k.IPv4Dst()
		ip.DSCP, ip.ECN, ip.TTL = k.IPDSCP, k.IPECN, k.IPTTL
		s.IPv4 = &ip
	}
	if s.IPv6 != nil {
		ip := *s.IPv6
		ip.Src, ip.Dst = netip.AddrFrom16(k.L3Src), netip.AddrFrom16(k.L3Dst)
		ip.DSCP, ip.ECN, ip.HopLimit = k.IPDSCP, k.IPECN, k.IPTTL
		s.IPv6 = &ip
	}
	switch {
	case s.UDP != nil:
		u := *s.UDP
		u.Src, u.Dst = k.TpSrc, k.TpDst
		s.UDP = &u
	case s.TCP != nil:
		t := *s.TCP
		t.Src, t.Dst = k.TpSrc, k.TpDst
		s.TCP = &t
	case s.ICMPv4 != nil:
		c := *s.ICMPv4
		c.Type, c.Code = k.ICMPType, k.ICMPCode
		s.ICMPv4 = &c
	}
	f := packet.Build(s)
	return f, len(f) == wantLen
}

// String describes p for a failure report.
func (p *dgPacket) String() string {
	s := &p.spec
	var b strings.Builder
	fmt.Fprintf(&b, "#%d in_port=%d eth %s > %s", p.seq, p.inPort, dgMACString(s.EthSrc), dgMACString(s.EthDst))
	for _, v := range s.VLANs {
		fmt.Fprintf(&b, " vlan %d pcp %d", v.VID, v.PCP)
		if v.TPID != 0 {
			fmt.Fprintf(&b, " tpid %#04x", v.TPID)
		}
	}
	for _, m := range s.MPLS {
		fmt.Fprintf(&b, " mpls label %d tc %d ttl %d", m.Label, m.TC, m.TTL)
	}
	switch {
	case s.IPv6 != nil:
		fmt.Fprintf(&b, " ipv6 %s > %s dscp %d hop limit %d udp %d > %d", s.IPv6.Src, s.IPv6.Dst, s.IPv6.DSCP, s.IPv6.HopLimit, s.UDP.Src, s.UDP.Dst)
	case s.IPv4 == nil:
		fmt.Fprintf(&b, " eth_type %#04x", s.EthType)
	default:
		fmt.Fprintf(&b, " ip %s > %s dscp %d ttl %d", s.IPv4.Src, s.IPv4.Dst, s.IPv4.DSCP, s.IPv4.TTL)
		switch {
		case s.UDP != nil:
			fmt.Fprintf(&b, " udp %d > %d", s.UDP.Src, s.UDP.Dst)
		case s.TCP != nil:
			fmt.Fprintf(&b, " tcp %d > %d", s.TCP.Src, s.TCP.Dst)
		case s.ICMPv4 != nil:
			fmt.Fprintf(&b, " icmp type %d", s.ICMPv4.Type)
		}
	}
	return b.String()
}

// dgSeq returns the sequence number a captured frame carries.
func dgSeq(f []byte) (uint32, bool) {
	i := bytes.Index(f, dgMagic)
	if i < 0 || len(f) < i+8 {
		return 0, false
	}
	return binary.BigEndian.Uint32(f[i+4:]), true
}

// dgCtrl is the index of the controller in dgExpect.frames: its "frames"
// are packet-ins, as dgCtrlFrame encodes them.
const dgCtrl = 3

// dgExpect is what the reference says packet p does: the frames each
// port receives (ports 1..3 at index port-1) and the packet-ins (at
// dgCtrl).
type dgExpect struct {
	res    pipeline.Result
	frames [4][][]byte
	total  int // frames and packet-ins
	// anyTPID: the packet came with an 802.1ad tag and its path pushes or
	// pops a tag, so the key cannot say which TPID an output's tag has:
	// compare tags as 802.1Q.
	anyTPID bool
}

// dgSameTPID returns f with an outer 802.1ad TPID read as 802.1Q.
func dgSameTPID(f []byte) []byte {
	if len(f) >= 14 && binary.BigEndian.Uint16(f[12:]) == pipeline.EthTypeQinQ {
		f = append([]byte(nil), f...)
		binary.BigEndian.PutUint16(f[12:], pipeline.EthTypeVLAN)
	}
	return f
}

// dgCtrlFrame encodes a packet-in for comparison: in_port, reason, data.
func dgCtrlFrame(inPort uint32, reason uint8, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, inPort)
	return append(append(b, reason), data...)
}

// dgExpectOf evaluates p in snap (with OFPC_INVALID_TTL_TO_CONTROLLER
// when invalidTTL) and turns the outputs into frames.
func dgExpectOf(snap *pipeline.Snapshot, p *dgPacket, invalidTTL bool) (*dgExpect, error) {
	e := &dgExpect{res: snap.EvaluateWith(p.key(), len(p.frame), pipeline.EvalOptions{InvalidTTLToController: invalidTTL})}
	if e.res.Inexact {
		return nil, fmt.Errorf("packet %s: the reference cannot model what its path does (Result.Inexact)", p)
	}
	e.anyTPID = len(p.spec.VLANs) > 0 && p.spec.VLANs[0].TPID == pipeline.EthTypeQinQ && dgRetags(snap, e.res.Hits)
	for _, o := range e.res.Outputs {
		port := o.Port
		switch {
		case port == pipeline.PortController:
			port = dgCtrl + 1
		case port == pipeline.PortInPort:
			port = p.inPort
		case port < 1 || port > 3:
			return nil, fmt.Errorf("packet %s: output to port %#x the test does not model", p, o.Port)
		}
		f, ok := p.frameFor(&o.Key, o.Len)
		if !ok {
			return nil, fmt.Errorf("packet %s: output to %d of length %d has no frame form (key %+v)", p, o.Port, o.Len, o.Key)
		}
		if port == dgCtrl+1 {
			f = dgCtrlFrame(p.inPort, uint8(o.Reason), f)
		}
		e.frames[port-1] = append(e.frames[port-1], f)
		e.total++
	}
	return e, nil
}

// dgRetags reports whether a flow on the path pushes or pops a tag (the
// key does not say which TPID a tag has).
func dgRetags(snap *pipeline.Snapshot, hits []pipeline.Hit) bool {
	for _, h := range hits {
		for _, f := range snap.Table(h.Table) {
			if f.ID != h.FlowID {
				continue
			}
			for _, list := range [][]pipeline.Action{f.Instr.Apply, f.Instr.Write} {
				for _, a := range list {
					if a.Type == pipeline.ActionPushVLAN || a.Type == pipeline.ActionPopVLAN {
						return true
					}
				}
			}
		}
	}
	return false
}

// TestDiffGenModel checks the differential test's generator and model
// outside the VM: every rule parses and is accepted by the pipeline, the
// model's key of every packet is the parser's, every output has a frame
// form, and enough packets hit rules.
func TestDiffGenModel(t *testing.T) {
	const seeds, packets = 5, 40
	hits, outputs := 0, 0
	// What the MPLS and TTL parts drew: packets by class, frames out with
	// a label stack, packets whose TTL a rule's decrement expires.
	mplsIn, ip6In, mplsOut, expired := 0, 0, 0, 0
	for seed := int64(1); seed <= seeds; seed++ {
		g := newDGGen(seed)
		g.qinq = 0.3
		pl := pipeline.New()
		for _, gm := range dgGroups {
			if _, err := pl.GroupMod(gm, time.Time{}); err != nil {
				t.Fatalf("group %d: %v", gm.ID, err)
			}
		}
		rules := g.ruleSet(20)
		for _, r := range rules {
			if _, err := flowtext.FlowMod(r.text()); err != nil {
				t.Fatalf("seed %d: parse %q: %v", seed, r.text(), err)
			}
			if _, err := pl.FlowMod(dgChange{rule: r}.flowMod(), time.Now()); err != nil {
				t.Fatalf("seed %d: add %q: %v", seed, r.text(), err)
			}
		}
		if n := len(pl.Flows(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})); n != len(rules) {
			t.Fatalf("seed %d: %d flows from %d rules: two rules share a match and priority", seed, n, len(rules))
		}
		rules, changes := g.mutate(rules)
		for _, c := range changes {
			if _, err := pl.FlowMod(c.flowMod(), time.Now()); err != nil {
				t.Fatalf("seed %d: change %q (delete %v): %v", seed, c.rule.text(), c.delete, err)
			}
		}
		flows := pl.Flows(&pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
		cookies := map[uint64]bool{}
		for _, f := range flows {
			cookies[f.Cookie] = true
		}
		for _, r := range rules {
			if !cookies[r.cookie] {
				t.Errorf("seed %d: rule %q (cookie %d) missing after the change", seed, r.text(), r.cookie)
			}
		}
		if len(flows) != len(rules) {
			t.Errorf("seed %d: %d flows after the change, want %d", seed, len(flows), len(rules))
		}
		snap := pl.Snapshot()
		for i := 0; i < packets; i++ {
			p := g.packet(rules, uint32(i))
			var parsed pipeline.Key
			packet.Parse(p.frame, p.inPort, &parsed)
			if diff := cmp.Diff(parsed, p.key()); diff != "" {
				t.Errorf("seed %d packet %s: model key differs from the parser's (-parser +model):\n%s", seed, p, diff)
			}
			e, err := dgExpectOf(snap, p, seed%2 == 0)
			if err != nil {
				t.Errorf("seed %d: %v", seed, err)
				continue
			}
			if e.res.Hits[0].FlowID != 0 {
				hits++
			}
			outputs += e.total
			switch p.class {
			case dgMPLS:
				mplsIn++
			case dgUDP6:
				ip6In++
			}
			for _, o := range e.res.Outputs {
				if o.Key.EthType == pipeline.EthTypeMPLS {
					mplsOut++
				}
			}
			k := p.key()
			for _, o := range snap.EvaluateWith(k, len(p.frame), pipeline.EvalOptions{InvalidTTLToController: true}).Outputs {
				if o.Reason == pipeline.ReasonInvalidTTL {
					expired++
				}
			}
			for _, fs := range e.frames {
				for _, f := range fs {
					if s, ok := dgSeq(f); !ok || s != p.seq {
						t.Errorf("seed %d packet %s: expected frame lost its sequence number: %x", seed, p, f)
					}
				}
			}
		}
	}
	if hits < seeds*packets/2 || outputs < seeds*packets/4 {
		t.Errorf("%d of %d packets hit a rule in table 0, %d outputs: too few to test anything", hits, seeds*packets, outputs)
	}
	t.Logf("%d MPLS and %d IPv6 packets, %d frames out with a label stack, %d TTLs expired by a rule", mplsIn, ip6In, mplsOut, expired)
	if min(mplsIn, ip6In, mplsOut, expired) == 0 {
		t.Errorf("MPLS and TTLs barely drawn: %d MPLS and %d IPv6 packets, %d MPLS frames out, %d TTLs expired", mplsIn, ip6In, mplsOut, expired)
	}
}
