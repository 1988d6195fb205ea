package main

import (
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/mtls/mtlstest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestHTTPSWithClientCertificate: nicflowd's API beyond loopback speaks
// only mutual TLS; nicflowctl reaches it over an https --url with
// --private-key, --certificate and --ca-cert, and is refused without
// them or with a certificate of another CA.
func TestHTTPSWithClientCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "site CA")
	srvFiles := ca.Issue(t, dir, "nicflowd", false)
	cliFiles := ca.Issue(t, dir, "operator", false)
	strangerFiles := mtlstest.NewCA(t, "other CA").Issue(t, dir, "stranger", false)
	// The stranger trusts the site's CA but its certificate is the other's.
	strangerTrusting := mtls.Files{PrivateKey: strangerFiles.PrivateKey, Certificate: strangerFiles.Certificate, CACert: cliFiles.CACert}
	mat, err := mtls.Load(srvFiles, nil)
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resttest.ServeOn(t, fixture(), tls.NewListener(tcp, mat.ServerConfig()))
	url := "https://" + tcp.Addr().String()
	tlsArgs := func(f mtls.Files) []string {
		return []string{"--private-key", f.PrivateKey, "--certificate", f.Certificate, "--ca-cert", f.CACert}
	}

	var out bytes.Buffer
	args := append([]string{"--url", url, "tables", "blue"}, tlsArgs(cliFiles)...)
	if err := Run(args, &out, &out); err != nil {
		t.Fatalf("Run(%q): %v", args, err)
	}
	if want := "TABLE  FLOWS  LOOKUPS  MATCHED\n0      3      1019     1019\n3      1      7        0\n"; out.String() != want {
		t.Errorf("tables over https:\n%s\nwant\n%s", out.String(), want)
	}

	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		// Without TLS files https uses the system's roots, which do not
		// know the site's CA (or the address).
		{"no TLS files", []string{"--url", url, "tables", "blue"}, "x509"},
		{"a server of another CA", append([]string{"--url", url, "tables", "blue"}, tlsArgs(strangerFiles)...), "unknown authority"},
		{"a certificate of another CA", append([]string{"--url", url, "tables", "blue"}, tlsArgs(strangerTrusting)...), "tls"},
		{"TLS files with http", append([]string{"--url", "http://" + tcp.Addr().String(), "tables", "blue"}, tlsArgs(cliFiles)...), "need an https:// URL"},
		{"TLS files with the socket", append([]string{"tables", "blue"}, tlsArgs(cliFiles)...), "not the unix socket"},
		{"two of three files", []string{"--url", url, "--private-key", cliFiles.PrivateKey, "--certificate", cliFiles.Certificate, "tables"}, "--ca-cert: required"},
	} {
		out.Reset()
		err := Run(tt.args, &out, &out)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Run = %v, want an error containing %q", tt.name, err, tt.want)
		}
		if strings.Contains(out.String(), "TABLE") {
			t.Errorf("%s: printed tables:\n%s", tt.name, out.String())
		}
	}
}
