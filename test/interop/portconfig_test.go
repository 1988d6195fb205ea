package interop

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// TestOvsOfctlPortModAndFrags drives nicflowd's port and switch
// configuration with ovs-ofctl on real veths: `mod-port PORT down` sets the
// netdev administratively down (read back from the kernel), reports
// PORT_DOWN and LINK_DOWN in dump-ports-desc and a PORT_STATUS to the
// channels, and stops forwarding; `up` reverses it. `set-frags drop` is
// what `get-frags` then reports on a new connection, and fragmented pings
// stop while small ones go on; `set-frags reassemble` is refused with
// OFPSCFC_BAD_FLAGS. Groups and meters report their own age.
func TestOvsOfctlPortModAndFrags(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	th := startTwoHosts(t)
	sw, a, b := th.sw, th.a, th.b
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ctl, err := ofclient.Dial(ctx, sw)
	if err != nil {
		t.Fatal(err)
	}
	defer ctl.Close()
	daemontest.MustOfctl(t, "add-flow", sw, "priority=10,in_port=1,actions=output:2")
	daemontest.MustOfctl(t, "add-flow", sw, "priority=10,in_port=2,actions=output:1")
	pingOK(t, a, b, 3)

	adminUp := func(t *testing.T, dev string) bool {
		t.Helper()
		l, err := netlink.LinkByName(dev)
		if err != nil {
			t.Fatal(err)
		}
		return l.Attrs().Flags&net.FlagUp != 0
	}
	// portStatus waits for a PORT_STATUS (modify) of port 1 with config and
	// state as given.
	portStatus := func(t *testing.T, config, state uint32) {
		t.Helper()
		daemontest.WaitPortStatus(t, ctl, fmt.Sprintf("PORT_STATUS modify of port 1 with config %#x state %#x", config, state),
			func(reason uint8, p ofwire.Port) bool {
				return reason == ofwire.PortModified && p.PortNo == 1 && p.Config == config && p.State == state
			})
	}

	t.Run("mod-port down", func(t *testing.T) {
		daemontest.MustOfctl(t, "mod-port", sw, "1", "down")
		if adminUp(t, a.Port) {
			t.Errorf("%s is still administratively up", a.Port)
		}
		if got := portDesc(t, sw, 1); got != (portView{"PORT_DOWN", "LINK_DOWN"}) {
			t.Errorf("dump-ports-desc port 1: %+v, want config PORT_DOWN, state LINK_DOWN", got)
		}
		portStatus(t, 1, 1) // OFPPC_PORT_DOWN, OFPPS_LINK_DOWN
		// b's pings go to port 1, which forwards nothing: once port 2 has
		// read every frame b sent, b has no reply.
		replies0, sent0 := echoReplies(t, b), b.TxPackets(t)
		rx0, _ := portCounters(t, daemontest.MustOfctl(t, "dump-ports", sw), 2)
		if got := ping(t, b, a.IP, 3); got != 0 {
			t.Fatalf("ping %s -> %s across a port that is down: %d replies", b.IP, a.IP, got)
		}
		sent := b.TxPackets(t) - sent0
		waitfor.True(t, 10*time.Second, "port 2 to read what b sent", func() bool {
			rx, _ := portCounters(t, daemontest.MustOfctl(t, "dump-ports", sw), 2)
			return rx-rx0 >= sent
		})
		if got := echoReplies(t, b) - replies0; got != 0 {
			t.Errorf("b counted %d echo replies with port 1 down", got)
		}
	})
	t.Run("mod-port up", func(t *testing.T) {
		daemontest.MustOfctl(t, "mod-port", sw, "1", "up")
		if !adminUp(t, a.Port) {
			t.Errorf("%s is still administratively down", a.Port)
		}
		portStatus(t, 0, 1) // up again, the carrier not back yet: LINK_DOWN
		// The carrier comes back (the link watcher says so).
		waitfor.True(t, 10*time.Second, "port 1 to be LIVE again", func() bool { return portDesc(t, sw, 1) == portView{"0", "LIVE"} })
		portStatus(t, 0, 4) // OFPPS_LIVE
		pingOK(t, a, b, 3)
	})
	t.Run("set-frags", func(t *testing.T) {
		if got := strings.TrimSpace(daemontest.MustOfctl(t, "get-frags", sw)); got != "normal" {
			t.Errorf("get-frags = %q, want normal", got)
		}
		daemontest.MustOfctl(t, "set-frags", sw, "drop")
		if got := strings.TrimSpace(daemontest.MustOfctl(t, "get-frags", sw)); got != "drop" {
			t.Errorf("get-frags after set-frags drop = %q, want drop", got)
		}
		// A 3000-byte ping is three fragments each way: they go nowhere.
		// The small ping after it proves the switch handled them.
		replies0 := echoReplies(t, a)
		if got := bigPing(t, a, b.IP, 2); got != 0 {
			t.Errorf("fragmented ping with set-frags drop: %d replies, want none", got)
		}
		pingOK(t, a, b, 2)
		if got := echoReplies(t, a) - replies0; got != 2 {
			t.Errorf("%d echo replies, want the 2 small ones", got)
		}
		out, err := daemontest.Ofctl("set-frags", sw, "reassemble")
		if err == nil || !strings.Contains(out, "OFPSCFC_BAD_FLAGS") {
			t.Errorf("set-frags reassemble: %v\n%s\nwant OFPSCFC_BAD_FLAGS", err, out)
		}
		if got := strings.TrimSpace(daemontest.MustOfctl(t, "get-frags", sw)); got != "drop" {
			t.Errorf("get-frags after the refused reassemble = %q, want drop", got)
		}
		daemontest.MustOfctl(t, "set-frags", sw, "normal")
		if got := bigPing(t, a, b.IP, 2); got != 2 {
			t.Errorf("fragmented ping with set-frags normal: %d of 2 replies", got)
		}
	})
	t.Run("group and meter durations", func(t *testing.T) {
		daemontest.MustOfctl(t, "add-group", sw, "group_id=1,type=all,bucket=output:2")
		daemontest.MustOfctl(t, "add-meter", sw, "meter=1,kbps,band=type=drop,rate=1000")
		// Whatever the clock's speed, the second of each is younger.
		daemontest.MustOfctl(t, "add-group", sw, "group_id=2,type=all,bucket=output:1")
		daemontest.MustOfctl(t, "add-meter", sw, "meter=2,kbps,band=type=drop,rate=1000")
		groups := durations(t, daemontest.MustOfctl(t, "dump-group-stats", sw), "group_id")
		meters := durations(t, daemontest.MustOfctl(t, "meter-stats", sw), "meter")
		for what, d := range map[string]map[int]float64{"group": groups, "meter": meters} {
			if len(d) != 2 || !(d[1] > d[2]) {
				t.Errorf("%s durations %v: want %s 1 older than %s 2", what, d, what, what)
			}
		}
	})
}

