package manager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// The install benchmark of issues 3 and 13: 10,000 and 100,000 offloadable
// rules pushed through nicflowd (policy tc, so every rule becomes a skip_hw
// flower filter) against the same filters installed by `tc -batch`, and
// the cost of reading and merging their counters against `tc -s filter
// show`.

const (
	benchRules   = 10000
	benchNetwork = "bi" // nicflowd's network: ports bip1, bip2 (peers bih1, bih2)
	benchTCIn    = "bitc1"
	benchTCOut   = "bitc2"
)

// benchRule is one generated rule: in_port=1, UDP to 10.1.X.Y port N,
// output to port 2.
type benchRule struct {
	prio uint16
	dst  [4]byte
	port uint16
}

// benchRuleSet returns n rules with distinct matches, all at priority 100
// or (distinct) at priorities 100, 101, ...
func benchRuleSet(n int, distinct bool) []benchRule {
	rules := make([]benchRule, n)
	for i := range rules {
		r := &rules[i]
		r.prio = 100
		if distinct {
			r.prio += uint16(i)
		}
		r.dst = [4]byte{10, byte(1 + i>>16), byte(i >> 8), byte(i)}
		r.port = uint16(5000 + i%1000)
	}
	return rules
}

// flow is the rule in ovs-ofctl syntax.
func (r benchRule) flow() string {
	return fmt.Sprintf("priority=%d,in_port=1,udp,ipv4_dst=%d.%d.%d.%d,udp_dst=%d,actions=output:2",
		r.prio, r.dst[0], r.dst[1], r.dst[2], r.dst[3], r.port)
}

// tcBatchLine is the filter nicflowd makes of the rule, as a tc -batch
// command on block: the same pref, keys, flags and action, with a cookie
// of the same size. tc cannot write nicflowd's "protocol all" with an
// eth_type key (it derives eth_type from the protocol and refuses ip_proto
// without it), so it says protocol ip: the same match.
func (r benchRule) tcBatchLine(block uint32, indev, outdev string, cookie []byte) string {
	return fmt.Sprintf("filter add block %d protocol ip pref %d chain 0 flower skip_hw indev %s "+
		"dst_ip %d.%d.%d.%d ip_proto udp dst_port %d action mirred egress redirect dev %s cookie %s",
		block, tcflower.Pref(r.prio), indev, r.dst[0], r.dst[1], r.dst[2], r.dst[3], r.port, outdev,
		hex.EncodeToString(cookie))
}

// installResult is what one run measured.
type installResult struct {
	nicflowd, tcBatch time.Duration // install of every rule, to the barrier reply / tc's exit
	flowStats         time.Duration // offload.Network.FlowStats of every rule: dump + merge
	ofFlowStats       time.Duration // the same over OpenFlow (FLOW_STATS round trip)
	tcShow            time.Duration // tc -s filter show block B
}

// BenchmarkInstall10k installs 10,000 rules through nicflowd and with tc
// -batch. One iteration is the whole comparison (run with -benchtime=1x;
// the default benchtime also runs it once, as it takes longer than 1 s).
func BenchmarkInstall10k(b *testing.B) {
	benchInstall(b, benchRuleCount(b), true)
}

// BenchmarkInstall100k is BenchmarkInstall10k with 100,000 rules, all of
// one priority (distinct priorities stop at 65,435 rules).
func BenchmarkInstall100k(b *testing.B) {
	benchInstall(b, benchRules100k, false)
}

const benchRules100k = 100000

