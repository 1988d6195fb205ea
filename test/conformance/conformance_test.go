package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var (
	flagFull = flag.Bool("conformance.full", false,
		"run every test of the suite against every target (default: against nicflowd, the tests expected.txt says pass, but those that send traffic for 30 s: meters, groups)")
	flagTargets = flag.String("conformance.targets", "",
		"comma-separated targets, nicflowd and ovs (default nicflowd; with -conformance.full nicflowd,ovs)")
	flagRun    = flag.String("conformance.run", "", "only the tests whose ID (file#N) or description matches this regexp")
	flagWrite  = flag.Bool("conformance.write", false, "write results.txt (a run of the whole suite only)")
	flagUpdate = flag.Bool("conformance.update", false,
		"rewrite expected.txt: OK or ERROR by nicflowd's result for each test run (FLAKY stays)")
	flagReport   = flag.Bool("conformance.report", false, "print the summary by family, the failures by cause and the comparison with expected.txt")
	flagNicflowd = flag.String("conformance.nicflowd", "", "nicflowd binary (default: built from this tree)")
	flagShards   = flag.Int("conformance.shards", 4, "test beds per target running at once (tests that measure rates run on one, alone)")
	flagLogDir   = flag.String("conformance.logdir", "", "keep the logs of tester.py, nicflowd and Open vSwitch here (default: a temporary directory)")
)

// testerSHA256 is the hash of os_ken/tests/switch/tester.py of os-ken 2.5.0
// (Debian 12's python3-os-ken 2.5.0-2), the version of the test files in
// of13/.
const testerSHA256 = "6ac8d8b50d48b7b0f7fe343a1b7a58f32366140aa1ac3c0376c064840277bfa7"

// debianPython is the interpreter Debian's python3-os-ken is installed for.
const debianPython = "/usr/bin/python3"

// nicflowdBin is the binary TestMain built (or -conformance.nicflowd), and
// buildErr why it could not be built.
var nicflowdBin, buildErr = "", error(nil)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() == 0 && *flagNicflowd == "" && wantsHarness() {
		dir, err := os.MkdirTemp("", "nicflow-conformance-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "conformance:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		nicflowdBin, buildErr = filepath.Join(dir, "nicflowd"), buildNicflowd(dir)
	} else {
		nicflowdBin = *flagNicflowd
	}
	return m.Run()
}

// wantsHarness reports whether -test.run can select TestConformance.
func wantsHarness() bool {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return true
	}
	re, err := regexp.Compile(strings.SplitN(f.Value.String(), "/", 2)[0])
	return err != nil || re.MatchString("TestConformance")
}

func buildNicflowd(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/nicflow/nicflow/cmd/nicflowd").CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build ./cmd/nicflowd: %w\n%s", err, out)
	}
	return nil
}

// inCI reports whether the test runs in CI, where what would skip it fails
// it.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireEnv skips the test unless it runs as root with every tool (under
// CI=true it fails instead), and returns the path of tester.py.
func requireEnv(t *testing.T) string {
	t.Helper()
	skip := t.Skipf
	if inCI() {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("the conformance suite needs root (a network namespace, veth pairs, Open vSwitch): run as root, make netns or make conformance")
	}
	for _, tool := range []string{"ip", "ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-ofctl", "osken-manager"} {
		if _, err := exec.LookPath(tool); err != nil {
			skip("%s not found on PATH (make deps installs openvswitch-switch and python3-os-ken)", tool)
		}
	}
	if _, err := os.Stat("/usr/share/openvswitch/vswitch.ovsschema"); err != nil {
		skip("Open vSwitch's schema: %v (make deps installs openvswitch-switch)", err)
	}
	out, err := exec.Command(debianPython, "-c",
		"import os, os_ken; print(os.path.join(os.path.dirname(os_ken.__file__), 'tests', 'switch', 'tester.py'))").CombinedOutput()
	if err != nil {
		skip("%s cannot import os_ken (make deps installs python3-os-ken): %v\n%s", debianPython, err, out)
	}
	tester := strings.TrimSpace(string(out))
	if _, err := os.Stat(tester); err != nil {
		skip("os-ken has no switch tester: %v", err)
	}
	if buildErr != nil {
		t.Fatalf("build nicflowd: %v", buildErr)
	}
	if nicflowdBin == "" {
		t.Fatal("no nicflowd binary")
	}
	return tester
}

// fileSHA256 returns the hex SHA-256 of a file.
func fileSHA256(p string) (string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]), nil
}

// targets returns the targets to run.
func targets() ([]string, error) {
	v := *flagTargets
	if v == "" {
		v = targetNicflowd
		if *flagFull {
			v = targetNicflowd + "," + targetOVS
		}
	}
	var out []string
	for _, tg := range strings.Split(v, ",") {
		switch tg = strings.TrimSpace(tg); tg {
		case targetNicflowd, targetOVS:
			out = append(out, tg)
		default:
			return nil, fmt.Errorf("-conformance.targets: unknown target %q (want nicflowd, ovs)", tg)
		}
	}
	return out, nil
}

