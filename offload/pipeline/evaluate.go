package pipeline

// PacketInReason is OFPR_*: why a packet went to the controller.
type PacketInReason uint8

// The packet-in reasons of OpenFlow 1.3.
const (
	ReasonNoMatch    PacketInReason = 0 // sent by a table-miss flow entry
	ReasonAction     PacketInReason = 1
	ReasonInvalidTTL PacketInReason = 2
)

// maxGroupDepth bounds group chaining and watch-group liveness in Evaluate
// (GroupMod refuses loops; this only guards hand-made snapshots).
const maxGroupDepth = 32

// EvalOptions tune Evaluate for groups whose result depends on state
// outside the pipeline.
type EvalOptions struct {
	// Live reports whether a port is up, for fast-failover watch ports.
	// Nil: every port is live.
	Live func(port uint32) bool
	// Select picks the bucket of a SELECT group among candidates (indexes
	// into g.Buckets, never empty). Nil: the first candidate.
	Select func(g *Group, candidates []int, k *Key) int
	// InvalidTTLToController mirrors OFPC_INVALID_TTL_TO_CONTROLLER: a
	// dec_nw_ttl or dec_mpls_ttl of a TTL of 0 or 1 sends the packet, as
	// it is, to CONTROLLER with ReasonInvalidTTL (and no buffer) instead of
	// dropping it silently. Either way the packet goes no further.
	InvalidTTLToController bool
}

// Result is what the reference pipeline did with one packet.
type Result struct {
	// Hits lists the tables visited in order and the entry hit in each;
	// FlowID 0 (IDs start at 1) is a table miss, where the packet is dropped
	// and its action set discarded.
	Hits []Hit
	// Meters lists the meter instructions met, in order (not enforced).
	Meters []uint32
	// Outputs lists every packet sent, in order.
	Outputs []OutputEvent
	// Selections lists the SELECT groups executed and the bucket taken.
	Selections []Selection
	// Inexact is set when some copy of the packet became inexact (see
	// OutputEvent.Inexact): from there on the evaluator may also be wrong
	// about what happens to it (a TTL it thinks expired, a field it thinks
	// absent).
	Inexact bool
}

// Hit is one table visited by a packet.
type Hit struct {
	Table  uint8
	FlowID uint64 // 0: table miss
}

// OutputEvent is one packet sent by an output action.
type OutputEvent struct {
	// Port is the output action's port as written, reserved ports
	// (IN_PORT, FLOOD, ALL, CONTROLLER, LOCAL, NORMAL) unresolved.
	Port uint32
	// Key is the packet's key as it leaves (after set_field, push, pop):
	// what a parser makes of the packet sent, unless Inexact.
	Key Key
	// Inexact is set when an action on this copy met a packet the key
	// cannot fully describe (EvaluateWith lists the cases): Key is then the
	// evaluator's best guess.
	Inexact bool
	// Len is the packet's length: pktLen plus the bytes pushes added
	// (push_vlan and push_mpls 4, push_pbb 18), minus those pops removed.
	Len int
	// Queue is the set_queue in force, if QueueSet.
	Queue    uint32
	QueueSet bool
	// MaxLen and Reason are set for output to CONTROLLER: ReasonNoMatch when
	// the entry that produced the output (for the action set: the last entry
	// hit) is a table-miss entry (priority 0, all fields wildcarded),
	// ReasonInvalidTTL for a TTL that expired (EvalOptions), otherwise
	// ReasonAction.
	MaxLen uint16
	Reason PacketInReason
}

// Selection records one execution of a SELECT group.
type Selection struct {
	Group      uint32
	Candidates []int // buckets with weight > 0
	Chosen     int   // index into the group's buckets, -1 if no candidate
}

// Evaluate is EvaluateWith with default options.
func (s *Snapshot) Evaluate(k Key, pktLen int) Result {
	return s.EvaluateWith(k, pktLen, EvalOptions{})
}

