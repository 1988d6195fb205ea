package tcport

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower"
)

// fakeKernel is a stateful model of the netdevs, ingress qdiscs and
// blocks of a namespace, as Sweep and Rebind see them. It renders every
// change as a tc command line, and frees a shared block with its filters
// when its last binding goes, as the kernel does.
type fakeKernel struct {
	links  []tcflower.Link
	qdisc  map[int]*fakeQdisc    // by ifindex; missing: no ingress qdisc
	blocks map[uint32]*fakeBlock // shared blocks
	fail   map[int]error         // every call about this ifindex fails so
	gone   map[int]bool          // listed, but removed before it is read
	log    []string
}

type fakeQdisc struct {
	kind  string
	block uint32     // shared block, 0: own
	own   *fakeBlock // with block 0
}

type fakeBlock struct {
	filters []tcflower.Dumped
	other   int // filters of other classifiers
}

func newFake(names ...string) *fakeKernel {
	k := &fakeKernel{qdisc: map[int]*fakeQdisc{}, blocks: map[uint32]*fakeBlock{}, fail: map[int]error{}, gone: map[int]bool{}}
	for i, n := range names {
		k.links = append(k.links, tcflower.Link{Index: i + 1, Name: n})
	}
	return k
}

func (k *fakeKernel) index(name string) int {
	for _, l := range k.links {
		if l.Name == name {
			return l.Index
		}
	}
	panic("no link " + name)
}

func (k *fakeKernel) name(ifindex int) string { return k.links[ifindex-1].Name }

// bind binds the named netdevs to block, which holds fs (set up, not logged).
func (k *fakeKernel) bind(block uint32, b *fakeBlock, names ...string) {
	k.blocks[block] = b
	for _, n := range names {
		k.qdisc[k.index(n)] = &fakeQdisc{kind: "clsact", block: block}
	}
}

func (k *fakeKernel) check(ifindex int) error {
	if err := k.fail[ifindex]; err != nil {
		return err
	}
	if k.gone[ifindex] {
		return &tcflower.Error{Op: fmt.Sprintf("ifindex %d", ifindex), Errno: unix.ENODEV}
	}
	return nil
}

func (k *fakeKernel) held(q *fakeQdisc) *fakeBlock {
	if q.block != 0 {
		return k.blocks[q.block]
	}
	return q.own
}

func (k *fakeKernel) Links() ([]tcflower.Link, error) { return slices.Clone(k.links), nil }

func (k *fakeKernel) IngressBlock(ifindex int) (string, uint32, error) {
	if err := k.check(ifindex); err != nil {
		return "", 0, err
	}
	if q := k.qdisc[ifindex]; q != nil {
		return q.kind, q.block, nil
	}
	return "", 0, nil
}

func (k *fakeKernel) DumpIngress(ifindex int) ([]tcflower.Dumped, int, error) {
	if err := k.check(ifindex); err != nil {
		return nil, 0, err
	}
	q := k.qdisc[ifindex]
	if q == nil {
		return nil, 0, nil
	}
	b := k.held(q)
	return slices.Clone(b.filters), b.other, nil
}

func (k *fakeKernel) DeleteIngress(ifindex int, chain uint32, pref uint16, handle uint32) error {
	if err := k.check(ifindex); err != nil {
		return err
	}
	q := k.qdisc[ifindex]
	if q == nil {
		return &tcflower.Error{Op: "delete", Errno: unix.EINVAL}
	}
	b := k.held(q)
	i := slices.IndexFunc(b.filters, func(d tcflower.Dumped) bool {
		return d.Filter.Chain == chain && d.Filter.Pref == pref && d.Filter.Handle == handle
	})
	if i < 0 {
		return &tcflower.Error{Op: "delete", Errno: unix.ENOENT}
	}
	b.filters = slices.Delete(b.filters, i, i+1)
	k.log = append(k.log, fmt.Sprintf("tc filter del dev %s ingress chain %d pref %d handle %#x", k.name(ifindex), chain, pref, handle))
	return nil
}