// bigPing sends count 3000-byte echo requests (fragmented at the 1500-byte
// MTU) from h to ip and returns the replies.
func bigPing(t *testing.T, h *daemontest.Host, ip string, count int) int {
	t.Helper()
	_, received, err := h.Ping(ip, count, "-s", "3000", "-i", "0.2", "-W", "1")
	if err != nil {
		t.Fatal(err)
	}
	return received
}

type portView struct{ Config, State string }

var portDescRE = regexp.MustCompile(`(?m)^\s*(\d+)\([^)]*\):.*\n\s+config:\s+(.*)\n\s+state:\s+(.*)$`)

// portDesc returns port no's config and state as dump-ports-desc prints
// them.
func portDesc(t *testing.T, sw string, no int) portView {
	t.Helper()
	out := daemontest.MustOfctl(t, "dump-ports-desc", sw)
	for _, m := range portDescRE.FindAllStringSubmatch(out, -1) {
		if m[1] == strconv.Itoa(no) {
			return portView{strings.TrimSpace(m[2]), strings.TrimSpace(m[3])}
		}
	}
	t.Fatalf("port %d not in dump-ports-desc:\n%s", no, out)
	return portView{}
}

var durationRE = regexp.MustCompile(`(group_id|meter)[=:](\d+)[\s,].*?duration[=:]([\d.]+)s`)

// durations maps each group or meter (key "group_id" or "meter") in a
// dump-group-stats or meter-stats output to its duration in seconds.
func durations(t *testing.T, out, key string) map[int]float64 {
	t.Helper()
	d := map[int]float64{}
	for _, m := range durationRE.FindAllStringSubmatch(out, -1) {
		if m[1] != key {
			continue
		}
		id, _ := strconv.Atoi(m[2])
		d[id], _ = strconv.ParseFloat(m[3], 64)
	}
	if len(d) == 0 {
		t.Fatalf("no %s durations in:\n%s", key, out)
	}
	return d
}
