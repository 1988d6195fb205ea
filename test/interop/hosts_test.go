package interop

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// ping sends count echo requests from h to ip, 0.2 s apart, waiting up to
// a second for the last reply, and returns how many replies came back.
func ping(t *testing.T, h *daemontest.Host, ip string, count int) int {
	t.Helper()
	_, received, err := h.Ping(ip, count, "-i", "0.2", "-W", "1")
	if err != nil {
		t.Fatal(err)
	}
	return received
}

// pingOK fails the test unless all count pings from h to dst are answered.
func pingOK(t *testing.T, from, to *daemontest.Host, count int) {
	t.Helper()
	if got := ping(t, from, to.IP, count); got != count {
		t.Fatalf("ping %s -> %s: %d of %d replies, want all", from.IP, to.IP, got, count)
	}
}

// pingFails fails the test if any of count pings from h to dst is
// answered. ping stops waiting for replies after a second; so that a slow
// switch cannot pass for one that drops, it then waits until switch sw has
// looked up in table 0 every frame the hosts sent (one lookup per frame,
// counted once the switch has sent whatever the frame made it send), and
// checks that from counted no echo reply.
func pingFails(t *testing.T, sw string, hosts []*daemontest.Host, from, to *daemontest.Host, count int) {
	t.Helper()
	lookups0, sent0 := table0Lookups(t, sw), framesSent(t, hosts)
	replies0 := echoReplies(t, from)
	if got := ping(t, from, to.IP, count); got != 0 {
		t.Fatalf("ping %s -> %s: %d of %d replies, want none", from.IP, to.IP, got, count)
	}
	if err := waitfor.Until(10*time.Second, func() error {
		// Read the hosts' counts first: every frame they count is in the
		// switch's queue or already looked up.
		sent := framesSent(t, hosts) - sent0
		if looked := table0Lookups(t, sw) - lookups0; looked < sent {
			return fmt.Errorf("the switch looked up %d frames of the %d the hosts sent", looked, sent)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := echoReplies(t, from) - replies0; got != 0 {
		t.Fatalf("ping %s -> %s: %s counted %d echo replies once the switch had handled every frame, want none", from.IP, to.IP, from.IP, got)
	}
}

// framesSent sums the frames the hosts' eth0 sent: the frames that entered
// the switch.
func framesSent(t *testing.T, hosts []*daemontest.Host) uint64 {
	t.Helper()
	var n uint64
	for _, h := range hosts {
		n += h.TxPackets(t)
	}
	return n
}

var table0LookupRE = regexp.MustCompile(`table 0:\s+active=\d+, lookup=(\d+)`)

// table0Lookups is the lookup count of table 0 in sw's dump-tables.
func table0Lookups(t *testing.T, sw string) uint64 {
	t.Helper()
	out := daemontest.MustOfctl(t, "dump-tables", sw)
	m := table0LookupRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no lookup count of table 0 in dump-tables:\n%s", out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

var inEchoRepsRE = regexp.MustCompile(`(?m)^Icmp: (.*)\nIcmp: (.*)$`)

// echoReplies is the ICMP echo replies h's stack received (InEchoReps of
// its /proc/net/snmp).
func echoReplies(t *testing.T, h *daemontest.Host) uint64 {
	t.Helper()
	var snmp []byte
	if err := h.NS.Do(func() (err error) {
		snmp, err = os.ReadFile("/proc/thread-self/net/snmp")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	m := inEchoRepsRE.FindStringSubmatch(string(snmp))
	if m == nil {
		t.Fatalf("no Icmp lines in /proc/net/snmp of netns %s:\n%s", h.NS.Name, snmp)
	}
	names, values := strings.Fields(m[1]), strings.Fields(m[2])
	for i, n := range names {
		if n == "InEchoReps" && i < len(values) {
			v, _ := strconv.ParseUint(values[i], 10, 64)
			return v
		}
	}
	t.Fatalf("no InEchoReps in /proc/net/snmp of netns %s:\n%s", h.NS.Name, snmp)
	return 0
}

// run runs a command with a timeout and returns its combined output.
func run(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
	}
	return string(out), nil
}

// mustRun runs a command and fails the test with its output if it fails.
func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(name, args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}
