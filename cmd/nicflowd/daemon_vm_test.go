package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/cmd/nicflowd/internal/config"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The manager's behaviour is tested in offload/manager; this file runs
// the daemon as a user does, in the VM (a machine of its own, where it may
// sweep every netdev): flags or a file make its configuration, serve
// wires the manager to the kernel and the store and serves the API.

// daemon is nicflowd's serve running in the test, with a client of its
// REST API over the unix socket.
type daemon struct {
	c    *client.Client
	stop func()
}

// startDaemon runs serve(cfg) until stop (or the end of the test) and
// waits until its API answers.
func startDaemon(t *testing.T, cfg *config.Config) *daemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var serveErr error
	done := make(chan struct{})
	go func() { serveErr = serve(ctx, cfg, zaptest.NewLogger(t)); close(done) }()
	d := &daemon{stop: sync.OnceFunc(func() {
		cancel()
		<-done
		if serveErr != nil {
			t.Errorf("nicflowd: %v", serveErr)
		}
	})}
	t.Cleanup(d.stop)
	c, err := client.New(client.Options{Socket: cfg.APISocketPath()})
	if err != nil {
		t.Fatal(err)
	}
	d.c = c
	if err := waitfor.Until(15*time.Second, func() error {
		select {
		case <-done:
			t.Fatalf("nicflowd stopped before it served: %v", serveErr)
		default:
		}
		_, err := c.Health(ctx)
		return err
	}); err != nil {
		t.Fatalf("nicflowd API did not answer: %v", err)
	}
	return d
}

// veth creates a <-> b, both up, deleted when the test ends.
func veth(t *testing.T, a, b string) {
	t.Helper()
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a}, PeerName: b}); err != nil {
		t.Fatalf("add veth %s/%s: %v", a, b, err)
	}
	t.Cleanup(func() {
		if l, err := netlink.LinkByName(a); err == nil {
			_ = netlink.LinkDel(l)
		}
	})
	for _, name := range []string{a, b} {
		l, err := netlink.LinkByName(name)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("set %s up: %v", name, err)
		}
	}
}

// TestVMDaemon: flags give network nf0 on veth dvp1 with a tc tier; the
// API shows it (origin config, which it cannot delete), creates network
// blue on dvp2 and attaches a vNIC to it; a restart on the same state
// brings both back, the vNIC on its port; detach and delete leave blue's
// netdevs as they were.
func TestVMDaemon(t *testing.T) {
	vmtest.Require(t)
	veth(t, "dvp1", "dvh1")
	veth(t, "dvp2", "dvh2")
	dir := t.TempDir()
	o, fs, err := config.ParseFlags([]string{"--port", "dvp1", "--listen", "punix:" + filepath.Join(dir, "nf0.sock"), "--offload", "tc",
		"--run-dir", dir, "--state", filepath.Join(dir, "state", "state.db")}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := o.Config(fs)
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg)
	ctx := t.Context()

	n, err := d.c.Network(ctx, "nf0")
	if err != nil || !n.Status.Running || n.Status.Origin != rest.OriginConfig || n.Status.Offload != "tc" ||
		len(n.Status.Ports) != 1 || n.Status.Ports[0].Name != "dvp1" {
		t.Fatalf("nf0 = %+v, %v; want running from the configuration with a tc tier, port dvp1", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nf0.sock")); err != nil {
		t.Errorf("nf0's listener: %v", err)
	}
	var apiErr *client.APIError
	if err := d.c.DeleteNetwork(ctx, "nf0"); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict || apiErr.Field != "name" {
		t.Errorf("DELETE nf0 = %v, want 409 naming name", err)
	}
	if _, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"dvp2"}}); err != nil {
		t.Fatalf("create blue: %v", err)
	}
	v, _, err := d.c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "blue", MAC: "02:00:00:00:0d:01"})
	if err != nil || v.OFPort != 2 || v.Netdev != "nfv-vm1" {
		t.Fatalf("attach vm1 = %+v, %v; want nfv-vm1 on port 2", v, err)
	}
	nets1, err := d.c.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}

	d.stop()
	d = startDaemon(t, cfg)
	nets2, err := d.c.Networks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(nets1, nets2); diff != "" {
		t.Errorf("networks after restart (-before +after):\n%s", diff)
	}
	if v, err := d.c.VNIC(ctx, "vm1"); err != nil || v.OFPort != 2 {
		t.Errorf("vm1 after restart = %+v, %v; want port 2", v, err)
	}
	if err := d.c.DetachVNIC(ctx, "vm1"); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName("nfv-vm1"); err == nil {
		t.Error("nfv-vm1 left after detach")
	}
	if err := d.c.DeleteNetwork(ctx, "blue"); err != nil {
		t.Fatalf("delete blue: %v", err)
	}
}
