package classifier

import (
	"slices"
	"time"

	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// small value pools keep random packets hitting random rules often.
var (
	pPorts  = []uint32{1, 2, 3}
	pIPs    = []uint32{0x0a000001, 0x0a000002, 0x0a000102, 0x0a010101, 0xc0a80001}
	pProtos = []uint8{pipeline.ProtoTCP, pipeline.ProtoUDP, pipeline.ProtoICMP}
	pL4     = []uint16{22, 53, 80, 443}
	pMACs   = [][6]byte{{2, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 0, 2}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}
	pMeta   = []uint64{0, 1, 0x100, 0x101}
)

func pick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

func put32(b []byte, v uint32) []byte { binary.BigEndian.PutUint32(b, v); return b }

// randomMatch sets a random subset of a few fields, some masked.
func randomMatch(r *rand.Rand) pipeline.Match {
	var m pipeline.Match
	if r.IntN(2) == 0 {
		m.Set(pipeline.FieldInPort, put32(make([]byte, 4), pick(r, pPorts)), nil)
	}
	if r.IntN(3) == 0 {
		mac := pick(r, pMACs)
		m.Set(pipeline.FieldEthDst, mac[:], nil)
	}
	if r.IntN(4) == 0 {
		m.Set(pipeline.FieldMetadata, binary.BigEndian.AppendUint64(nil, pick(r, pMeta)),
			binary.BigEndian.AppendUint64(nil, pick(r, []uint64{1, 0x100, ^uint64(0)})))
	}
	if r.IntN(3) > 0 {
		m.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
		for _, f := range []pipeline.Field{pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst} {
			if r.IntN(2) == 0 {
				plen := pick(r, []int{8, 16, 24, 32})
				mask := uint32(0xffffffff) << (32 - plen)
				m.Set(f, put32(make([]byte, 4), pick(r, pIPs)), put32(make([]byte, 4), mask))
			}
		}
		if r.IntN(2) == 0 {
			proto := pick(r, pProtos)
			m.Set(pipeline.FieldIPProto, []byte{proto}, nil)
			if proto != pipeline.ProtoICMP && r.IntN(2) == 0 {
				f := pipeline.FieldTCPDst
				if proto == pipeline.ProtoUDP {
					f = pipeline.FieldUDPDst
				}
				m.Set(f, binary.BigEndian.AppendUint16(nil, pick(r, pL4)), nil)
			}
		}
	}
	return m
}

func randomKey(r *rand.Rand) pipeline.Key {
	var k pipeline.Key
	k.InPort = pick(r, pPorts)
	k.Metadata = pick(r, pMeta)
	k.EthDst = pick(r, pMACs)
	k.EthSrc = pick(r, pMACs)
	if r.IntN(5) == 0 {
		k.EthType = pipeline.EthTypeARP
		return k
	}
	k.EthType = pipeline.EthTypeIPv4
	put32(k.L3Src[:4], pick(r, pIPs))
	put32(k.L3Dst[:4], pick(r, pIPs))
	k.IPProto = pick(r, pProtos)
	if k.IPProto != pipeline.ProtoICMP {
		k.TpSrc = pick(r, pL4)
		k.TpDst = pick(r, pL4)
	}
	return k
}

// randomSnapshot makes n flows per table in tables 0 and 1 with overlapping
// priorities, ordered as pipeline snapshots are.
func randomSnapshot(r *rand.Rand, n int) *pipeline.Snapshot {
	var tables [pipeline.NumTables][]*pipeline.Flow
	id := uint64(0)
	for t := uint8(0); t < 2; t++ {
		var flows []*pipeline.Flow
		for i := 0; i < n; i++ {
			id++
			flows = append(flows, &pipeline.Flow{
				ID: id, Table: t, Priority: uint16(r.IntN(8)),
				Match: randomMatch(r), Counters: &pipeline.Counters{},
			})
		}
		sort.SliceStable(flows, func(a, b int) bool {
			if flows[a].Priority != flows[b].Priority {
				return flows[a].Priority > flows[b].Priority
			}
			return flows[a].ID < flows[b].ID
		})
		tables[t] = flows
	}
	return pipeline.SnapshotOf(tables, nil, nil)
}

func TestLookupMatchesReference(t *testing.T) {
	checked, hits := 0, 0
	for seed := uint64(1); seed <= 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		s := randomSnapshot(r, 1+r.IntN(60))
		c := Compile(s)
		for i := 0; i < 400; i++ {
			k := randomKey(r)
			for tbl := uint8(0); tbl < 3; tbl++ {
				want, got := s.Lookup(tbl, &k), c.Lookup(tbl, &k)
				if want != got {
					t.Fatalf("seed %d table %d key %+v: Lookup = %s, want %s", seed, tbl, k, name(got), name(want))
				}
				checked++
				if want != nil {
					hits++
				}
			}
		}
	}
	t.Logf("%d lookups agree with Snapshot.Lookup (%d hits)", checked, hits)
	if hits == 0 || hits == checked {
		t.Fatalf("degenerate test: %d hits of %d", hits, checked)
	}
}

