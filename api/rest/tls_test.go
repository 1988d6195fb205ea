package rest_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/mtls/mtlstest"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// TestRefusedTLSHandshakeIsLogged: a client without a certificate is
// refused by the API's mutual TLS, and the refusal is in the daemon's log
// (warn, naming the listener and the client), not a stray line on stderr.
func TestRefusedTLSHandshakeIsLogged(t *testing.T) {
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "site CA")
	mat, err := mtls.Load(ca.Issue(t, dir, "nicflowd", false), nil)
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	srv, err := rest.New(rest.Config{Backend: resttest.NewFake(), Logger: zap.New(core)})
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, tls.NewListener(tcp, mat.ServerConfig())) }()
	t.Cleanup(func() { cancel(); <-done })

	c, err := tls.Dial("tcp", tcp.Addr().String(), &tls.Config{InsecureSkipVerify: true}) // offers no certificate
	if err == nil {
		// TLS 1.3: the server's refusal arrives with the first read.
		_, err = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"))
		if err == nil {
			_, err = c.Read(make([]byte, 1))
		}
		c.Close()
	}
	if err == nil {
		t.Fatal("a client without a certificate was served")
	}
	waitfor.True(t, 5*time.Second, "the refused handshake in the log", func() bool {
		for _, e := range logs.All() {
			if e.Level == zapcore.WarnLevel && strings.Contains(e.Message, "TLS handshake error") &&
				e.ContextMap()["listener"] == "tcp:"+tcp.Addr().String() {
				return true
			}
		}
		return false
	})
}
