package conformance

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Results of one test. OK and ERROR are tester.py's; the others are the
// harness's, for a test tester.py could not finish.
const (
	resOK     = "OK"
	resError  = "ERROR"
	resCrash  = "CRASH"  // the target switch exited during the test
	resHang   = "HANG"   // tester.py made no progress within the stall limit
	resAbort  = "ABORT"  // tester.py (osken-manager) died or raised during the test
	resNotRun = "NOTRUN" // the run ended before the test
)

// outcome is what became of one test on one target.
type outcome struct {
	Result  string
	Detail  string // tester.py's reason for an ERROR, the harness's for the others
	Offered string // for a rate test: the rate the target received
	Starved bool   // for a rate test: the target received less than 90% of the rate the test sends
	Elapsed time.Duration
}

// note is the detail with the offered rate.
func (o outcome) note() string {
	switch {
	case o.Offered == "":
		return o.Detail
	case o.Detail == "":
		return "(" + o.Offered + ")"
	}
	return o.Detail + " (" + o.Offered + ")"
}

// testerLine is one line of tester.py's log, as far as the harness cares.
type testerLine struct {
	kind   lineKind
	desc   string // lineResult: the test's description
	result string // lineResult: OK or ERROR
	text   string // lineDetail: the reason of the ERROR before
}

type lineKind int

const (
	lineOther  lineKind = iota
	lineResult          // "    DESCRIPTION (padded to 100) OK|ERROR"
	lineDetail          // "        REASON", after an ERROR
	lineEnd             // "---  Test end  ---": the report that follows repeats the results
)

// resultRE matches tester.py's '    %-100s %s' % (description, result).
var resultRE = regexp.MustCompile(`^ {4}(\S.*?)\s+(OK|ERROR)$`)

// parseTesterLine classifies one line of tester.py's log (its stderr).
func parseTesterLine(line string) testerLine {
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "---  Test end  ---"):
		return testerLine{kind: lineEnd}
	case strings.HasPrefix(line, "        ") && strings.TrimSpace(line) != "":
		return testerLine{kind: lineDetail, text: strings.TrimSpace(line)}
	}
	if m := resultRE.FindStringSubmatch(line); m != nil {
		return testerLine{kind: lineResult, desc: strings.TrimSpace(m[1]), result: m[2]}
	}
	return testerLine{kind: lineOther}
}