func TestLookupTies(t *testing.T) {
	// Same match, same priority: the older entry (lower ID, first in table
	// order) wins; an exact duplicate match with a higher priority later
	// in a different subtable order must still lose to the earlier (higher
	// priority) wildcard. Table 1 holds its exact entries before its
	// wildcard of the same priority.
	var exact pipeline.Match
	exact.Set(pipeline.FieldInPort, put32(make([]byte, 4), 1), nil)
	f1 := &pipeline.Flow{ID: 1, Priority: 10, Match: pipeline.Match{}}
	f2 := &pipeline.Flow{ID: 2, Priority: 10, Match: exact}
	f3 := &pipeline.Flow{ID: 3, Priority: 10, Match: exact}
	f4 := &pipeline.Flow{ID: 4, Priority: 5, Match: exact}
	g2 := &pipeline.Flow{ID: 5, Priority: 10, Match: exact, Table: 1}
	g3 := &pipeline.Flow{ID: 6, Priority: 10, Match: exact, Table: 1}
	g1 := &pipeline.Flow{ID: 7, Priority: 10, Match: pipeline.Match{}, Table: 1}
	s := pipeline.SnapshotOf([pipeline.NumTables][]*pipeline.Flow{0: {f1, f2, f3, f4}, 1: {g2, g3, g1}}, nil, nil)
	c := Compile(s)
	k := pipeline.Key{InPort: 1}
	tests := []struct {
		table uint8
		want  *pipeline.Flow
	}{{0, f1}, {1, g2}, {2, nil}}
	for _, tt := range tests {
		t.Run(fmt.Sprint("table", tt.table), func(t *testing.T) {
			if got := c.Lookup(tt.table, &k); got != tt.want {
				t.Errorf("Lookup = %s, want %s", name(got), name(tt.want))
			}
		})
	}
	if got := c.TableStats(0); got != (Stats{Flows: 2, Subtables: 2}) {
		t.Errorf("TableStats(0) = %+v, want 2 flows in 2 subtables", got)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	s := randomSnapshot(r, 200)
	c := Compile(s)
	k := randomKey(r)
	if n := testing.AllocsPerRun(1000, func() { c.Lookup(0, &k) }); n != 0 {
		t.Errorf("Lookup allocates %v times per call", n)
	}
}

func name(f *pipeline.Flow) string {
	if f == nil {
		return "miss"
	}
	return fmt.Sprintf("flow %d (prio %d)", f.ID, f.Priority)
}

func TestRecompileReusesUntouchedTablesAndStaysExact(t *testing.T) {
	p := pipeline.New()
	add := func(table uint8, prio uint16, port byte) {
		t.Helper()
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: table, Priority: prio,
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, port}, nil)
		if _, err := p.FlowMod(fm, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	add(0, 10, 1)
	add(1, 10, 2)
	first := Compile(p.Snapshot())

	add(0, 20, 3) // touches table 0 only
	second := Recompile(first, p.Snapshot())
	if len(second.tables[1].subs) == 0 || second.tables[1].subs[0] != first.tables[1].subs[0] {
		t.Error("table 1 was compiled again although the change did not touch it")
	}
	if second.tables[0].subs[0] == first.tables[0].subs[0] {
		t.Error("table 0 was reused although the change touched it")
	}
	s := p.Snapshot()
	for port := uint32(0); port < 5; port++ {
		k := pipeline.Key{InPort: port}
		for tbl := uint8(0); tbl < 2; tbl++ {
			if got, want := second.Lookup(tbl, &k), s.Lookup(tbl, &k); got != want {
				t.Errorf("table %d in_port %d: Lookup = %v, reference %v", tbl, port, got, want)
			}
		}
	}
}

// TestRecompileFollowsChanges: a pipeline changed by random adds,
// modifies and deletes (some priorities shared by many entries, some
// matches identical at several priorities, masks of one to six words),
// its classifier brought up to each new snapshot by Recompile, agrees
// with the reference Lookup on random keys after every step; the tables
// were brought up to date by their changes, not compiled again, and a
// classifier of an older snapshot still answers for its own.
func TestRecompileFollowsChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 17))
	p := pipeline.New()
	var c *Classifier
	type kept struct {
		c *Classifier
		s *pipeline.Snapshot
	}
	var old []kept
	incremental := 0
	for step := range 3000 {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: uint8(r.IntN(2)), Priority: uint16(r.IntN(4)),
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match = randomMatch(r)
		fm.Match.Normalize()
		switch x := r.IntN(10); {
		case x < 6:
		case x < 7:
			fm.Command = pipeline.FlowModifyStrict
		case x < 9:
			fm.Command = pipeline.FlowDeleteStrict
		default:
			fm.Command = pipeline.FlowDelete
		}
		if _, err := p.FlowMod(fm, time.Unix(0, 0)); err != nil {
			continue // a random match may lack its prerequisites
		}
		s := p.Snapshot()
		if c != nil {
			if _, ok := s.TableChanges(fm.Table, c.snap); ok && !s.SameTable(c.snap, fm.Table) {
				incremental++
			}
		}
		c = Recompile(c, s)
		for i := 0; i < 20; i++ {
			k := keyFor(r, s)
			for tbl := uint8(0); tbl < 2; tbl++ {
				if got, want := c.Lookup(tbl, &k), s.Lookup(tbl, &k); got != want {
					t.Fatalf("step %d table %d: Lookup = %s, reference %s", step, tbl, name(got), name(want))
				}
			}
		}
		if step%300 == 0 {
			old = append(old, kept{c, s})
		}
	}
	if incremental < 1000 {
		t.Errorf("only %d changes were applied to the previous classifier, want most", incremental)
	}
	for _, o := range old {
		for i := 0; i < 50; i++ {
			k := keyFor(r, o.s)
			for tbl := uint8(0); tbl < 2; tbl++ {
				if got, want := o.c.Lookup(tbl, &k), o.s.Lookup(tbl, &k); got != want {
					t.Fatalf("an older classifier, table %d: Lookup = %s, reference %s", tbl, name(got), name(want))
				}
			}
		}
	}
}