func (k *fakeKernel) UnbindBlock(ifindex int) error {
	if err := k.check(ifindex); err != nil {
		return err
	}
	q := k.qdisc[ifindex]
	if q == nil {
		return nil
	}
	delete(k.qdisc, ifindex)
	k.log = append(k.log, fmt.Sprintf("tc qdisc del dev %s %s", k.name(ifindex), q.kind))
	if q.block != 0 && !k.bound(q.block) {
		delete(k.blocks, q.block)
		k.log = append(k.log, fmt.Sprintf("(block %d freed)", q.block))
	}
	return nil
}

func (k *fakeKernel) bound(block uint32) bool {
	for _, q := range k.qdisc {
		if q.block == block {
			return true
		}
	}
	return false
}

func (k *fakeKernel) BindBlock(ifindex int, block uint32) error {
	if err := k.check(ifindex); err != nil {
		return err
	}
	op := fmt.Sprintf("bind ifindex %d to tc block %d", ifindex, block)
	if q := k.qdisc[ifindex]; q != nil {
		if q.block == block {
			return nil
		}
		return &tcflower.Error{Op: op, Errno: unix.EEXIST, Message: fmt.Sprintf("the device has a %s qdisc bound to block %d", q.kind, q.block)}
	}
	k.qdisc[ifindex] = &fakeQdisc{kind: "clsact", block: block}
	if k.blocks[block] == nil {
		k.blocks[block] = &fakeBlock{}
	}
	k.log = append(k.log, fmt.Sprintf("tc qdisc add dev %s ingress_block %d clsact", k.name(ifindex), block))
	return nil
}

// nf is a nicflow filter (flow 0: a miss filter) at pref and handle.
func nf(pref uint16, handle uint32, flow uint64) tcflower.Dumped {
	return tcflower.Dumped{Filter: tcflower.Filter{Pref: pref, Handle: handle,
		Cookie: tcflower.EncodeCookie(tcflower.CookieInfo{Version: tcflower.CookieVersion, FlowID: flow})}}
}

// foreign is someone else's flower filter: another cookie or none.
func foreign(pref uint16, handle uint32, cookie []byte) tcflower.Dumped {
	return tcflower.Dumped{Filter: tcflower.Filter{Pref: pref, Handle: handle, Cookie: cookie}}
}

// nicflow block of network blue, and someone else's.
const (
	blue  = 0x4000_0100
	other = 5
)

