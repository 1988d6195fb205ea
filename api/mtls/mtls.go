// Package mtls holds the TLS material of nicflowd's secure channels (the
// OpenFlow ssl: and pssl: targets and the REST API beyond loopback): a
// private key, its certificate and the CA that signs every peer, read from
// files and read again when they change or on Reload (SIGHUP), without
// touching connections already up.
//
// Every connection is mutually authenticated: a peer without a
// certificate that chains to the CA is refused, TLS 1.2 or newer. As in
// Open vSwitch, a peer's host name is not checked: the CA is the trust.
// The tls.Config values it returns read the current material at each
// handshake (GetConfigForClient, GetClientCertificate,
// VerifyPeerCertificate), so one listener or dialer keeps working across
// reloads.
//
// It imports no other nicflow package.
package mtls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Files names the three files of the material, as Open vSwitch's
// --private-key, --certificate and --ca-cert do.
type Files struct {
	PrivateKey  string `json:"private_key,omitempty" yaml:"private_key"`
	Certificate string `json:"certificate,omitempty" yaml:"certificate"`
	CACert      string `json:"ca_cert,omitempty" yaml:"ca_cert"`
}

// IsZero reports whether no file is named.
func (f Files) IsZero() bool { return f == Files{} }

// FieldError is a Files problem that names the field.
type FieldError struct {
	Field string // private_key, certificate or ca_cert
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Check accepts no files or all three, each an absolute path (nicflowd
// reads them again later, from wherever it runs).
func (f Files) Check() error {
	if f.IsZero() {
		return nil
	}
	for _, x := range []struct{ field, path string }{
		{"private_key", f.PrivateKey}, {"certificate", f.Certificate}, {"ca_cert", f.CACert},
	} {
		if x.path == "" {
			return &FieldError{x.field, "required with the other two of private_key, certificate and ca_cert"}
		}
		if !filepath.IsAbs(x.path) {
			return &FieldError{x.field, fmt.Sprintf("%q must be an absolute path", x.path)}
		}
	}
	return nil
}

// MinVersion is the oldest TLS version accepted.
const MinVersion = tls.VersionTLS12

// PollInterval is how often, at most, the files' modification times and
// sizes are looked at to notice a change.
const PollInterval = time.Second

// ErrNoMaterial is returned by Set.Get when neither the network nor the
// daemon names the files.
var ErrNoMaterial = errors.New("ssl: and pssl: targets need TLS material: --private-key, --certificate and --ca-cert (or private_key, certificate and ca_cert in the configuration or the network)")

// loaded is one reading of the files.
type loaded struct {
	cert tls.Certificate
	leaf *x509.Certificate
	pool *x509.CertPool
	gen  uint64
}

type stamp struct {
	mtime time.Time
	size  int64
}

// Material is the key, certificate and CA of one set of Files, read again
// when the files change. Safe for concurrent use.
type Material struct {
	files Files
	log   *zap.Logger
	now   func() time.Time

	cur atomic.Pointer[loaded]

	mu        sync.Mutex // guards the fields below
	stamps    [3]stamp
	lastCheck time.Time
}

// Load reads the files; errors name the file that is wrong.
func Load(f Files, log *zap.Logger) (*Material, error) {
	if f.IsZero() {
		return nil, ErrNoMaterial
	}
	if err := f.Check(); err != nil {
		return nil, err
	}
	if log == nil {
		log = zap.NewNop()
	}
	m := &Material{files: f, log: log, now: time.Now}
	m.stamps = m.stat()
	l, err := read(f)
	if err != nil {
		return nil, err
	}
	l.gen = 1
	m.cur.Store(l)
	m.lastCheck = m.now()
	return m, nil
}

// Files are the files the material is read from.
func (m *Material) Files() Files { return m.files }

func (m *Material) stat() [3]stamp {
	var out [3]stamp
	for i, p := range []string{m.files.PrivateKey, m.files.Certificate, m.files.CACert} {
		if fi, err := os.Stat(p); err == nil {
			out[i] = stamp{fi.ModTime(), fi.Size()}
		}
	}
	return out
}

func read(f Files) (*loaded, error) {
	cert, err := tls.LoadX509KeyPair(f.Certificate, f.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("load certificate %s with private key %s: %w", f.Certificate, f.PrivateKey, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("parse certificate %s: %w", f.Certificate, err)
	}
	cert.Leaf = leaf
	pem, err := os.ReadFile(f.CACert)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", f.CACert)
	}
	return &loaded{cert: cert, leaf: leaf, pool: pool}, nil
}

// Reload reads the files again. On an error the material in use stays
// and the error is returned (and logged).
func (m *Material) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stamps = m.stat()
	m.lastCheck = m.now()
	return m.reloadLocked("reload")
}

func (m *Material) reloadLocked(why string) error {
	l, err := read(m.files)
	if err != nil {
		m.log.Error("TLS material not reloaded, the previous one stays in use", zap.String("why", why), zap.Error(err))
		return err
	}
	l.gen = m.cur.Load().gen + 1
	m.cur.Store(l)
	m.log.Info("TLS material reloaded", zap.String("why", why), zap.String("certificate", m.files.Certificate),
		zap.String("subject", l.leaf.Subject.String()), zap.Time("not_after", l.leaf.NotAfter),
		zap.String("ca_cert", m.files.CACert))
	return nil
}

// Poll reloads the material when a file's modification time or size
// changed since the last look, at most once per PollInterval.
func (m *Material) Poll() {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if now.Sub(m.lastCheck) < PollInterval {
		return
	}
	m.lastCheck = now
	st := m.stat()
	if st == m.stamps {
		return
	}
	m.stamps = st
	m.reloadLocked("files changed")
}

// current polls and returns the material in use.
func (m *Material) current() *loaded {
	m.Poll()
	return m.cur.Load()
}

// Generation counts the readings of the material; it changes when a
// reload took new material.
func (m *Material) Generation() uint64 { return m.current().gen }

// Subject is the subject of the material's own certificate.
func (m *Material) Subject() string { return m.cur.Load().leaf.Subject.String() }

// ServerConfig is a server's configuration: every handshake uses the
// current certificate and requires a client certificate that chains to the
// current CA.
func (m *Material) ServerConfig() *tls.Config {
	return &tls.Config{
		MinVersion: MinVersion,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			l := m.current()
			return &tls.Config{
				MinVersion:   MinVersion,
				Certificates: []tls.Certificate{l.cert},
				// RequireAnyClientCert and our own verification: the
				// pool is the current one and the error says who. The
				// CA is not advertised, so that a client of another CA
				// still shows the certificate it has (for the log).
				ClientAuth:            tls.RequireAnyClientCert,
				VerifyPeerCertificate: verifier(l, x509.ExtKeyUsageClientAuth),
			}, nil
		},
	}
}

