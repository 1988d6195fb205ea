package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/vm/internal/marker"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "manifest")
	if err := os.WriteFile(manifest, []byte("# packages\ntest/vm/smoke\ntcflower\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	skips := filepath.Join(dir, "skips.txt")
	if err := os.WriteFile(skips, []byte("# allowed\ntest/vm/smoke TestFailOnDemand runs on demand\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		lines  []string
		ok     bool
		output []string // substrings the summary must hold
	}{{
		name: "pass",
		lines: []string{
			marker.InitBegin("6.1.0-56-amd64", 2),
			marker.PkgBegin("test/vm/smoke"), marker.PkgEnd("test/vm/smoke", 0, time.Second),
			marker.PkgBegin("tcflower"), marker.PkgEnd("tcflower", 0, 2*time.Second),
			marker.InitEnd(0),
		},
		ok:     true,
		output: []string{"kernel 6.1.0-56-amd64", "ok         tcflower", "2 packages passed"},
	}, {
		name: "one package failed",
		lines: []string{
			marker.InitBegin("k", 2),
			marker.PkgBegin("test/vm/smoke"), marker.PkgEnd("test/vm/smoke", 0, time.Second),
			marker.PkgBegin("tcflower"), marker.PkgEnd("tcflower", 1, time.Second),
			marker.InitEnd(1),
		},
		output: []string{"FAIL rc=1  tcflower", "tcflower: failed (rc=1)"},
	}, {
		name: "an allowed skip passes",
		lines: []string{
			marker.InitBegin("k", 2),
			marker.PkgBegin("test/vm/smoke"), "--- SKIP: TestFailOnDemand (0.00s)", marker.PkgEnd("test/vm/smoke", 0, time.Second),
			marker.PkgBegin("tcflower"), marker.PkgEnd("tcflower", 0, 2*time.Second),
			marker.InitEnd(0),
		},
		ok:     true,
		output: []string{"test/vm/smoke                            1s (1 skipped)", "2 packages passed"},
	}, {
		name: "a skip not allowed fails the run",
		lines: []string{
			marker.InitBegin("k", 2),
			marker.PkgBegin("test/vm/smoke"), marker.PkgEnd("test/vm/smoke", 0, time.Second),
			marker.PkgBegin("tcflower"),
			"=== RUN   TestKernelFlower",
			"    kernel_linux_test.go:40: no cls_flower in this kernel",
			"--- SKIP: TestKernelFlower (0.00s)",
			"PASS",
			marker.PkgEnd("tcflower", 0, time.Second),
			marker.InitEnd(0),
		},
		output: []string{"SKIP       tcflower", "tcflower: TestKernelFlower skipped in the VM, which is not among the allowed skips"},
	}, {
		name:   "timed out before init",
		lines:  []string{"SeaBIOS"},
		output: []string{"(init did not start)", "test/vm/smoke: never ran", "tcflower: never ran"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log := filepath.Join(dir, "console.log")
			if err := os.WriteFile(log, []byte(strings.Join(tt.lines, "\r\n")+"\r\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out strings.Builder
			ok, err := run([]string{"-manifest", manifest, "-skips", skips, log}, &out)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if ok != tt.ok {
				t.Errorf("run ok = %v, want %v; output:\n%s", ok, tt.ok, out.String())
			}
			for _, s := range tt.output {
				if !strings.Contains(out.String(), s) {
					t.Errorf("output lacks %q:\n%s", s, out.String())
				}
			}
		})
	}
}

func TestRunMissingLog(t *testing.T) {
	if _, err := run([]string{filepath.Join(t.TempDir(), "nope.log")}, &strings.Builder{}); err == nil {
		t.Error("run with a missing log: nil error, want an error")
	}
}

func TestRunBadSkipList(t *testing.T) {
	dir := t.TempDir()
	skips := filepath.Join(dir, "skips.txt")
	log := filepath.Join(dir, "console.log")
	for path, text := range map[string]string{skips: "tcflower TestNoReason\n", log: ""} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := run([]string{"-skips", skips, log}, &strings.Builder{}); err == nil {
		t.Error("run with a skip list entry that gives no reason: nil error, want an error")
	}
}
