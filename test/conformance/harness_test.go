package conformance

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The two kinds of target switch.
const (
	targetNicflowd = "nicflowd"
	targetOVS      = "ovs"
)

// Stall limits: a test that reports no result within stallLimit (plus its
// continuous traffic) is a HANG. tester.py waits at most 3 s for each reply,
// a test has at most about eight such waits; the first test of a run also
// waits for both switches to connect (nicflowd backs off up to 8 s).
const (
	stallLimit   = 60 * time.Second
	connectLimit = 30 * time.Second
)

// proc is a process the harness started, with its log.
type proc struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	start   int64 // size of the log when the process started
	done    chan struct{}
	err     error // valid after done
}

// startProc starts name args... inside ns (nil: the caller's namespace)
// with stdout and stderr appended to logPath. The process is a direct
// child of the test (no `ip netns exec`, which forks), so it is stopped by
// its own PID.
func startProc(ns *netns.NS, logPath, name string, args ...string) (*proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	st, _ := lf.Stat()
	p := &proc{name: filepath.Base(name), cmd: exec.Command(name, args...), logPath: logPath, done: make(chan struct{})}
	if st != nil {
		p.start = st.Size()
	}
	fmt.Fprintf(lf, "=== %s %s %s\n", time.Now().Format(time.RFC3339), name, strings.Join(args, " "))
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	start := p.cmd.Start
	if ns != nil {
		// The child inherits the namespace of the thread that forks it.
		err = ns.Do(start)
	} else {
		err = start()
	}
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// alive reports whether the process still runs.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop sends SIGTERM and waits up to 10 s, then kills. It reports an exit
// status other than 0 (or the SIGTERM it was sent) as an error.
func (p *proc) stop() error {
	if !p.alive() {
		return p.exitErr()
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("%s (pid %d) did not exit within 10s of SIGTERM: killed", p.name, p.cmd.Process.Pid)
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return p.exitErr()
}

func (p *proc) exitErr() error {
	if p.err != nil {
		return fmt.Errorf("%s (pid %d): %w", p.name, p.cmd.Process.Pid, p.err)
	}
	return nil
}

// log returns what the process wrote to its log.
func (p *proc) log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil || int64(len(b)) < p.start {
		return ""
	}
	return string(b[p.start:])
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// env is one run's world: a namespace, an Open vSwitch (ovsdb-server and
// ovs-vswitchd of its own) and a directory for files and logs.
type env struct {
	ns       *netns.NS
	dir      string // scratch: databases, sockets, test selections
	logDir   string
	nicflowd string // the binary
	db       *proc
	vswitchd *proc
}

// newEnv creates the namespace and starts Open vSwitch in it; t.Cleanup
// stops both daemons.
func newEnv(t *testing.T, nicflowd, logDir string) *env {
	t.Helper()
	e := &env{ns: netns.New(t, "nfconf"), dir: t.TempDir(), logDir: logDir, nicflowd: nicflowd}
	// No IPv6 on the veths: router solicitations and MLD reports would
	// reach the switches as packets the tests did not send.
	e.ns.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
	e.ns.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")

	ovs := filepath.Join(e.dir, "ovs")
	if err := os.MkdirAll(ovs, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ovsdb-tool", "create", filepath.Join(ovs, "conf.db"),
		"/usr/share/openvswitch/vswitch.ovsschema").CombinedOutput(); err != nil {
		t.Fatalf("ovsdb-tool create: %v\n%s", err, out)
	}
	var err error
	e.db, err = startProc(e.ns, filepath.Join(logDir, "ovsdb-server.log"), "ovsdb-server",
		filepath.Join(ovs, "conf.db"), "--remote=punix:"+filepath.Join(ovs, "db.sock"),
		"--unixctl="+filepath.Join(ovs, "ovsdb-server.ctl"), "--no-chdir", "-vconsole:info", "-vsyslog:off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.db.stop(); err != nil {
			t.Errorf("ovsdb-server: %v", err)
		}
	})
	e.waitSocket(t, e.db, filepath.Join(ovs, "db.sock"))
	if out, err := e.vsctl("--no-wait", "init"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	e.flowCache(t, false)
	e.vswitchd, err = startProc(e.ns, filepath.Join(logDir, "ovs-vswitchd.log"), "ovs-vswitchd",
		"unix:"+filepath.Join(ovs, "db.sock"), "--unixctl="+filepath.Join(ovs, "ovs-vswitchd.ctl"),
		"--no-chdir", "-vconsole:info", "-vsyslog:off")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.vswitchd.stop(); err != nil {
			t.Errorf("ovs-vswitchd: %v", err)
		}
	})
	e.waitSocket(t, e.vswitchd, filepath.Join(ovs, "ovs-vswitchd.ctl"))
	return e
}

