package marker

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// log renders lines as a serial console writes them (CRLF).
func log(lines ...string) string {
	return strings.Join(lines, "\r\n") + "\r\n"
}

func TestParseAndProblems(t *testing.T) {
	want := []string{"a", "b"}
	tests := []struct {
		name     string
		log      string
		run      *Run
		problems []string
	}{{
		name: "all pass",
		log: log(
			"[    1.0] random kernel line",
			InitBegin("6.1.0-56-amd64", 2),
			PkgBegin("a"),
			"=== RUN   TestX",
			"--- PASS: TestX (0.00s)",
			PkgEnd("a", 0, 1500*time.Millisecond),
			PkgBegin("b"),
			"no newline at the end of test output"+PkgEnd("b", 0, 2*time.Second),
			InitEnd(0),
		),
		run: &Run{Kernel: "6.1.0-56-amd64", Planned: 2, Done: true, Packages: []Package{
			{Name: "a", Begun: true, Ended: true, Elapsed: 1500 * time.Millisecond},
			{Name: "b", Begun: true, Ended: true, Elapsed: 2 * time.Second},
		}},
	}, {
		name: "failure, harness error and missing package",
		log: log(
			InitBegin("k", 2),
			Error("load module %s: %v", "x.ko", "exec format error"),
			PkgBegin("a"),
			PkgEnd("a", 1, time.Second),
			InitEnd(1),
		),
		run: &Run{Kernel: "k", Planned: 2, Done: true,
			Errors:   []string{"load module x.ko: exec format error"},
			Packages: []Package{{Name: "a", Begun: true, Ended: true, RC: 1, Elapsed: time.Second}},
		},
		problems: []string{
			"harness error: load module x.ko: exec format error",
			"a: failed (rc=1)",
			"b: never ran",
		},
	}, {
		name: "timeout in the middle of a package",
		log:  log(InitBegin("k", 2), PkgBegin("a"), "=== RUN   TestHang"),
		run: &Run{Kernel: "k", Planned: 2,
			Packages: []Package{{Name: "a", Begun: true}}},
		problems: []string{
			"a: began but never ended (crash or timeout)",
			"b: never ran",
			"init never finished (no INIT END marker)",
		},
	}, {
		name: "kernel never reached init",
		log:  log("Kernel panic - not syncing: VFS: Unable to mount root fs"),
		run:  &Run{},
		problems: []string{
			"a: never ran",
			"b: never ran",
			"init never started (no INIT BEGIN marker)",
			"init never finished (no INIT END marker)",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run, err := Parse(strings.NewReader(tt.log))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.run, run); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.problems, run.Problems(want)); diff != "" {
				t.Errorf("Problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejectsBadEnd(t *testing.T) {
	for _, line := range []string{
		"=== VM-PKG a END rc=x elapsed=1s",
		"=== VM-PKG a END rc=0 elapsed=soon",
		"=== VM-INIT BEGIN kernel=k packages=many",
	} {
		if _, err := Parse(strings.NewReader(line + "\n")); err == nil {
			t.Errorf("Parse(%q) = nil error, want an error", line)
		}
	}
}
