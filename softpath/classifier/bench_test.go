package classifier

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func exactFlow(id uint64, prio uint16, dst uint32, plen int) *pipeline.Flow {
	var m pipeline.Match
	m.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
	m.Set(pipeline.FieldIPv4Dst, put32(make([]byte, 4), dst), put32(make([]byte, 4), ^uint32(0)<<(32-plen)))
	return &pipeline.Flow{ID: id, Priority: prio, Match: m, Counters: &pipeline.Counters{}}
}

func benchLookup(b *testing.B, s *pipeline.Snapshot, keys []pipeline.Key) {
	c := Compile(s)
	b.ReportAllocs()
	b.ResetTimer()
	hits := 0
	for i := 0; i < b.N; i++ {
		if c.Lookup(0, &keys[i%len(keys)]) != nil {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no hits")
	}
}

func ipKey(dst uint32) pipeline.Key {
	k := pipeline.Key{InPort: 1, EthType: pipeline.EthTypeIPv4, IPProto: pipeline.ProtoUDP, TpSrc: 1000, TpDst: 53}
	put32(k.L3Dst[:4], dst)
	put32(k.L3Src[:4], 0x0a000001)
	return k
}

func BenchmarkLookup1Flow(b *testing.B) {
	s := pipeline.SnapshotOf([pipeline.NumTables][]*pipeline.Flow{0: {exactFlow(1, 1, 0x0a000002, 32)}}, nil, nil)
	benchLookup(b, s, []pipeline.Key{ipKey(0x0a000002)})
}

func BenchmarkLookup1000Exact(b *testing.B) {
	var tables [pipeline.NumTables][]*pipeline.Flow
	var keys []pipeline.Key
	for i := 0; i < 1000; i++ {
		tables[0] = append(tables[0], exactFlow(uint64(i+1), 100, 0x0a000000+uint32(i), 32))
		keys = append(keys, ipKey(0x0a000000+uint32(i)))
	}
	benchLookup(b, pipeline.SnapshotOf(tables, nil, nil), keys)
}

func BenchmarkLookup1000Over20Masks(b *testing.B) {
	var tables [pipeline.NumTables][]*pipeline.Flow
	var keys []pipeline.Key
	r := rand.New(rand.NewPCG(1, 2))
	// 20 masks: prefix lengths 13..32; higher priority for longer prefixes
	// (as in longest-prefix routing), so lookups stop early only sometimes.
	for i := 0; i < 1000; i++ {
		plen := 13 + i%20
		dst := 0x0a000000 + uint32(r.IntN(1<<20))
		tables[0] = append(tables[0], exactFlow(uint64(i+1), uint16(plen), dst, plen))
		keys = append(keys, ipKey(dst))
	}
	sortTable(tables[0])
	benchLookup(b, pipeline.SnapshotOf(tables, nil, nil), keys)
}

func sortTable(fs []*pipeline.Flow) {
	for i := 1; i < len(fs); i++ {
		for j := i; j > 0 && (fs[j].Priority > fs[j-1].Priority ||
			fs[j].Priority == fs[j-1].Priority && fs[j].ID < fs[j-1].ID); j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
}

// BenchmarkRecompileOneChange: the cost of bringing the classifier of a
// 100,000-rule table (one mask, the 5-tuple rules a controller programs)
// up to date after one more rule, against compiling it (Compile100k).
func BenchmarkRecompileOneChange(b *testing.B) {
	p, add := bigPipeline(b, 100000)
	c := Compile(p.Snapshot())
	i := 100000
	for b.Loop() {
		add(i)
		i++
		c = Recompile(c, p.Snapshot())
	}
}

func BenchmarkCompile100k(b *testing.B) {
	p, _ := bigPipeline(b, 100000)
	s := p.Snapshot()
	for b.Loop() {
		Compile(s)
	}
}

// bigPipeline returns a pipeline with n rules of one mask in table 0 and
// a function adding rule i.
func bigPipeline(b *testing.B, n int) (*pipeline.Pipeline, func(i int)) {
	p := pipeline.NewWithOptions(pipeline.Options{MaxFlowsPerTable: 1 << 30})
	add := func(i int) {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: uint16(100 + i%7), OutPort: pipeline.PortAny,
			OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
		fm.Match.Set(pipeline.FieldIPv4Src, []byte{10, byte(i >> 16), byte(i >> 8), byte(i)}, nil)
		if _, err := p.FlowMod(fm, time.Unix(0, 0)); err != nil {
			b.Fatal(err)
		}
	}
	for i := range n {
		add(i)
	}
	return p, add
}