// EvaluateWith runs the packet with key k and length pktLen through the
// pipeline, starting at table 0, and reports what happened. It is the
// reference semantics the execution tiers are tested against; it does not
// touch counters.
//
// In each table the first matching entry (Lookup) executes its instructions
// in the spec's order: meter (recorded in Result.Meters), apply-actions
// (in list order, on the packet itself), clear-actions, write-actions
// (merged into the action set), write-metadata (into Key.Metadata under the
// mask), goto-table. A table miss drops the packet: no action set runs. When
// an entry has no goto-table the action set runs, in ActionSet order (a
// group action suppresses the output action).
//
// Actions change the key as the fast path (softpath/packet.Apply) changes
// the packet, so that an output's Key is what the parser makes of the
// packet sent: set_field writes a field only when the packet has its
// header (the hidden Key fields say so: set_field tcp_dst on a non-first
// fragment or on an MPLS packet changes nothing), masked to the field's
// width; push_vlan copies the outer tag's VID and PCP (0 without one) and
// pop_vlan brings up the second tag; push_mpls, pop_mpls,
// set/dec_mpls_ttl, copy_ttl_out/in, push_pbb, pop_pbb, set/dec_nw_ttl and
// set_field eth_type, ip_proto and mpls_bos do what Apply documents;
// set_queue sets the queue of later outputs. A dec_nw_ttl or dec_mpls_ttl of a TTL of 0 or 1 ends the
// packet: nothing after it runs (no later action, goto or action set; in a
// group bucket, the rest of that bucket), and with
// EvalOptions.InvalidTTLToController it is first output to CONTROLLER with
// ReasonInvalidTTL. An output to a port equal to the key's in_port sends
// nothing (OpenFlow requires IN_PORT for that).
//
// The key cannot describe every packet; an output is marked Inexact after
// an action that needed more than the key holds:
//   - pop_vlan of two tags with a third one behind (after push_vlan onto
//     two tags, for instance);
//   - pop_mpls of a stack deeper than MPLSStackMax (the entry that moves up
//     is not in the key), of an entry above the bottom to a non-MPLS
//     ethertype, or of the bottom to ARP, MPLS, VLAN or PBB when the
//     payload was not IP;
//   - push_mpls onto a packet whose payload is neither IP, ARP nor short
//     (the parser guesses IP by the version nibble);
//   - set_field eth_type to an ethertype the payload may parse as (IP,
//     ARP, MPLS, a tag, PBB) when the key does not say it cannot;
//   - set_field icmpv6_type or icmpv6_code that makes a message ND;
//   - set_field ip_proto to a protocol whose header the parser reads
//     (TCP, UDP, SCTP, ICMP) unless it lies within the old header read
//     (TCP to UDP or SCTP, SCTP to UDP), and in IPv6 from or to an
//     extension header, ESP or no next header, or of a packet whose
//     ip_proto the key does not know (see packet.setIPProto);
//   - pop_pbb of a customer frame with two tags, or of a PBB frame inside;
//   - a push or pop across 65535 bytes (the parser reads no further).
//
// Groups run on a copy of the packet; each bucket runs its actions as an
// action set on its own copy. ALL runs every bucket; INDIRECT its bucket;
// SELECT the bucket EvalOptions.Select picks among buckets of non-zero
// weight; FAST_FAILOVER the first live bucket: its watch port is live per
// EvalOptions.Live (when not OFPP_ANY) and its watch group (when not
// OFPG_ANY) has a live bucket.
func (s *Snapshot) EvaluateWith(k Key, pktLen int, o EvalOptions) Result {
	e := evaluator{s: s, opts: o}
	pk := packet{key: k, length: pktLen}
	var set ActionSet
	t := uint8(0)
	for {
		f := s.Lookup(t, &pk.key)
		if f == nil {
			e.res.Hits = append(e.res.Hits, Hit{Table: t})
			return e.res
		}
		e.res.Hits = append(e.res.Hits, Hit{Table: t, FlowID: f.ID})
		e.reason = ReasonAction
		if f.Priority == 0 && f.Match.Mask.IsZero() {
			e.reason = ReasonNoMatch
		}
		in := f.Instr
		if in.Meter != 0 {
			e.res.Meters = append(e.res.Meters, in.Meter)
		}
		for _, a := range in.Apply {
			if !e.do(&pk, &a, 0) {
				return e.res
			}
		}
		if in.Clear {
			set.Clear()
		}
		if in.HasWrite || len(in.Write) > 0 {
			set.Write(in.Write)
		}
		if in.WriteMetadata {
			pk.key.Metadata = pk.key.Metadata&^in.MetadataMask | in.Metadata&in.MetadataMask
		}
		if !in.Goto || in.GotoTable <= t || in.GotoTable >= NumTables {
			break
		}
		t = in.GotoTable
	}
	for _, a := range set.List(nil) {
		if !e.do(&pk, &a, 0) {
			break
		}
	}
	return e.res
}

