package resttest

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
)

// Serve serves b on a unix socket in a temporary directory until the test
// ends and returns the socket's path.
func Serve(t testing.TB, b rest.Backend) string {
	t.Helper()
	dir := t.TempDir()
	if len(dir) > 90 { // sun_path holds 108 bytes
		var err error
		if dir, err = os.MkdirTemp("", "resttest"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
	}
	path := filepath.Join(dir, "nicflowd.sock")
	ln, err := rest.ListenUnix(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	ServeOn(t, b, ln)
	return path
}

// ServeOn serves b on ln (a TCP or TLS listener, say) until the test ends.
func ServeOn(t testing.TB, b rest.Backend, ln net.Listener) {
	t.Helper()
	srv, err := rest.New(rest.Config{Backend: b, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
}