// OpenFlow 1.3.5 error types and codes (ofp_error_type and the per-type
// code enums), for readable causes.
var (
	errTypes = []string{"OFPET_HELLO_FAILED", "OFPET_BAD_REQUEST", "OFPET_BAD_ACTION",
		"OFPET_BAD_INSTRUCTION", "OFPET_BAD_MATCH", "OFPET_FLOW_MOD_FAILED", "OFPET_GROUP_MOD_FAILED",
		"OFPET_PORT_MOD_FAILED", "OFPET_TABLE_MOD_FAILED", "OFPET_QUEUE_OP_FAILED",
		"OFPET_SWITCH_CONFIG_FAILED", "OFPET_ROLE_REQUEST_FAILED", "OFPET_METER_MOD_FAILED",
		"OFPET_TABLE_FEATURES_FAILED"}
	errCodes = [][]string{
		{"OFPHFC_INCOMPATIBLE", "OFPHFC_EPERM"},
		{"OFPBRC_BAD_VERSION", "OFPBRC_BAD_TYPE", "OFPBRC_BAD_MULTIPART", "OFPBRC_BAD_EXPERIMENTER",
			"OFPBRC_BAD_EXP_TYPE", "OFPBRC_EPERM", "OFPBRC_BAD_LEN", "OFPBRC_BUFFER_EMPTY",
			"OFPBRC_BUFFER_UNKNOWN", "OFPBRC_BAD_TABLE_ID", "OFPBRC_IS_SLAVE", "OFPBRC_BAD_PORT",
			"OFPBRC_BAD_PACKET", "OFPBRC_MULTIPART_BUFFER_OVERFLOW"},
		{"OFPBAC_BAD_TYPE", "OFPBAC_BAD_LEN", "OFPBAC_BAD_EXPERIMENTER", "OFPBAC_BAD_EXP_TYPE",
			"OFPBAC_BAD_OUT_PORT", "OFPBAC_BAD_ARGUMENT", "OFPBAC_EPERM", "OFPBAC_TOO_MANY",
			"OFPBAC_BAD_QUEUE", "OFPBAC_BAD_OUT_GROUP", "OFPBAC_MATCH_INCONSISTENT",
			"OFPBAC_UNSUPPORTED_ORDER", "OFPBAC_BAD_TAG", "OFPBAC_BAD_SET_TYPE", "OFPBAC_BAD_SET_LEN",
			"OFPBAC_BAD_SET_ARGUMENT"},
		{"OFPBIC_UNKNOWN_INST", "OFPBIC_UNSUP_INST", "OFPBIC_BAD_TABLE_ID", "OFPBIC_UNSUP_METADATA",
			"OFPBIC_UNSUP_METADATA_MASK", "OFPBIC_BAD_EXPERIMENTER", "OFPBIC_BAD_EXP_TYPE",
			"OFPBIC_BAD_LEN", "OFPBIC_EPERM"},
		{"OFPBMC_BAD_TYPE", "OFPBMC_BAD_LEN", "OFPBMC_BAD_TAG", "OFPBMC_BAD_DL_ADDR_MASK",
			"OFPBMC_BAD_NW_ADDR_MASK", "OFPBMC_BAD_WILDCARDS", "OFPBMC_BAD_FIELD", "OFPBMC_BAD_VALUE",
			"OFPBMC_BAD_MASK", "OFPBMC_BAD_PREREQ", "OFPBMC_DUP_FIELD", "OFPBMC_EPERM"},
		{"OFPFMFC_UNKNOWN", "OFPFMFC_TABLE_FULL", "OFPFMFC_BAD_TABLE_ID", "OFPFMFC_OVERLAP",
			"OFPFMFC_EPERM", "OFPFMFC_BAD_TIMEOUT", "OFPFMFC_BAD_COMMAND", "OFPFMFC_BAD_FLAGS"},
		{"OFPGMFC_GROUP_EXISTS", "OFPGMFC_INVALID_GROUP", "OFPGMFC_WEIGHT_UNSUPPORTED",
			"OFPGMFC_OUT_OF_GROUPS", "OFPGMFC_OUT_OF_BUCKETS", "OFPGMFC_CHAINING_UNSUPPORTED",
			"OFPGMFC_WATCH_UNSUPPORTED", "OFPGMFC_LOOP", "OFPGMFC_UNKNOWN_GROUP",
			"OFPGMFC_CHAINED_GROUP", "OFPGMFC_BAD_TYPE", "OFPGMFC_BAD_COMMAND", "OFPGMFC_BAD_BUCKET",
			"OFPGMFC_BAD_WATCH", "OFPGMFC_EPERM"},
		{"OFPPMFC_BAD_PORT", "OFPPMFC_BAD_HW_ADDR", "OFPPMFC_BAD_CONFIG", "OFPPMFC_BAD_ADVERTISE",
			"OFPPMFC_EPERM"},
		{"OFPTMFC_BAD_TABLE", "OFPTMFC_BAD_CONFIG", "OFPTMFC_EPERM"},
		{"OFPQOFC_BAD_PORT", "OFPQOFC_BAD_QUEUE", "OFPQOFC_EPERM"},
		{"OFPSCFC_BAD_FLAGS", "OFPSCFC_BAD_LEN", "OFPSCFC_EPERM"},
		{"OFPRRFC_STALE", "OFPRRFC_UNSUP", "OFPRRFC_BAD_ROLE"},
		{"OFPMMFC_UNKNOWN", "OFPMMFC_METER_EXISTS", "OFPMMFC_INVALID_METER", "OFPMMFC_UNKNOWN_METER",
			"OFPMMFC_BAD_COMMAND", "OFPMMFC_BAD_FLAGS", "OFPMMFC_BAD_RATE", "OFPMMFC_BAD_BURST",
			"OFPMMFC_BAD_BAND", "OFPMMFC_BAD_BAND_VALUE", "OFPMMFC_OUT_OF_METERS",
			"OFPMMFC_OUT_OF_BANDS"},
		{"OFPTFFC_BAD_TABLE", "OFPTFFC_BAD_METADATA", "OFPTFFC_BAD_TYPE", "OFPTFFC_BAD_LEN",
			"OFPTFFC_BAD_ARGUMENT", "OFPTFFC_EPERM"},
	}
)

// errorName names an OpenFlow error: "OFPET_BAD_ACTION/OFPBAC_BAD_TYPE".
func errorName(typ, code int) string {
	if typ < 0 || typ >= len(errTypes) {
		return fmt.Sprintf("type %#x/code %#x", typ, code)
	}
	if code < 0 || code >= len(errCodes[typ]) {
		return fmt.Sprintf("%s/code %#x", errTypes[typ], code)
	}
	return errTypes[typ] + "/" + errCodes[typ][code]
}

