package manager

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/offload/store"
)

// daemonConfig is what a daemon runs with: its run directory (management
// and API sockets), its state store and its fixed networks.
type daemonConfig struct {
	RunDir    string
	StatePath string
	Networks  []rest.NetworkSpec
}

// daemon is a Manager on the kernel of the test's namespace
// (Config.OpenKernel), as nicflowd wires it, serving the REST API on a
// unix socket, with a client of it.
type daemon struct {
	t    *testing.T
	cfg  daemonConfig
	m    *Manager
	c    *client.Client
	stop func()
}

// startStateDaemon starts a daemon with a temporary run directory and
// state store; restart it with startDaemon(t, cfg).
func startStateDaemon(t *testing.T) (*daemon, daemonConfig) {
	t.Helper()
	dir := t.TempDir()
	cfg := daemonConfig{RunDir: dir, StatePath: filepath.Join(dir, "state.db")}
	return startDaemon(t, cfg), cfg
}

// startDaemon runs a daemon of cfg until stop (or the end of the test).
func startDaemon(t *testing.T, cfg daemonConfig) *daemon {
	t.Helper()
	for i := range cfg.Networks {
		if err := cfg.Networks[i].Validate(); err != nil {
			t.Fatal(err)
		}
	}
	st, err := store.Open(cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	log := zaptest.NewLogger(t)
	errc := make(chan error, 8)
	mcfg := Config{RunDir: cfg.RunDir, Store: st, Log: log, Errc: errc}
	release, err := mcfg.OpenKernel()
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	m, err := New(mcfg)
	if err == nil {
		err = m.Start(t.Context(), cfg.Networks...)
	}
	if err != nil {
		release()
		st.Close()
		t.Fatalf("start: %v", err)
	}
	srv, err := rest.New(rest.Config{Backend: m, Logger: log.Named("api")})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(cfg.RunDir, "api.sock")
	ln, err := rest.ListenUnix(sock, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("serve api: %v", err)
		}
	}()
	d := &daemon{t: t, cfg: cfg, m: m}
	d.stop = sync.OnceFunc(func() {
		cancel()
		wg.Wait()
		if err := m.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
		release()
		st.Close()
		select {
		case err := <-errc:
			t.Errorf("a network failed: %v", err)
		default:
		}
	})
	t.Cleanup(d.stop)
	if d.c, err = client.New(client.Options{Socket: sock}); err != nil {
		t.Fatal(err)
	}
	return d
}

// apiStatus returns the HTTP status and field of an API error.
func apiStatus(err error) (int, string) {
	var e *client.APIError
	if errors.As(err, &e) {
		return e.Status, e.Field
	}
	return 0, ""
}

// portNames lists a network's OpenFlow ports as "NO NAME" through the API.
func (d *daemon) portNames(network string) []string {
	d.t.Helper()
	ps, err := d.c.Ports(d.t.Context(), network)
	if err != nil {
		d.t.Fatalf("GET ports of %s: %v", network, err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, fmt.Sprintf("%d %s", p.No, p.Name))
	}
	return out
}

// state is what the API reports of networks and vNICs, to check that a
// refused request changed nothing.
func (d *daemon) state() ([]rest.Network, []rest.VNIC) {
	d.t.Helper()
	ctx := d.t.Context()
	nets, err := d.c.Networks(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	vs, err := d.c.VNICs(ctx)
	if err != nil {
		d.t.Fatal(err)
	}
	for i := range nets {
		nets[i].Status.Rules = rest.TierCounts{}
	}
	return nets, vs
}
