package conformance

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// These tests need neither root nor the tools: the suite, tester.py's log
// and the result files.

func TestSuite(t *testing.T) {
	tests, err := loadSuite(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	ids := map[string]bool{}
	for _, st := range tests {
		count[st.Family()]++
		if ids[st.ID()] {
			t.Errorf("test %s twice", st.ID())
		}
		ids[st.ID()] = true
		if (st.Family() == "meter" || strings.HasPrefix(st.File, "group/01_SELECT")) && (st.Traffic != 30*time.Second || st.PPS == 0) {
			t.Errorf("%s: %v of traffic at %d pkt/s, want the files' 30s", st.ID(), st.Traffic, st.PPS)
		}
		if st.Traffic > 0 {
			count["rate tests"]++
		}
	}
	// os-ken 2.5.0's of13 files (of13/README.md).
	want := map[string]int{"match": 714, "action": 56, "set_field": 170, "group": 15, "meter": 36, "rate tests": 51}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Errorf("tests per family (-want +got):\n%s", diff)
	}
	// tester.py's order: files by description, tests in file order.
	for i := 1; i < len(tests); i++ {
		a, b := tests[i-1], tests[i]
		if a.FileDesc > b.FileDesc || a.FileDesc == b.FileDesc && a.Index >= b.Index {
			t.Fatalf("%s before %s: not tester.py's order", a.ID(), b.ID())
		}
	}
}