func TestSweep(t *testing.T) {
	ourBlock := func() *fakeBlock {
		return &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0), nf(1, 2, 0), nf(100, 1, 7)}}
	}
	tests := []struct {
		name      string
		setup     func(k *fakeKernel)
		keep      []string
		want      SweepReport
		wantLog   []string
		wantErr   []string // substrings of the joined error
		wantBound map[string]uint32
	}{
		{
			name:      "stale port of a nicflow block is unbound, the kept one keeps the block",
			setup:     func(k *fakeKernel) { k.bind(blue, ourBlock(), "p1", "p2") },
			keep:      []string{"p2"},
			want:      SweepReport{Checked: 3, Swept: []Swept{{Name: "p1", Ifindex: 2, Block: blue, Filters: 3}}},
			wantLog:   []string{"tc qdisc del dev p1 clsact"},
			wantBound: map[string]uint32{"p2": blue},
		},
		{
			name:  "keeping none frees the block",
			setup: func(k *fakeKernel) { k.bind(blue, ourBlock(), "p1", "p2") },
			want: SweepReport{Checked: 4, Swept: []Swept{
				{Name: "p1", Ifindex: 2, Block: blue, Filters: 3},
				{Name: "p2", Ifindex: 3, Block: blue, Filters: 3},
			}},
			wantLog: []string{"tc qdisc del dev p1 clsact", "tc qdisc del dev p2 clsact", fmt.Sprintf("(block %d freed)", blue)},
		},
		{
			name: "a block of foreign filters only is left alone",
			setup: func(k *fakeKernel) {
				k.bind(other, &fakeBlock{filters: []tcflower.Dumped{
					foreign(1, 1, nil), foreign(2, 1, []byte{0xa1, 0xb2, 0xc3, 0xd4}),
					foreign(3, 1, append([]byte("nf\x02"), make([]byte, 13)...)), // a cookie version nicflow does not know
				}, other: 2}, "p3")
			},
			want:      SweepReport{Checked: 4},
			wantBound: map[string]uint32{"p3": other},
		},
		{
			name:      "an empty shared block says nothing and is left alone",
			setup:     func(k *fakeKernel) { k.bind(blue, &fakeBlock{}, "p1") },
			want:      SweepReport{Checked: 4},
			wantBound: map[string]uint32{"p1": blue},
		},
		{
			name:  "netdevs without ingress qdisc are left alone",
			setup: func(k *fakeKernel) {},
			want:  SweepReport{Checked: 4},
		},
		{
			name: "a nicflow block with foreign filters too is unbound, counting them",
			setup: func(k *fakeKernel) {
				k.bind(blue, &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0), foreign(2, 1, nil)}, other: 1}, "p1")
			},
			want:    SweepReport{Checked: 4, Swept: []Swept{{Name: "p1", Ifindex: 2, Block: blue, Filters: 1, Others: 2}}},
			wantLog: []string{"tc qdisc del dev p1 clsact", fmt.Sprintf("(block %d freed)", blue)},
		},
		{
			name: "own ingress loses nicflow's filters only, keeps its qdisc",
			setup: func(k *fakeKernel) {
				k.qdisc[k.index("p3")] = &fakeQdisc{kind: "ingress", own: &fakeBlock{
					filters: []tcflower.Dumped{foreign(1, 1, nil), nf(2, 1, 9), nf(2, 2, 9)}, other: 1}}
			},
			want: SweepReport{Checked: 4, Swept: []Swept{{Name: "p3", Ifindex: 4, Filters: 2, Others: 2}}},
			wantLog: []string{
				"tc filter del dev p3 ingress chain 0 pref 2 handle 0x1",
				"tc filter del dev p3 ingress chain 0 pref 2 handle 0x2",
			},
			wantBound: map[string]uint32{"p3": 0},
		},
		{
			name: "a failing netdev does not stop the others",
			setup: func(k *fakeKernel) {
				k.bind(blue, ourBlock(), "p1", "p2", "p3")
				k.fail[k.index("p2")] = &tcflower.Error{Op: "get the ingress qdisc of ifindex 3", Errno: unix.EIO}
			},
			want: SweepReport{Checked: 4, Swept: []Swept{
				{Name: "p1", Ifindex: 2, Block: blue, Filters: 3},
				{Name: "p3", Ifindex: 4, Block: blue, Filters: 3},
			}},
			wantLog:   []string{"tc qdisc del dev p1 clsact", "tc qdisc del dev p3 clsact"},
			wantErr:   []string{"p2 (ifindex 3)", "input/output error"},
			wantBound: map[string]uint32{"p2": blue},
		},
		{
			name: "a netdev gone meanwhile is no error",
			setup: func(k *fakeKernel) {
				k.bind(blue, ourBlock(), "p1")
				k.gone[k.index("p1")] = true
			},
			want:      SweepReport{Checked: 4},
			wantBound: map[string]uint32{"p1": blue}, // in the model; the kernel removed it with the netdev
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFake("lo", "p1", "p2", "p3")
			tt.setup(k)
			keep := map[int]bool{}
			for _, n := range tt.keep {
				keep[k.index(n)] = true
			}
			got, err := Sweep(k, func(i int) bool { return keep[i] })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("report (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLog, k.log); diff != "" {
				t.Errorf("kernel changes (-want +got):\n%s", diff)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("error = %v, want none", err)
			}
			for _, s := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error = %v, want one containing %q", err, s)
				}
			}
			gotBound := map[string]uint32{}
			for i, q := range k.qdisc {
				gotBound[k.name(i)] = q.block
			}
			if diff := cmp.Diff(tt.wantBound, gotBound, cmpEmptyMap); diff != "" {
				t.Errorf("ingress qdiscs left, by netdev: block (-want +got):\n%s", diff)
			}
		})
	}
}

