// Package daemontest runs a real nicflowd for the tests that drive it from
// outside, as test/interop and test/stress do: Main builds the binaries
// once per test binary (from TestMain), Require checks root, the tools and
// the build, Start starts nicflowd and stops it when the test ends, failing
// the test if it exited, did not exit 0 or logged a panic. Around it: hosts
// in network namespaces whose veths become its ports (NewHosts, Ping),
// ovs-ofctl (Ofctl), a free TCP port for its listener (FreePort), and the
// wait for a PORT_STATUS on an OpenFlow channel (WaitPortStatus).
//
// Tests using it need root; without root or without a tool they skip,
// except under CI=true, where either is a failure.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/api/openflow/ofclient and
// github.com/nicflow/nicflow/api/openflow/ofwire and
// github.com/nicflow/nicflow/offload/pipeline and
// github.com/nicflow/nicflow/test/netns and
// github.com/nicflow/nicflow/test/waitfor.
package daemontest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bins holds the binaries built once by Main.
var bins struct {
	dir string
	err error // why they could not be built
}

// Main builds the named commands of cmd/ (nicflowd, nicflowctl) into a
// temporary directory, when root (tests skip otherwise), runs the tests
// and exits. Call it from TestMain:
//
//	func TestMain(m *testing.M) { daemontest.Main(m, "nicflowd") }
//
// A test that netns.InFresh re-runs in a namespace of its own builds again
// (from the build cache) in a directory of its own.
func Main(m *testing.M, cmds ...string) {
	os.Exit(runMain(m, cmds))
}

func runMain(m *testing.M, cmds []string) int {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "nicflow-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "daemontest:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.dir, bins.err = dir, build(dir, cmds)
	}
	return m.Run()
}

// build builds the commands of cmd/ into dir.
func build(dir string, cmds []string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	for _, c := range cmds {
		args = append(args, "github.com/nicflow/nicflow/cmd/"+c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goBin, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/{%s}: %w\n%s", strings.Join(cmds, ","), err, out)
	}
	return nil
}

// Bin returns the path of a binary built by Main.
func Bin(name string) string { return filepath.Join(bins.dir, name) }

// InCI reports whether the tests run in CI (CI=true), where what a test
// needs must be there: a missing tool fails the test instead of skipping
// it.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require skips the test unless it runs as root with ip and every tool on
// PATH (under CI=true missing root or a missing tool fails it), and fails
// it when Main could not build the binaries.
func Require(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if InCI() {
			t.Fatal("these tests need root (network namespaces, veth pairs); CI=true must run them")
		}
		t.Skip("these tests need root (network namespaces, veth pairs); run as root: make netns")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if InCI() {
				t.Fatalf("%s not found on PATH: CI=true needs every tool (make deps installs it)", tool)
			}
			t.Skipf("%s not found on PATH (make deps installs it)", tool)
		}
	}
	switch {
	case bins.err != nil:
		t.Fatalf("build the binaries: %v", bins.err)
	case bins.dir == "":
		t.Fatal("no binaries: call daemontest.Main from TestMain")
	}
}
