package pipeline

import (
	"testing"
)

// addMods returns n distinct ADDs to table 0 (one per IPv4 destination,
// spread over 16 priorities).
func addMods(n int) []*FlowMod {
	fms := make([]*FlowMod, n)
	for i := range fms {
		m := mt(ipv4Type, exact(FieldIPv4Dst, uint64(0x0a000000+i)))
		fms[i] = addMod(0, uint16(100+i%16), m, Output(uint32(1+i%8)))
	}
	return fms
}

func BenchmarkFlowModAdd10k(b *testing.B) {
	fms := addMods(10000)
	b.ReportAllocs()
	for b.Loop() {
		p := New()
		for _, fm := range fms {
			if _, err := p.FlowMod(fm, t0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkSnapshot measures the snapshot after one modify in a 10k-entry
// table (one table rebuilt) next to 10k entries in an untouched table.
func BenchmarkSnapshot(b *testing.B) {
	p := New()
	fms := addMods(10000)
	for _, fm := range fms {
		mustFlow(b, p, fm)
		other := *fm
		other.Table = 1
		mustFlow(b, p, &other)
	}
	mod := *fms[0]
	mod.Command = FlowModifyStrict
	p.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.FlowMod(&mod, t0); err != nil {
			b.Fatal(err)
		}
		if s := p.Snapshot(); len(s.Table(0)) != 10000 || len(s.Table(1)) != 10000 {
			b.Fatalf("snapshot has %d/%d flows", len(s.Table(0)), len(s.Table(1)))
		}
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := New()
	for _, fm := range addMods(1000) {
		mustFlow(b, p, fm)
	}
	s := p.Snapshot()
	k := Key{InPort: 1, EthType: EthTypeIPv4, L3Dst: [16]byte{10, 0, 3, 0xe7}}
	b.ReportAllocs()
	for b.Loop() {
		if r := s.Evaluate(k, 64); len(r.Outputs) != 1 {
			b.Fatalf("outputs %d, want 1", len(r.Outputs))
		}
	}
}

// BenchmarkValidateMatch: a 5-tuple match, as every FLOW_MOD of a
// controller programming many rules is checked.
func BenchmarkValidateMatch(b *testing.B) {
	m := mt(ipv4Type, exact(FieldIPProto, 17), exact(FieldIPv4Src, 0x0a000001), exact(FieldUDPSrc, 1024), exact(FieldUDPDst, 9), exact(FieldInPort, 1))
	for b.Loop() {
		if err := ValidateMatch(&m); err != nil {
			b.Fatal(err)
		}
	}
}
