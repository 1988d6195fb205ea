package rest_test

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
)

func TestListenUnix(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run", "nicflowd.sock")
	ln, err := rest.ListenUnix(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o660 {
		t.Errorf("socket mode = %o, want 660", got)
	}
	if fi.Mode().Type() != os.ModeSocket {
		t.Errorf("%s is not a socket: %v", path, fi.Mode())
	}

	// A second listener must not steal a live socket.
	if _, err := rest.ListenUnix(path, 0); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Errorf("ListenUnix on a live socket = %v, want an error saying another process serves it", err)
	}
	ln.Close()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind after Close: %v", err)
	}

	// A stale socket (its server died without removing it) is replaced.
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	ln, err = rest.ListenUnix(path, 0o600)
	if err != nil {
		t.Fatalf("ListenUnix over a stale socket: %v", err)
	}
	defer ln.Close()
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v (%v), want 600", fi.Mode(), err)
	}

	// A regular file is never removed.
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := rest.ListenUnix(file, 0); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("ListenUnix on a regular file = %v, want an error", err)
	}
}