// benchInstall runs the comparison with count rules of one priority and,
// when distinct, of distinct priorities.
func benchInstall(b *testing.B, count int, distinct bool) {
	vmtest.Require(b)
	tc, err := exec.LookPath("tc")
	if err != nil {
		b.Skip("needs the tc binary in the VM: run with NICFLOW_VM_TOOLS=1 (make bench-vm)")
	}
	variants := []struct {
		name     string
		distinct bool
	}{{"samePrio", false}, {"distinctPrio", true}}
	if !distinct {
		variants = variants[:1]
	}
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			rules := benchRuleSet(count, v.distinct)
			var sum installResult
			for i := 0; i < b.N; i++ {
				r := runInstall(b, tc, rules)
				sum.nicflowd += r.nicflowd
				sum.tcBatch += r.tcBatch
				sum.flowStats += r.flowStats
				sum.ofFlowStats += r.ofFlowStats
				sum.tcShow += r.tcShow
			}
			n := float64(b.N)
			rate := func(d time.Duration) float64 { return float64(len(rules)) * n / d.Seconds() }
			ms := func(d time.Duration) float64 { return float64(d) / n / float64(time.Millisecond) }
			b.ReportMetric(rate(sum.nicflowd), "nicflowd-rules/s")
			b.ReportMetric(rate(sum.tcBatch), "tcbatch-rules/s")
			b.ReportMetric(rate(sum.nicflowd)/rate(sum.tcBatch), "nicflowd/tcbatch")
			b.ReportMetric(ms(sum.flowStats), "flowstats-ms")
			b.ReportMetric(ms(sum.ofFlowStats), "of-flowstats-ms")
			b.ReportMetric(ms(sum.tcShow), "tcshow-ms")
			b.ReportMetric(float64(sum.flowStats)/float64(sum.tcShow), "flowstats/tcshow")
			b.Logf("%d rules (%s): nicflowd %.0f rules/s (%v), tc -batch %.0f rules/s (%v), ratio nicflowd/tc %.3g",
				len(rules), v.name, rate(sum.nicflowd), sum.nicflowd/time.Duration(b.N),
				rate(sum.tcBatch), sum.tcBatch/time.Duration(b.N), rate(sum.nicflowd)/rate(sum.tcBatch))
			b.Logf("counters of %d rules: FlowStats dump+merge %.1f ms, OpenFlow FLOW_STATS %.1f ms, tc -s filter show %.1f ms, ratio FlowStats/tc %.3g",
				len(rules), ms(sum.flowStats), ms(sum.ofFlowStats), ms(sum.tcShow), float64(sum.flowStats)/float64(sum.tcShow))
		})
	}
}

// rulesEnv overrides the number of rules (nicflow.env=NICFLOW_BENCH_RULES=N
// on the VM's kernel command line), to see how the install time grows.
const rulesEnv = "NICFLOW_BENCH_RULES"

