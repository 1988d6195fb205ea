package interop

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/waitfor"
)

// daemon is a nicflowd started by a test.
type daemon struct {
	RunDir  string
	Network string
	cmd     *exec.Cmd
	stderr  *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // valid after done
}

// startDaemon starts nicflowd with args plus its own --run-dir and
// --network, waits for its "ready" log line, and stops it with SIGTERM in
// t.Cleanup, failing the test unless it exits 0. Its log goes into the test
// log when the test fails.
func startDaemon(t *testing.T, args ...string) *daemon {
	t.Helper()
	d := &daemon{RunDir: t.TempDir(), Network: "nf0", stderr: &syncBuffer{}, done: make(chan struct{})}
	args = append(args, "--run-dir", d.RunDir, "--network", d.Network, "--log-level", "debug")
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
	t.Cleanup(func() {
		d.stop(t)
		if t.Failed() {
			t.Logf("nicflowd %s\n--- nicflowd log ---\n%s--- end of nicflowd log ---",
				strings.Join(args, " "), d.stderr.String())
		}
	})
	ready := func() bool { return strings.Contains(d.stderr.String(), "ready") }
	waitfor.True(t, 15*time.Second, "nicflowd to log ready (or exit)", func() bool {
		select {
		case <-d.done:
			return true
		default:
			return ready()
		}
	})
	if !ready() {
		<-d.done
		t.Fatalf("nicflowd exited before it was ready: %v", d.waitErr)
	}
	return d
}

// stop sends SIGTERM and waits; a non-zero exit fails the test.
func (d *daemon) stop(t *testing.T) {
	select {
	case <-d.done:
		t.Errorf("nicflowd exited during the test: %v", d.waitErr)
		return
	default:
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

// Mgmt is the management socket target ovs-ofctl and nicflowctl can use.
func (d *daemon) Mgmt() string {
	return "unix:" + filepath.Join(d.RunDir, d.Network+".mgmt")
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

// ofctl runs ovs-ofctl -O OpenFlow13 with args and returns its output,
// failing the test if it fails.
func ofctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ofctlErr(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// ofctlErr runs ovs-ofctl -O OpenFlow13 --no-names with args.
func ofctlErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	full := append([]string{"-O", "OpenFlow13", "--no-names"}, args...)
	out, err := exec.CommandContext(ctx, "ovs-ofctl", full...).CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New("ovs-ofctl " + strings.Join(full, " ") + ": exit status " + strconv.Itoa(ee.ExitCode()))
		}
		return string(out), err
	}
	return string(out), nil
}