var ofErrorRE = regexp.MustCompile(`OFPErrorMsg\[type=0x([0-9a-f]+), code=0x([0-9a-f]+)\]`)

// packetDiff shortens tester.py's difference between the packet expected
// and the one received ("mpls(label=2)", "ipv4(csum=1,dst='a',...)/tcp(...)/
// str(b'...')", one part per header) to the headers and fields that differ:
// "mpls(label)"; a header listed whole (more than three fields: the
// received packet has it where the expected one has another) is "ipv4(*)",
// payload bytes are "payload".
func packetDiff(d string) string {
	var parts []string
	depth, quote, start := 0, byte(0), 0
	for i := 0; i <= len(d); i++ {
		if i < len(d) {
			c := d[i]
			switch {
			case quote != 0:
				if c == quote && d[i-1] != '\\' {
					quote = 0
				}
				continue
			case c == '\'' || c == '"':
				quote = c
				continue
			case c == '(' || c == '[' || c == '{':
				depth++
				continue
			case c == ')' || c == ']' || c == '}':
				depth--
				continue
			case c != '/' || depth > 0:
				continue
			}
		}
		parts = append(parts, d[start:i])
		start = i + 1
	}
	for i, p := range parts {
		name, args, ok := strings.Cut(p, "(")
		switch {
		case name == "str" || strings.HasPrefix(p, "b'"):
			parts[i] = "payload"
		case !ok:
			parts[i] = p
		default:
			args = strings.TrimSuffix(args, ")")
			var fields []string
			depth := 0
			for j := 0; j < len(args); j++ {
				switch args[j] {
				case '(', '[', '{':
					depth++
				case ')', ']', '}':
					depth--
				case '=':
					if depth == 0 {
						k := j
						for k > 0 && (isWord(args[k-1])) {
							k--
						}
						fields = append(fields, args[k:j])
					}
				}
			}
			if len(fields) > 3 {
				parts[i] = name + "(*)"
			} else {
				parts[i] = name + "(" + strings.Join(fields, ",") + ")"
			}
		}
	}
	return strings.Join(parts, "/")
}