func (e *env) waitSocket(t *testing.T, p *proc, sock string) {
	t.Helper()
	waitfor.True(t, 15*time.Second, p.name+" socket "+sock, func() bool {
		_, err := os.Stat(sock)
		return err == nil || !p.alive()
	})
	if !p.alive() {
		t.Fatalf("%s exited: %v\n%s", p.name, p.err, tail(p.log(), 20))
	}
}

// flowCache turns Open vSwitch's datapath flow cache on or off (flow-limit
// 0: every packet takes the slow path through the OpenFlow tables).
//
// Off for the tests that send single packets: tester.py sends a test's
// packet right after the barrier of its FLOW_MODs, and the userspace
// datapath may still hold a flow the previous test left until its
// revalidators catch up (action/17_PUSH_VLAN.json#1 fails in sequence and
// passes alone). On for the tests that send traffic for a time: select
// groups pick buckets by a hash the datapath computes (without the cache
// every packet of ARP and Ethernet tests takes one bucket), and the tester
// sends faster.
func (e *env) flowCache(t *testing.T, on bool) {
	t.Helper()
	args := []string{"set", "Open_vSwitch", ".", "other_config:flow-limit=0"}
	if on {
		args = []string{"remove", "Open_vSwitch", ".", "other_config", "flow-limit"}
	}
	if e.vswitchd == nil {
		args = append([]string{"--no-wait"}, args...)
	}
	if out, err := e.vsctl(args...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// vsctl runs ovs-vsctl against the run's database.
func (e *env) vsctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--db=unix:" + filepath.Join(e.dir, "ovs", "db.sock"), "--timeout=50"}, args...)
	out, err := exec.CommandContext(ctx, "ovs-vsctl", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovs-vsctl %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// addBridge adds a netdev-datapath bridge with ports 1, 2, 3 and the
// controller tcp:127.0.0.1:ctlPort, speaking OpenFlow 1.3 only.
func (e *env) addBridge(t *testing.T, name string, dpid uint64, ports [3]string, ctlPort int) {
	t.Helper()
	args := []string{"--", "add-br", name, "--", "set", "bridge", name, "datapath_type=netdev",
		"fail-mode=secure", "protocols=OpenFlow13",
		fmt.Sprintf("other-config:datapath-id=%016x", dpid), "other-config:disable-in-band=true"}
	for i, p := range ports {
		args = append(args, "--", "add-port", name, p, "--", "set", "interface", p, fmt.Sprintf("ofport_request=%d", i+1))
	}
	args = append(args, "--", "--id=@c", "create", "Controller",
		fmt.Sprintf("target=\"tcp:127.0.0.1:%d\"", ctlPort), "max_backoff=1000",
		"--", "set", "bridge", name, "controller=@c")
	if out, err := e.vsctl(args...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for i, p := range ports {
		out, err := e.vsctl("get", "interface", p, "ofport")
		if err != nil || strings.TrimSpace(out) != fmt.Sprint(i+1) {
			msg, _ := e.vsctl("get", "interface", p, "error")
			t.Fatalf("bridge %s: port %s has OpenFlow port %q, want %d (%v; error: %s)", name, p, strings.TrimSpace(out), i+1, err, msg)
		}
	}
}

// shard is one test bed: a target switch and a tester bridge joined port
// for port, and the osken-manager port both connect to.
type shard struct {
	e          *env
	target     string // targetNicflowd or targetOVS
	n          int
	ctlPort    int
	targetDPID uint64
	testerDPID uint64
	nfArgs     []string // nicflowd's command line
	bridges    []string // the shard's OVS bridges
	inPort     string   // the target's port 1, where tester.py's packets enter
	runDir     string   // nicflowd's --run-dir
	network    string   // nicflowd's --network
	nf         *proc    // nicflowd, for a nicflowd target
	nfLog      string
	testerLog  string
}

// newShard builds shard n of a target: three veth pairs, the tester
// bridge, and the target (nicflowd started, or an OVS bridge).
func newShard(t *testing.T, e *env, target string, n int) *shard {
	t.Helper()
	k := 1 // DPIDs: target 0xK0N, tester 0xK0N+0x100, K = 1 for nicflowd, 3 for OVS
	tag := "n"
	if target == targetOVS {
		k, tag = 3, "o"
	}
	s := &shard{
		e: e, target: target, n: n,
		ctlPort:    6700 + 10*k + n,
		targetDPID: uint64(k)<<8 | uint64(n),
		testerDPID: uint64(k+1)<<8 | uint64(n),
		nfLog:      filepath.Join(e.logDir, fmt.Sprintf("%s-%d.nicflowd.log", target, n)),
		testerLog:  filepath.Join(e.logDir, fmt.Sprintf("%s-%d.tester.log", target, n)),
	}
	var tgt, tst [3]string
	for i := range 3 {
		tgt[i] = fmt.Sprintf("%s%dt%d", tag, n, i+1)
		tst[i] = fmt.Sprintf("%s%dx%d", tag, n, i+1)
		netns.Veth(t, tgt[i], e.ns, tst[i], e.ns)
		// Frames at most MTU-sized, as the fast path reads them.
		e.ns.NoSegmentation(t, tgt[i])
		e.ns.NoSegmentation(t, tst[i])
	}
	s.inPort = tgt[0]
	s.bridges = append(s.bridges, fmt.Sprintf("tst-%s%d", tag, n))
	e.addBridge(t, s.bridges[0], s.testerDPID, tst, s.ctlPort)
	if target == targetOVS {
		s.bridges = append(s.bridges, fmt.Sprintf("tgt-%s%d", tag, n))
		e.addBridge(t, s.bridges[1], s.targetDPID, tgt, s.ctlPort)
		return s
	}
	s.runDir, s.network = filepath.Join(e.dir, fmt.Sprintf("nicflowd-%d", n)), fmt.Sprintf("conf%d", n)
	if err := os.MkdirAll(s.runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	s.nfArgs = []string{"--port", tgt[0], "--port", tgt[1], "--port", tgt[2],
		"--dpid", fmt.Sprintf("%#x", s.targetDPID), "--network", s.network,
		"--controller", fmt.Sprintf("tcp:127.0.0.1:%d", s.ctlPort), "--fail-mode", "secure",
		"--run-dir", s.runDir, "--state", filepath.Join(s.runDir, "state.db"), "--log-level", "info"}
	if err := s.startNicflowd(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.stopNicflowd(); err != nil {
			t.Errorf("shard %d: %v", n, err)
		}
	})
	return s
}

// startNicflowd starts nicflowd and waits for its "ready" log line.
func (s *shard) startNicflowd() error {
	p, err := startProc(s.e.ns, s.nfLog, s.e.nicflowd, s.nfArgs...)
	if err != nil {
		return err
	}
	s.nf = p
	err = waitfor.Until(20*time.Second, func() error {
		if strings.Contains(p.log(), "ready") {
			return nil
		}
		if !p.alive() {
			return nil
		}
		return errors.New("no ready line in its log")
	})
	if !p.alive() {
		return fmt.Errorf("nicflowd exited before it was ready: %v\n%s", p.err, tail(p.log(), 20))
	}
	if err != nil {
		return fmt.Errorf("nicflowd: %w\n%s", err, tail(p.log(), 20))
	}
	return nil
}

// stopNicflowd stops nicflowd; an exit status other than 0 is an error.
func (s *shard) stopNicflowd() error {
	if s.nf == nil {
		return nil
	}
	p := s.nf
	s.nf = nil
	if !p.alive() {
		return nil // reported as a CRASH already
	}
	if err := p.stop(); err != nil {
		return fmt.Errorf("%w\n%s", err, tail(p.log(), 20))
	}
	return nil
}

// targetDone is closed when the target switch process exits (never for an
// OVS bridge: ovs-vswitchd dying ends the run).
func (s *shard) targetDone() <-chan struct{} {
	if s.nf != nil {
		return s.nf.done
	}
	return s.e.vswitchd.done
}

// runTests runs tests (in suite order) on the shard with tester.py and
// returns an outcome for each. A crash of the target, a stalled or dead
// tester.py ends that test with CRASH, HANG or ABORT; the target is
// restarted if needed and the run goes on with the next test. notes
// collects what the caller should report beyond the outcomes (crash logs).
func (s *shard) runTests(tests []suiteTest, notes func(string)) (map[string]outcome, error) {
	res := map[string]outcome{}
	for restarts := 0; len(tests) > 0; restarts++ {
		if restarts > 20 {
			for _, t := range tests {
				res[t.ID()] = outcome{Result: resNotRun, Detail: "more than 20 restarts"}
			}
			break
		}
		done, err := s.runOnce(tests, res, notes)
		if err != nil {
			return res, err
		}
		tests = tests[done:]
		if len(tests) > 0 && s.target == targetNicflowd && (s.nf == nil || !s.nf.alive()) {
			if err := s.startNicflowd(); err != nil {
				return res, fmt.Errorf("restart nicflowd: %w", err)
			}
		}
		if s.target == targetOVS && !s.e.vswitchd.alive() {
			return res, fmt.Errorf("ovs-vswitchd exited: %v\n%s", s.e.vswitchd.err, tail(s.e.vswitchd.log(), 20))
		}
	}
	return res, nil
}

// runOnce runs one osken-manager with tester.py over tests and records
// outcomes until tester.py ends or a test cannot finish; it returns how
// many tests have an outcome.
func (s *shard) runOnce(tests []suiteTest, res map[string]outcome, notes func(string)) (int, error) {
	dir, err := os.MkdirTemp(s.e.dir, "sel-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	if err := writeSelection(dir, tests); err != nil {
		return 0, err
	}
	logf, err := os.OpenFile(s.testerLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return 0, err
	}
	defer logf.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return 0, err
	}
	cmd := exec.Command("osken-manager", "--ofp-listen-host", "127.0.0.1",
		"--ofp-tcp-listen-port", fmt.Sprint(s.ctlPort),
		"--test-switch-target", fmt.Sprintf("%016x", s.targetDPID),
		"--test-switch-tester", fmt.Sprintf("%016x", s.testerDPID),
		"--test-switch-dir", dir, "os_ken.tests.switch.tester")
	fmt.Fprintf(logf, "=== %s %s\n", time.Now().Format(time.RFC3339), strings.Join(cmd.Args, " "))
	cmd.Stdout = logf // the progress dots of continuous traffic
	cmd.Stderr = pw   // tester.py's log: the results
	err = s.e.ns.Do(cmd.Start)
	pw.Close()
	if err != nil {
		pr.Close()
		return 0, fmt.Errorf("start osken-manager: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		defer pr.Close()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			fmt.Fprintf(logf, "%s %s\n", time.Now().Format("15:04:05.000"), sc.Text())
			lines <- sc.Text()
		}
	}()
	testerDone := false
	var exitErr error
	stopTester := func() {
		if !testerDone {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case exitErr = <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				exitErr = <-exited
			}
			testerDone = true
		}
		if lines != nil {
			for range lines { // until the pipe closes
			}
			lines = nil
		}
	}

	p := newProgress(tests, res, time.Now())
	timer := time.NewTimer(p.limit())
	defer timer.Stop()
	record := func(result, detail string) {
		p.record(result, detail, time.Now())
		timer.Reset(p.limit())
	}
	// The rate offered to the target in the tests that send traffic for
	// a time, from its port 1's counters: what the tester could send on
	// this machine, to read a rate that came out too low by.
	snap := s.counters()
	handle := func(line string) error {
		n := p.k
		err := p.line(line, time.Now())
		if i := p.detailed; i >= 0 && s.nf != nil && strings.Contains(res[tests[i].ID()].Detail, "request timeout") {
			// A request to a switch timed out: if nicflowd does not
			// answer either, it hangs.
			if perr := s.probe(); perr != nil {
				o := res[tests[i].ID()]
				o.Result, o.Detail = resHang, o.Detail+"; nicflowd does not answer: "+perr.Error()
				res[tests[i].ID()] = o
				return errHang
			}
		}
		if p.k != n {
			timer.Reset(p.limit())
			c := s.counters()
			if tt := tests[p.k-1]; p.k-n == 1 && tt.Traffic > 0 && c.ok && snap.ok {
				o := res[tt.ID()]
				o.Offered, o.Starved = offered(snap, c, tt)
				res[tt.ID()] = o
			}
			snap = c
		}
		return err
	}

	for {
		select {
		case line, ok := <-lines:
			if !ok {
				lines = nil // EOF: wait for the exit
				continue
			}
			if err := handle(line); errors.Is(err, errHang) {
				stopTester()
				s.hung(tests[p.k-1], notes)
				return p.k, nil
			} else if err != nil {
				stopTester()
				return p.k, err
			}
		case exitErr = <-exited:
			testerDone = true
			if lines != nil {
				for line := range lines { // results may still be in the pipe
					if err := handle(line); errors.Is(err, errHang) {
						for range lines {
						}
						s.hung(tests[p.k-1], notes)
						return p.k, nil
					} else if err != nil {
						return p.k, err
					}
				}
				lines = nil
			}
			if p.k == len(tests) {
				return p.k, nil
			}
			detail := fmt.Sprintf("osken-manager exited (%v) before the test ended: %s", exitErr, lastLine(p.recent))
			notes(fmt.Sprintf("%s shard %d: test %s: %s\n%s", s.target, s.n, tests[p.k].ID(), detail, strings.Join(p.recent, "\n")))
			record(resAbort, detail)
			return p.k, nil
		case <-s.targetDone():
			if p.k == len(tests) { // every test reported: tester.py is ending
				stopTester()
				return p.k, nil
			}
			id := tests[p.k].ID()
			var detail, log string
			if s.nf != nil {
				log = s.nf.log()
				detail = fmt.Sprintf("nicflowd exited (%v): %s", s.nf.err, panicLine(log))
			} else {
				log = s.e.vswitchd.log()
				detail = fmt.Sprintf("ovs-vswitchd exited (%v)", s.e.vswitchd.err)
			}
			stopTester()
			notes(fmt.Sprintf("%s shard %d: test %s (%s) crashed the target: %s\n--- log ---\n%s",
				s.target, s.n, id, tests[p.k].Desc, detail, crashExcerpt(log)))
			record(resCrash, detail)
			return p.k, nil
		case <-timer.C:
			if p.k == len(tests) { // every test reported, but tester.py lingers
				stopTester()
				return p.k, nil
			}
			id, lim := tests[p.k].ID(), p.limit()
			stopTester()
			result, detail := resHang, fmt.Sprintf("no result within %v", lim)
			if tb := traceback(p.recent); tb != "" {
				result, detail = resAbort, "tester.py raised: "+tb
			}
			if s.nf != nil {
				// Probe the switch before it is restarted: a hang of
				// nicflowd itself is a finding.
				if err := s.probe(); err != nil {
					detail += "; nicflowd does not answer: " + err.Error()
				}
			}
			notes(fmt.Sprintf("%s shard %d: test %s (%s): %s: %s\n%s", s.target, s.n, id, tests[p.k].Desc, result, detail, strings.Join(p.recent, "\n")))
			record(result, detail)
			if s.nf != nil {
				s.hung(tests[p.k-1], notes) // a fresh nicflowd for the rest
			}
			return p.k, nil
		}
	}
}

// progress follows tester.py's log through a run of tests and records
// an outcome for each test it reports. Not safe for concurrent use.
type progress struct {
	tests   []suiteTest
	res     map[string]outcome
	k       int      // next test to report
	pending int      // an ERROR waiting for its detail line, or -1
	ended   bool     // past "Test end": the report that follows repeats results
	recent  []string // other lines since the last result (a traceback)
	last    time.Time
	// detailed is the test whose ERROR reason the last line was, or -1.
	detailed int
}

func newProgress(tests []suiteTest, res map[string]outcome, now time.Time) *progress {
	return &progress{tests: tests, res: res, pending: -1, last: now, detailed: -1}
}

// limit is how long the next test may take to report.
func (p *progress) limit() time.Duration {
	if p.k >= len(p.tests) {
		return stallLimit
	}
	l := stallLimit + p.tests[p.k].Traffic
	if p.k == 0 {
		l += connectLimit
	}
	return l
}

// record ends the next test with result.
func (p *progress) record(result, detail string, now time.Time) {
	p.res[p.tests[p.k].ID()] = outcome{Result: result, Detail: detail, Elapsed: now.Sub(p.last)}
	p.last = now
	p.k++
	p.recent = p.recent[:0]
}

// line takes one line of tester.py's log. A result for another test than
// the next one is an error: the harness and tester.py disagree on the order.
func (p *progress) line(line string, now time.Time) error {
	tl := parseTesterLine(line)
	p.detailed = -1
	if p.pending >= 0 {
		i := p.pending
		p.pending = -1
		if tl.kind == lineDetail {
			o := p.res[p.tests[i].ID()]
			o.Detail = tl.text
			p.res[p.tests[i].ID()] = o
			p.detailed = i
			return nil
		}
	}
	if p.ended {
		return nil
	}
	switch tl.kind {
	case lineEnd:
		p.ended = true
	case lineResult:
		if p.k >= len(p.tests) {
			return fmt.Errorf("tester.py reported a result after the last test: %q", line)
		}
		if want := strings.TrimSpace(p.tests[p.k].Desc); tl.desc != want {
			return fmt.Errorf("tester.py reported %q, want test %s %q (is tester.py the version of of13/?)",
				tl.desc, p.tests[p.k].ID(), want)
		}
		if tl.result == resError {
			p.pending = p.k
		}
		p.record(tl.result, "", now)
	default:
		p.recent = append(p.recent, line)
		if len(p.recent) > 40 {
			p.recent = p.recent[1:]
		}
	}
	return nil
}

// portCounters are a netdev's receive counters.
type portCounters struct {
	packets, bytes uint64
	ok             bool
}

// counters reads the receive counters of the target's port 1.
func (s *shard) counters() portCounters {
	l, err := s.e.ns.Netlink().LinkByName(s.inPort)
	if err != nil || l.Attrs().Statistics == nil {
		return portCounters{}
	}
	st := l.Attrs().Statistics
	return portCounters{packets: st.RxPackets, bytes: st.RxBytes, ok: true}
}

// offered describes the rate the target received during a rate test
// (packets over the test's traffic time: tester.py sends nothing else),
// and reports whether it fell short of the rate the test sends by more
// than 10%: the tester could not send it on this machine.
func offered(a, b portCounters, tt suiteTest) (string, bool) {
	sec := tt.Traffic.Seconds()
	pps := float64(b.packets-a.packets) / sec
	desc := fmt.Sprintf("offered %.0f of %d pkt/s, %.2f Mbit/s", pps, tt.PPS, float64(b.bytes-a.bytes)*8/sec/1e6)
	return desc, pps < 0.9*float64(tt.PPS)
}

// probe asks nicflowd for its features over its management socket.
func (s *shard) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ovs-ofctl", "-O", "OpenFlow13", "--timeout=5", "show",
		"unix:"+filepath.Join(s.runDir, s.network+".mgmt")).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ovs-ofctl show: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// errHang ends a run of tester.py when nicflowd stopped answering.
var errHang = errors.New("nicflowd does not answer")

// hung ends a nicflowd that stopped answering (or a test that stalled)
// with SIGQUIT, so that its log holds every goroutine's stack, and notes
// the test and the stacks; the next run starts a fresh nicflowd.
func (s *shard) hung(tt suiteTest, notes func(string)) {
	p := s.nf
	s.nf = nil
	if p == nil || !p.alive() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	notes(fmt.Sprintf("%s shard %d: nicflowd stopped with SIGQUIT after test %s (%s); its goroutines:\n%s",
		s.target, s.n, tt.ID(), tt.Desc, crashExcerpt(p.log())))
}

// panicRE matches the first line of a Go panic, fatal error or deadly
// signal (SIGQUIT's goroutine dump too).
var panicRE = regexp.MustCompile(`^(panic: |fatal error: |SIG[A-Z]+: |unexpected signal)`)

// panicLine returns the first line of a Go panic, fatal error or signal in
// log, or its last line.
func panicLine(log string) string {
	for _, l := range strings.Split(log, "\n") {
		if panicRE.MatchString(l) {
			return l
		}
	}
	return lastLine(strings.Split(strings.TrimRight(log, "\n"), "\n"))
}

// crashExcerpt returns the part of a log worth reading after a crash: up
// to 80 lines from the panic on (with the 5 lines before it), else the
// last 60 lines.
func crashExcerpt(log string) string {
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	for i, l := range lines {
		if panicRE.MatchString(l) {
			return strings.Join(lines[max(i-5, 0):min(i+80, len(lines))], "\n")
		}
	}
	return tail(log, 60)
}

// traceback returns the last line of a Python traceback in lines, if any.
func traceback(lines []string) string {
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Traceback (most recent call last)") {
			for j := len(lines) - 1; j > i; j-- {
				if s := strings.TrimSpace(lines[j]); s != "" && !strings.HasPrefix(lines[j], " ") {
					return s
				}
			}
			return "Traceback"
		}
	}
	return ""
}

