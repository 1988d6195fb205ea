package manager

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
)

// serveUnix listens on a unix socket at path for the test's life.
func serveUnix(t *testing.T, path string) net.Listener {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	return l
}

// answers reports whether something accepts on the unix socket path.
func answers(path string) bool {
	c, err := net.Dial("unix", path)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// freePort is a TCP port on 127.0.0.1 that nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return port
}

// TestListenerAddresses: a network's passive targets cannot take
// nicflowd's API socket, another network's management socket or listener,
// or an address another process holds (409), nor a relative path or a
// missing directory (400); a refused create or update changes nothing,
// and a stored network that names the API socket stays down at restart
// instead of taking the API over.
func TestListenerAddresses(t *testing.T) {
	links := newFakeLinks()
	d := &testDaemon{t: t, links: links, vepa: newFakeVEPA(links)}
	dir := t.TempDir()
	d.path, d.runDir, d.apiSocket = filepath.Join(dir, "state.db"), dir, filepath.Join(dir, "nicflowd.sock")
	serveUnix(t, d.apiSocket)
	d.start()
	t.Cleanup(d.stop)

	port := freePort(t)
	if _, err := d.create(rest.NetworkSpec{Name: "a", Offload: "off", Controllers: []string{"ptcp:" + port + ":127.0.0.1"}}); err != nil {
		t.Fatalf("create a: %v", err)
	}
	amgmt := filepath.Join(dir, "a.mgmt")
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	_, otherPort, _ := net.SplitHostPort(other.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "file"), nil, 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name, target string
		kind         error
	}{
		{"api socket", "punix:" + d.apiSocket, rest.ErrConflict},
		{"other network's mgmt socket", "punix:" + amgmt, rest.ErrConflict},
		{"other network's ptcp", "ptcp:" + port, rest.ErrConflict},
		{"other network's ptcp same ip", "ptcp:" + port + ":127.0.0.1", rest.ErrConflict},
		{"another process's port", "ptcp:" + otherPort + ":127.0.0.1", rest.ErrConflict},
		{"a file", "punix:" + filepath.Join(dir, "file"), rest.ErrConflict},
		{"relative path", "punix:b.sock", rest.ErrInvalid},
		{"missing directory", "punix:" + filepath.Join(dir, "missing", "b.sock"), rest.ErrInvalid},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := d.create(rest.NetworkSpec{Name: "b", Offload: "off", Controllers: []string{"ptcp:0", tt.target}})
			wantAPIError(t, "create", err, tt.kind, "controllers[1]")
			_, err = d.update(rest.NetworkSpec{Name: "a", Offload: "off", Controllers: []string{tt.target}})
			if tt.target != "ptcp:"+port+":127.0.0.1" && tt.target != "ptcp:"+port && tt.target != "punix:"+amgmt {
				wantAPIError(t, "update", err, tt.kind, "controllers[0]")
			}
		})
	}
	if got := len(d.networks()); got != 1 {
		t.Errorf("%d networks after refused creates, want 1", got)
	}
	if _, err := os.Lstat(filepath.Join(dir, "b.mgmt")); err == nil {
		t.Error("a refused create left b.mgmt")
	}
	if !answers(d.apiSocket) || !answers(amgmt) {
		t.Errorf("api socket answers %v, a.mgmt %v; want both", answers(d.apiSocket), answers(amgmt))
	}
	// a keeps its own listener through an update.
	if _, err := d.update(rest.NetworkSpec{Name: "a", Offload: "off", FailMode: "standalone",
		Controllers: []string{"ptcp:" + port + ":127.0.0.1"}}); err != nil {
		t.Fatalf("update a keeping its listener: %v", err)
	}
	// A network named after a socket another network listens on.
	if _, err := d.create(rest.NetworkSpec{Name: "c", Offload: "off", Controllers: []string{"punix:" + filepath.Join(dir, "d.mgmt")}}); err != nil {
		t.Fatal(err)
	}
	_, err = d.create(rest.NetworkSpec{Name: "d", Offload: "off"})
	wantAPIError(t, "create d", err, rest.ErrConflict, "name")

	// A record written by an older nicflowd that let the API socket in.
	if err := d.st.PutNetwork(store.Network{Name: "bad", Mode: "host", FailMode: "secure", Offload: "off",
		Controllers: []string{"punix:" + d.apiSocket}}); err != nil {
		t.Fatal(err)
	}
	d.restart()
	n, err := d.m.Network(t.Context(), "bad")
	if err != nil || n.Status.Running || n.Status.Error == "" {
		t.Errorf("stored network on the API socket: running %v error %q (%v), want not running with an error", n.Status.Running, n.Status.Error, err)
	}
	if !answers(d.apiSocket) {
		t.Error("the API socket no longer answers after restart")
	}
	if _, err := os.Lstat(filepath.Join(dir, "a.mgmt")); err != nil {
		t.Errorf("a.mgmt after restart: %v", err)
	}
}
