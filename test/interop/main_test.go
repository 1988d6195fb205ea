package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// bins holds the nicflowd and nicflowctl binaries built once by TestMain.
var bins struct {
	dir string
	err error // why they could not be built
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() == 0 {
		dir, err := os.MkdirTemp("", "nicflow-interop-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, "interop:", err)
			return 1
		}
		defer os.RemoveAll(dir)
		bins.dir, bins.err = dir, buildBinaries(dir)
	}
	return m.Run()
}

// buildBinaries builds cmd/nicflowd and cmd/nicflowctl into dir.
func buildBinaries(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/nicflow/nicflow/cmd/nicflowd", "github.com/nicflow/nicflow/cmd/nicflowctl")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/...: %w\n%s", err, out)
	}
	return nil
}

// inCI reports whether the tests run in CI, where a missing tool fails the
// test instead of skipping it.
func inCI() bool { return os.Getenv("CI") == "true" }

// requireEnv skips the test unless it runs as root with every tool on PATH
// (under CI=true a missing tool fails it), and fails it when the binaries
// could not be built.
func requireEnv(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("interop tests need root (network namespaces, veth pairs); run as root: make netns")
	}
	for _, tool := range append([]string{"ip", "ping"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			if inCI() {
				t.Fatalf("%s not found on PATH: CI=true needs every tool (make deps installs it)", tool)
			}
			t.Skipf("%s not found on PATH (make deps installs it)", tool)
		}
	}
	if bins.err != nil {
		t.Fatalf("build binaries: %v", bins.err)
	}
}

// bin returns the path of a binary built by TestMain.
func bin(name string) string { return filepath.Join(bins.dir, name) }