func benchRuleCount(b *testing.B) int {
	v := os.Getenv(rulesEnv)
	if v == "" {
		return benchRules
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 60000 {
		b.Fatalf("%s=%q: want a number of rules from 1 to 60000", rulesEnv, v)
	}
	return n
}

// runInstall measures one comparison, tc -batch first (so its figures are
// in the log even when nicflowd's install outlasts the timeout);
// everything it creates is gone when it returns.
func runInstall(b *testing.B, tc string, rules []benchRule) installResult {
	var undo []func()
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}()
	var res installResult
	block := tcport.BlockIndex(benchNetwork)

	// tc -batch: the filters in a block of their own bound to benchTCIn.
	delIn, delOut := benchVeth(b, benchTCIn, benchTCIn+"h"), benchVeth(b, benchTCOut, benchTCOut+"h")
	tcGone := false
	undo = append(undo, func() {
		if !tcGone {
			delIn()
			delOut()
		}
	})
	tcBlock := block ^ 1
	if out, err := exec.Command(tc, "qdisc", "add", "dev", benchTCIn, "ingress_block", fmt.Sprint(tcBlock), "ingress").CombinedOutput(); err != nil {
		b.Fatalf("tc qdisc add dev %s ingress_block %d ingress: %v: %s", benchTCIn, tcBlock, err, out)
	}
	var batch bytes.Buffer
	cookie := make([]byte, tcflower.CookieLen)
	for i, r := range rules {
		binary.BigEndian.PutUint64(cookie[4:], uint64(i+1))
		batch.WriteString(r.tcBatchLine(tcBlock, benchTCIn, benchTCOut, cookie) + "\n")
	}
	file := filepath.Join(b.TempDir(), "filters.batch")
	if err := os.WriteFile(file, batch.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	out, err := exec.Command(tc, "-batch", file).CombinedOutput()
	res.tcBatch = time.Since(start)
	if err != nil {
		b.Fatalf("tc -batch %s: %v: %s", file, err, firstLines(out, 5))
	}
	if got := countSkipHW(b, tcBlock); got != len(rules) {
		b.Fatalf("tc -batch: %d skip_hw filters in block %d, want %d", got, tcBlock, len(rules))
	}
	cmd := exec.Command(tc, "-s", "filter", "show", "block", fmt.Sprint(tcBlock))
	lines := &lineCounter{}
	cmd.Stdout = lines
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start = time.Now()
	err = cmd.Run()
	res.tcShow = time.Since(start)
	if err != nil {
		b.Fatalf("tc -s filter show block %d: %v: %s", tcBlock, err, stderr.Bytes())
	}
	if lines.sent < len(rules) {
		b.Fatalf("tc -s filter show block %d: %d action stats lines, want %d", tcBlock, lines.sent, len(rules))
	}
	b.Logf("tc -batch: %d filters in %v; tc -s filter show: %v", len(rules), res.tcBatch, res.tcShow)
	// Its block goes with its port: nicflowd's filters do not share the
	// VM's memory with these.
	delIn()
	delOut()
	tcGone = true

	// nicflowd: a network of two veth ports with policy tc.
	for _, p := range [][2]string{{"bip1", "bih1"}, {"bip2", "bih2"}} {
		undo = append(undo, benchVeth(b, p[0], p[1]))
	}
	// Warnings and errors only in the log; sockets in a directory removed
	// with the rest of this iteration.
	dir, err := os.MkdirTemp("", "nicflow-bench")
	if err != nil {
		b.Fatal(err)
	}
	undo = append(undo, func() { _ = os.RemoveAll(dir) })
	n, stop := runNetwork(b, rest.NetworkSpec{Name: benchNetwork, Ports: []string{"bip1", "bip2"}, Offload: "tc"}, dir,
		zaptest.NewLogger(b, zaptest.Level(zap.WarnLevel)))
	undo = append(undo, stop)
	c := dialMgmt(b, n)
	undo = append(undo, func() { _ = c.Close() })
	mods := make([][]byte, len(rules))
	for i, r := range rules {
		mods[i] = ofwire.AppendFlowMod(nil, flowtext.MustFlowMod(r.flow()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	stopProfile := startBenchProfile(b)
	start = time.Now()
	for i, m := range mods {
		if _, err := c.Send(of.TypeFlowMod, m); err != nil {
			b.Fatalf("send flow mod %d: %v", i, err)
		}
	}
	if err := c.Barrier(ctx); err != nil {
		b.Fatalf("barrier after %d flow mods: %v", len(mods), err)
	}
	res.nicflowd = time.Since(start)
	stopProfile()
	drainErrors(b, c)
	if got := countSkipHW(b, block); got != len(rules) {
		b.Fatalf("nicflowd: %d skip_hw rule filters in block %d after the barrier, want %d", got, block, len(rules))
	}
	b.Logf("nicflowd: %d rules to the barrier reply in %v", len(rules), res.nicflowd)

	all := &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	start = time.Now()
	fs := n.net.FlowStats(all)
	res.flowStats = time.Since(start)
	if len(fs) != len(rules) {
		b.Fatalf("FlowStats: %d flows, want %d", len(fs), len(rules))
	}
	for _, s := range fs {
		if s.Tier != offload.TierTC {
			b.Fatalf("flow priority %d in tier %s (%s), want tc", s.Flow.Priority, s.Tier, s.Reason)
		}
	}
	start = time.Now()
	ofs, err := c.FlowStats(ctx, ofclient.AllFlows())
	res.ofFlowStats = time.Since(start)
	if err != nil || len(ofs) != len(rules) {
		b.Fatalf("FLOW_STATS: %d flows, error %v; want %d flows", len(ofs), err, len(rules))
	}
	return res
}

// profileEnv names the environment variable (nicflow.env=NAME=1 on the VM's
// kernel command line) that profiles the CPU during nicflowd's install and
// writes the profile to stdout in base64 between "=== BENCH-PROFILE BEGIN"
// and "END" lines: the VM's file systems vanish with it, its console stays.
//
//	sed -n '/BENCH-PROFILE BEGIN/,/BENCH-PROFILE END/{//!p}' LOG | tr -d '\r' | base64 -d >cpu.pprof
const profileEnv = "NICFLOW_BENCH_CPUPROFILE"

func startBenchProfile(b *testing.B) (stop func()) {
	if os.Getenv(profileEnv) != "1" {
		return func() {}
	}
	var buf bytes.Buffer
	if err := pprof.StartCPUProfile(&buf); err != nil {
		b.Fatalf("start CPU profile: %v", err)
	}
	return func() {
		pprof.StopCPUProfile()
		enc := base64.StdEncoding.EncodeToString(buf.Bytes())
		var w strings.Builder
		w.WriteString("=== BENCH-PROFILE BEGIN\n")
		for len(enc) > 0 {
			n := min(len(enc), 76)
			w.WriteString(enc[:n] + "\n")
			enc = enc[n:]
		}
		w.WriteString("=== BENCH-PROFILE END\n")
		_, _ = os.Stdout.WriteString(w.String())
	}
}

// countSkipHW dumps block with the project's codec and counts the skip_hw
// filters that are not a miss filter.
func countSkipHW(b *testing.B, block uint32) int {
	b.Helper()
	h, err := tcflower.Open()
	if err != nil {
		b.Fatal(err)
	}
	defer h.Close()
	ds, err := h.Dump(block)
	if err != nil {
		b.Fatalf("dump block %d: %v", block, err)
	}
	n := 0
	for _, d := range ds {
		if d.Filter.Flags&tcflower.FlagSkipHW != 0 && d.Filter.Pref != tcflower.MissPref {
			n++
		}
	}
	return n
}

// drainErrors fails b on any OpenFlow error the switch sent.
func drainErrors(b *testing.B, c *ofclient.Client) {
	b.Helper()
	for {
		select {
		case m := <-c.Async():
			if m.Header.Type == of.TypeError {
				b.Fatalf("the switch answered a flow mod (xid %d) with an error: %x", m.Header.Xid, m.Body)
			}
		default:
			return
		}
	}
}

// lineCounter counts the "Sent N bytes" lines of tc -s output (one per
// action) and discards the rest.
type lineCounter struct {
	partial []byte
	sent    int
}

func (l *lineCounter) Write(p []byte) (int, error) {
	n := len(p)
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return n, nil
		}
		if bytes.HasPrefix(bytes.TrimSpace(l.partial[:i]), []byte("Sent ")) {
			l.sent++
		}
		l.partial = l.partial[i+1:]
	}
}

func firstLines(b []byte, n int) string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() && len(out) < n {
		out = append(out, sc.Text())
	}
	return strings.Join(out, "\n")
}

// benchVeth creates a veth pair for one benchmark iteration and returns
// its deletion.
func benchVeth(b *testing.B, a, peer string) func() {
	b.Helper()
	del, err := makeVeth(a, peer)
	if err != nil {
		b.Fatal(err)
	}
	return del
}

// TestBenchRuleSet checks the generated rules on any host: distinct,
// valid in ovs-ofctl syntax, and rendered for tc -batch as nicflowd's
// filter would be.
func TestBenchRuleSet(t *testing.T) {
	for _, distinct := range []bool{false, true} {
		rules := benchRuleSet(benchRules, distinct)
		seen := map[string]bool{}
		for _, r := range rules {
			fm, err := flowtext.FlowMod(r.flow())
			if err != nil {
				t.Fatalf("rule %q: %v", r.flow(), err)
			}
			key := fmt.Sprintf("%d %x %x", fm.Priority, fm.Match.Key, fm.Match.Mask)
			if seen[key] {
				t.Fatalf("rule %q repeats an earlier rule's priority and match", r.flow())
			}
			seen[key] = true
		}
		if last := rules[len(rules)-1]; distinct && last.prio != 100+benchRules-1 || !distinct && last.prio != 100 {
			t.Errorf("distinct=%v: last priority %d", distinct, last.prio)
		}
	}
	r := benchRuleSet(300, false)[299]
	got := r.tcBatchLine(7, "in0", "out0", []byte{0xab, 0xcd})
	want := "filter add block 7 protocol ip pref 65434 chain 0 flower skip_hw indev in0 dst_ip 10.1.1.43 " +
		"ip_proto udp dst_port 5299 action mirred egress redirect dev out0 cookie abcd"
	if got != want {
		t.Errorf("tcBatchLine:\n got %q\nwant %q", got, want)
	}
	if r.flow() != "priority=100,in_port=1,udp,ipv4_dst=10.1.1.43,udp_dst=5299,actions=output:2" {
		t.Errorf("flow() = %q", r.flow())
	}
}
