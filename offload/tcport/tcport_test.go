package tcport

import (
	"errors"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
)

func TestNamesAndBlockAreStableAndDistinct(t *testing.T) {
	a, b := Names("blue")
	if a2, b2 := Names("blue"); a != a2 || b != b2 {
		t.Errorf("Names not stable: %s/%s then %s/%s", a, b, a2, b2)
	}
	if len(a) > 15 || len(b) > 15 || a == b {
		t.Errorf("Names(blue) = %q, %q: want two distinct names of at most 15 bytes", a, b)
	}
	if c, _ := Names("red"); c == a {
		t.Errorf("networks blue and red share the miss device %s", a)
	}
	if BlockIndex("blue") == 0 || BlockIndex("blue") == BlockIndex("red") || BlockIndex("blue") == probeBlock {
		t.Errorf("block indexes blue %#x red %#x probe %#x: want non-zero and distinct", BlockIndex("blue"), BlockIndex("red"), probeBlock)
	}
}

// openIn runs Open in a fresh namespace (in the VM, whose namespace is
// the test's own: in place) and reports the pair's presence afterwards.
func openIn(t *testing.T, fresh bool) (s *Setup, err error, pairLeft bool) {
	dev, _ := Names("t")
	open := func() error {
		s, err = Open("t")
		_, lerr := netlink.LinkByName(dev)
		pairLeft = lerr == nil
		return nil
	}
	if fresh {
		if derr := netns.New(t, "tcport").Do(open); derr != nil {
			t.Fatal(derr)
		}
	} else {
		_ = open()
		t.Cleanup(func() { removePair(dev) })
	}
	if s != nil {
		t.Cleanup(func() { _ = s.Miss.Close(); _ = s.Close() })
	}
	return s, err, pairLeft
}

// TestOpenSaysWhyOrSetsUp runs on any kernel: either the tc tier comes up
// (miss pair present, reader open) or Open says why in the kernel's words
// and leaves no pair behind. The host kernel of CI has no cls_flower.
func TestOpenSaysWhyOrSetsUp(t *testing.T) {
	netns.Require(t)
	s, err, pairLeft := openIn(t, true)
	var ue *UnavailableError
	switch {
	case err == nil:
		if !pairLeft || s.Miss == nil || s.Block != BlockIndex("t") {
			t.Errorf("Open succeeded but pair present %v, reader %v, block %#x", pairLeft, s.Miss, s.Block)
		}
	case errors.As(err, &ue):
		if pairLeft {
			t.Error("an unavailable tc tier left its miss pair behind")
		}
		if !strings.Contains(ue.Error(), "tc tier unavailable") || ue.Reason == "" {
			t.Errorf("error %q does not say why", ue)
		}
		t.Logf("this kernel: %v", err)
	default:
		t.Fatalf("Open: %v (want success or *UnavailableError)", err)
	}
}

func TestOpenInTheVMSetsUp(t *testing.T) {
	vmtest.Require(t)
	s, err, pairLeft := openIn(t, false)
	if err != nil {
		t.Fatalf("Open in Debian's kernel: %v", err)
	}
	if !pairLeft || s.MissDev == s.MissPeer {
		t.Errorf("miss pair %s/%s present %v", s.MissDev, s.MissPeer, pairLeft)
	}
}
