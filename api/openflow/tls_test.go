package openflow

import (
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
	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/test/waitfor"
)

// tlsLab is a switch's material and peers' materials of the same CA and
// of another one.
type tlsLab struct {
	dir              string
	ca, other        *mtlstest.CA
	switchFiles      mtls.Files
	sw               *mtls.Material
	ctl              *mtls.Material // signed by ca
	foreign, expired *mtls.Material
}

func newTLSLab(t *testing.T) *tlsLab {
	t.Helper()
	l := &tlsLab{dir: t.TempDir(), ca: mtlstest.NewCA(t, "site CA"), other: mtlstest.NewCA(t, "other CA")}
	load := func(f mtls.Files) *mtls.Material {
		m, err := mtls.Load(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	l.switchFiles = l.ca.Issue(t, l.dir, "switch", false)
	l.sw = load(l.switchFiles)
	l.ctl = load(l.ca.Issue(t, l.dir, "ctl", false))
	l.foreign = load(l.other.Issue(t, l.dir, "intruder", false))
	// Load does not judge its own certificate's dates: the peer does.
	l.expired = load(l.ca.Issue(t, l.dir, "old", true))
	return l
}

// dialTLS connects to a pssl: listener with the material's certificate
// (nil: none), whatever the switch presents, and does the OpenFlow
// handshake.
func dialTLS(t *testing.T, addr string, m *mtls.Material) (*ofclient.Client, error) {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true}
	if m != nil {
		cert, err := tls.LoadX509KeyPair(m.Files().Certificate, m.Files().PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c, err := ofclient.NewClient(ctxT(t), nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func observed(t *testing.T) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// TestPsslMutualTLS: a pssl: listener serves peers whose certificate the
// CA signed, shows their subject, and refuses (logging remote address,
// subject and reason) a certificate of another CA, an expired one, none,
// and plain TCP, which gets no OpenFlow.
func TestPsslMutualTLS(t *testing.T) {
	lab := newTLSLab(t)
	log, logs := observed(t)
	dp := newFakeDatapath()
	s, addr := startSwitch(t, dp, func(c *Config) {
		c.Targets = []string{"pssl:0:127.0.0.1"}
		c.TLS = lab.sw
		c.Logger = log
	})
	c, err := dialTLS(t, addr, lab.ctl)
	if err != nil {
		t.Fatalf("controller of the site CA: %v", err)
	}
	if err := c.Barrier(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	chs := s.Channels()
	if len(chs) != 1 || chs[0].PeerSubject != "CN=ctl,O=nicflow test" || chs[0].Target != "pssl:0:127.0.0.1" {
		t.Errorf("channels %+v, want one from pssl:0:127.0.0.1 with subject CN=ctl,O=nicflow test", chs)
	}

	for _, tt := range []struct {
		name    string
		m       *mtls.Material
		subject string
		err     string
	}{
		{"other CA", lab.foreign, "CN=intruder,O=nicflow test", "unknown authority"},
		{"expired", lab.expired, "CN=old,O=nicflow test", "expired"},
		{"none", nil, "(no certificate)", "didn't provide a certificate"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logs.TakeAll()
			if c, err := dialTLS(t, addr, tt.m); err == nil {
				c.Close()
				t.Fatal("handshake succeeded")
			}
			waitfor.True(t, 5*time.Second, "the refusal in the log", func() bool { return logs.FilterMessage("TLS peer refused").Len() > 0 })
			e := logs.FilterMessage("TLS peer refused").All()[0]
			f := e.ContextMap()
			if f[logKeySubject] != tt.subject || !strings.Contains(f["error"].(string), tt.err) || !strings.HasPrefix(f[logKeyRemote].(string), "127.0.0.1:") {
				t.Errorf("log %v, want subject %q, an error with %q and the remote address", f, tt.subject, tt.err)
			}
		})
	}
	if n := len(s.Channels()); n != 1 {
		t.Errorf("%d channels after the refusals, want 1", n)
	}

	t.Run("plain TCP", func(t *testing.T) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		nc.Write(ofwire.AppendHello(nil, 1))
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, _ := nc.Read(buf)
		if n >= 2 && buf[0] == ofwire.Version && buf[1] == 0 {
			t.Fatalf("plain TCP got an OpenFlow HELLO: %x", buf[:n])
		}
		waitfor.True(t, 5*time.Second, "the refusal in the log", func() bool {
			for _, e := range logs.FilterMessage("TLS peer refused").All() {
				if strings.Contains(e.ContextMap()["error"].(string), "TLS handshake") {
					return true
				}
			}
			return false
		})
	})
}

// TestSslTarget: the switch dials an ssl: controller, verifies it against
// the CA, shows its subject, and refuses a controller of another CA.
func TestSslTarget(t *testing.T) {
	lab := newTLSLab(t)
	for _, tt := range []struct {
		name string
		ctl  *mtls.Material
		ok   bool
	}{{"site CA", lab.ctl, true}, {"other CA", lab.foreign, false}} {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			log, logs := observed(t)
			s, _ := startSwitch(t, newFakeDatapath(), func(c *Config) {
				c.Targets = []string{"ssl:" + raw.Addr().String()}
				c.TLS = lab.sw
				c.Logger = log
				c.BackoffMin, c.BackoffMax = 20*time.Millisecond, 100*time.Millisecond
			})
			raw.(*net.TCPListener).SetDeadline(time.Now().Add(5 * time.Second))
			nc, err := raw.Accept()
			if err != nil {
				t.Fatal(err)
			}
			tc := tls.Server(nc, tt.ctl.ServerConfig())
			defer tc.Close()
			c, err := ofclient.NewClient(ctxT(t), tc)
			if !tt.ok {
				if err == nil {
					c.Close()
					t.Fatal("the switch took a controller of another CA")
				}
				waitfor.True(t, 5*time.Second, "the refusal in the log", func() bool {
					r := logs.FilterMessage("TLS controller refused").All()
					return len(r) > 0 && r[0].ContextMap()[logKeySubject] == "CN=intruder,O=nicflow test"
				})
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			defer c.Close()
			if got := mtls.PeerSubject(tc.ConnectionState()); got != "CN=switch,O=nicflow test" {
				t.Errorf("the switch presents %q", got)
			}
			waitfor.True(t, 5*time.Second, "the channel", func() bool { return len(s.Channels()) == 1 })
			if ch := s.Channels()[0]; ch.PeerSubject != "CN=ctl,O=nicflow test" || !ch.Controller {
				t.Errorf("channel %+v", ch)
			}
		})
	}
}

// TestTLSReload: replacing the files (SIGHUP's Reload) makes new
// handshakes use the new material; a channel whose peer still verifies
// stays up, one whose CA was replaced is dropped with a log line.
func TestTLSReload(t *testing.T) {
	lab := newTLSLab(t)
	log, logs := observed(t)
	s, addr := startSwitch(t, newFakeDatapath(), func(c *Config) {
		c.Targets = []string{"pssl:0:127.0.0.1"}
		c.TLS = lab.sw
		c.Logger = log
	})
	old, err := dialTLS(t, addr, lab.ctl)
	if err != nil {
		t.Fatal(err)
	}

	// Renewal: a new switch certificate from the same CA.
	mtlstest.Replace(t, lab.switchFiles, lab.ca.Issue(t, lab.dir, "switch-renewed", false))
	if err := lab.sw.Reload(); err != nil {
		t.Fatal(err)
	}
	cfg := lab.ctl.ClientConfig()
	nc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := mtls.PeerSubject(nc.ConnectionState()); got != "CN=switch-renewed,O=nicflow test" {
		t.Errorf("after the renewal the switch presents %q", got)
	}
	nc.Close()
	waitfor.True(t, 5*time.Second, "the renewal checked on the channel", func() bool {
		return logs.FilterMessage("TLS peer still verifies after the material was reloaded").Len() > 0
	})
	if err := old.Echo(ctxT(t), []byte("still")); err != nil {
		t.Fatalf("the channel made before the renewal: %v", err)
	}

	// A new CA: the old channel's peer no longer verifies.
	mtlstest.Replace(t, lab.switchFiles, lab.other.Issue(t, lab.dir, "switch-ca2", false))
	if err := lab.sw.Reload(); err != nil {
		t.Fatal(err)
	}
	waitfor.True(t, 5*time.Second, "the old channel dropped", func() bool { return len(s.Channels()) == 0 })
	if logs.FilterMessage("TLS peer no longer verifies after the material was reloaded, dropping channel").Len() != 1 {
		t.Error("no log line for the dropped channel")
	}
	if _, err := dialTLS(t, addr, lab.ctl); err == nil {
		t.Error("a peer of the old CA is accepted after the new CA")
	}
	if _, err := dialTLS(t, addr, lab.foreign); err != nil {
		t.Errorf("a peer of the new CA: %v", err)
	}
}

func TestNewRefusesSslWithoutMaterial(t *testing.T) {
	for _, target := range []string{"ssl:127.0.0.1:6653", "pssl:0"} {
		_, err := New(Config{Datapath: newFakeDatapath(), Targets: []string{target}})
		if err == nil || !strings.Contains(err.Error(), "--private-key") {
			t.Errorf("New with %s and no material: %v", target, err)
		}
	}
}
