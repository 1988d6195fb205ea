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
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
)

// daemon is a nicflowd started by a test, with its own run directory and
// state file, and a client of its API.
type daemon struct {
	*daemontest.Daemon
	api *http.Client // over the API's unix socket, no keep-alive
}

// startDaemon starts nicflowd (see daemontest.Start) with args plus
// --state of its own and --log-level logLevel.
func startDaemon(t *testing.T, logLevel string, args ...string) *daemon {
	t.Helper()
	state := filepath.Join(t.TempDir(), "state.db")
	d := &daemon{Daemon: daemontest.Start(t, append(args, "--state", state, "--log-level", logLevel)...)}
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
	return d
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
	pid := d.Pid()
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
