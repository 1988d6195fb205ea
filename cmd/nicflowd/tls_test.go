package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/mtls/mtlstest"
	"github.com/nicflow/nicflow/api/rest/resttest"
	"github.com/nicflow/nicflow/cmd/nicflowd/internal/config"
)

// TestAPIListenBeyondLoopbackNeedsTLS: nicflowd refuses at start to serve
// the REST API on a non-loopback address without mutual TLS, and says so;
// with the TLS files it accepts any address.
func TestAPIListenBeyondLoopbackNeedsTLS(t *testing.T) {
	dir := t.TempDir()
	files := mtlstest.NewCA(t, "site CA").Issue(t, dir, "host", false)
	err := Run([]string{"--api-listen", "0.0.0.0:8443", "--run-dir", dir, "--state", dir + "/state.db"})
	if err == nil || !strings.Contains(err.Error(), "beyond loopback only over mutual TLS") || !strings.Contains(err.Error(), "--private-key") {
		t.Fatalf("Run with --api-listen 0.0.0.0:8443 and no TLS: %v", err)
	}
	if _, err := os.Stat(dir + "/state.db"); err == nil {
		t.Error("the refused start opened the state store")
	}
	for _, addr := range []string{"[::]:8443", "10.1.2.3:8443", "host.example:8443"} {
		o, fs, err := config.ParseFlags([]string{"--api-listen", addr}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Config(fs); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("--api-listen %s without TLS: %v", addr, err)
		}
		o, fs, _ = config.ParseFlags([]string{"--api-listen", addr, "--private-key", files.PrivateKey,
			"--certificate", files.Certificate, "--ca-cert", files.CACert}, io.Discard)
		if _, err := o.Config(fs); err != nil {
			t.Errorf("--api-listen %s with TLS: %v", addr, err)
		}
	}
	if _, err := config.Parse([]byte("api_listen: 192.0.2.1:8443\n")); err == nil || !strings.Contains(err.Error(), "api_listen") {
		t.Errorf("api_listen beyond loopback in the file without TLS: %v", err)
	}
	yml := fmt.Sprintf("api_listen: 192.0.2.1:8443\nprivate_key: %s\ncertificate: %s\nca_cert: %s\n", files.PrivateKey, files.Certificate, files.CACert)
	if _, err := config.Parse([]byte(yml)); err != nil {
		t.Errorf("api_listen beyond loopback in the file with TLS: %v", err)
	}
}

func TestTLSConfigKeys(t *testing.T) {
	const net = "networks:\n- name: a\n  ports: [veth0]\n  listeners: [\"pssl:6653\"]\n"
	tests := []struct {
		name, yml, err string
	}{
		{"no material", net, "networks[0].listeners[0]: ssl: and pssl: targets need TLS material"},
		{"ssl controller without material", "networks:\n- name: a\n  ports: [veth0]\n  controllers: [\"ssl:10.0.0.1\"]\n", "networks[0].controllers[0]: ssl: and pssl:"},
		{"global", "private_key: /k\ncertificate: /c\nca_cert: /ca\n" + net, ""},
		{"per network", net + "  private_key: /k\n  certificate: /c\n  ca_cert: /ca\n", ""},
		{"per network partial", net + "  private_key: /k\n", "networks[0].certificate: required with the other two"},
		{"global partial", "ca_cert: /ca\n" + net, "private_key: required"},
		{"relative", "private_key: k.pem\ncertificate: /c\nca_cert: /ca\n", "private_key: \"k.pem\" must be an absolute path"},
		{"pssl as controller", "private_key: /k\ncertificate: /c\nca_cert: /ca\nnetworks:\n- name: a\n  ports: [veth0]\n  controllers: [\"pssl:6653\"]\n", "must be tcp:HOST[:PORT], ssl:HOST[:PORT] or unix:PATH"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse([]byte(tt.yml))
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("ParseConfig: %v, want %q", err, tt.err)
			}
			_ = c
		})
	}
	c, err := config.Parse([]byte(net + "  private_key: /k\n  certificate: /c\n  ca_cert: /ca\n"))
	if err != nil {
		t.Fatal(err)
	}
	specs, _ := c.Specs()
	if want := (mtls.Files{PrivateKey: "/k", Certificate: "/c", CACert: "/ca"}); specs[0].Files != want {
		t.Errorf("spec's files %+v, want %+v", specs[0].Files, want)
	}
}

// TestRESTOverMutualTLS: the API on TCP with the TLS files answers a
// client with a certificate of the CA and refuses one without.
func TestRESTOverMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "site CA")
	files := ca.Issue(t, dir, "host", false)
	client := ca.Issue(t, dir, "operator", false)
	set, err := mtls.NewSet(files, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	cfg := &config.Config{APIListen: addr, APISocket: filepath.Join(dir, "api.sock"), Files: files}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	if err := serveREST(ctx, cfg, resttest.NewFake(), set, zaptest.NewLogger(t), &wg, make(chan error, 4)); err != nil {
		t.Fatal(err)
	}
	get := func(cert *mtls.Files) error {
		tc := &tls.Config{InsecureSkipVerify: true}
		if cert != nil {
			kp, err := tls.LoadX509KeyPair(cert.Certificate, cert.PrivateKey)
			if err != nil {
				t.Fatal(err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := hc.Get("https://" + addr + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	if err := get(&client); err != nil {
		t.Fatalf("client of the CA: %v", err)
	}
	if err := get(nil); err == nil {
		t.Error("a client without a certificate was served")
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/healthz")
	if err == nil && resp.StatusCode == http.StatusOK {
		t.Error("plain HTTP was served")
	}
}
