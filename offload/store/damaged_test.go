package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fullStore writes a state file with enough records for several pages
// and returns its path and contents.
func fullStore(t *testing.T) (string, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		n := netA
		n.Name = fmt.Sprintf("net-%03d", i)
		n.Ports = []string{strings.Repeat("p", 40)}
		if err := s.PutNetwork(n); err != nil {
			t.Fatal(err)
		}
		v := vnic1
		v.ID, v.Network = fmt.Sprintf("vm-%03d", i), n.Name
		if err := s.PutVNIC(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, b
}

// TestDamagedFileRefused: a truncated state file, one with pages
// overwritten, or an emptied one makes Open fail (never panic) with an
// error naming the file and how to recover, and leaves the file as it
// was.
func TestDamagedFileRefused(t *testing.T) {
	const page = 4096
	for _, tt := range []struct {
		name   string
		damage func([]byte) []byte
		want   string
	}{
		{"truncated to half", func(b []byte) []byte { return b[:len(b)/2/page*page] }, "damaged"},
		{"truncated mid page", func(b []byte) []byte { return b[:len(b)/2+100] }, "damaged"},
		{"pages overwritten with zeros", func(b []byte) []byte {
			for p := 4; p < 8 && (p+1)*page <= len(b); p++ {
				copy(b[p*page:(p+1)*page], make([]byte, page))
			}
			return b
		}, "damaged"},
		{"pages overwritten with garbage", func(b []byte) []byte {
			for p := 2; (p+1)*page <= len(b); p += 3 {
				copy(b[p*page:(p+1)*page], bytes.Repeat([]byte{0x5a, 0x17, 0x00, 0xff}, page/4))
			}
			return b
		}, "damaged"},
		{"meta pages overwritten", func(b []byte) []byte { copy(b, make([]byte, 2*page)); return b }, "damaged"},
		{"emptied", func([]byte) []byte { return nil }, "is empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path, b := fullStore(t)
			bad := tt.damage(append([]byte{}, b...))
			if err := os.WriteFile(path, bad, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := func() (s *Store, err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				s, err = Open(path)
				if err != nil {
					return nil, err
				}
				// A file Open accepts must read without a panic.
				_, err = s.Networks()
				if err == nil {
					_, err = s.VNICs("")
				}
				return s, err
			}()
			if s != nil {
				s.Close()
			}
			if err == nil {
				t.Fatal("Open and reads of a damaged file succeeded")
			}
			msg := err.Error()
			for _, want := range []string{path, tt.want, "Restore it from a backup", "move it aside"} {
				if !strings.Contains(msg, want) {
					t.Errorf("err = %v\nwant it to contain %q", err, want)
				}
			}
			if strings.HasPrefix(msg, "panic") {
				t.Errorf("Open panicked: %v", err)
			}
			after, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(after, bad) {
				t.Errorf("the damaged file changed (%d bytes before, %d after, %v)", len(bad), len(after), rerr)
			}
		})
	}
}

// TestDamagedUnderUse: pages overwritten while the store is open make a
// read fail with a *DamagedError, not panic the daemon.
func TestDamagedUnderUse(t *testing.T) {
	path, b := fullStore(t)
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	for off := int64(2 * 4096); off < int64(len(b)); off += 4096 {
		if _, err := f.WriteAt(make([]byte, 4096), off); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	_, err = s.Networks()
	var de *DamagedError
	if !errors.As(err, &de) || de.Path != path {
		t.Errorf("Networks on a damaged file: err = %v, want a *DamagedError naming %s", err, path)
	}
}
