package mtls_test

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/mtls/mtlstest"
)

// pair runs a handshake between a server with srv and a client with cli
// over a pipe-like TCP loopback connection; it returns both ends'
// handshake errors and, on success, both connections.
func pair(t *testing.T, srv, cli *tls.Config) (server, client *tls.Conn, serr, cerr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		server = tls.Server(nc, srv)
		server.SetDeadline(time.Now().Add(5 * time.Second))
		done <- server.Handshake()
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	client = tls.Client(nc, cli)
	client.SetDeadline(time.Now().Add(5 * time.Second))
	cerr = client.Handshake()
	if cerr == nil {
		// TLS 1.3: the server's verdict on the client certificate
		// arrives with the first read.
		client.Write([]byte("x"))
		buf := make([]byte, 1)
		serr = <-done
		if serr == nil {
			io.ReadFull(server, buf)
		} else {
			_, cerr = client.Read(buf)
		}
	} else {
		serr = <-done
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client, serr, cerr
}

func TestHandshakeRefusals(t *testing.T) {
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "site CA")
	other := mtlstest.NewCA(t, "other CA")
	sw, err := mtls.Load(ca.Issue(t, dir, "switch", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	good, err := tls.LoadX509KeyPair(ca.Issue(t, dir, "ctl", false).Certificate, dir+"/ctl-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	foreign := other.Issue(t, dir, "intruder", false)
	bad, _ := tls.LoadX509KeyPair(foreign.Certificate, foreign.PrivateKey)
	exp := ca.Issue(t, dir, "old", true)
	expired, _ := tls.LoadX509KeyPair(exp.Certificate, exp.PrivateKey)

	client := func(cert *tls.Certificate) *tls.Config {
		c := &tls.Config{InsecureSkipVerify: true}
		if cert != nil {
			c.Certificates = []tls.Certificate{*cert}
		}
		return c
	}
	tests := []struct {
		name    string
		cert    *tls.Certificate
		subject string
		err     string
	}{
		{"good", &good, "", ""},
		{"other CA", &bad, "CN=intruder,O=nicflow test", "certificate signed by unknown authority"},
		{"expired", &expired, "CN=old,O=nicflow test", "expired"},
		{"none", nil, "", "didn't provide a certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, serr, cerr := pair(t, sw.ServerConfig(), client(tt.cert))
			if tt.err == "" {
				if serr != nil || cerr != nil {
					t.Fatalf("handshake: server %v, client %v", serr, cerr)
				}
				if got := mtls.PeerSubject(srv.ConnectionState()); got != "CN=ctl,O=nicflow test" {
					t.Errorf("peer subject %q", got)
				}
				return
			}
			if serr == nil || !strings.Contains(serr.Error(), tt.err) {
				t.Fatalf("server handshake error %v, want one with %q", serr, tt.err)
			}
			if cerr == nil {
				t.Errorf("client handshake succeeded")
			}
			if got := mtls.RefusedSubject(serr); got != tt.subject {
				t.Errorf("refused subject %q, want %q", got, tt.subject)
			}
		})
	}
	t.Run("old TLS", func(t *testing.T) {
		c := client(&good)
		c.MinVersion, c.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		if _, _, serr, _ := pair(t, sw.ServerConfig(), c); serr == nil || !strings.Contains(serr.Error(), "version") {
			t.Fatalf("TLS 1.1: server handshake error %v, want a version refusal", serr)
		}
	})
}

func TestClientRefusesServerOfOtherCA(t *testing.T) {
	dir := t.TempDir()
	ca, other := mtlstest.NewCA(t, "site CA"), mtlstest.NewCA(t, "other CA")
	sw, _ := mtls.Load(ca.Issue(t, dir, "switch", false), nil)
	good, _ := mtls.Load(ca.Issue(t, dir, "ctl", false), nil)
	rogue, _ := mtls.Load(other.Issue(t, dir, "rogue", false), nil)
	if _, _, serr, cerr := pair(t, good.ServerConfig(), sw.ClientConfig()); serr != nil || cerr != nil {
		t.Fatalf("good controller: server %v, client %v", serr, cerr)
	}
	_, _, _, cerr := pair(t, rogue.ServerConfig(), sw.ClientConfig())
	if cerr == nil || mtls.RefusedSubject(cerr) != "CN=rogue,O=nicflow test" {
		t.Fatalf("rogue controller: client error %v", cerr)
	}
}

// TestReload replaces the files under a running material: the next
// handshakes use the new certificate and CA, a connection made before
// keeps working, broken files keep the material in use.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := mtlstest.NewCA(t, "CA one"), mtlstest.NewCA(t, "CA two")
	files := ca1.Issue(t, dir, "switch", false)
	sw, err := mtls.Load(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctl1, _ := mtls.Load(ca1.Issue(t, dir, "ctl1", false), nil)
	ctl2, _ := mtls.Load(ca2.Issue(t, dir, "ctl2", false), nil)

	oldSrv, oldCli, serr, cerr := pair(t, sw.ServerConfig(), ctl1.ClientConfig())
	if serr != nil || cerr != nil {
		t.Fatalf("before: server %v, client %v", serr, cerr)
	}
	gen := sw.Generation()

	mtlstest.Replace(t, files, ca2.Issue(t, dir, "switch2", false))
	if err := sw.Reload(); err != nil {
		t.Fatal(err)
	}
	if sw.Generation() == gen {
		t.Fatal("generation unchanged by the reload")
	}
	if got := sw.Subject(); got != "CN=switch2,O=nicflow test" {
		t.Errorf("subject after reload %q", got)
	}
	if _, _, serr, _ := pair(t, sw.ServerConfig(), ctl1.ClientConfig()); serr == nil {
		t.Error("a peer of the old CA is still accepted")
	}
	_, cli, serr, cerr := pair(t, sw.ServerConfig(), ctl2.ClientConfig())
	if serr != nil || cerr != nil {
		t.Fatalf("peer of the new CA: server %v, client %v", serr, cerr)
	}
	if got := mtls.PeerSubject(cli.ConnectionState()); got != "CN=switch2,O=nicflow test" {
		t.Errorf("the server presents %q after the reload", got)
	}
	// The connection made before still carries data both ways.
	if _, err := oldCli.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(oldSrv, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("old channel: %q, %v", buf, err)
	}
	// ... and its peer fails a new verification: the caller decides.
	if err := sw.VerifyPeer(oldSrv.ConnectionState(), false); err == nil {
		t.Error("the old peer verifies against the new CA")
	}

	// Broken files: the material in use stays.
	gen = sw.Generation()
	if err := os.WriteFile(files.Certificate, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := sw.Reload(); err == nil {
		t.Fatal("reload of a broken certificate succeeded")
	}
	if sw.Generation() != gen || sw.Subject() != "CN=switch2,O=nicflow test" {
		t.Error("a failed reload changed the material")
	}
}

// TestPollNoticesChange: without a SIGHUP, a change of the files is
// picked up at the next handshake after PollInterval.
func TestPollNoticesChange(t *testing.T) {
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "CA")
	files := ca.Issue(t, dir, "switch", false)
	sw, _ := mtls.Load(files, nil)
	gen := sw.Generation()
	mtlstest.Replace(t, files, ca.Issue(t, dir, "renewed", false))
	deadline := time.Now().Add(3 * mtls.PollInterval)
	for sw.Generation() == gen {
		if time.Now().After(deadline) {
			t.Fatal("the change of the files was not noticed")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := sw.Subject(); got != "CN=renewed,O=nicflow test" {
		t.Errorf("subject %q", got)
	}
}

func TestCheck(t *testing.T) {
	tests := []struct {
		f   mtls.Files
		err string
	}{
		{mtls.Files{}, ""},
		{mtls.Files{PrivateKey: "/k", Certificate: "/c", CACert: "/ca"}, ""},
		{mtls.Files{PrivateKey: "/k", Certificate: "/c"}, "ca_cert: required"},
		{mtls.Files{Certificate: "/c", CACert: "/ca"}, "private_key: required"},
		{mtls.Files{PrivateKey: "/k", Certificate: "c.pem", CACert: "/ca"}, "certificate: \"c.pem\" must be an absolute path"},
	}
	for _, tt := range tests {
		err := tt.f.Check()
		if (tt.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Check(%+v) = %v, want %q", tt.f, err, tt.err)
		}
		var fe *mtls.FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("Check(%+v) error is not a FieldError", tt.f)
		}
	}
	if _, err := mtls.Load(mtls.Files{PrivateKey: "/nonexistent/k", Certificate: "/nonexistent/c", CACert: "/nonexistent/ca"}, nil); err == nil || !strings.Contains(err.Error(), "/nonexistent/c") {
		t.Errorf("Load of missing files: %v", err)
	}
}
