package tcflower

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// update rewrites the golden files; the codec's golden tests share it.
var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// testEnv is a map-backed Env.
type testEnv struct {
	ports    map[uint32]Port
	meters   map[uint32]*pipeline.Meter
	index    map[uint32]uint32
	groups   map[uint32]*pipeline.Group
	complete map[uint8]bool
}

func (e *testEnv) Port(no uint32) (Port, bool) { p, ok := e.ports[no]; return p, ok }
func (e *testEnv) Meter(id uint32) (*pipeline.Meter, uint32) {
	return e.meters[id], e.index[id]
}
func (e *testEnv) Group(id uint32) *pipeline.Group { return e.groups[id] }
func (e *testEnv) TableComplete(t uint8) bool      { return e.complete[t] }

func bucket(acts ...pipeline.Action) pipeline.Bucket { return pipeline.Bucket{Actions: acts} }

// goldenEnv is the network every golden rule runs in:
//
//	ports 1-4   p1..p4 on the eswitch
//	port 5      eth5, off the eswitch
//	port 10     vxlan0: tunnel 192.0.2.1 -> 192.0.2.2, UDP 4789
//	port 11     vxlan6: tunnel 2001:db8::1 -> 2001:db8::2
//	meter 1     kb/s, burst: one drop band 1000 kb/s, burst 100 kb; police index 1001
//	meter 2     pkt/s: one drop band 500 pkt/s, no burst
//	meter 3     two drop bands; meter 4: one dscp_remark band
//	meter 5     kb/s, burst: one drop band 1 Tb/s, burst 1 kb (125 bytes: less than the
//	            8,000 bytes of one 64 ns tick at that rate)
//	group 1     all: output:2 | output:3 | (empty)
//	group 2     select: output:2
//	group 3     all: set_field eth_dst, output:2
//	group 4     all: output:CONTROLLER
//	group 5     indirect: output:4
//	tables 1, 2 complete in tc; the others not
func goldenEnv() *testEnv {
	mac := []byte{0x02, 0, 0, 0, 0, 0x99}
	return &testEnv{
		ports: map[uint32]Port{
			1:  {Name: "p1", SameSwitch: true},
			2:  {Name: "p2", SameSwitch: true},
			3:  {Name: "p3", SameSwitch: true},
			4:  {Name: "p4", SameSwitch: true},
			5:  {Name: "eth5"},
			10: {Name: "vxlan0", SameSwitch: true, Tunnel: &Tunnel{Local: netip.MustParseAddr("192.0.2.1"), Remote: netip.MustParseAddr("192.0.2.2"), DstPort: 4789}},
			11: {Name: "vxlan6", SameSwitch: true, Tunnel: &Tunnel{Local: netip.MustParseAddr("2001:db8::1"), Remote: netip.MustParseAddr("2001:db8::2")}},
		},
		meters: map[uint32]*pipeline.Meter{
			1: {ID: 1, Flags: pipeline.MeterKbps | pipeline.MeterBurst, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 1000, BurstSize: 100}}},
			2: {ID: 2, Flags: pipeline.MeterPktps, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 500}}},
			3: {ID: 3, Flags: pipeline.MeterKbps, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 1000}, {Type: pipeline.BandDrop, Rate: 2000}}},
			4: {ID: 4, Flags: pipeline.MeterKbps, Bands: []pipeline.Band{{Type: pipeline.BandDSCPRemark, Rate: 1000, PrecLevel: 1}}},
			5: {ID: 5, Flags: pipeline.MeterKbps | pipeline.MeterBurst, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 1_000_000_000, BurstSize: 1}}},
		},
		index: map[uint32]uint32{1: 1001},
		groups: map[uint32]*pipeline.Group{
			1: {ID: 1, Type: pipeline.GroupTypeAll, Buckets: []pipeline.Bucket{bucket(pipeline.Output(2)), bucket(pipeline.Output(3)), bucket()}},
			2: {ID: 2, Type: pipeline.GroupTypeSelect, Buckets: []pipeline.Bucket{bucket(pipeline.Output(2))}},
			3: {ID: 3, Type: pipeline.GroupTypeAll, Buckets: []pipeline.Bucket{bucket(pipeline.SetField(pipeline.FieldEthDst, mac), pipeline.Output(2))}},
			4: {ID: 4, Type: pipeline.GroupTypeAll, Buckets: []pipeline.Bucket{bucket(pipeline.Output(pipeline.PortController))}},
			5: {ID: 5, Type: pipeline.GroupTypeIndirect, Buckets: []pipeline.Bucket{bucket(pipeline.Output(4))}},
		},
		complete: map[uint8]bool{1: true, 2: true},
	}
}

