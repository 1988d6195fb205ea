//go:build linux

package netns

import (
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
)

// freshEnv marks a test binary that InFresh re-ran inside a fresh network
// namespace.
const freshEnv = "NICFLOW_NETNS_FRESH"

// InFresh runs the calling test in a network namespace of its own, for
// tests whose code under test works in the caller's namespace from many
// threads (a daemon's goroutines), where Do's one locked thread is not
// enough. The first call re-runs the test binary, only this test, as a
// child process in a new network namespace (clone with CLONE_NEWNET, no
// unshare tool needed, so it works in the VM kernel harness too), reports
// the child's output, fails when the child does not pass, and returns
// false: the caller returns at once. In the child it returns true and the
// test goes on, alone in its namespace, which holds only a loopback that
// is down and vanishes with the child.
//
//	func TestDaemon(t *testing.T) {
//		if !netns.InFresh(t) {
//			return
//		}
//		// ... in a fresh namespace
//	}
//
// sysfs stays mounted as the parent's: /sys/class/net lists the parent
// namespace's netdevs, not the child's. InFresh skips unless root. Call
// it first, from the test itself (not a subtest).
func InFresh(t *testing.T) bool {
	t.Helper()
	Require(t)
	if os.Getenv(freshEnv) == "1" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), freshEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("%s in a fresh network namespace: %v\n%s", t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("in a fresh network namespace:\n%s", out)
	}
	return false
}