// packet is the evaluator's packet state.
type packet struct {
	key      Key
	length   int
	queue    uint32
	queueSet bool
	inexact  bool // see OutputEvent.Inexact
}

type evaluator struct {
	s      *Snapshot
	opts   EvalOptions
	reason PacketInReason
	res    Result
}

// do runs one action on pk; it returns false when the packet is gone (its
// TTL expired).
func (e *evaluator) do(pk *packet, a *Action, depth int) bool {
	switch a.Type {
	case ActionOutput:
		if a.Port == pk.key.InPort && a.Port <= PortMax {
			return true
		}
		out := e.output(pk, a.Port)
		if a.Port == PortController {
			out.MaxLen, out.Reason = a.MaxLen, e.reason
		}
		e.res.Outputs = append(e.res.Outputs, out)
	case ActionGroup:
		e.group(*pk, a.Group, depth)
	case ActionSetQueue:
		pk.queue, pk.queueSet = a.Queue, true
	case ActionDecNwTTL, ActionDecMPLSTTL:
		if pk.decTTL(a.Type) {
			if e.opts.InvalidTTLToController {
				out := e.output(pk, PortController)
				out.MaxLen, out.Reason = ControllerMaxLenNoBuffer, ReasonInvalidTTL
				e.res.Outputs = append(e.res.Outputs, out)
			}
			return false
		}
	default:
		pk.modify(a)
		e.res.Inexact = e.res.Inexact || pk.inexact
	}
	return true
}

// output returns the output event of pk to port.
func (e *evaluator) output(pk *packet, port uint32) OutputEvent {
	return OutputEvent{Port: port, Key: pk.key, Inexact: pk.inexact, Len: pk.length, Queue: pk.queue, QueueSet: pk.queueSet}
}

// group runs group id on pk (a copy: the caller's packet is unchanged).
func (e *evaluator) group(pk packet, id uint32, depth int) {
	g := e.s.Groups[id]
	if g == nil || depth >= maxGroupDepth {
		return
	}
	switch g.Type {
	case GroupTypeAll:
		for i := range g.Buckets {
			e.bucket(pk, &g.Buckets[i], depth)
		}
	case GroupTypeIndirect:
		if len(g.Buckets) > 0 {
			e.bucket(pk, &g.Buckets[0], depth)
		}
	case GroupTypeSelect:
		sel := Selection{Group: id, Chosen: -1}
		for i := range g.Buckets {
			if g.Buckets[i].Weight > 0 {
				sel.Candidates = append(sel.Candidates, i)
			}
		}
		if len(sel.Candidates) > 0 {
			sel.Chosen = sel.Candidates[0]
			if e.opts.Select != nil {
				sel.Chosen = e.opts.Select(g, sel.Candidates, &pk.key)
			}
		}
		e.res.Selections = append(e.res.Selections, sel)
		if sel.Chosen >= 0 && sel.Chosen < len(g.Buckets) {
			e.bucket(pk, &g.Buckets[sel.Chosen], depth)
		}
	case GroupTypeFastFailover:
		for i := range g.Buckets {
			if e.bucketLive(&g.Buckets[i], depth) {
				e.bucket(pk, &g.Buckets[i], depth)
				return
			}
		}
	}
}

// bucket runs b's actions as an action set on its own copy of the packet.
func (e *evaluator) bucket(pk packet, b *Bucket, depth int) {
	var set ActionSet
	set.Write(b.Actions)
	for _, a := range set.List(nil) {
		if !e.do(&pk, &a, depth+1) {
			return
		}
	}
}

// bucketLive reports whether a fast-failover bucket may be used.
func (e *evaluator) bucketLive(b *Bucket, depth int) bool {
	if b.WatchPort != PortAny && e.opts.Live != nil && !e.opts.Live(b.WatchPort) {
		return false
	}
	if b.WatchGroup != GroupAny {
		g := e.s.Groups[b.WatchGroup]
		if g == nil || depth >= maxGroupDepth {
			return false
		}
		for i := range g.Buckets {
			wb := &g.Buckets[i]
			if g.Type != GroupTypeFastFailover || e.bucketLive(wb, depth+1) {
				return true
			}
		}
		return false
	}
	return true
}
