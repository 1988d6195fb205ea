package interop

import (
	"testing"

	"github.com/nicflow/nicflow/test/daemontest"
)

func TestMain(m *testing.M) { daemontest.Main(m, "nicflowd", "nicflowctl") }

// startDaemon starts nicflowd with args, logging at debug level (see
// daemontest.Start).
func startDaemon(t *testing.T, args ...string) *daemontest.Daemon {
	t.Helper()
	return daemontest.Start(t, append(args, "--log-level", "debug")...)
}

// newHosts creates n hosts in namespaces named nfi... (see
// daemontest.NewHosts).
func newHosts(t *testing.T, n int) []*daemontest.Host {
	t.Helper()
	return daemontest.NewHosts(t, "nfi", n)
}
