package stress

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// bins holds the nicflowd binary built once by TestMain.
var bins struct {
	dir string
	err error // why it could not be built
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	// A test that InFresh re-runs in a namespace of its own builds again
	// (from the build cache) in a directory of its own.
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "nicflow-stress-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "stress:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.dir, bins.err = dir, buildDaemon(dir)
	}
	return m.Run()
}

// buildDaemon builds cmd/nicflowd into dir.
func buildDaemon(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/nicflow/nicflow/cmd/nicflowd")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/nicflowd: %w\n%s", err, out)
	}
	return nil
}

// inCI reports whether the tests run in CI, where a missing tool fails the
// test instead of skipping it.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireEnv skips the test unless it runs as root with every tool on PATH
// (under CI=true a missing tool or missing root fails it), and fails it
// when nicflowd could not be built.
func requireEnv(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if inCI() {
			t.Fatal("stress tests need root (network namespaces, veth pairs); CI=true must run them")
		}
		t.Skip("stress tests need root (network namespaces, veth pairs); run as root: make netns")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if inCI() {
				t.Fatalf("%s not found on PATH: CI=true needs every tool (make deps installs it)", tool)
			}
			t.Skipf("%s not found on PATH (make deps installs it)", tool)
		}
	}
	if bins.err != nil {
		t.Fatalf("build nicflowd: %v", bins.err)
	}
}
