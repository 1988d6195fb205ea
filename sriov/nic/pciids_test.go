package nic

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPCINames(t *testing.T) {
	p := newPCINames(filepath.Join("testdata", "pci.ids"))
	tests := []struct {
		vendor, device         string
		wantVendor, wantDevice string
	}{
		{"15b3", "101d", "Mellanox Technologies", "MT2892 Family [ConnectX-6 Dx]"},
		{"8086", "1593", "Intel Corporation", "Ethernet Controller E810-C for SFP"},
		{"8086", "ffff", "Intel Corporation", ""},
		{"abcd", "0001", "", ""},
	}
	for _, tt := range tests {
		v, d, note := p.names(tt.vendor, tt.device)
		if v != tt.wantVendor || d != tt.wantDevice || note != "" {
			t.Errorf("names(%s, %s) = %q, %q, note %q; want %q, %q, no note",
				tt.vendor, tt.device, v, d, note, tt.wantVendor, tt.wantDevice)
		}
	}
}

func TestPCINamesUnavailable(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "malformed.ids")
	// A vendor line too short for its fixed columns: pcidb's parser slices
	// past the end of it.
	if err := os.WriteFile(malformed, []byte("15b3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, wantNote string
	}{
		{"missing", filepath.Join(dir, "pci.ids"), "no pci.ids at " + filepath.Join(dir, "pci.ids")},
		{"malformed", malformed, "malformed file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, d, note := newPCINames(tt.path).names("15b3", "101d")
			if v != "" || d != "" {
				t.Errorf("names = %q, %q; want none", v, d)
			}
			if !strings.Contains(note, tt.wantNote) {
				t.Errorf("note = %q, want it to contain %q", note, tt.wantNote)
			}
		})
	}
}

// TestPCINamesDebian reads the host's own pci.ids (Debian's pci.ids
// package) when it is installed.
func TestPCINamesDebian(t *testing.T) {
	if _, err := os.Stat(DefaultPCIIDs); err != nil {
		t.Skipf("no %s (apt-get install pci.ids): %v", DefaultPCIIDs, err)
	}
	v, d, note := newPCINames("").names("15b3", "101d")
	if v != "Mellanox Technologies" || d != "MT2892 Family [ConnectX-6 Dx]" || note != "" {
		t.Errorf("names(15b3, 101d) = %q, %q, note %q", v, d, note)
	}
}
