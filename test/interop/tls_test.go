package interop

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/mtls/mtlstest"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// ofctlTLS runs ovs-ofctl with the TLS files f (the CA certificate ca).
func ofctlTLS(f mtls.Files, ca string, args ...string) (string, error) {
	return daemontest.Ofctl(append([]string{"--private-key=" + f.PrivateKey, "--certificate=" + f.Certificate, "--ca-cert=" + ca}, args...)...)
}

// TestOvsOfctlOverTLS: ovs-ofctl over ssl: drives nicflowd's pssl:
// listener (flows added, dumped, forwarding pings); a client with a
// certificate of another CA, with an expired certificate or with none is
// refused and the log says who and why; plain TCP to the pssl: port gets
// no OpenFlow.
func TestOvsOfctlOverTLS(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	dir := t.TempDir()
	ca, other := mtlstest.NewCA(t, "site CA"), mtlstest.NewCA(t, "other CA")
	sw := ca.Issue(t, dir, "nicflowd", false)
	admin := ca.Issue(t, dir, "admin", false)
	intruder := other.Issue(t, dir, "intruder", false)
	old := ca.Issue(t, dir, "old", true)

	h := newHosts(t, 2)
	port := daemontest.FreePort(t)
	target := fmt.Sprintf("ssl:127.0.0.1:%d", port)
	d := startDaemon(t, "--port", h[0].Port, "--port", h[1].Port, "--fail-mode", "secure",
		"--listen", fmt.Sprintf("pssl:%d:127.0.0.1", port),
		"--private-key", sw.PrivateKey, "--certificate", sw.Certificate, "--ca-cert", sw.CACert)

	for _, flow := range []string{"in_port=1,actions=output:2", "in_port=2,actions=output:1"} {
		if out, err := ofctlTLS(admin, admin.CACert, "add-flow", target, flow); err != nil {
			t.Fatalf("add-flow over ssl: %v\n%s", err, out)
		}
	}
	out, err := ofctlTLS(admin, admin.CACert, "dump-flows", target)
	if err != nil || strings.Count(out, "actions=output:") != 2 {
		t.Fatalf("dump-flows over ssl: %v\n%s", err, out)
	}
	pingOK(t, h[0], h[1], 3)

	refused := func(subject, reason string) {
		t.Helper()
		waitfor.True(t, 10*time.Second, "nicflowd to log the refusal of "+subject, func() bool {
			for _, line := range strings.Split(d.Log(), "\n") {
				if strings.Contains(line, "TLS peer refused") && strings.Contains(line, subject) &&
					strings.Contains(line, reason) && strings.Contains(line, `"remote": "127.0.0.1:`) {
					return true
				}
			}
			return false
		})
	}
	// The intruder knows the site's CA certificate but has no
	// certificate signed by it.
	if out, err := ofctlTLS(intruder, sw.CACert, "dump-flows", target); err == nil {
		t.Errorf("a certificate of another CA was served:\n%s", out)
	}
	refused("CN=intruder,O=nicflow test", "unknown authority")
	if out, err := ofctlTLS(old, old.CACert, "dump-flows", target); err == nil {
		t.Errorf("an expired certificate was served:\n%s", out)
	}
	refused("CN=old,O=nicflow test", "expired")
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", fmt.Sprintf("127.0.0.1:%d", port),
		&tls.Config{InsecureSkipVerify: true})
	if err == nil {
		nc.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = nc.Read(make([]byte, 8)) // TLS 1.3: the refusal comes after the handshake
		nc.Close()
	}
	if err == nil {
		t.Error("a client without a certificate got data")
	}
	refused("(no certificate)", "didn't provide a certificate")

	// Plain TCP: ovs-ofctl fails, nothing OpenFlow comes back.
	if out, err := daemontest.Ofctl("dump-flows", fmt.Sprintf("tcp:127.0.0.1:%d", port)); err == nil {
		t.Errorf("plain TCP to the pssl: port was served:\n%s", out)
	}
	refused("(no certificate)", "does not look like a TLS handshake")
	raw, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte{4, 0, 0, 8, 0, 0, 0, 1}) // OpenFlow 1.3 HELLO
	raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	if n, _ := raw.Read(buf); n >= 2 && buf[0] == 4 && buf[1] == 0 {
		t.Errorf("plain TCP got an OpenFlow HELLO: %x", buf[:n])
	}
	// The channels that were refused left the rules alone.
	out = daemontest.MustOfctl(t, "dump-flows", d.Mgmt())
	if strings.Count(out, "actions=output:") != 2 {
		t.Errorf("flows after the refusals:\n%s", out)
	}
}

// TestOsKenOverTLS: nicflowd's ssl: target reaches an os-ken controller
// listening with --ctl-privkey --ctl-cert --ca-certs, which runs the
// learning switch; the network's status (REST, nicflowctl networks) shows
// the controller certificate's subject.
func TestOsKenOverTLS(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl", "osken-manager")
	if out, err := exec.Command(debianPython, "-c", "import os_ken").CombinedOutput(); err != nil {
		if daemontest.InCI() {
			t.Fatalf("%s cannot import os_ken (python3-os-ken): %v\n%s", debianPython, err, out)
		}
		t.Skipf("%s cannot import os_ken (install python3-os-ken): %v", debianPython, err)
	}
	dir := t.TempDir()
	ca := mtlstest.NewCA(t, "site CA")
	sw := ca.Issue(t, dir, "nicflowd", false)
	ctl := ca.Issue(t, dir, "os-ken", false)
	h := newHosts(t, 3)
	port := daemontest.FreePort(t)
	startOsKen(t, port, "--ctl-privkey", ctl.PrivateKey, "--ctl-cert", ctl.Certificate, "--ca-certs", ctl.CACert)
	d := startDaemon(t, "--port", h[0].Port, "--port", h[1].Port, "--port", h[2].Port,
		"--controller", fmt.Sprintf("ssl:127.0.0.1:%d", port), "--fail-mode", "secure",
		"--private-key", sw.PrivateKey, "--certificate", sw.Certificate, "--ca-cert", sw.CACert)

	learningSwitchForwards(t, d, h)

	sock := d.RunDir + "/nicflowd.sock"
	out, err := exec.Command(daemontest.Bin("nicflowctl"), "--socket", sock, "-o", "json", "networks", "get", d.Network).CombinedOutput()
	if err != nil {
		t.Fatalf("nicflowctl networks: %v\n%s", err, out)
	}
	var n rest.Network
	if err := json.Unmarshal(out, &n); err != nil {
		t.Fatalf("nicflowctl networks -o json: %v\n%s", err, out)
	}
	if len(n.Status.Controllers) == 0 || n.Status.Controllers[0].PeerSubject != "CN=os-ken,O=nicflow test" || !n.Status.Controllers[0].Connected {
		t.Errorf("controllers %+v, want ssl: connected with subject CN=os-ken,O=nicflow test", n.Status.Controllers)
	}
	out, err = exec.Command(daemontest.Bin("nicflowctl"), "--socket", sock, "networks", "get", d.Network).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "CN=os-ken,O=nicflow test") {
		t.Errorf("nicflowctl networks %s: %v\n%s", d.Network, err, out)
	}
}
