// Package mtlstest makes CAs and certificates with crypto/x509 for tests
// of TLS channels, and writes them as PEM files that mtls.Files name.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/api/mtls.
package mtlstest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/mtls"
)

var serial atomic.Int64

// CA is a certificate authority for tests.
type CA struct {
	Name string
	cert *x509.Certificate
	der  []byte
	key  *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA named name.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial.Add(1)),
		Subject:               pkix.Name{CommonName: name, Organization: []string{"nicflow test"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{Name: name, cert: cert, der: der, key: key}
}

// Expired makes Issue's certificate one that expired an hour ago.
type Expired bool

// Issue makes a key and a certificate for common name cn signed by the CA,
// valid for client and server authentication,
// and writes the key, the certificate and the CA's certificate into dir
// as cn-key.pem, cn-cert.pem and cn-cacert.pem.
func (ca *CA) Issue(t testing.TB, dir, cn string, expired Expired) mtls.Files {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
	if expired {
		nb, na = time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"nicflow test"}},
		NotBefore:    nb,
		NotAfter:     na,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{cn, "localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	f := mtls.Files{
		PrivateKey:  filepath.Join(dir, cn+"-key.pem"),
		Certificate: filepath.Join(dir, cn+"-cert.pem"),
		CACert:      filepath.Join(dir, cn+"-cacert.pem"),
	}
	writePEM(t, f.PrivateKey, "PRIVATE KEY", kder)
	writePEM(t, f.Certificate, "CERTIFICATE", der)
	writePEM(t, f.CACert, "CERTIFICATE", ca.der)
	return f
}

// WriteCACert writes the CA's certificate to path.
func (ca *CA) WriteCACert(t testing.TB, path string) {
	t.Helper()
	writePEM(t, path, "CERTIFICATE", ca.der)
}

// Replace writes the material of from over the files of to, each file
// renamed into place (as configuration management tools do), and makes
// sure their modification times differ from the old ones.
func Replace(t testing.TB, to, from mtls.Files) {
	t.Helper()
	later := time.Now().Add(2 * time.Second)
	for _, p := range [][2]string{{from.PrivateKey, to.PrivateKey}, {from.Certificate, to.Certificate}, {from.CACert, to.CACert}} {
		data, err := os.ReadFile(p[0])
		if err != nil {
			t.Fatal(err)
		}
		tmp := p[1] + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(tmp, later, later); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, p[1]); err != nil {
			t.Fatal(err)
		}
	}
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}
