package offload

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/tcflower"
)

// BenchmarkFlowModIntoBusyPipeline adds one flow to table 0 of a network
// whose table 1 already holds 5000 flows: the cost of a flow mod should
// not grow with the tables it does not touch.
func BenchmarkFlowModIntoBusyPipeline(b *testing.B) {
	n := New(Config{Name: "bench"})
	ctx := context.Background()
	mod := func(table uint8, i int) *pipeline.FlowMod {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: table, Priority: 10,
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff}
		fm.Match.Set(pipeline.FieldMetadata, []byte{0, 0, 0, 0, byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}, nil)
		return fm
	}
	for i := 0; i < 5000; i++ {
		if err := n.FlowMod(ctx, mod(1, i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.FlowMod(ctx, mod(0, i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFlowModsStubKernel is the nicflowd half of offload/manager's
// BenchmarkInstall10k without a kernel: N flow mods (in_port=1, UDP to a
// distinct address and port, output:2) straight into a network with
// policy tc whose kernel is a stub that accepts every filter at once, then
// a barrier, with the sync loop running as in nicflowd. It shows the cost
// of the project's own code (pipeline, fast path install, placement,
// sync) at native speed; profile it with -cpuprofile.
func BenchmarkFlowModsStubKernel(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		for _, v := range []struct {
			name     string
			distinct bool // priorities 100, 101, ... instead of all 100
		}{{"samePrio", false}, {"distinctPrio", true}} {
			b.Run(fmt.Sprintf("%s/%d", v.name, size), func(b *testing.B) {
				var total time.Duration
				for i := 0; i < b.N; i++ {
					mods := stubBenchMods(size, v.distinct)
					sn := startStubNetwork(b)
					start := time.Now()
					sn.apply(b, mods)
					total += time.Since(start)
					sn.stop()
					if got := sn.k.added(); got != size {
						b.Fatalf("stub kernel got %d filters, want %d", got, size)
					}
				}
				b.ReportMetric(float64(size)*float64(b.N)/total.Seconds(), "rules/s")
			})
		}
	}
}

// BenchmarkFlowDeletesStubKernel deletes N installed rules one strict
// delete at a time (as a controller clearing its rules does), then
// barriers: each delete takes the rule's filters out at once, so the cost
// must stay linear in N.
func BenchmarkFlowDeletesStubKernel(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				mods := stubBenchMods(size, true)
				sn := startStubNetwork(b)
				sn.apply(b, mods)
				dels := make([]*pipeline.FlowMod, len(mods))
				for j, fm := range mods {
					d := *fm
					d.Command = pipeline.FlowDeleteStrict
					dels[j] = &d
				}
				start := time.Now()
				sn.apply(b, dels)
				total += time.Since(start)
				sn.stop()
				if got := sn.k.removedCount(); got != size {
					b.Fatalf("stub kernel removed %d filters, want %d", got, size)
				}
			}
			b.ReportMetric(float64(size)*float64(b.N)/total.Seconds(), "deletes/s")
		})
	}
}

// BenchmarkFlowModsStubKernelLayout is BenchmarkFlowModsStubKernel (10,000
// rules, distinct priorities) on a shared block and on a block per port: the
// cost per-port placement adds in the project's own code.
func BenchmarkFlowModsStubKernelLayout(b *testing.B) {
	for _, layout := range []string{"shared", "perPort"} {
		b.Run(layout, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				mods := stubBenchMods(10000, true)
				sn := startStubNetworkLayout(b, layout == "perPort")
				start := time.Now()
				sn.apply(b, mods)
				total += time.Since(start)
				sn.stop()
			}
			b.ReportMetric(10000*float64(b.N)/total.Seconds(), "rules/s")
		})
	}
}

