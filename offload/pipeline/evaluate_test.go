package pipeline

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// evalCase is a pipeline (flows added in order, after the groups and
// meters), a packet, and the expected result. Flow IDs are 1, 2, ... in the
// order of flows.
type evalCase struct {
	name   string
	groups []*GroupMod
	meters []*MeterMod
	flows  []*FlowMod
	key    Key
	opts   EvalOptions
	want   Result
}

func instr(fm *FlowMod, in Instructions) *FlowMod { fm.Instr = in; return fm }

func TestEvaluate(t *testing.T) {
	macX := [6]byte{2, 0, 0, 0, 0, 0xaa}
	macY := [6]byte{2, 0, 0, 0, 0, 0xbb}
	ip := Key{InPort: 9, EthType: EthTypeIPv4, IPProto: ProtoTCP}
	with := func(k Key, f func(*Key)) Key { f(&k); return k }
	out := func(port uint32, k Key) OutputEvent { return OutputEvent{Port: port, Key: k, Len: 100} }
	pushVLAN := Action{Type: ActionPushVLAN, EtherType: EthTypeVLAN}
	popVLAN := Action{Type: ActionPopVLAN}
	tagged := mt(masked(FieldVlanVID, VIDPresent, VIDPresent))

	tests := []evalCase{
		{
			name: "goto and metadata",
			flows: []*FlowMod{
				instr(addMod(0, 1, mt(exact(FieldInPort, 9))), Instructions{WriteMetadata: true, Metadata: 0xab, MetadataMask: 0xff, Goto: true, GotoTable: 2}),
				instr(addMod(2, 1, Match{}), Instructions{WriteMetadata: true, Metadata: 0x11ff, MetadataMask: 0xff00, Goto: true, GotoTable: 3}),
				addMod(3, 5, mt(exact(FieldMetadata, 0x11ab)), Output(5)),
				addMod(3, 1, Match{}, Output(6)),
			},
			key: ip,
			want: Result{
				Hits:    []Hit{{0, 1}, {2, 2}, {3, 3}},
				Outputs: []OutputEvent{out(5, with(ip, func(k *Key) { k.Metadata = 0x11ab }))},
			},
		},
		{
			name:  "table miss drops",
			flows: []*FlowMod{addMod(0, 1, mt(exact(FieldInPort, 2)), Output(5))},
			key:   ip,
			want:  Result{Hits: []Hit{{0, 0}}},
		},
		{
			name: "table miss discards the action set",
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Write: []Action{Output(1)}, HasWrite: true, Goto: true, GotoTable: 1}),
			},
			key:  ip,
			want: Result{Hits: []Hit{{0, 1}, {1, 0}}},
		},
		{
			name: "write then clear",
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Write: []Action{Output(1), SetField(FieldEthDst, macX[:])}, HasWrite: true, Goto: true, GotoTable: 1}),
				instr(addMod(1, 1, Match{}), Instructions{Clear: true, Write: []Action{Output(2)}, HasWrite: true}),
			},
			key:  ip,
			want: Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{out(2, ip)}},
		},
		{
			name: "write merges: later output replaces, set_field stays",
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Write: []Action{Output(1), SetField(FieldEthDst, macX[:])}, HasWrite: true, Goto: true, GotoTable: 1}),
				instr(addMod(1, 1, Match{}), Instructions{Write: []Action{Output(2)}, HasWrite: true}),
			},
			key:  ip,
			want: Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{out(2, with(ip, func(k *Key) { k.EthDst = macX }))}},
		},
		{
			name:   "group in the action set overrides output",
			groups: []*GroupMod{{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(3)), bucket(Output(4), SetField(FieldEthSrc, macY[:]))}}},
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Write: []Action{Output(1), groupAction(1)}, HasWrite: true}),
			},
			key: ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				out(3, ip),
				out(4, with(ip, func(k *Key) { k.EthSrc = macY })), // bucket actions run as a set: set before output
			}},
		},
		{
			name: "apply runs in order, write at the end",
			flows: []*FlowMod{
				instr(addMod(0, 1, mt(ipv4Type)), Instructions{
					Apply: []Action{Output(1), setf(FieldIPv4Dst, 0x0a000001), Output(2)}, HasApply: true,
					Write: []Action{Output(3), setf(FieldIPv4Dst, 0x0a000002)}, HasWrite: true,
				}),
			},
			key: ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				out(1, ip),
				out(2, with(ip, func(k *Key) { k.L3Dst = [16]byte{10, 0, 0, 1} })),
				out(3, with(ip, func(k *Key) { k.L3Dst = [16]byte{10, 0, 0, 2} })),
			}},
		},
		{
			name: "apply changes are seen by the next table",
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Apply: []Action{SetField(FieldEthDst, macX[:])}, HasApply: true, Goto: true, GotoTable: 1}),
				addMod(1, 1, mt(mf{f: FieldEthDst, v: macX[:]}), Output(7)),
			},
			key:  ip,
			want: Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{out(7, with(ip, func(k *Key) { k.EthDst = macX }))}},
		},
		{
			name: "push and pop vlan",
			flows: []*FlowMod{
				addMod(0, 1, Match{}, pushVLAN, setf(FieldVlanVID, 10), setf(FieldVlanPCP, 3), Output(1), popVLAN, Output(2)),
			},
			key: ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				{Port: 1, Key: with(ip, func(k *Key) { k.VlanVID, k.VlanPCP = VIDPresent|10, 3 }), Len: 104},
				{Port: 2, Key: ip, Len: 100},
			}},
		},
		{
			name:  "push on a tagged packet keeps the tag's fields",
			flows: []*FlowMod{addMod(0, 1, tagged, pushVLAN, Output(1))},
			key:   with(ip, func(k *Key) { k.VlanVID, k.VlanPCP = VIDPresent|7, 2 }),
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				{Port: 1, Key: with(ip, func(k *Key) {
					k.VlanVID, k.VlanPCP = VIDPresent|7, 2
					k.Vlan2VID, k.Vlan2PCP = VIDPresent|7, 2 // the old tag is the second now
				}), Len: 104},
			}},
		},
		{
			name:  "output to in_port sends nothing, IN_PORT does",
			flows: []*FlowMod{addMod(0, 1, Match{}, Output(9), Output(PortInPort), Output(PortFlood))},
			key:   ip,
			want:  Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{out(PortInPort, ip), out(PortFlood, ip)}},
		},
		{
			name: "controller reasons",
			flows: []*FlowMod{
				instr(addMod(0, 5, mt(exact(FieldInPort, 9))), Instructions{Apply: []Action{{Type: ActionOutput, Port: PortController, MaxLen: 128}}, HasApply: true, Goto: true, GotoTable: 1}),
				addMod(1, 0, Match{}, Output(PortController)),
			},
			key: ip,
			want: Result{Hits: []Hit{{0, 1}, {1, 2}}, Outputs: []OutputEvent{
				{Port: PortController, Key: ip, Len: 100, MaxLen: 128, Reason: ReasonAction},
				{Port: PortController, Key: ip, Len: 100, MaxLen: ControllerMaxLenNoBuffer, Reason: ReasonNoMatch},
			}},
		},
		{
			name:   "meter and queue",
			meters: []*MeterMod{{Command: MeterAdd, ID: 4, Flags: MeterPktps, Bands: []Band{{Type: BandDrop, Rate: 1}}}},
			flows: []*FlowMod{
				instr(addMod(0, 1, Match{}), Instructions{Meter: 4, Apply: []Action{{Type: ActionSetQueue, Queue: 3}, Output(1)}, HasApply: true}),
			},
			key: ip,
			want: Result{Hits: []Hit{{0, 1}}, Meters: []uint32{4}, Outputs: []OutputEvent{
				{Port: 1, Key: ip, Len: 100, Queue: 3, QueueSet: true},
			}},
		},
		{
			name:   "group in apply-actions works on a copy",
			groups: []*GroupMod{{Command: GroupAdd, Type: GroupTypeIndirect, ID: 2, Buckets: []Bucket{bucket(SetField(FieldEthDst, macX[:]), Output(3))}}},
			flows:  []*FlowMod{addMod(0, 1, Match{}, groupAction(2), Output(4))},
			key:    ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				out(3, with(ip, func(k *Key) { k.EthDst = macX })),
				out(4, ip),
			}},
		},
		{
			name: "chained groups",
			groups: []*GroupMod{
				{Command: GroupAdd, Type: GroupTypeAll, ID: 1, Buckets: []Bucket{bucket(Output(1)), bucket(Output(2))}},
				{Command: GroupAdd, Type: GroupTypeIndirect, ID: 2, Buckets: []Bucket{bucket(SetField(FieldEthDst, macX[:]), groupAction(1))}},
			},
			flows: []*FlowMod{addMod(0, 1, Match{}, groupAction(2))},
			key:   ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{
				out(1, with(ip, func(k *Key) { k.EthDst = macX })),
				out(2, with(ip, func(k *Key) { k.EthDst = macX })),
			}},
		},
		{
			name: "select: default first candidate",
			groups: []*GroupMod{{Command: GroupAdd, Type: GroupTypeSelect, ID: 3, Buckets: []Bucket{
				{Weight: 0, WatchPort: PortAny, WatchGroup: GroupAny, Actions: []Action{Output(1)}},
				bucket(Output(2)), bucket(Output(3)),
			}}},
			flows: []*FlowMod{addMod(0, 1, Match{}, groupAction(3))},
			key:   ip,
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{out(2, ip)},
				Selections: []Selection{{Group: 3, Candidates: []int{1, 2}, Chosen: 1}}},
		},
		{
			name: "select: chooser",
			groups: []*GroupMod{{Command: GroupAdd, Type: GroupTypeSelect, ID: 3, Buckets: []Bucket{
				{Weight: 0, WatchPort: PortAny, WatchGroup: GroupAny, Actions: []Action{Output(1)}},
				bucket(Output(2)), bucket(Output(3)),
			}}},
			flows: []*FlowMod{addMod(0, 1, Match{}, groupAction(3))},
			key:   ip,
			opts:  EvalOptions{Select: func(g *Group, c []int, k *Key) int { return c[len(c)-1] }},
			want: Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{out(3, ip)},
				Selections: []Selection{{Group: 3, Candidates: []int{1, 2}, Chosen: 2}}},
		},
		{
			name: "fast failover skips dead ports and dead watch groups",
			groups: []*GroupMod{
				{Command: GroupAdd, Type: GroupTypeFastFailover, ID: 1, Buckets: []Bucket{
					{WatchPort: 10, WatchGroup: GroupAny, Actions: []Action{Output(10)}},
				}},
				{Command: GroupAdd, Type: GroupTypeFastFailover, ID: 2, Buckets: []Bucket{
					{WatchPort: 10, WatchGroup: GroupAny, Actions: []Action{Output(10)}},
					{WatchPort: PortAny, WatchGroup: 1, Actions: []Action{Output(11)}},
					{WatchPort: 12, WatchGroup: GroupAny, Actions: []Action{Output(12)}},
					{WatchPort: 13, WatchGroup: GroupAny, Actions: []Action{Output(13)}},
				}},
			},
			flows: []*FlowMod{addMod(0, 1, Match{}, groupAction(2))},
			key:   ip,
			opts:  EvalOptions{Live: func(port uint32) bool { return port != 10 }},
			want:  Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{out(12, ip)}},
		},
		{
			name: "fast failover with every port down drops",
			groups: []*GroupMod{{Command: GroupAdd, Type: GroupTypeFastFailover, ID: 1, Buckets: []Bucket{
				{WatchPort: 10, WatchGroup: GroupAny, Actions: []Action{Output(10)}},
			}}},
			flows: []*FlowMod{addMod(0, 1, Match{}, groupAction(1))},
			key:   ip,
			opts:  EvalOptions{Live: func(uint32) bool { return false }},
			want:  Result{Hits: []Hit{{0, 1}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := New()
			for _, gm := range tt.groups {
				mustGroup(t, p, gm)
			}
			for _, mm := range tt.meters {
				mustMeter(t, p, mm)
			}
			for _, fm := range tt.flows {
				mustAdd(t, p, fm)
			}
			got := p.Snapshot().EvaluateWith(tt.key, 100, tt.opts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("EvaluateWith (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEvaluateUsesPriorityThenAge(t *testing.T) {
	p := New()
	mustAdd(t, p, addMod(0, 5, Match{}, Output(11)))
	mustAdd(t, p, addMod(0, 5, mt(exact(FieldInPort, 1)), Output(12)))
	mustAdd(t, p, addMod(0, 4, mt(exact(FieldInPort, 1)), Output(13)))
	got := p.Snapshot().Evaluate(Key{InPort: 1}, 60)
	want := Result{Hits: []Hit{{0, 1}}, Outputs: []OutputEvent{{Port: 11, Key: Key{InPort: 1}, Len: 60}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Evaluate (-want +got):\n%s", diff)
	}
}
