// Package marker defines the lines the VM's init writes to the serial console
// around each test binary, and parses a console log back into results. The
// init and the host-side report share it so the two cannot drift apart.
// Parse also collects the tests go test -v reports as skipped: inside the VM
// a skip fails the run unless the skip list (AllowedSkips,
// test/vm/skips.txt) allows it.
//
// A run looks like this (kernel messages and test output in between):
//
//	=== VM-INIT BEGIN kernel=6.1.0-56-amd64 packages=2
//	=== VM-ERROR load module act_vlan.ko: no such file or directory
//	=== VM-PKG test/vm/smoke BEGIN
//	=== VM-PKG test/vm/smoke END rc=0 elapsed=1.234s
//	=== VM-INIT END failed=0
//
// It imports no other nicflow package.
package marker

import (
	"fmt"
	"time"
)

// Prefix starts every marker.
const Prefix = "=== VM-"

// InitBegin is written once the VM has mounted its file systems and loaded
// its modules, before the first package runs.
func InitBegin(kernel string, packages int) string {
	return fmt.Sprintf("%sINIT BEGIN kernel=%s packages=%d", Prefix, kernel, packages)
}

// InitEnd is written after the last package, just before power off.
func InitEnd(failed int) string {
	return fmt.Sprintf("%sINIT END failed=%d", Prefix, failed)
}

// Error reports a problem of the harness itself (a module that did not load,
// a missing test binary); any such line fails the run.
func Error(format string, args ...any) string {
	return Prefix + "ERROR " + fmt.Sprintf(format, args...)
}

// PkgBegin is written before the test binary of package name starts.
func PkgBegin(name string) string {
	return fmt.Sprintf("%sPKG %s BEGIN", Prefix, name)
}

// PkgEnd is written when the test binary of package name has exited with rc
// after running for elapsed.
func PkgEnd(name string, rc int, elapsed time.Duration) string {
	return fmt.Sprintf("%sPKG %s END rc=%d elapsed=%s", Prefix, name, rc, elapsed.Round(time.Millisecond))
}
