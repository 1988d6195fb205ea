package daemontest

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Ofctl runs ovs-ofctl -O OpenFlow13 --no-names with args, within 20 s,
// and returns its output; the error names the command and how it exited.
func Ofctl(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	full := append([]string{"-O", "OpenFlow13", "--no-names"}, args...)
	out, err := exec.CommandContext(ctx, "ovs-ofctl", full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ovs-ofctl %s: %w", strings.Join(full, " "), err)
	}
	return string(out), nil
}

// MustOfctl is Ofctl failing the test, with the output, on an error.
func MustOfctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := Ofctl(args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// WaitPortStatus waits up to 10 s for a PORT_STATUS on c's asynchronous
// messages that match accepts (reason is OFPPR_*), skipping the others,
// and otherwise fails the test naming want and the PORT_STATUS messages
// that came.
func WaitPortStatus(t *testing.T, c *ofclient.Client, want string, match func(reason uint8, p ofwire.Port) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	var seen []string
	for {
		select {
		case m := <-c.Async():
			if m.Header.Type != of.TypePortStatus || len(m.Body) < 8 {
				continue
			}
			reason, p := m.Body[0], ofwire.DecodePort(m.Body[8:])
			seen = append(seen, fmt.Sprintf("reason %d port %d %s config %#x state %#x", reason, p.PortNo, p.Name, p.Config, p.State))
			if match(reason, p) {
				return
			}
		case <-deadline:
			t.Fatalf("no %s; got %v", want, seen)
		}
	}
}
