// Package smoke holds the VM kernel harness's own smoke tests: inside the VM
// (test/vm/run.sh) they check that the tc modules work over netlink and that
// netdevsim gives an SR-IOV device with switchdev representors; elsewhere
// they skip. They are the proof that the harness passes when the kernel is
// right, and TestFailOnDemand the proof that it fails when a test fails.
//
// It imports no other nicflow package.
package smoke
