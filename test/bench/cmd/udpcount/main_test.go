package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadCounters(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		want    counters
		wantErr bool
	}{
		{name: "ok", files: map[string]string{"rx_packets": "1234\n", "rx_bytes": "74040\n", "rx_dropped": "5\n"}, want: counters{1234, 74040, 5}},
		{name: "missing", files: map[string]string{"rx_packets": "1\n"}, wantErr: true},
		{name: "garbage", files: map[string]string{"rx_packets": "x\n", "rx_bytes": "0\n", "rx_dropped": "0\n"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, v := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, n), []byte(v), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := readCounters(dir)
			if (err != nil) != tt.wantErr {
				t.Fatalf("readCounters error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(counters{})); diff != "" {
				t.Errorf("readCounters (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRunCountsWindow(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "veth0", "statistics")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"rx_packets", "rx_bytes", "rx_dropped"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("7\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"-i", "veth0", "-sysfs", filepath.Dir(filepath.Dir(dir)), "-warmup", "0s", "-d", "1ms"}); err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := run([]string{"-i", "nope", "-sysfs", filepath.Dir(filepath.Dir(dir)), "-warmup", "0s", "-d", "1ms"}); err == nil {
		t.Errorf("run on a missing interface: want an error, got nil")
	}
}
