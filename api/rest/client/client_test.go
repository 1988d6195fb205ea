package client_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

func TestClientRoundTrip(t *testing.T) {
	f := resttest.NewFake()
	f.NICList = []any{map[string]any{"name": "eno1", "pci_address": "0000:00:19.0", "sriov": false}}
	c, err := client.New(client.Options{Socket: resttest.Serve(t, f)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("Health = %+v, %v", h, err)
	}
	nics, err := c.NICs(ctx)
	if err != nil || len(nics) != 1 || !strings.Contains(string(nics[0]), `"eno1"`) {
		t.Errorf("NICs = %s, %v", nics, err)
	}
	if raw, err := c.NIC(ctx, "0000:00:19.0"); err != nil || !strings.Contains(string(raw), `"eno1"`) {
		t.Errorf("NIC = %s, %v", raw, err)
	}

	spec := rest.NetworkSpec{Name: "blue", Mode: "nic", Uplink: "ens1f0", DatapathID: 7}
	n, err := c.CreateNetwork(ctx, spec)
	if err != nil {
		t.Fatalf("CreateNetwork: %v", err)
	}
	wantSpec := spec
	wantSpec.FailMode, wantSpec.Offload = "secure", "auto" // defaults filled by the server
	if diff := cmp.Diff(wantSpec, n.NetworkSpec); diff != "" {
		t.Errorf("created network (-want +got):\n%s", diff)
	}
	if _, err := c.CreateNetwork(ctx, spec); !errors.Is(err, rest.ErrConflict) {
		t.Errorf("CreateNetwork twice = %v, want a conflict", err)
	}
	spec.Offload = "tc"
	if n, err := c.UpdateNetwork(ctx, "blue", spec); err != nil || n.Offload != "tc" {
		t.Errorf("UpdateNetwork = %+v, %v", n, err)
	}
	if ns, err := c.Networks(ctx); err != nil || len(ns) != 1 {
		t.Errorf("Networks = %+v, %v", ns, err)
	}
	if n, err := c.Network(ctx, "blue"); err != nil || n.Status.DatapathID != 7 {
		t.Errorf("Network = %+v, %v", n, err)
	}

	v, created, err := c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "blue", VLAN: 10})
	if err != nil || !created || v.VF == "" {
		t.Fatalf("AttachVNIC = %+v, %v, %v", v, created, err)
	}
	if _, created, err := c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm1", Network: "blue", VLAN: 10}); err != nil || created {
		t.Errorf("AttachVNIC again = created %v, %v; want the existing vNIC", created, err)
	}
	var apiErr *client.APIError
	_, _, err = c.AttachVNIC(ctx, rest.VNICSpec{ID: "vm2", Network: "blue", VLAN: 4096})
	if !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Field != "vlan" || !errors.Is(err, rest.ErrInvalid) {
		t.Errorf("AttachVNIC vlan 4096 = %v, want a 400 naming vlan", err)
	}
	if vs, err := c.VNICs(ctx); err != nil || len(vs) != 1 {
		t.Errorf("VNICs = %+v, %v", vs, err)
	}
	if got, err := c.VNIC(ctx, "vm1"); err != nil || got.VF != v.VF {
		t.Errorf("VNIC = %+v, %v", got, err)
	}
	if err := c.DeleteNetwork(ctx, "blue"); !errors.Is(err, rest.ErrConflict) {
		t.Errorf("DeleteNetwork with a vNIC = %v, want a conflict", err)
	}
	if fl, err := c.Flows(ctx, "blue"); err != nil || fl == nil {
		t.Errorf("Flows = %v, %v; want an empty list", fl, err)
	}
	if ps, err := c.Ports(ctx, "blue"); err != nil || ps == nil {
		t.Errorf("Ports = %v, %v; want an empty list", ps, err)
	}
	if err := c.DetachVNIC(ctx, "vm1"); err != nil {
		t.Errorf("DetachVNIC: %v", err)
	}
	if err := c.DetachVNIC(ctx, "vm1"); err != nil {
		t.Errorf("DetachVNIC twice = %v, want success (idempotent)", err)
	}
	if err := c.DeleteNetwork(ctx, "blue"); err != nil {
		t.Errorf("DeleteNetwork: %v", err)
	}
	if _, err := c.Flows(ctx, "blue"); !errors.Is(err, rest.ErrNotFound) {
		t.Errorf("Flows of a deleted network = %v, want not found", err)
	}
	if m, err := c.Metrics(ctx); err != nil || !strings.Contains(m, "nicflow_build_info") {
		t.Errorf("Metrics = %q, %v", m, err)
	}
}

func TestClientOverTCP(t *testing.T) {
	srv, err := rest.New(rest.Config{Backend: resttest.NewFake()})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := rest.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := client.New(client.Options{URL: "http://" + ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	if ns, err := c.Networks(ctx); err != nil || len(ns) != 0 {
		t.Errorf("Networks over TCP = %v, %v", ns, err)
	}
}

func TestClientNotRunning(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	for _, path := range []string{filepath.Join(dir, "missing.sock"), stale} {
		c, err := client.New(client.Options{Socket: path})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Networks(context.Background())
		if !errors.Is(err, client.ErrNotRunning) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "nicflowd is not running") {
			t.Errorf("Networks with %s = %v, want an error saying nicflowd is not running at that path", path, err)
		}
	}
}

func TestClientBadURL(t *testing.T) {
	for _, u := range []string{"ftp://x", "localhost:8080", "http://"} {
		if _, err := client.New(client.Options{URL: u}); err == nil {
			t.Errorf("New(URL %q) = nil error", u)
		}
	}
}