// stubNetwork is a policy-tc network on a stubKernel with two ports and
// its sync loop running, as in nicflowd.
type stubNetwork struct {
	n      *Network
	k      *stubKernel
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

func startStubNetwork(b *testing.B) *stubNetwork {
	return startStubNetworkLayout(b, false)
}

// startStubNetworkLayout is startStubNetwork with a block per port when
// perPort.
func startStubNetworkLayout(b *testing.B, perPort bool) *stubNetwork {
	b.Helper()
	k := &stubKernel{}
	n := New(Config{Name: "stub", Offload: PolicyTC, TC: &TCConfig{Kernel: k, Block: 1, MissDev: "stubmiss", PerPortBlocks: perPort}})
	for no := uint32(1); no <= 2; no++ {
		if err := n.AddPort(PortInfo{No: no, Name: fmt.Sprintf("stub%d", no), Up: true, Ifindex: int(no) + 10}, memio.New()); err != nil {
			b.Fatal(err)
		}
	}
	sn := &stubNetwork{n: n, k: k, done: make(chan struct{})}
	sn.ctx, sn.cancel = context.WithCancel(context.Background())
	go func() { defer close(sn.done); _ = n.Run(sn.ctx) }()
	return sn
}

// apply sends mods, then a barrier.
func (sn *stubNetwork) apply(b *testing.B, mods []*pipeline.FlowMod) {
	for _, fm := range mods {
		if err := sn.n.FlowMod(sn.ctx, fm); err != nil {
			b.Fatal(err)
		}
	}
	if err := sn.n.Barrier(sn.ctx); err != nil {
		b.Fatal(err)
	}
}

func (sn *stubNetwork) stop() {
	sn.cancel()
	<-sn.done
}

// stubBenchMods returns n flow mods with distinct matches.
func stubBenchMods(n int, distinct bool) []*pipeline.FlowMod {
	mods := make([]*pipeline.FlowMod, n)
	for i := range mods {
		prio := 100
		if distinct {
			prio += i
		}
		mods[i] = flowtext.MustFlowMod(fmt.Sprintf("priority=%d,in_port=1,udp,ipv4_dst=10.%d.%d.%d,udp_dst=%d,actions=output:2",
			prio, 1+i>>16, byte(i>>8), byte(i), 5000+i%1000))
	}
	return mods
}

// stubKernel is a TCKernel that accepts everything and holds nothing but a
// count of the rule filters it took.
type stubKernel struct {
	mu      sync.Mutex
	handle  uint32
	adds    int
	removes int
}

func (k *stubKernel) added() int        { k.mu.Lock(); defer k.mu.Unlock(); return k.adds }
func (k *stubKernel) removedCount() int { k.mu.Lock(); defer k.mu.Unlock(); return k.removes }

func (k *stubKernel) BindBlock(int, uint32) error { return nil }
func (k *stubKernel) UnbindBlock(int) error       { return nil }
func (k *stubKernel) Add(_ uint32, f *tcflower.Filter) (tcflower.Installed, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f.Pref != tcflower.MissPref {
		k.adds++
	}
	k.handle++
	return tcflower.Installed{Handle: k.handle}, nil
}
func (k *stubKernel) Batch(ops []tcflower.Op) []tcflower.Answer {
	ans := make([]tcflower.Answer, len(ops))
	for i, op := range ops {
		switch op.Kind {
		case tcflower.OpAdd, tcflower.OpReplace:
			ans[i].Installed, _ = k.Add(op.Block, op.Filter)
		case tcflower.OpRemove:
			ans[i].Dumped, _ = k.Remove(op.Block, op.Chain, op.Pref, op.Handle)
		}
	}
	return ans
}
func (k *stubKernel) Replace(b uint32, f *tcflower.Filter) (tcflower.Installed, error) {
	return k.Add(b, f)
}
func (k *stubKernel) Remove(_, _ uint32, pref uint16, _ uint32) (tcflower.Dumped, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if pref != tcflower.MissPref {
		k.removes++
	}
	return tcflower.Dumped{}, nil
}
func (k *stubKernel) Get(uint32, uint32, uint16, uint32) (tcflower.Dumped, error) {
	return tcflower.Dumped{}, nil
}
func (k *stubKernel) Dump(uint32) ([]tcflower.Dumped, error) { return nil, nil }
