package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// netnsEnv marks the test binary re-run inside a fresh network namespace.
const netnsEnv = "NICFLOWD_TEST_NETNS"

// inFreshNetns runs the calling test in a network namespace of its own:
// it re-runs the test binary under `unshare --net` and reports false (the
// caller returns), or reports true when it is that re-run (or in the VM,
// which is a machine of its own). The whole process moves, not one
// thread: the daemon's goroutines run on many threads. It skips unless
// root.
func inFreshNetns(t *testing.T) bool {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates veth pairs and runs nicflowd in a network namespace of its own")
	}
	if os.Getenv(netnsEnv) == "1" || vmtest.InVM() {
		return true
	}
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Skipf("needs unshare(1) to run in a fresh network namespace: %v", err)
	}
	cmd := exec.Command(unshare, "--net", os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), netnsEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a fresh network namespace: %v\n%s", t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("in a fresh network namespace:\n%s", out)
	}
	return false
}

// daemon is nicflowd's serve running in the test, with a client of its
// REST API over the unix socket.
type daemon struct {
	t    *testing.T
	cfg  *Config
	c    *client.Client
	stop func()
}

// startDaemon runs serve(cfg) until stop (or the end of the test) and
// startStateDaemon starts the daemon with a temporary run directory and
// state store; restart it with startDaemon(t, cfg).
func startStateDaemon(t *testing.T) (*daemon, *Config) {
	t.Helper()
	dir := t.TempDir()
	cfg := &Config{RunDir: dir, StatePath: filepath.Join(dir, "state", "state.db")}
	if err := cfg.normalize(); err != nil {
		t.Fatal(err)
	}
	return startDaemon(t, cfg), cfg
}

// waits until its API answers.
func startDaemon(t *testing.T, cfg *Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, zaptest.NewLogger(t)) }()
	d := &daemon{t: t, cfg: cfg}
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("nicflowd: %v", err)
		}
	}
	t.Cleanup(d.stop)
	c, err := client.New(client.Options{Socket: cfg.apiSocket()})
	if err != nil {
		t.Fatal(err)
	}
	d.c = c
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.Health(ctx)
		if err == nil {
			return d
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("nicflowd stopped before it served: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nicflowd API did not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// apiStatus returns the HTTP status and field of an API error.
func apiStatus(err error) (int, string) {
	var e *client.APIError
	if errors.As(err, &e) {
		return e.Status, e.Field
	}
	return 0, ""
}
