//go:build linux

package hairpinlab

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/test/netns"
)

// vepaLab is a lab whose host namespace has two macvlans of the uplink in
// VEPA mode, plugged into the VMs.
func vepaLab(t *testing.T) *Lab {
	host := netns.New(t, "hlhost")
	l := New(t, Config{Prefix: "hl", Net: 81, Port: 7781, Host: host})
	up := host.Link(t, l.Uplink)
	for i, name := range []string{"hlm1", "hlm2"} {
		mac, _ := net.ParseMAC(l.MACs[i])
		mv := &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: name, ParentIndex: up.Attrs().Index, HardwareAddr: mac},
			Mode: netlink.MACVLAN_MODE_VEPA}
		if err := host.Netlink().LinkAdd(mv); err != nil {
			t.Fatalf("add macvlan %s: %v", name, err)
		}
		l.Plug(i, name)
	}
	return l
}

// TestEcho: through a switch port with hairpin, every datagram and echo
// leaves the host and comes back, and Echo sees each one, many in a row
// (a witness that overtook its datagram would show as a loss); without
// hairpin none comes back, and Echo knows it at once.
func TestEcho(t *testing.T) {
	l := vepaLab(t)
	for _, step := range []struct {
		name                  string
		hairpin               bool
		count                 int
		wantReached, wantEcho int
		want                  Counts
	}{
		{"hairpin on", true, 200, 200, 200, Counts{Out: 400, Back: 400}},
		{"hairpin off", false, 5, 0, 0, Counts{Out: 5, Back: 0}},
		{"hairpin on again", true, 3, 3, 3, Counts{Out: 6, Back: 6}},
	} {
		l.SetHairpin(step.hairpin)
		before := l.SwitchCounts()
		start := time.Now()
		reached, echoed := l.Echo(step.count)
		got := l.SwitchCounts().Sub(before)
		t.Logf("%s: %d of %d reached VM 2, %d echoes back, switch port %v (%v)", step.name, reached, step.count, echoed, got, time.Since(start))
		if reached != step.wantReached || echoed != step.wantEcho {
			t.Errorf("%s: %d reached, %d echoed; want %d, %d", step.name, reached, echoed, step.wantReached, step.wantEcho)
		}
		if got != step.want {
			t.Errorf("%s: switch port %v, want %v", step.name, got, step.want)
		}
	}
}

// TestEchoFailsWithoutItsWitness: when the witness cannot arrive, Echo
// says the lab's path is broken instead of reporting a loss.
func TestEchoFailsWithoutItsWitness(t *testing.T) {
	l := vepaLab(t)
	l.SetHairpin(true)
	l.wait = 500 * time.Millisecond
	wp := l.Switch.Link(t, l.cfg.Prefix+"wp")
	if err := l.Switch.Netlink().LinkSetDown(wp); err != nil {
		t.Fatal(err)
	}
	reached, echoed, err := l.echo(1)
	if err == nil || !strings.Contains(err.Error(), "did not reach the witness port") {
		t.Errorf("echo with the witness port down = %d, %d, %v; want an error about the witness", reached, echoed, err)
	}
}

// TestMustEcho: MustEcho waits for each datagram and echo on a path that
// delivers them.
func TestMustEcho(t *testing.T) {
	l := vepaLab(t)
	l.SetHairpin(true)
	before := l.SwitchCounts()
	l.MustEcho(3)
	if got := l.SwitchCounts().Sub(before); got != (Counts{Out: 6, Back: 6}) {
		t.Errorf("switch port %v, want 6 out and 6 back", got)
	}
}