// translateText is the golden rendering of one rule's translation: for
// the shared block, or with onPort for the block of that port alone
// (TranslateOn).
func translateText(rule string, env Env, onPort uint32) string {
	f, err := flowtext.Flow(rule)
	if err != nil {
		return "parse error: " + err.Error()
	}
	block := "block 1"
	flt, err := Translate(f, env)
	if onPort != 0 {
		block = fmt.Sprintf("block %d", 100+onPort)
		flt, err = TranslateOn(f, env, onPort)
	}
	var ne *NotExpressibleError
	switch {
	case errors.As(err, &ne):
		return "not expressible: " + ne.Reason
	case err != nil:
		return "error: " + err.Error()
	}
	out := strings.ReplaceAll(flt.Command(block), " action ", "\n    action ") + ttlText(flt.TTL)
	if flt.Twin != nil {
		out += "\n  + " + strings.ReplaceAll(flt.Twin.Command(block), " action ", "\n    action ") + ttlText(flt.Twin.TTL)
	}
	return out
}

// ttlText renders what a filter asks of the TTL guards (nothing when it
// leaves the TTLs alone).
func ttlText(u TTLUse) string {
	var parts []string
	for c := TTLClass(0); c < NumTTLClasses; c++ {
		if u.Dec[c] > 0 {
			parts = append(parts, fmt.Sprintf("%s TTL decremented %d time(s): guard", c, u.Dec[c]))
		}
	}
	if u.Rewrites {
		parts = append(parts, "rewrites TTLs")
	}
	if parts == nil {
		return ""
	}
	return "\n    # " + strings.Join(parts, "; ")
}

// renderGolden re-renders a golden file: comments and rule lines are kept,
// each rule is followed by its translation ("=> " then continuation lines).
// A line "@on N" translates the rules after it for the block of port N
// alone (TranslateOn; "@on 0": the shared block again).
func renderGolden(src string, env Env) string {
	var w strings.Builder
	var onPort uint32
	for _, line := range strings.Split(strings.TrimRight(src, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "=>"), strings.HasPrefix(line, " "):
			// the old translation
		case strings.HasPrefix(line, "@on "):
			n, err := strconv.ParseUint(strings.TrimPrefix(line, "@on "), 10, 32)
			if err != nil {
				w.WriteString(line + "\n=> parse error: " + err.Error() + "\n")
				continue
			}
			onPort = uint32(n)
			w.WriteString(line + "\n")
		case line == "", strings.HasPrefix(line, "#"):
			w.WriteString(line + "\n")
		default:
			w.WriteString(line + "\n")
			w.WriteString("=> " + translateText(line, env, onPort) + "\n")
		}
	}
	return w.String()
}

// TestTranslateGolden translates the rules of testdata/translate/*.txt
// (one file per row of DESIGN.md's mapping table and per not-expressible
// case) in goldenEnv and compares with the translation stored under each
// rule. Refresh with: go test ./tcflower -run TestTranslateGolden -update
func TestTranslateGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "translate", "*.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files in testdata/translate")
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			got := renderGolden(string(src), goldenEnv())
			if strings.Contains(got, "=> parse error") || !strings.Contains(got, "=> ") {
				t.Errorf("%s: a rule does not parse or there is no rule:\n%s", path, got)
			}
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if diff := cmp.Diff(string(src), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s\nrefresh with: go test ./tcflower -run TestTranslateGolden -update", path, diff)
			}
		})
	}
}
