package manager

import (
	"testing"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

// TestPortGoneTCTierVM is TestPortGoneAndBackOverREST with the tc tier
// (policy tc, in the VM kernel): the rules are tc filters on the ports'
// ingress; a port's netdev deleted takes its filters along, and when a
// netdev of its name is back the tier installs them on it again: what
// enters the new netdev is counted by tc, not the fast path.
func TestPortGoneTCTierVM(t *testing.T) {
	vmtest.Require(t)
	if !netns.InFresh(t) {
		return
	}
	portGoneAndBack(t, "tc")
}