var cmpEmptyMap = cmp.FilterValues(func(a, b map[string]uint32) bool { return len(a) == 0 && len(b) == 0 }, cmp.Ignore())

func TestSweepReportsListError(t *testing.T) {
	_, err := Sweep(listFails{}, nil)
	if err == nil || !strings.Contains(err.Error(), "no netlink") {
		t.Errorf("Sweep = %v, want the list error", err)
	}
}

type listFails struct{ SweepKernel }

func (listFails) Links() ([]tcflower.Link, error) { return nil, errors.New("no netlink") }

func TestRebind(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(k *fakeKernel)
		want      *Swept
		wantLog   []string
		wantErr   []string // substrings; and errors.Is EEXIST
		wantBound uint32   // p1's block afterwards
	}{
		{
			name:      "a free netdev is bound",
			setup:     func(k *fakeKernel) {},
			wantLog:   []string{"tc qdisc add dev p1 ingress_block 1073742080 clsact"},
			wantBound: blue,
		},
		{
			name:      "bound already",
			setup:     func(k *fakeKernel) { k.bind(blue, &fakeBlock{}, "p1") },
			wantBound: blue,
		},
		{
			name: "taken over from a block of nicflow filters only",
			setup: func(k *fakeKernel) {
				k.bind(0x4000_0200, &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0), nf(100, 1, 3)}}, "p1", "p2")
			},
			want:      &Swept{Name: "p1", Ifindex: 2, Block: 0x4000_0200, Filters: 2},
			wantLog:   []string{"tc qdisc del dev p1 clsact", "tc qdisc add dev p1 ingress_block 1073742080 clsact"},
			wantBound: blue,
		},
		{
			name: "not from a block with foreign filters",
			setup: func(k *fakeKernel) {
				k.bind(other, &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0), foreign(2, 1, nil)}}, "p1")
			},
			wantErr:   []string{"p1: not taken over, block 5 holds 1 filters that are not nicflow's", "bound to block 5"},
			wantBound: other,
		},
		{
			name: "not from a block with another classifier's filters",
			setup: func(k *fakeKernel) {
				k.bind(other, &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0)}, other: 1}, "p1")
			},
			wantErr:   []string{"p1: not taken over, block 5 holds 1 filters"},
			wantBound: other,
		},
		{
			name:      "not from an empty block",
			setup:     func(k *fakeKernel) { k.bind(other, &fakeBlock{}, "p1") },
			wantErr:   []string{"p1: not taken over, block 5 holds no filter"},
			wantBound: other,
		},
		{
			name: "not from its own ingress",
			setup: func(k *fakeKernel) {
				k.qdisc[k.index("p1")] = &fakeQdisc{kind: "clsact", own: &fakeBlock{filters: []tcflower.Dumped{nf(1, 1, 0)}}}
			},
			wantErr: []string{"p1: not taken over, its clsact qdisc holds filters of its own"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newFake("lo", "p1", "p2")
			tt.setup(k)
			got, err := Rebind(k, "p1", k.index("p1"), blue)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("taken over (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantLog, k.log); diff != "" {
				t.Errorf("kernel changes (-want +got):\n%s", diff)
			}
			if len(tt.wantErr) == 0 && err != nil {
				t.Errorf("error = %v, want none", err)
			}
			if len(tt.wantErr) > 0 && !errors.Is(err, unix.EEXIST) {
				t.Errorf("error = %v, want EEXIST", err)
			}
			for _, s := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), s) {
					t.Errorf("error = %v, want one containing %q", err, s)
				}
			}
			if q := k.qdisc[k.index("p1")]; q == nil || q.block != tt.wantBound {
				t.Errorf("p1's ingress qdisc = %+v, want bound to block %d", q, tt.wantBound)
			}
		})
	}
}