// ClientConfig is a client's configuration: the server must present a
// certificate that chains to the current CA (its name is not checked, as
// in Open vSwitch), and the current certificate is offered.
func (m *Material) ClientConfig() *tls.Config {
	l := m.current()
	return &tls.Config{
		MinVersion: MinVersion,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &l.cert, nil
		},
		InsecureSkipVerify:    true, // verified below against the CA, without the host name
		VerifyPeerCertificate: verifier(l, x509.ExtKeyUsageServerAuth),
	}
}

// VerifyError is a peer certificate the CA does not vouch for.
type VerifyError struct {
	Subject string // the peer certificate's subject
	Err     error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("peer certificate %q: %v", e.Subject, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

func verifier(l *loaded, usage x509.ExtKeyUsage) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		certs := make([]*x509.Certificate, 0, len(raw))
		for _, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return &VerifyError{Subject: "(unparsable)", Err: err}
			}
			certs = append(certs, c)
		}
		return verify(l, certs, usage)
	}
}

func verify(l *loaded, certs []*x509.Certificate, usage x509.ExtKeyUsage) error {
	if len(certs) == 0 {
		return &VerifyError{Subject: "", Err: errors.New("no certificate")}
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{Roots: l.pool, Intermediates: inter,
		KeyUsages: []x509.ExtKeyUsage{usage}})
	if err != nil {
		return &VerifyError{Subject: certs[0].Subject.String(), Err: err}
	}
	return nil
}

// VerifyPeer checks a connection's peer against the current CA again
// (after a reload, say); server tells which side the peer was.
func (m *Material) VerifyPeer(cs tls.ConnectionState, peerIsServer bool) error {
	usage := x509.ExtKeyUsageClientAuth
	if peerIsServer {
		usage = x509.ExtKeyUsageServerAuth
	}
	return verify(m.current(), cs.PeerCertificates, usage)
}

// PeerSubject is the subject of a connection's peer certificate, "" when
// it has none.
func PeerSubject(cs tls.ConnectionState) string {
	if len(cs.PeerCertificates) == 0 {
		return ""
	}
	return cs.PeerCertificates[0].Subject.String()
}

// RefusedSubject is the subject of the certificate a failed handshake
// refused, "" when the peer sent none (or the handshake failed before).
func RefusedSubject(err error) string {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Subject
	}
	return ""
}

// Set shares the Material of each set of Files among its users (the
// daemon's default and the networks' own), so that one Reload or Poll
// reaches them all.
type Set struct {
	def Files
	log *zap.Logger

	mu   sync.Mutex
	mats map[Files]*Material
}

// NewSet returns a Set whose default is def (zero: none); a default is
// read at once, so that nicflowd refuses to start with bad files.
func NewSet(def Files, log *zap.Logger) (*Set, error) {
	if log == nil {
		log = zap.NewNop()
	}
	s := &Set{def: def, log: log, mats: map[Files]*Material{}}
	if !def.IsZero() {
		if _, err := s.Get(Files{}); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Default are the default files (zero: none).
func (s *Set) Default() Files { return s.def }

// Get returns the material of f, or of the default when f is zero.
func (s *Set) Get(f Files) (*Material, error) {
	if f.IsZero() {
		f = s.def
	}
	if f.IsZero() {
		return nil, ErrNoMaterial
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if m, ok := s.mats[f]; ok {
		return m, nil
	}
	m, err := Load(f, s.log.With(zap.String("certificate", f.Certificate)))
	if err != nil {
		return nil, err
	}
	s.mats[f] = m
	return m, nil
}

func (s *Set) all() []*Material {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Material, 0, len(s.mats))
	for _, m := range s.mats {
		out = append(out, m)
	}
	return out
}

// Reload reads every material again (SIGHUP); it returns the errors
// joined (the failing materials keep their previous reading).
func (s *Set) Reload() error {
	var errs []error
	for _, m := range s.all() {
		errs = append(errs, m.Reload())
	}
	return errors.Join(errs...)
}

// Poll polls every material (see Material.Poll).
func (s *Set) Poll() {
	for _, m := range s.all() {
		m.Poll()
	}
}
