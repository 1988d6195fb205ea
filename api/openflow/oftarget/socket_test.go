package oftarget

import (
	"net"
	"os"
	"path/filepath"
	"testing"
)

func TestProbeSocket(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "live.sock")
	l, err := net.Listen("unix", live)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	stale := filepath.Join(dir, "stale.sock")
	sl, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	sl.(*net.UnixListener).SetUnlinkOnClose(false)
	sl.Close()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]SocketState{
		filepath.Join(dir, "none"): SocketAbsent,
		stale:                      SocketStale,
		live:                       SocketLive,
		file:                       NotASocket,
	} {
		if got, err := ProbeSocket(path); err != nil || got != want {
			t.Errorf("ProbeSocket(%s) = %v, %v; want %v", filepath.Base(path), got, err, want)
		}
	}
}