// keyFor returns a random key, or half the time the key of a random flow
// of s's tables 0 and 1 (which hits that flow or a better one).
func keyFor(r *rand.Rand, s *pipeline.Snapshot) pipeline.Key {
	fs := append(slices.Clone(s.Table(0)), s.Table(1)...)
	if len(fs) == 0 || r.IntN(2) == 0 {
		return randomKey(r)
	}
	return fs[r.IntN(len(fs))].Match.Key
}

// TestRecompileSplitsShards: a subtable grown by changes past its shards
// splits them and stays exact.
func TestRecompileSplitsShards(t *testing.T) {
	p := pipeline.New()
	add := func(i int) {
		t.Helper()
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: uint16(i % 3), OutPort: pipeline.PortAny,
			OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldInPort, put32(make([]byte, 4), uint32(i)), nil)
		if _, err := p.FlowMod(fm, time.Unix(0, 0)); err != nil {
			t.Fatal(err)
		}
	}
	add(0)
	c := Compile(p.Snapshot())
	const n = 2*shardSize + 64 // past the first split
	for i := 1; i < n; i++ {
		add(i)
		c = Recompile(c, p.Snapshot())
	}
	st := c.tables[0].subs[0]
	if len(st.shards2) < 2 {
		t.Errorf("%d entries in %d shards", st.n, len(st.shards2))
	}
	s := p.Snapshot()
	for i := uint32(0); i < n+3; i++ {
		k := pipeline.Key{InPort: i}
		if got, want := c.Lookup(0, &k), s.Lookup(0, &k); got != want {
			t.Fatalf("in_port %d: Lookup = %s, reference %s", i, name(got), name(want))
		}
	}
}