// TestConformance runs os-ken's OpenFlow 1.3 switch tests. By default:
// against nicflowd, the tests expected.txt says pass, but those that send
// 30 s of traffic to measure a rate (meters, groups); it fails if
// one of them does not pass. With -conformance.full: every test against
// every target (make conformance).
func TestConformance(t *testing.T) {
	tester := requireEnv(t)
	suite, err := loadSuite(suiteDir)
	if err != nil {
		t.Fatal(err)
	}
	exp, err := readExpectedFile("expected.txt")
	if err != nil {
		t.Fatal(err)
	}
	tgs, err := targets()
	if err != nil {
		t.Fatal(err)
	}
	var re *regexp.Regexp
	if *flagRun != "" {
		if re, err = regexp.Compile(*flagRun); err != nil {
			t.Fatalf("-conformance.run: %v", err)
		}
	}
	if *flagWrite && (!*flagFull || re != nil) {
		t.Fatal("-conformance.write writes results.txt of the whole suite: it needs -conformance.full and no -conformance.run")
	}
	var sel []suiteTest
	for _, st := range suite {
		if re != nil && !re.MatchString(st.ID()) && !re.MatchString(st.Desc) {
			continue
		}
		if !*flagFull && (exp[st.ID()] != expOK || st.Traffic > 0) {
			continue
		}
		sel = append(sel, st)
	}
	if len(sel) == 0 {
		t.Fatalf("no test selected (of %d; -conformance.run %q, -conformance.full %v)", len(suite), *flagRun, *flagFull)
	}
	sum, err := fileSHA256(tester)
	if err != nil {
		t.Fatal(err)
	}
	if sum != testerSHA256 {
		t.Logf("warning: %s is not os-ken 2.5.0's (sha256 %s): the test files in of13/ are 2.5.0's", tester, sum)
	}

	logDir := *flagLogDir
	if logDir == "" {
		logDir = t.TempDir()
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		t.Fatal(err)
	} else {
		// The logs of an earlier run (the harness appends to its logs).
		old, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
		for _, f := range old {
			switch b := filepath.Base(f); {
			case b == "ovsdb-server.log", b == "ovs-vswitchd.log",
				strings.HasSuffix(b, ".tester.log"), strings.HasSuffix(b, ".nicflowd.log"):
				_ = os.Remove(f)
			}
		}
	}
	start := time.Now()
	e := newEnv(t, nicflowdBin, logDir)
	res := map[string]map[string]outcome{}
	took := map[string]time.Duration{}
	for _, tg := range tgs {
		t0 := time.Now()
		res[tg] = runTarget(t, e, tg, sel, *flagShards)
		took[tg] = time.Since(t0).Round(time.Second)
		pass := 0
		for _, o := range res[tg] {
			if o.Result == resOK {
				pass++
			}
		}
		t.Logf("%s: %d of %d tests passed in %v (logs: %s)", tg, pass, len(sel), took[tg], logDir)
	}
	elapsed := time.Since(start).Round(time.Second)

	var cmp comparison
	if r, ok := res[targetNicflowd]; ok {
		cmp = compare(sel, exp, r)
		for _, l := range cmp.Regressed {
			t.Errorf("expected to pass, failed on nicflowd: %s", l)
		}
		if len(cmp.Regressed) > 0 {
			t.Logf("nicflowd's logs and tester.py's are in %s (keep them with -conformance.logdir)", logDir)
		}
		for _, l := range cmp.Fixed {
			t.Logf("now passes on nicflowd (expected.txt says ERROR; make conformance UPDATE=1 records it): %s", l)
		}
		if *flagUpdate {
			updateExpected(exp, r)
			var b bytes.Buffer
			if err := writeExpected(&b, suite, exp); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("expected.txt", b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("expected.txt updated from nicflowd's results of %d tests", len(r))
		}
	}
	if *flagWrite {
		header := []string{
			"os-ken OpenFlow 1.3 switch test suite (test/conformance/of13, os-ken 2.5.0) run by TestConformance; do not edit, run make conformance.",
			fmt.Sprintf("tester.py %s (sha256 %s); %s; nicflowd built from %s.", tester, sum[:12], ovsVersion(), gitDescribe()),
			fmt.Sprintf("%d tests, %v in all (%s); %d test beds at once, then the rate tests (meters, groups) alone.", len(sel), elapsed, tookString(tgs, took), *flagShards),
			"Pass/fail by family (ratio: nicflowd's passes over Open vSwitch's):",
		}
		var b bytes.Buffer
		if err := writeResults(&b, header, sel, tgs, res); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("results.txt", b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if *flagReport {
		fmt.Printf("\n== conformance: os-ken OpenFlow 1.3 switch tests, %d tests, %v (%s) ==\n", len(sel), elapsed, tookString(tgs, took))
		writeSummary(os.Stdout, summarize(sel, tgs, res), tgs, "")
		for _, tg := range tgs {
			fmt.Printf("\n== %s: failures by cause ==\n", tg)
			writeCauses(os.Stdout, tg, sel, res[tg])
		}
		if _, ok := res[targetNicflowd]; ok {
			fmt.Printf("\n== nicflowd against expected.txt ==\n")
			writeComparison(os.Stdout, cmp)
		}
		fmt.Printf("\nper-test results: test/conformance/results.txt (written: %v); logs: %s\n", *flagWrite, logDir)
	}
}

func tookString(tgs []string, took map[string]time.Duration) string {
	var parts []string
	for _, tg := range tgs {
		parts = append(parts, fmt.Sprintf("%s %v", tg, took[tg]))
	}
	return strings.Join(parts, ", ")
}

func ovsVersion() string {
	out, err := exec.Command("ovs-vswitchd", "--version").Output()
	if err != nil {
		return "Open vSwitch (version unknown)"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

// gitDescribe names the commit of the tree nicflowd was built from: this
// tree for the binary TestMain builds, the git tree holding the binary of
// -conformance.nicflowd.
func gitDescribe() string {
	dir := "."
	if *flagNicflowd != "" {
		dir = filepath.Dir(*flagNicflowd)
	}
	out, err := exec.Command("git", "-C", dir, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "(no git)"
	}
	return strings.TrimSpace(string(out))
}
