package packet

import (
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// TestParseAllocs asserts that Parse never allocates.
func TestParseAllocs(t *testing.T) {
	for _, f := range fixtures() {
		frame := Build(f.spec)
		var k pipeline.Key
		if n := testing.AllocsPerRun(100, func() { Parse(frame, 1, &k) }); n != 0 {
			t.Errorf("%s: Parse allocates %.1f times per run", f.name, n)
		}
	}
}

// TestApplyAllocs asserts that Apply does not allocate for any supported
// action (pushes with spare capacity, paired with their pop to stay there).
func TestApplyAllocs(t *testing.T) {
	for _, tc := range applyCases() {
		if tc.err != nil {
			continue
		}
		orig := fixtureFrame(tc.fixture)
		frame := make([]byte, len(orig), len(orig)+pbbPushLen)
		var k0 pipeline.Key
		l0 := Parse(orig, 1, &k0)
		a := tc.action
		pop, push := popOf(&a, &k0)
		n := testing.AllocsPerRun(100, func() {
			frame = frame[:len(orig)]
			copy(frame, orig)
			k, l := k0, l0
			out, _ := Apply(frame, &l, &k, &a)
			if push {
				Apply(out, &l, &k, &pop)
			}
		})
		if n != 0 {
			t.Errorf("%s: Apply allocates %.1f times per run", tc.name, n)
		}
	}
}

func benchFrames() []fixture {
	return []fixture{
		{"udp4-64", Spec{EthDst: mac2, EthSrc: mac1, IPv4: &IPv4{Src: ip4a, Dst: ip4b}, UDP: &UDP{Src: 5000, Dst: 53}, MinLen: 64}},
		{"tcp4-qinq", fixturesByName("tcp4-qinq")},
		{"udp6-ext", fixturesByName("udp6-ext")},
		{"icmp6-ns", fixturesByName("icmp6-ns")},
		{"mpls2-tcp6-vlan", fixturesByName("mpls2-tcp6-vlan")},
		{"pbb-udp4", fixturesByName("pbb-udp4")},
	}
}

func fixturesByName(name string) Spec {
	for _, f := range fixtures() {
		if f.name == name {
			return f.spec
		}
	}
	panic(name)
}

func BenchmarkParse(b *testing.B) {
	for _, f := range benchFrames() {
		frame := Build(f.spec)
		b.Run(f.name, func(b *testing.B) {
			var k pipeline.Key
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(frame, 1, &k)
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	udp := Build(benchFrames()[0].spec)
	tcp := fixtureFrame("tcp4-vlan-opts")
	sctp := fixtureFrame("sctp4")
	bench := func(name string, frame []byte, acts ...pipeline.Action) {
		b.Run(name, func(b *testing.B) {
			var k pipeline.Key
			l := Parse(frame, 1, &k)
			b.ReportAllocs()
			for b.Loop() {
				for i := range acts {
					frame, _ = Apply(frame, &l, &k, &acts[i])
				}
			}
		})
	}
	bench("set_ipv4_dst", udp, actSet(pipeline.FieldIPv4Dst, 10, 1, 2, 3))
	bench("set_tcp_dst", tcp, actSet16(pipeline.FieldTCPDst, 8080))
	bench("set_sctp_dst", sctp, actSet16(pipeline.FieldSCTPDst, 9))
	bench("push_pop_vlan", udp, actPush(pipeline.EthTypeVLAN), actPop)
	bench("set_ttl", udp, actSetTTL(9))
	bench("push_pop_mpls", fixtureFrame("udp4"), actPushMPLS(pipeline.EthTypeMPLS), actPopMPLS(pipeline.EthTypeIPv4))
	bench("push_pop_pbb", fixtureFrame("udp4"), actPushPBB(pipeline.EthTypePBB), pipeline.Action{Type: pipeline.ActionPopPBB})
	bench("set_dec_mpls_ttl", fixtureFrame("mpls-udp4"), actMPLSTTL(pipeline.ActionSetMPLSTTL, 9), actMPLSTTL(pipeline.ActionDecMPLSTTL, 0))
	bench("copy_ttl_in_out", fixtureFrame("mpls-udp4"), actMPLSTTL(pipeline.ActionCopyTTLIn, 0), actMPLSTTL(pipeline.ActionCopyTTLOut, 0))
}