func isWord(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// cause is the reason of a failure stripped of the values that differ from
// one test to the next, so that failures group by what went wrong:
// OpenFlow errors by name, packet differences by protocol and field.
func cause(o outcome) string {
	switch o.Result {
	case resOK:
		return ""
	case resCrash:
		return "target switch exited during the test (crash)"
	case resHang:
		return "hang: the target stopped answering, or tester.py made no progress"
	case resAbort:
		return "tester.py aborted"
	case resNotRun:
		return "not run"
	}
	d := o.Detail
	if m := ofErrorRE.FindStringSubmatch(d); m != nil {
		typ, _ := strconv.ParseInt(m[1], 16, 32)
		code, _ := strconv.ParseInt(m[2], 16, 32)
		return strings.Replace(d, m[0], errorName(int(typ), int(code)), 1)
	}
	what, rest, ok := strings.Cut(d, ": ")
	if !ok {
		return d
	}
	switch {
	case what == "Received incorrect packet":
		return what + ": " + packetDiff(rest)
	case strings.HasPrefix(what, "Received unexpected throughput") && o.Starved:
		return what + ", but the tester sent less than 90% of the test's packet rate (machine-bound)"
	case strings.HasPrefix(what, "Added incorrect"), strings.HasPrefix(what, "Received unexpected throughput"):
		return what
	}
	return d
}

// A result line of results.txt: target, result, test ID, description,
// detail, tab-separated.
type resultLine struct {
	Target string
	Test   suiteTest
	outcome
}

// summaryRow counts one family's tests for each target.
type summaryRow struct {
	Family string
	Tests  int
	Pass   map[string]int
}

// summarize counts, per family and in total, the tests each target passed.
func summarize(tests []suiteTest, targets []string, res map[string]map[string]outcome) []summaryRow {
	rows := map[string]*summaryRow{}
	total := &summaryRow{Family: "total", Pass: map[string]int{}}
	for _, f := range families {
		rows[f] = &summaryRow{Family: f, Pass: map[string]int{}}
	}
	for _, t := range tests {
		r := rows[t.Family()]
		if r == nil {
			r = &summaryRow{Family: t.Family(), Pass: map[string]int{}}
			rows[t.Family()] = r
		}
		r.Tests++
		total.Tests++
		for _, tg := range targets {
			if res[tg][t.ID()].Result == resOK {
				r.Pass[tg]++
				total.Pass[tg]++
			}
		}
	}
	var out []summaryRow
	for _, f := range families {
		if rows[f].Tests > 0 {
			out = append(out, *rows[f])
		}
		delete(rows, f)
	}
	var rest []string
	for f := range rows {
		rest = append(rest, f)
	}
	sort.Strings(rest)
	for _, f := range rest {
		out = append(out, *rows[f])
	}
	return append(out, *total)
}

// writeSummary prints the per-family table: passed/failed per target and,
// with two targets, the first's pass count as a share of the second's.
func writeSummary(w io.Writer, rows []summaryRow, targets []string, prefix string) {
	fmt.Fprintf(w, "%s%-10s %5s", prefix, "family", "tests")
	for _, tg := range targets {
		fmt.Fprintf(w, "  %17s", tg+" pass/fail")
	}
	if len(targets) == 2 {
		fmt.Fprintf(w, "  %8s", "ratio")
	}
	fmt.Fprintln(w)
	for _, r := range rows {
		fmt.Fprintf(w, "%s%-10s %5d", prefix, r.Family, r.Tests)
		for _, tg := range targets {
			fmt.Fprintf(w, "  %17s", fmt.Sprintf("%d/%d", r.Pass[tg], r.Tests-r.Pass[tg]))
		}
		if len(targets) == 2 {
			ratio := "n/a"
			if b := r.Pass[targets[1]]; b > 0 {
				ratio = fmt.Sprintf("%.2f", float64(r.Pass[targets[0]])/float64(b))
			}
			fmt.Fprintf(w, "  %8s", ratio)
		}
		fmt.Fprintln(w)
	}
}

// writeCauses lists a target's failures grouped by cause, the largest
// group first, each with its tests' IDs.
func writeCauses(w io.Writer, target string, tests []suiteTest, res map[string]outcome) {
	groups := map[string][]string{}
	for _, t := range tests {
		o, ok := res[t.ID()]
		if !ok || o.Result == resOK {
			continue
		}
		c := cause(o)
		groups[c] = append(groups[c], t.ID())
	}
	var causes []string
	for c := range groups {
		causes = append(causes, c)
	}
	sort.Slice(causes, func(i, j int) bool {
		if len(groups[causes[i]]) != len(groups[causes[j]]) {
			return len(groups[causes[i]]) > len(groups[causes[j]])
		}
		return causes[i] < causes[j]
	})
	if len(causes) == 0 {
		fmt.Fprintf(w, "%s: no failures\n", target)
	}
	for _, c := range causes {
		fmt.Fprintf(w, "%s: %d failing: %s\n", target, len(groups[c]), c)
		for _, id := range groups[c] {
			fmt.Fprintf(w, "    %s\n", id)
		}
	}
}

// writeResults writes results.txt: a header with the run and the summary,
// then one tab-separated line per target and test, in suite order.
func writeResults(w io.Writer, header []string, tests []suiteTest, targets []string, res map[string]map[string]outcome) error {
	bw := bufio.NewWriter(w)
	for _, h := range header {
		fmt.Fprintf(bw, "# %s\n", h)
	}
	fmt.Fprintln(bw, "#")
	writeSummary(bw, summarize(tests, targets, res), targets, "#   ")
	fmt.Fprintln(bw, "#")
	fmt.Fprintln(bw, "# TARGET\tRESULT\tTEST\tDESCRIPTION\tDETAIL")
	for _, tg := range targets {
		for _, t := range tests {
			o, ok := res[tg][t.ID()]
			if !ok {
				o = outcome{Result: resNotRun}
			}
			fmt.Fprintf(bw, "%s\t%s\t%s\t%s\t%s\n", tg, o.Result, t.ID(), t.Desc, oneLine(o.note()))
		}
	}
	return bw.Flush()
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\t", " ")), " ")
}

// Expected results: expected.txt holds, for every test of the suite, what
// nicflowd is expected to do: OK (it must pass), ERROR (it fails today) or
// FLAKY (its outcome depends on the machine: not checked).
const (
	expOK    = "OK"
	expError = "ERROR"
	expFlaky = "FLAKY"
)

// readExpected reads expected.txt: "RESULT<TAB>TEST-ID[<TAB>DESCRIPTION]"
// lines; # starts a comment line.
func readExpected(r io.Reader) (map[string]string, error) {
	exp := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want RESULT<TAB>TEST-ID<TAB>DESCRIPTION, got %q", n, line)
		}
		switch f[0] {
		case expOK, expError, expFlaky:
		default:
			return nil, fmt.Errorf("line %d: result %q: want %s, %s or %s", n, f[0], expOK, expError, expFlaky)
		}
		if _, dup := exp[f[1]]; dup {
			return nil, fmt.Errorf("line %d: %s listed twice", n, f[1])
		}
		exp[f[1]] = f[0]
	}
	return exp, sc.Err()
}

