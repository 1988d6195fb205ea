package stress

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/waitfor"
)

// daemon is a nicflowd started by a test, with its own run directory and
// state file.
type daemon struct {
	RunDir  string
	Network string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
	api     *http.Client  // over the API's unix socket, no keep-alive
}

// startDaemon starts nicflowd with args plus --run-dir, --network and
// --state of its own, waits for its "ready" log line, and stops it with
// SIGTERM in t.Cleanup, failing the test unless it exits 0 or if its log
// shows a panic. Its log goes into the test log when the test fails.
func startDaemon(t *testing.T, logLevel string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	d := &daemon{RunDir: dir, Network: "nf0", stderr: &syncBuffer{}, done: make(chan struct{})}
	args = append(args, "--run-dir", d.RunDir, "--state", filepath.Join(dir, "state.db"), "--log-level", logLevel)
	if !contains(args, "--config") {
		args = append(args, "--network", d.Network)
	}
	d.cmd = exec.Command(bin("nicflowd"), args...)
	d.cmd.Stderr = d.stderr
	d.cmd.Stdout = d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start nicflowd: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	sock := filepath.Join(d.RunDir, "nicflowd.sock")
	d.api = &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DisableKeepAlives: true, // no idle connection holds goroutines in nicflowd between requests
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				var dl net.Dialer
				return dl.DialContext(ctx, "unix", sock)
			},
		},
	}
	t.Cleanup(func() {
		d.stop(t)
		d.checkLog(t)
		if t.Failed() {
			t.Logf("nicflowd %s\n--- nicflowd log (last 200 lines) ---\n%s--- end of nicflowd log ---",
				strings.Join(args, " "), lastLines(d.stderr.String(), 200))
		}
	})
	ready := func() bool { return strings.Contains(d.stderr.String(), "ready") }
	waitfor.True(t, 15*time.Second, "nicflowd to log ready (or exit)", func() bool {
		return !d.Alive() || ready()
	})
	if !ready() {
		<-d.done
		t.Fatalf("nicflowd exited before it was ready: %v", d.waitErr)
	}
	return d
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// bin returns the path of a binary built by TestMain.
func bin(name string) string { return filepath.Join(bins.dir, name) }

// stop sends SIGTERM and waits; a non-zero exit fails the test.
func (d *daemon) stop(t *testing.T) {
	if !d.Alive() {
		t.Errorf("nicflowd exited during the test: %v", d.waitErr)
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
		if d.waitErr != nil {
			t.Errorf("nicflowd on SIGTERM: %v, want exit status 0", d.waitErr)
		}
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
		t.Errorf("nicflowd did not exit within 10s of SIGTERM")
	}
}

// panicRE finds a Go panic or fatal error in nicflowd's log, recovered
// ("panic while handling a message") or not.
var panicRE = regexp.MustCompile(`(?i)panic|fatal error:|DATA RACE`)

// checkLog fails the test if nicflowd's log shows a panic.
func (d *daemon) checkLog(t *testing.T) {
	t.Helper()
	log := d.stderr.String()
	if loc := panicRE.FindStringIndex(log); loc != nil {
		start := strings.LastIndex(log[:loc[0]], "\n") + 1
		t.Errorf("nicflowd's log shows a panic:\n%s", lastLines(log[start:min(len(log), start+4000)], 60))
	}
}

// Alive reports whether the process is still running.
func (d *daemon) Alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// Mgmt is the management socket target ovs-ofctl can use.
func (d *daemon) Mgmt() string {
	return "unix:" + filepath.Join(d.RunDir, d.Network+".mgmt")
}

// usage is what the leak checks compare.
type usage struct {
	FDs, Goroutines int
	RSSKiB          int
}

func (u usage) String() string {
	return fmt.Sprintf("%d fds, %d goroutines, RSS %d KiB", u.FDs, u.Goroutines, u.RSSKiB)
}

// usage reads nicflowd's open file descriptors and RSS from /proc and
// its goroutine count from /metrics.
func (d *daemon) usage() (usage, error) {
	var u usage
	pid := d.cmd.Process.Pid
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return u, fmt.Errorf("count nicflowd's fds: %w", err)
	}
	u.FDs = len(fds)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return u, fmt.Errorf("read nicflowd's status: %w", err)
	}
	if u.RSSKiB, err = statusKiB(status, "VmRSS"); err != nil {
		return u, err
	}
	if u.Goroutines, err = d.goroutines(); err != nil {
		return u, err
	}
	return u, nil
}

// statusKiB reads a "Key:   N kB" line of /proc/PID/status.
func statusKiB(status []byte, key string) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/PID/status", key)
}

var goroutinesRE = regexp.MustCompile(`(?m)^go_goroutines (\d+)$`)

// goroutines is the go_goroutines gauge of nicflowd's /metrics.
func (d *daemon) goroutines() (int, error) {
	status, body, err := d.request("GET", "/metrics", nil)
	if err != nil {
		return 0, err
	}
	m := goroutinesRE.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		return 0, fmt.Errorf("GET /metrics: %d, no go_goroutines in:\n%s", status, body)
	}
	return strconv.Atoi(string(m[1]))
}

// request sends an API request over the unix socket and returns the
// status and body.
func (d *daemon) request(method, path string, body []byte) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://nicflowd"+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.api.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return resp.StatusCode, b, nil
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// ofctl runs ovs-ofctl -O OpenFlow13 --no-names with args and returns its
// output and error.
func ofctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	full := append([]string{"-O", "OpenFlow13", "--no-names"}, args...)
	out, err := exec.CommandContext(ctx, "ovs-ofctl", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovs-ofctl %s: %w: %s", strings.Join(full, " "), err, out)
	}
	return string(out), nil
}

// mustOfctl is ofctl failing the test on an error.
func mustOfctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ofctl(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
