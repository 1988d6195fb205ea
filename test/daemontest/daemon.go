package daemontest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/waitfor"
)

// Daemon is a nicflowd started by a test.
type Daemon struct {
	RunDir  string // its --run-dir, of its own
	Network string // its --network (nf0), or the one its --config names

	cmd     *exec.Cmd
	log     *SyncBuffer   // its stdout and stderr
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
}

// logTail is how many of nicflowd's last log lines a failed test shows.
const logTail = 400

// Start starts nicflowd (built by Main) with args plus --run-dir of its own
// and, unless args has --config, --network nf0, and waits for its "ready"
// log line. When the test ends it stops nicflowd with SIGTERM, failing the
// test if it exited before, does not exit 0, or logged a panic, a fatal
// error or a data race; when the test failed, the end of nicflowd's log
// goes into the test log.
func Start(t *testing.T, args ...string) *Daemon {
	t.Helper()
	d := &Daemon{RunDir: t.TempDir(), Network: "nf0", log: &SyncBuffer{}, done: make(chan struct{})}
	args = append(args, "--run-dir", d.RunDir)
	if !slices.Contains(args, "--config") {
		args = append(args, "--network", d.Network)
	}
	d.cmd = exec.Command(Bin("nicflowd"), args...)
	d.cmd.Stderr = d.log
	d.cmd.Stdout = d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("start nicflowd: %v", err)
	}
	go func() {
		d.waitErr = d.cmd.Wait()
		close(d.done)
	}()
	t.Cleanup(func() {
		d.stop(t)
		d.checkLog(t)
		if t.Failed() {
			t.Logf("nicflowd %s\n--- nicflowd log (last %d lines) ---\n%s--- end of nicflowd log ---",
				strings.Join(args, " "), logTail, lastLines(d.Log(), logTail))
		}
	})
	ready := func() bool { return strings.Contains(d.Log(), "ready") }
	waitfor.True(t, 15*time.Second, "nicflowd to log ready (or exit)", func() bool {
		return !d.Alive() || ready()
	})
	if !ready() {
		<-d.done
		t.Fatalf("nicflowd exited before it was ready: %v", d.waitErr)
	}
	return d
}

// stop sends SIGTERM and waits; a non-zero exit fails the test.
func (d *Daemon) stop(t *testing.T) {
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

// panicRE finds a Go panic, fatal error or data race in nicflowd's log, a
// recovered panic ("panic while handling a message") too.
var panicRE = regexp.MustCompile(`(?i)panic|fatal error:|DATA RACE`)

// checkLog fails the test if nicflowd's log shows a panic.
func (d *Daemon) checkLog(t *testing.T) {
	t.Helper()
	log := d.Log()
	if loc := panicRE.FindStringIndex(log); loc != nil {
		start := strings.LastIndex(log[:loc[0]], "\n") + 1
		t.Errorf("nicflowd's log shows a panic:\n%s", lastLines(log[start:min(len(log), start+4000)], 60))
	}
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// Alive reports whether the process is still running.
func (d *Daemon) Alive() bool {
	select {
	case <-d.done:
		return false
	default:
		return true
	}
}

// ExitErr is how the process exited (nil for exit status 0) once Alive
// reports false; nil while it runs.
func (d *Daemon) ExitErr() error {
	if d.Alive() {
		return nil
	}
	return d.waitErr
}

// Pid is the process's id.
func (d *Daemon) Pid() int { return d.cmd.Process.Pid }

// Log is what nicflowd has logged so far.
func (d *Daemon) Log() string { return d.log.String() }

// Mgmt is the management socket target ovs-ofctl and nicflowctl can use.
func (d *Daemon) Mgmt() string {
	return "unix:" + filepath.Join(d.RunDir, d.Network+".mgmt")
}

// SyncBuffer is a bytes.Buffer safe for one writer and concurrent readers,
// for the output of a process a test reads while it runs.
type SyncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
