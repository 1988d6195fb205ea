package manager

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
)

// testClaimPrefix is a claim prefix of this test process alone, so that
// parallel test binaries on the same fake netdev names do not meet.
func testClaimPrefix(t *testing.T) string {
	return fmt.Sprintf("@nicflow-test/%d/%s/", os.Getpid(), t.Name())
}

// TestClaims: a netdev one set of claims holds is refused to another (in
// this test the other nicflowd is a second set in the same process), with
// who holds it; given up, it can be taken; an owner's sync takes and
// releases; a holder that does not answer is named by its pid.
func TestClaims(t *testing.T) {
	prefix := testClaimPrefix(t)
	first, second := newClaims(prefix, "pid 1, state /a.db"), newClaims(prefix, "pid 2, state /b.db")
	t.Cleanup(first.releaseAll)
	t.Cleanup(second.releaseAll)
	if err := first.take("eth1", networkOwner("blue")); err != nil {
		t.Fatal(err)
	}
	if err := first.take("eth1", networkOwner("blue")); err != nil {
		t.Fatalf("taken again by its holder: %v", err)
	}
	err := second.take("eth1", networkOwner("red"))
	var ce *ClaimedError
	if !errors.As(err, &ce) || ce.Netdev != "eth1" || ce.PID != os.Getpid() || ce.Holder != "pid 1, state /a.db, network blue" {
		t.Fatalf("eth1 taken by another = %#v (%v), want held by pid %d, \"pid 1, state /a.db, network blue\"", ce, err, os.Getpid())
	}
	if msg := err.Error(); msg != "netdev eth1 is in use by another nicflowd (pid 1, state /a.db, network blue)" {
		t.Errorf("error = %q", msg)
	}

	// sync: red wants eth2 and eth1; eth1 is held, so red keeps nothing new.
	field, err := second.sync(networkOwner("red"), map[string]string{"eth2": "ports[0]", "eth1": "ports[1]"}, []string{"eth2", "eth1"})
	if field != "ports[1]" || !errors.As(err, &ce) {
		t.Fatalf("sync red = %q, %v; want ports[1] held", field, err)
	}
	if err := first.take("eth2", networkOwner("blue")); err != nil {
		t.Errorf("eth2 after red's refused sync: %v, want it released", err)
	}
	first.release("eth2")
	first.releaseOwner(networkOwner("blue"), nil)
	if field, err := second.sync(networkOwner("red"), map[string]string{"eth2": "ports[0]", "eth1": "ports[1]"}, []string{"eth2", "eth1"}); err != nil {
		t.Fatalf("sync red after blue gave eth1 up = %q, %v", field, err)
	}
	if _, err := second.sync(networkOwner("red"), map[string]string{"eth1": "ports[0]"}, []string{"eth1"}); err != nil {
		t.Fatal(err)
	}
	if err := first.take("eth2", vnicOwner("vm1")); err != nil {
		t.Errorf("eth2 after red's sync without it: %v, want it released", err)
	}

	// A holder that listens and never answers: its pid, from the socket.
	ln, err := net.Listen("unix", prefix+"eth9")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	err = second.take("eth9", networkOwner("red"))
	if !errors.As(err, &ce) || ce.PID != os.Getpid() || ce.Holder != "" || !strings.Contains(err.Error(), fmt.Sprintf("another process (pid %d", os.Getpid())) {
		t.Errorf("eth9 held by a silent socket = %v, want its pid %d", err, os.Getpid())
	}
	// No prefix: nothing is claimed.
	if err := newClaims("", "x").take("eth1", "y"); err != nil {
		t.Errorf("claims without a prefix: %v", err)
	}
}
