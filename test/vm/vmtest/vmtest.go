// Package vmtest is for tests that need the VM kernel harness (test/vm):
// Debian's 6.1 kernel with cls_flower, the tc actions, 8021q and netdevsim,
// booted under qemu by test/vm/run.sh. A test calls Require first; outside the
// VM it skips, so the same test files build and run (skipping) in every
// other tier. A package whose tests import vmtest is run in the VM by
// test/vm/run.sh without further registration.
//
// NewNetdevsim creates a simulated SR-IOV NIC (a PF, VFs, switchdev mode and
// VF representors) for tests of tc offload and VF settings.
//
// Devlink goes through sriov/devlink, the tree's one devlink client.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/sriov/devlink and
// github.com/nicflow/nicflow/test/waitfor.
package vmtest

import (
	"os"
	"testing"
)

// EnvVar is set to "1" by the VM's init (test/vm/init) for every test binary.
const EnvVar = "NICFLOW_VM"

// InVM reports whether the test runs inside the VM kernel harness.
func InVM() bool {
	return os.Getenv(EnvVar) == "1"
}

// Require skips the test unless it runs inside the VM kernel harness.
func Require(t testing.TB) {
	t.Helper()
	if !InVM() {
		t.Skipf("needs the VM kernel harness (%s=1 is set by test/vm/run.sh)", EnvVar)
	}
}
