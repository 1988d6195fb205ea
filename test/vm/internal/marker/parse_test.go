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
		allowed  AllowedSkips
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
		name:    "skips, allowed and not",
		allowed: AllowedSkips{"a": {"TestY": "a subtest needs a tool"}, "b": {"TestOther": "-"}},
		log: log(
			InitBegin("k", 2),
			PkgBegin("a"),
			"=== RUN   TestX",
			"    x_test.go:12: needs a kernel feature",
			"--- SKIP: TestX (0.00s)",
			"=== RUN   TestY",
			"=== RUN   TestY/sub",
			"    --- SKIP: TestY/sub (0.00s)",
			"--- PASS: TestY (0.01s)",
			PkgEnd("a", 0, time.Second),
			"--- SKIP: TestBetweenPackages (0.00s)",
			PkgBegin("b"),
			"[   12.5] a kernel line--- SKIP: TestZ (0.00s)",
			PkgEnd("b", 0, time.Second),
			InitEnd(0),
		),
		run: &Run{Kernel: "k", Planned: 2, Done: true, Packages: []Package{
			{Name: "a", Begun: true, Ended: true, Elapsed: time.Second, Skipped: []string{"TestX", "TestY/sub"}},
			{Name: "b", Begun: true, Ended: true, Elapsed: time.Second, Skipped: []string{"TestZ"}},
		}},
		problems: []string{
			"a: TestX skipped in the VM, which is not among the allowed skips",
			"b: TestZ skipped in the VM, which is not among the allowed skips",
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
			if diff := cmp.Diff(tt.problems, run.Problems(want, tt.allowed)); diff != "" {
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

func TestParseAllowedSkips(t *testing.T) {
	a, err := ParseAllowedSkips(strings.NewReader(`# comment

sriov/nic   TestGhw     host tier: needs the go tool
test/vm/smoke TestFailOnDemand  runs on demand
`))
	if err != nil {
		t.Fatal(err)
	}
	want := AllowedSkips{
		"sriov/nic":     {"TestGhw": "host tier: needs the go tool"},
		"test/vm/smoke": {"TestFailOnDemand": "runs on demand"},
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("ParseAllowedSkips (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		pkg, test string
		want      bool
	}{
		{"sriov/nic", "TestGhw", true},
		{"sriov/nic", "TestGhw/a/b", true},
		{"sriov/nic", "TestGhwOther", false},
		{"sriov/vf", "TestGhw", false},
		{"test/vm/smoke", "TestFailOnDemand", true},
	} {
		if got := a.Allows(tt.pkg, tt.test); got != tt.want {
			t.Errorf("Allows(%s, %s) = %v, want %v", tt.pkg, tt.test, got, tt.want)
		}
	}
	for _, bad := range []string{"pkg TestNoReason\n", "p T why\np T again\n"} {
		if _, err := ParseAllowedSkips(strings.NewReader(bad)); err == nil {
			t.Errorf("ParseAllowedSkips(%q) = nil error, want an error", bad)
		}
	}
}