// expectedHeader opens expected.txt.
var expectedHeader = []string{
	"Expected result of every test of the os-ken OpenFlow 1.3 switch test suite (of13/) on nicflowd.",
	"OK: must pass (TestConformance fails when it does not); ERROR: fails today;",
	"FLAKY: depends on the machine, not checked (the rate tests: tester.py's packet rate is bound by the CPU). Set by hand.",
	"make conformance UPDATE=1 rewrites OK/ERROR from the run (FLAKY stays).",
	"RESULT<TAB>TEST<TAB>DESCRIPTION",
}

// writeExpected writes expected.txt for tests in suite order.
func writeExpected(w io.Writer, tests []suiteTest, exp map[string]string) error {
	bw := bufio.NewWriter(w)
	for _, h := range expectedHeader {
		fmt.Fprintf(bw, "# %s\n", h)
	}
	for _, t := range tests {
		e, ok := exp[t.ID()]
		if !ok {
			continue
		}
		fmt.Fprintf(bw, "%s\t%s\t%s\n", e, t.ID(), t.Desc)
	}
	return bw.Flush()
}

// updateExpected merges a run's outcomes into exp: OK for a passed test,
// ERROR for any other, FLAKY left as it is.
func updateExpected(exp map[string]string, res map[string]outcome) {
	for id, o := range res {
		if exp[id] == expFlaky {
			continue
		}
		if o.Result == resOK {
			exp[id] = expOK
		} else {
			exp[id] = expError
		}
	}
}

// comparison is a run of nicflowd held against expected.txt.
type comparison struct {
	Regressed []string // expected OK, did not pass: "ID: RESULT DETAIL"
	Fixed     []string // expected ERROR, passed
	Flaky     []string // FLAKY, for the record: "ID: RESULT"
	Unlisted  []string // not in expected.txt
}

func compare(tests []suiteTest, exp map[string]string, res map[string]outcome) comparison {
	var c comparison
	for _, t := range tests {
		o, ran := res[t.ID()]
		if !ran {
			continue
		}
		line := fmt.Sprintf("%s: %s %s", t.ID(), o.Result, oneLine(o.note()))
		switch exp[t.ID()] {
		case expOK:
			if o.Result != resOK {
				c.Regressed = append(c.Regressed, strings.TrimSpace(line))
			}
		case expError:
			if o.Result == resOK {
				c.Fixed = append(c.Fixed, t.ID()+": "+t.Desc)
			}
		case expFlaky:
			c.Flaky = append(c.Flaky, fmt.Sprintf("%s: %s", t.ID(), o.Result))
		default:
			c.Unlisted = append(c.Unlisted, strings.TrimSpace(line))
		}
	}
	return c
}

// writeComparison prints the differences between a run and expected.txt.
func writeComparison(w io.Writer, c comparison) {
	section := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		fmt.Fprintf(w, "%s (%d):\n", title, len(lines))
		for i, l := range lines {
			if i == 50 && len(lines) > 60 {
				fmt.Fprintf(w, "    ... and %d more\n", len(lines)-i)
				break
			}
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
	if len(c.Regressed)+len(c.Fixed)+len(c.Unlisted) == 0 {
		fmt.Fprintln(w, "nicflowd matches expected.txt")
	}
	section("expected OK, failed (regressions)", c.Regressed)
	section("expected ERROR, passed (update expected.txt: make conformance UPDATE=1)", c.Fixed)
	section("not in expected.txt", c.Unlisted)
	section("FLAKY, not checked", c.Flaky)
}

// readExpectedFile reads expected.txt; a missing file is an empty list.
func readExpectedFile(p string) (map[string]string, error) {
	f, err := os.Open(p)
	if os.IsNotExist(err) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	exp, err := readExpected(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return exp, nil
}
