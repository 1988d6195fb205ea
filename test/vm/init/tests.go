package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nicflow/nicflow/test/vm/internal/marker"
)

// options are the harness settings read from the kernel command line.
type options struct {
	timeout   time.Duration
	run       string
	count     int
	bench     string   // go test -bench; set: benchmarks only unless run is set too
	benchtime string   // go test -benchtime
	env       []string // extra NAME=VALUE for the test binaries
}

// parseCmdline reads nicflow.* options from /proc/cmdline (the kernel does
// not pass dotted parameters to init).
func parseCmdline() (options, error) {
	b, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return parseOptions("")
	}
	return parseOptions(string(b))
}

func parseOptions(cmdline string) (options, error) {
	o := options{timeout: 3 * time.Minute, count: 1}
	var errs []error
	for _, f := range strings.Fields(cmdline) {
		k, v, ok := strings.Cut(f, "=")
		if !ok || !strings.HasPrefix(k, "nicflow.") {
			continue
		}
		switch strings.TrimPrefix(k, "nicflow.") {
		case "timeout":
			d, err := time.ParseDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("kernel command line %s: %w", f, err))
				continue
			}
			o.timeout = d
		case "run":
			o.run = v
		case "bench":
			o.bench = v
		case "benchtime":
			o.benchtime = v
		case "env":
			if name, _, ok := strings.Cut(v, "="); !ok || name == "" {
				errs = append(errs, fmt.Errorf("kernel command line %s: want nicflow.env=NAME=VALUE", f))
				continue
			}
			o.env = append(o.env, v)
		case "count":
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("kernel command line %s: %w", f, err))
				continue
			}
			o.count = n
		default:
			errs = append(errs, fmt.Errorf("kernel command line %s: unknown option", f))
		}
	}
	return o, errors.Join(errs...)
}

// readManifest returns the package names to run, in order.
func readManifest(path string) ([]string, error) {
	return readLines(path)
}

// args is the test binary's command line for opts.
func (o options) args() []string {
	a := []string{"-test.v", "-test.timeout=" + o.timeout.String(), "-test.count=" + strconv.Itoa(o.count)}
	run := o.run
	if o.bench != "" {
		a = append(a, "-test.bench="+o.bench, "-test.benchmem")
		if o.benchtime != "" {
			a = append(a, "-test.benchtime="+o.benchtime)
		}
		if run == "" {
			run = "^$" // benchmarks only
		}
	}
	if run != "" {
		a = append(a, "-test.run="+run)
	}
	return a
}

// runPackage runs tests/<name>/pkg.test in its own directory (where run.sh
// put the package's testdata) with output on the console, between BEGIN and
// END markers, and returns its exit status (-1 when it could not run).
func runPackage(testsDir, name string, o options) int {
	dir := filepath.Join(testsDir, filepath.FromSlash(name))
	say(marker.PkgBegin(name))
	start := time.Now()
	// go test's own timeout panics with the stacks of all goroutines; the
	// context is the backstop for a binary that hangs beyond that.
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "pkg.test"), o.args()...)
	cmd.Dir = dir
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stdout
	cmd.Env = []string{
		EnvVar + "=1",
		"PATH=/bin:/sbin:/usr/bin:/usr/sbin",
		"HOME=/tmp",
		"TMPDIR=/tmp",
		"GOTRACEBACK=all",
	}
	cmd.Env = append(cmd.Env, o.env...)
	rc := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() >= 0 {
			rc = ee.ExitCode()
		} else {
			say(marker.Error("run %s: %v", name, err))
			rc = -1
		}
	}
	say(marker.PkgEnd(name, rc, time.Since(start)))
	return rc
}
