package conformance

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// suiteDir is the vendored test files of os-ken 2.5.0 (of13/README.md).
const suiteDir = "of13"

// Families, in the order of the summary. set_field is action/25_SET_FIELD,
// counted apart from the other actions.
var families = []string{"match", "action", "set_field", "group", "meter"}

// suiteTest is one test of a test file: a description, the prerequisite
// FLOW_MOD/GROUP_MOD/METER_MODs and the packets to send and expect.
type suiteTest struct {
	File     string        // path under of13/, slash-separated: "action/00_OUTPUT.json"
	Index    int           // position among the file's tests, from 1
	FileDesc string        // the file's description ("action: 00_OUTPUT"); tester.py runs files in its order
	Desc     string        // the test's description
	Traffic  time.Duration // how long the test sends traffic (rate tests: meters, groups)
	PPS      int           // the packet rate of that traffic
	raw      json.RawMessage
}

// ID names the test in results.txt and expected.txt: file#index.
func (t suiteTest) ID() string { return fmt.Sprintf("%s#%d", t.File, t.Index) }

// Family is the test's row in the summary.
func (t suiteTest) Family() string {
	if strings.HasPrefix(t.File, "action/25_SET_FIELD/") {
		return "set_field"
	}
	return strings.SplitN(t.File, "/", 2)[0]
}

// loadSuite reads every test file under dir and returns its tests in the
// order tester.py runs them: files by description, then each file's tests
// in file order.
func loadSuite(dir string) ([]suiteTest, error) {
	var tests []suiteTest
	fileOf := map[string]string{} // file description -> file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		ft, err := parseTestFile(rel, b)
		if err != nil {
			return err
		}
		if other, dup := fileOf[ft[0].FileDesc]; dup {
			// tester.py keys files by description: one would be lost.
			return fmt.Errorf("%s and %s have the same description %q", other, rel, ft[0].FileDesc)
		}
		fileOf[ft[0].FileDesc] = rel
		tests = append(tests, ft...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load test suite %s: %w", dir, err)
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("load test suite %s: no tests", dir)
	}
	sort.SliceStable(tests, func(i, j int) bool {
		if tests[i].FileDesc != tests[j].FileDesc {
			return tests[i].FileDesc < tests[j].FileDesc
		}
		return tests[i].Index < tests[j].Index
	})
	return tests, nil
}

// parseTestFile parses one test file: a JSON list of the file's
// description and its tests.
func parseTestFile(file string, b []byte) ([]suiteTest, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var desc string
	var tests []suiteTest
	for _, it := range items {
		var s string
		if json.Unmarshal(it, &s) == nil {
			desc = s
			continue
		}
		var head struct {
			Description string `json:"description"`
			Tests       []struct {
				Ingress json.RawMessage `json:"ingress"`
			} `json:"tests"`
		}
		if err := json.Unmarshal(it, &head); err != nil {
			return nil, fmt.Errorf("%s: test %d: %w", file, len(tests)+1, err)
		}
		if head.Description == "" {
			return nil, fmt.Errorf("%s: test %d has no description", file, len(tests)+1)
		}
		st := suiteTest{File: file, Index: len(tests) + 1, Desc: head.Description, raw: it}
		for _, pkt := range head.Tests {
			// Continuous traffic (meters, groups): tester.py sends
			// for duration_time seconds, 30 unless given.
			// pktps packets a second, 1000 unless given.
			var in struct {
				Packets *struct {
					Duration *float64 `json:"duration_time"`
					PPS      *int     `json:"pktps"`
				} `json:"packets"`
			}
			if json.Unmarshal(pkt.Ingress, &in) == nil && in.Packets != nil {
				d, pps := 30.0, 1000
				if in.Packets.Duration != nil {
					d = *in.Packets.Duration
				}
				if in.Packets.PPS != nil {
					pps = *in.Packets.PPS
				}
				st.Traffic += time.Duration(d * float64(time.Second))
				st.PPS = max(st.PPS, pps)
			}
		}
		tests = append(tests, st)
	}
	if desc == "" {
		return nil, fmt.Errorf("%s: no file description", file)
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("%s: no tests", file)
	}
	for i := range tests {
		tests[i].FileDesc = desc
	}
	return tests, nil
}

// writeSelection writes tests as test files under dir, each file holding
// the selected tests of one suite file under its own description, so that
// tester.py runs exactly these tests in the order of tests (which must be
// the suite's order).
func writeSelection(dir string, tests []suiteTest) error {
	byFile := map[string][]any{}
	var order []string
	for _, t := range tests {
		if _, ok := byFile[t.File]; !ok {
			order = append(order, t.File)
			byFile[t.File] = []any{t.FileDesc}
		}
		byFile[t.File] = append(byFile[t.File], t.raw)
	}
	for _, f := range order {
		b, err := json.MarshalIndent(byFile[f], "", "  ")
		if err != nil {
			return fmt.Errorf("encode %s: %w", f, err)
		}
		p := filepath.Join(dir, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// familyOf returns the family of a test ID ("match/00_IN_PORT.json#1").
func familyOf(id string) string {
	file, _, _ := strings.Cut(id, "#")
	return suiteTest{File: path.Clean(file)}.Family()
}
