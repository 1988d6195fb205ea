package interop

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// debianPython is the interpreter Debian's python3-os-ken is installed for;
// the first python3 on PATH may be another one that cannot import os_ken.
const debianPython = "/usr/bin/python3"

// TestOsKenLearningSwitch runs nicflowd in fail-mode secure under an os-ken
// controller running a learning-switch app (testdata/simple_switch_13.py):
// all six ordered pairs of three namespaces ping each other, and the flows
// the controller installed are in the table and have counted packets.
func TestOsKenLearningSwitch(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl", "osken-manager")
	if out, err := exec.Command(debianPython, "-c", "import os_ken").CombinedOutput(); err != nil {
		if daemontest.InCI() {
			t.Fatalf("%s cannot import os_ken (python3-os-ken): %v\n%s", debianPython, err, out)
		}
		t.Skipf("%s cannot import os_ken (install python3-os-ken): %v", debianPython, err)
	}
	h := newHosts(t, 3)
	port := daemontest.FreePort(t)
	startOsKen(t, port)
	d := startDaemon(t, "--port", h[0].Port, "--port", h[1].Port, "--port", h[2].Port,
		"--controller", fmt.Sprintf("tcp:127.0.0.1:%d", port), "--fail-mode", "secure")

	learningSwitchForwards(t, d, h)

	// One learned flow per ordered pair of MACs, each having forwarded packets.
	out := daemontest.MustOfctl(t, "dump-flows", d.Mgmt())
	type pair struct{ src, dst string }
	learned := map[pair]flowStat{}
	srcRE := regexp.MustCompile(`dl_src=([0-9a-f:]{17})`)
	dstRE := regexp.MustCompile(`dl_dst=([0-9a-f:]{17})`)
	for _, f := range parseFlows(out) {
		s, d := srcRE.FindStringSubmatch(f.Line), dstRE.FindStringSubmatch(f.Line)
		if s == nil || d == nil || !strings.Contains(f.Line, "priority=1,") {
			continue
		}
		learned[pair{s[1], d[1]}] = f
	}
	for _, from := range h {
		for _, to := range h {
			if from == to {
				continue
			}
			f, ok := learned[pair{from.MAC, to.MAC}]
			if !ok {
				t.Errorf("no learned flow dl_src=%s dl_dst=%s", from.MAC, to.MAC)
				continue
			}
			if f.Packets == 0 {
				t.Errorf("learned flow counted no packets: %s", f.Line)
			}
		}
	}
	if t.Failed() {
		t.Logf("dump-flows:\n%s", out)
	}
}

// startOsKen runs osken-manager with the learning-switch app on port and
// waits until it accepts connections; it is stopped in t.Cleanup and its
// log goes into the test log when the test fails. With tlsArgs
// (--ctl-privkey F --ctl-cert F --ca-certs F) it listens over TLS only.
func startOsKen(t *testing.T, port int, tlsArgs ...string) {
	t.Helper()
	app, err := filepath.Abs(filepath.Join("testdata", "simple_switch_13.py"))
	if err != nil {
		t.Fatal(err)
	}
	logBuf := &daemontest.SyncBuffer{}
	args := []string{"--ofp-listen-host", "127.0.0.1", "--ofp-tcp-listen-port", fmt.Sprint(port)}
	if len(tlsArgs) > 0 {
		args = append([]string{"--ofp-listen-host", "127.0.0.1", "--ofp-ssl-listen-port", fmt.Sprint(port)}, tlsArgs...)
	}
	cmd := exec.Command("osken-manager", append(args, app)...)
	cmd.Stdout, cmd.Stderr = logBuf, logBuf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start osken-manager: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("--- osken-manager log ---\n%s--- end of osken-manager log ---", logBuf.String())
		}
	})
	exited := false
	if err := waitfor.Until(20*time.Second, func() error {
		select {
		case <-done:
			exited = true
			return nil
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if err != nil {
			return err
		}
		c.Close()
		return nil
	}); err != nil {
		t.Fatalf("osken-manager not listening on %d: %v\n%s", port, err, logBuf.String())
	}
	if exited {
		t.Fatalf("osken-manager exited:\n%s", logBuf.String())
	}
}

// learningSwitchForwards waits for os-ken's simple_switch_13 to install
// its table-miss flow in nicflowd once connected, then pings between
// every pair of hosts (the switch learns the MACs on the way).
func learningSwitchForwards(t *testing.T, d *daemontest.Daemon, h []*daemontest.Host) {
	t.Helper()
	if err := waitfor.Until(20*time.Second, func() error {
		if out := daemontest.MustOfctl(t, "dump-flows", d.Mgmt()); !strings.Contains(out, "actions=CONTROLLER") {
			return fmt.Errorf("no table-miss flow to CONTROLLER; dump-flows:\n%s", out)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, from := range h {
		for _, to := range h {
			if from != to {
				pingOK(t, from, to, 3)
			}
		}
	}
}