func lastLine(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		if s := strings.TrimSpace(lines[i]); s != "" {
			return s
		}
	}
	return ""
}

// runTarget runs tests on target: those that send single packets spread
// over shards test beds at once, then those that send traffic for a time
// and measure the rate that comes out (meters, groups) on one bed,
// alone. It returns the outcome of every test.
func runTarget(t *testing.T, e *env, target string, tests []suiteTest, shards int) map[string]outcome {
	t.Helper()
	var par, serial []suiteTest
	for _, tt := range tests {
		if tt.Traffic > 0 {
			serial = append(serial, tt)
		} else {
			par = append(par, tt)
		}
	}
	if shards > len(par) {
		shards = max(len(par), 1)
	}
	beds := make([]*shard, shards)
	for i := range beds {
		beds[i] = newShard(t, e, target, i)
	}
	var mu sync.Mutex // guards res, notes and errs
	res := map[string]outcome{}
	var notes []string
	var errs []error
	note := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		notes = append(notes, s)
	}
	run := func(b *shard, sel []suiteTest) {
		r, err := b.runTests(sel, note)
		mu.Lock()
		defer mu.Unlock()
		for id, o := range r {
			res[id] = o
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s shard %d: %w", target, b.n, err))
		}
	}
	// Round-robin over the tests in suite order: each bed's share stays in
	// suite order, and slow and fast files spread evenly.
	split := make([][]suiteTest, shards)
	for i, tt := range par {
		split[i%shards] = append(split[i%shards], tt)
	}
	e.flowCache(t, false)
	var wg sync.WaitGroup
	for i, b := range beds {
		if len(split[i]) == 0 {
			continue
		}
		wg.Go(func() { run(b, split[i]) })
	}
	wg.Wait()
	if len(serial) > 0 {
		// Rates measured alone on the machine's CPUs: stop the other
		// beds' nicflowd.
		for _, b := range beds[1:] {
			if err := b.stopNicflowd(); err != nil {
				t.Errorf("%s shard %d: %v", target, b.n, err)
			}
		}
		e.flowCache(t, true)
		run(beds[0], serial)
	}
	for _, n := range notes {
		t.Logf("%s", n)
	}
	for _, err := range errs {
		t.Errorf("%v", err)
	}
	// Stop this target's nicflowds now, so the next target runs alone.
	for _, b := range beds {
		if err := b.stopNicflowd(); err != nil {
			t.Errorf("%s shard %d: %v", target, b.n, err)
		}
	}
	// And take its bridges out of ovs-vswitchd.
	for _, b := range beds {
		for _, br := range b.bridges {
			if out, err := e.vsctl("--if-exists", "del-br", br); err != nil {
				t.Errorf("%v\n%s", err, out)
			}
		}
	}
	return res
}
