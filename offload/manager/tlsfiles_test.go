package manager

import (
	"testing"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/rest"
)

// TestTLSFilesSurviveRestart: a network's own TLS files are part of its
// record, so a restarted nicflowd serves its ssl:/pssl: targets with them
// and not with the daemon's.
func TestTLSFilesSurviveRestart(t *testing.T) {
	d := newTestDaemon(t, newFakeLinks("eth9"), nil)
	files := mtls.Files{PrivateKey: "/etc/nicflow/h.key", Certificate: "/etc/nicflow/h.crt", CACert: "/etc/nicflow/ca.crt"}
	if _, err := d.create(rest.NetworkSpec{Name: "h", Offload: "off", Ports: []string{"eth9"}, Files: files}); err != nil {
		t.Fatal(err)
	}
	d.restart()
	n, err := d.m.Network(t.Context(), "h")
	if err != nil {
		t.Fatal(err)
	}
	if n.Files != files {
		t.Errorf("after restart the network's TLS files are %+v, want %+v", n.Files, files)
	}
}
