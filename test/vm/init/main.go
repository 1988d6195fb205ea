// Command init is /init of the VM kernel harness's initramfs (built with
// CGO_ENABLED=0, so it needs no libraries). It mounts the kernel's file
// systems, brings up lo, loads the kernel modules listed in
// /modules/load.txt in that order, runs every test binary listed in
// /tests/manifest with -test.v, writes the markers of package
// test/vm/internal/marker around each to the serial console, and powers the
// VM off.
//
// Options come from the kernel command line:
//
//	nicflow.timeout=DURATION  per package (go test -timeout), default 3m
//	nicflow.run=REGEXP        only the tests matching (go test -run)
//	nicflow.count=N           go test -count, default 1
//	nicflow.bench=REGEXP      run the benchmarks matching (go test -bench
//	                          -benchmem) and, without nicflow.run, no test
//	nicflow.benchtime=T       go test -benchtime (with nicflow.bench)
//	nicflow.env=NAME=VALUE    an environment variable for the tests (repeatable)
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/test/vm/internal/marker.
package main

import (
	"fmt"
	"os"
	"runtime/debug"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/vm/internal/marker"
)

// Paths inside the initramfs, written by test/vm/run.sh.
const (
	modulesDir = "/modules"
	loadList   = "/modules/load.txt"
	testsDir   = "/tests"
	manifest   = "/tests/manifest"
)

// EnvVar is set to "1" for the test binaries; package test/vm/vmtest reads it.
const EnvVar = "NICFLOW_VM"

func main() {
	defer powerOff()
	defer func() {
		if r := recover(); r != nil {
			say(marker.Error("init panicked: %v\n%s", r, debug.Stack()))
		}
	}()
	failed := run()
	say(marker.InitEnd(failed))
}

// run boots the VM's user space and runs the tests; it returns the number of
// failed packages. Harness problems are reported with marker.Error.
func run() int {
	for _, err := range mountAll() {
		say(marker.Error("%v", err))
	}
	if err := linkUp("lo"); err != nil {
		say(marker.Error("%v", err))
	}
	for _, err := range loadModules(modulesDir, loadList) {
		say(marker.Error("%v", err))
	}
	opts, err := parseCmdline()
	if err != nil {
		say(marker.Error("%v", err))
	}
	pkgs, err := readManifest(manifest)
	if err != nil {
		say(marker.Error("%v", err))
	}
	say(marker.InitBegin(kernelRelease(), len(pkgs)))
	failed := 0
	for _, p := range pkgs {
		if runPackage(testsDir, p, opts) != 0 {
			failed++
		}
	}
	return failed
}

// say writes one line to the console.
func say(line string) {
	fmt.Fprintln(os.Stdout, line)
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "unknown"
	}
	return unix.ByteSliceToString(u.Release[:])
}

func powerOff() {
	unix.Sync()
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		say(marker.Error("power off: %v", err))
	}
	// Returning from PID 1 panics the kernel; with panic=-1 and qemu's
	// -no-reboot that ends the VM too.
}
