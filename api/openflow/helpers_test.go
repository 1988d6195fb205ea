package openflow

import (
	"bufio"
	"context"
	"io"
	"net"
	"testing"
	"time"

	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"
	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/test/waitfor"
)

// startSwitch runs a Switch with a ptcp listener on a free loopback port
// and returns it with its address. It stops when the test ends.
func startSwitch(t *testing.T, dp *fakeDatapath, mod func(*Config)) (*Switch, string) {
	t.Helper()
	cfg := Config{Datapath: dp, Targets: []string{"ptcp:0:127.0.0.1"}, Logger: zaptest.NewLogger(t)}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.Serve(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after cancel")
		}
	})
	// Wait until Serve has subscribed, so events reach the channels.
	waitfor.True(t, 5*time.Second, "Serve to subscribe", func() bool { return dp.subscribers() > 0 })
	for _, a := range s.Addrs() {
		if ta, ok := a.(*net.TCPAddr); ok {
			return s, ta.String()
		}
	}
	return s, ""
}

// rawConn is a hand-driven controller connection for byte-level tests.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

// dialRaw connects to addr and exchanges HELLO (OpenFlow 1.3 bitmap).
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	h, _ := rc.read()
	if h.Type != of.TypeHello || h.Version != ofwire.Version {
		t.Fatalf("first message %+v, want a 1.3 HELLO", h)
	}
	rc.send(ofwire.AppendHello(nil, 1))
	return rc
}

func (rc *rawConn) send(b []byte) {
	rc.t.Helper()
	if _, err := rc.nc.Write(b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

// read reads one message within 2 seconds.
func (rc *rawConn) read() (ofwire.Header, []byte) {
	rc.t.Helper()
	h, body, err := rc.tryRead(2 * time.Second)
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return h, body
}

func (rc *rawConn) tryRead(d time.Duration) (ofwire.Header, []byte, error) {
	rc.nc.SetReadDeadline(time.Now().Add(d))
	hdr := make([]byte, ofwire.HeaderLen)
	if _, err := io.ReadFull(rc.r, hdr); err != nil {
		return ofwire.Header{}, nil, err
	}
	h := ofwire.ParseHeader(hdr)
	body := make([]byte, int(h.Length)-ofwire.HeaderLen)
	if _, err := io.ReadFull(rc.r, body); err != nil {
		return h, nil, err
	}
	return h, body, nil
}

// readType reads the next message, skipping the switch's ECHO_REQUESTs,
// and fails unless it has type t.
func (rc *rawConn) readType(t of.Type) (ofwire.Header, []byte) {
	rc.t.Helper()
	for {
		h, body := rc.read()
		if h.Type == t {
			return h, body
		}
		if h.Type != of.TypeEchoRequest {
			rc.t.Fatalf("got message type %d (%x), want %d", h.Type, body, t)
		}
	}
}

// echo checks that the channel still answers ECHO_REQUEST.
func (rc *rawConn) echo(xid uint32) {
	rc.t.Helper()
	rc.send(ofwire.Marshal(of.TypeEchoRequest, xid, []byte("ping")))
	h, body := rc.readType(of.TypeEchoReply)
	if h.Xid != xid || string(body) != "ping" {
		rc.t.Errorf("echo reply xid %d body %q, want %d %q", h.Xid, body, xid, "ping")
	}
}

func newReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }

func ofpType(t uint16) ofp.MultipartType { return ofp.MultipartType(t) }