func TestWriteSelection(t *testing.T) {
	tests, err := loadSuite(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	var sel []suiteTest
	for i, st := range tests {
		if i%7 == 0 {
			sel = append(sel, st)
		}
	}
	dir := t.TempDir()
	if err := writeSelection(dir, sel); err != nil {
		t.Fatal(err)
	}
	got, err := loadSuite(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(sel) {
		t.Fatalf("read back %d tests, wrote %d", len(got), len(sel))
	}
	for i := range got {
		// Renumbered within each file, same description and order.
		if got[i].File != sel[i].File || got[i].FileDesc != sel[i].FileDesc || got[i].Desc != sel[i].Desc || got[i].Traffic != sel[i].Traffic {
			t.Errorf("test %d: read back %s %q, wrote %s %q", i, got[i].ID(), got[i].Desc, sel[i].ID(), sel[i].Desc)
		}
	}
}

func TestParseTesterLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want testerLine
	}{
		{"padded OK", "    ethernet/ipv4/tcp-->'actions=output:2'" + strings.Repeat(" ", 60) + " OK",
			testerLine{kind: lineResult, desc: "ethernet/ipv4/tcp-->'actions=output:2'", result: "OK"}},
		{"long ERROR", "    " + strings.Repeat("x", 120) + " ERROR",
			testerLine{kind: lineResult, desc: strings.Repeat("x", 120), result: "ERROR"}},
		{"detail", "        Failed to add flows: OFPErrorMsg[type=0x02, code=0x00]",
			testerLine{kind: lineDetail, text: "Failed to add flows: OFPErrorMsg[type=0x02, code=0x00]"}},
		{"file", "action: 00_OUTPUT", testerLine{kind: lineOther}},
		{"end", "---  Test end  ---", testerLine{kind: lineEnd}},
		{"report", "    action: 11_COPY_TTL_OUT                  ethernet/mpls(ttl=64)/ipv4(ttl=32)/tcp-->'x'", testerLine{kind: lineOther}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseTesterLine(tt.line), cmp.AllowUnexported(testerLine{})); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// actionTests returns the suite's action and set_field tests, the tests of
// testdata/tester-action.log: tester.py's log of them against an early
// nicflowd.
func actionTests(t *testing.T) []suiteTest {
	t.Helper()
	all, err := loadSuite(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	var tests []suiteTest
	for _, st := range all {
		if strings.HasPrefix(st.File, "action/") {
			tests = append(tests, st)
		}
	}
	return tests
}

func readLog(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "tester-action.log"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestProgress(t *testing.T) {
	tests := actionTests(t)
	res := map[string]outcome{}
	p := newProgress(tests, res, time.Unix(0, 0))
	for i, l := range readLog(t) {
		if err := p.line(l, time.Unix(int64(i), 0)); err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
	}
	if p.k != len(tests) || len(res) != len(tests) {
		t.Fatalf("%d results for %d tests (next %d)", len(res), len(tests), p.k)
	}
	n := map[string]int{}
	for id, o := range res {
		n[o.Result]++
		if o.Result == resError && o.Detail == "" {
			t.Errorf("%s: ERROR without its reason", id)
		}
	}
	// The log's own tally: "OK(93) / ERROR(133)".
	if diff := cmp.Diff(map[string]int{resOK: 93, resError: 133}, n); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	want := map[string]outcome{
		"action/00_OUTPUT.json#1":                     {Result: resOK, Elapsed: 14 * time.Second},
		"action/11_COPY_TTL_OUT.json#1":               {Result: resError, Detail: "Failed to add flows: OFPErrorMsg[type=0x02, code=0x00]", Elapsed: 2 * time.Second},
		"action/25_SET_FIELD/17_SCTP_SRC_IPv4.json#1": {Result: resError, Detail: "Received incorrect packet: sctp(csum=509045565)"},
	}
	for id, w := range want {
		got := res[id]
		if w.Elapsed == 0 {
			got.Elapsed = 0
		}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", id, diff)
		}
	}
}

func TestProgressOutOfOrder(t *testing.T) {
	tests := actionTests(t)
	p := newProgress(tests[1:], map[string]outcome{}, time.Now())
	var err error
	for _, l := range readLog(t) {
		if err = p.line(l, time.Now()); err != nil {
			break
		}
	}
	if err == nil || !strings.Contains(err.Error(), "want test action/00_OUTPUT.json#2") {
		t.Fatalf("a log of other tests: error %v, want one naming the test expected", err)
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		name string
		o    outcome
		want string
	}{
		{"OpenFlow error", outcome{Result: resError, Detail: "Failed to add flows: OFPErrorMsg[type=0x04, code=0x06]"},
			"Failed to add flows: OFPET_BAD_MATCH/OFPBMC_BAD_FIELD"},
		{"unknown code", outcome{Result: resError, Detail: "Failed to add meters: OFPErrorMsg[type=0x0c, code=0x1f]"},
			"Failed to add meters: OFPET_METER_MOD_FAILED/code 0x1f"},
		{"field differs", outcome{Result: resError, Detail: "Received incorrect packet: mpls(label=2)"},
			"Received incorrect packet: mpls(label)"},
		{"fields differ", outcome{Result: resError, Detail: "Received incorrect packet: svlan(pcp=0,vid=0)"},
			"Received incorrect packet: svlan(pcp,vid)"},
		{"other headers", outcome{Result: resError, Detail: "Received incorrect packet: ethernet(ethertype=2054)/arp(dst_ip='192.168.20.20',dst_mac='22:22:22:22:22:22',hlen=6,hwtype=1,opcode=1,plen=4,proto=2048,src_ip='192.168.10.10',src_mac='12:11:11:11:11:11')"},
			"Received incorrect packet: ethernet(ethertype)/arp(*)"},
		{"payload", outcome{Result: resError, Detail: `Received incorrect packet: ipv4(csum=1,ttl=3)/str(b'\x01/\x02(')`},
			"Received incorrect packet: ipv4(csum,ttl)/payload"},
		{"throughput", outcome{Result: resError, Detail: "Received unexpected throughput: {'in_port': 2} 897.20kbps"},
			"Received unexpected throughput"},
		{"throughput, starved", outcome{Result: resError, Detail: "Received unexpected throughput: {'in_port': 2} 4047.82pktps", Starved: true},
			"Received unexpected throughput, but the tester sent less than 90% of the test's packet rate (machine-bound)"},
		{"timeout", outcome{Result: resError, Detail: "Receiving timeout: no change in tx_packets on target."},
			"Receiving timeout: no change in tx_packets on target."},
		{"crash", outcome{Result: resCrash, Detail: "nicflowd exited (exit status 2): panic: x"},
			"target switch exited during the test (crash)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cause(tt.o); got != tt.want {
				t.Errorf("cause(%q) = %q, want %q", tt.o.Detail, got, tt.want)
			}
		})
	}
}

func TestExpectedRoundTrip(t *testing.T) {
	tests := actionTests(t)[:5]
	exp := map[string]string{}
	updateExpected(exp, map[string]outcome{
		tests[0].ID(): {Result: resOK},
		tests[1].ID(): {Result: resError, Detail: "x"},
		tests[2].ID(): {Result: resCrash},
	})
	exp[tests[3].ID()] = expFlaky
	updateExpected(exp, map[string]outcome{tests[3].ID(): {Result: resOK}})
	var b bytes.Buffer
	if err := writeExpected(&b, tests, exp); err != nil {
		t.Fatal(err)
	}
	got, err := readExpected(&b)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{tests[0].ID(): expOK, tests[1].ID(): expError, tests[2].ID(): expError, tests[3].ID(): expFlaky}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	c := compare(tests, got, map[string]outcome{
		tests[0].ID(): {Result: resError, Detail: "Receiving timeout: x"},
		tests[1].ID(): {Result: resOK},
		tests[3].ID(): {Result: resError},
		tests[4].ID(): {Result: resOK},
	})
	wantC := comparison{
		Regressed: []string{tests[0].ID() + ": ERROR Receiving timeout: x"},
		Fixed:     []string{tests[1].ID() + ": " + tests[1].Desc},
		Flaky:     []string{tests[3].ID() + ": ERROR"},
		Unlisted:  []string{tests[4].ID() + ": OK"},
	}
	if diff := cmp.Diff(wantC, c); diff != "" {
		t.Errorf("compare (-want +got):\n%s", diff)
	}
}

// TestExpectedFile checks expected.txt: it parses and lists every test of
// the suite, and nothing else.
func TestExpectedFile(t *testing.T) {
	tests, err := loadSuite(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	exp, err := readExpected(f)
	if err != nil {
		t.Fatalf("expected.txt: %v", err)
	}
	for _, st := range tests {
		if _, ok := exp[st.ID()]; !ok {
			t.Errorf("expected.txt does not list %s", st.ID())
		}
		delete(exp, st.ID())
	}
	for id := range exp {
		t.Errorf("expected.txt lists %s, which is not a test of of13/", id)
	}
}

func TestSummary(t *testing.T) {
	tests := actionTests(t)
	res := map[string]map[string]outcome{targetNicflowd: {}, targetOVS: {}}
	for i, st := range tests {
		if i%2 == 0 {
			res[targetNicflowd][st.ID()] = outcome{Result: resOK}
		}
		if i%4 == 0 {
			res[targetOVS][st.ID()] = outcome{Result: resOK}
		}
	}
	var b bytes.Buffer
	writeSummary(&b, summarize(tests, []string{targetNicflowd, targetOVS}, res), []string{targetNicflowd, targetOVS}, "")
	want := `family     tests  nicflowd pass/fail      ovs pass/fail     ratio
action        56              28/28              14/42      2.00
set_field    170              85/85             43/127      1.98
total        226            113/113             57/169      1.98
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
