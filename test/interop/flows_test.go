package interop

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// flowStat is one line of ovs-ofctl dump-flows output.
type flowStat struct {
	Cookie  uint64
	Packets uint64
	Bytes   uint64
	Line    string // the whole line, for messages
}

var (
	cookieRE  = regexp.MustCompile(`\bcookie=(0x[0-9a-fA-F]+|\d+)`)
	packetsRE = regexp.MustCompile(`\bn_packets=(\d+)`)
	bytesRE   = regexp.MustCompile(`\bn_bytes=(\d+)`)
)

// parseFlows parses the flow lines of ovs-ofctl dump-flows output (those
// with n_packets); other lines (the reply header) are ignored.
func parseFlows(out string) []flowStat {
	var flows []flowStat
	for _, line := range strings.Split(out, "\n") {
		p := packetsRE.FindStringSubmatch(line)
		if p == nil {
			continue
		}
		f := flowStat{Line: strings.TrimSpace(line)}
		f.Packets, _ = strconv.ParseUint(p[1], 10, 64)
		if b := bytesRE.FindStringSubmatch(line); b != nil {
			f.Bytes, _ = strconv.ParseUint(b[1], 10, 64)
		}
		if c := cookieRE.FindStringSubmatch(line); c != nil {
			f.Cookie, _ = strconv.ParseUint(c[1], 0, 64)
		}
		flows = append(flows, f)
	}
	return flows
}

// byCookie indexes flows by cookie, failing the test on a duplicate.
func byCookie(t *testing.T, flows []flowStat) map[uint64]flowStat {
	t.Helper()
	m := map[uint64]flowStat{}
	for _, f := range flows {
		if _, dup := m[f.Cookie]; dup {
			t.Fatalf("two flows with cookie %#x:\n%s\n%s", f.Cookie, m[f.Cookie].Line, f.Line)
		}
		m[f.Cookie] = f
	}
	return m
}

func TestParseFlows(t *testing.T) {
	out := `OFPST_FLOW reply (OF1.3) (xid=0x2):
 cookie=0x11, duration=2.345s, table=0, n_packets=5, n_bytes=490, priority=10,ip,in_port=1 actions=output:2
 cookie=0x0, duration=0.1s, table=0, n_packets=0, n_bytes=0, priority=0 actions=CONTROLLER:65535
`
	want := []flowStat{
		{Cookie: 0x11, Packets: 5, Bytes: 490, Line: "cookie=0x11, duration=2.345s, table=0, n_packets=5, n_bytes=490, priority=10,ip,in_port=1 actions=output:2"},
		{Cookie: 0, Packets: 0, Bytes: 0, Line: "cookie=0x0, duration=0.1s, table=0, n_packets=0, n_bytes=0, priority=0 actions=CONTROLLER:65535"},
	}
	if diff := cmp.Diff(want, parseFlows(out)); diff != "" {
		t.Errorf("parseFlows (-want +got):\n%s", diff)
	}
	if got := parseFlows("OFPST_FLOW reply (OF1.3) (xid=0x2):\n"); len(got) != 0 {
		t.Errorf("parseFlows of an empty table = %v, want none", got)
	}
}
