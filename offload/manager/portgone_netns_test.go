//go:build linux

package manager

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/waitfor"
)

// udpPair is a UDP client in one namespace and its server in another.
type udpPair struct {
	cli, srv *net.UDPConn
	seq      int
}

func newUDPPair(t *testing.T, a, b *netns.NS, dst string) *udpPair {
	t.Helper()
	p := &udpPair{}
	if err := b.Do(func() (err error) {
		p.srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(dst), Port: 7001})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.close)
	if err := a.Do(func() (err error) {
		p.cli, err = net.DialUDP("udp4", nil, &net.UDPAddr{IP: net.ParseIP(dst), Port: 7001})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *udpPair) close() {
	if p.cli != nil {
		p.cli.Close()
	}
	p.srv.Close()
}

// send sends one datagram and reports whether the server got it within
// wait (earlier datagrams that arrive late are read and skipped).
func (p *udpPair) send(wait time.Duration) error {
	p.seq++
	msg := fmt.Sprintf("dgram %d", p.seq)
	if _, err := p.cli.Write([]byte(msg)); err != nil {
		return err
	}
	buf := make([]byte, 64)
	deadline := time.Now().Add(wait)
	for {
		_ = p.srv.SetReadDeadline(deadline)
		n, _, err := p.srv.ReadFromUDP(buf)
		if err != nil {
			return fmt.Errorf("%q did not arrive: %w", msg, err)
		}
		if string(buf[:n]) == msg {
			return nil
		}
	}
}

// waitPortStatus waits for a PORT_STATUS of reason (OFPPR_*) for port no
// named name on c, and fails with what came meanwhile.
func waitPortStatus(t *testing.T, c *ofclient.Client, reason uint8, no uint32, name string) {
	t.Helper()
	daemontest.WaitPortStatus(t, c, fmt.Sprintf("PORT_STATUS reason %d for port %d (%s)", reason, no, name),
		func(r uint8, p ofwire.Port) bool { return r == reason && p.PortNo == no && p.Name == name })
}

// TestPortGoneAndBackOverREST: a network's own port (a veth named in its
// ports) deleted under the running network sends PORT_STATUS delete to
// the controller, shows missing in the status, and its rules stay; a
// veth of its name created again comes back as the same OpenFlow port
// (PORT_STATUS add) and the rules forward again. Offload auto: in the
// host kernel every rule runs in the fast path; in the VM kernel the tc
// tier holds them, and the port's filters must be installed again on the
// new netdev (see TestPortGoneTCTierVM).
func TestPortGoneAndBackOverREST(t *testing.T) {
	if !netns.InFresh(t) {
		return
	}
	portGoneAndBack(t, "auto")
}

func portGoneAndBack(t *testing.T, policy string) {
	ctx := t.Context()
	a, b := netns.New(t, "pga"), netns.New(t, "pgb")
	netns.Veth(t, "pg1", nil, "eth0", a)
	netns.Veth(t, "pg2", nil, "eth0", b)
	a.Addr(t, "eth0", "10.77.0.1/24")
	b.Addr(t, "eth0", "10.77.0.2/24")
	d, cfg := startStateDaemon(t)
	n, err := d.c.CreateNetwork(ctx, rest.NetworkSpec{Name: "pg", Ports: []string{"pg1", "pg2"}, Offload: policy})
	if err != nil {
		t.Fatal(err)
	}
	wantTier := "soft"
	if n.Status.Offload != "off" {
		wantTier = "tc"
	}
	if policy == "tc" && wantTier != "tc" {
		t.Fatalf("offload tc asked for, and the network has no tc tier: %s", n.Status.OffloadNote)
	}
	t.Logf("offload %s (%s): rules in tier %s", n.Status.Offload, n.Status.OffloadNote, wantTier)
	c, err := ofclient.Dial(ctx, "unix:"+filepath.Join(cfg.RunDir, "pg.mgmt"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rules := []string{"priority=10,in_port=1,actions=output:2", "priority=10,in_port=2,actions=output:1"}
	for _, r := range rules {
		if err := c.AddFlow(ctx, flowtext.MustFlowMod(r)); err != nil {
			t.Fatalf("add %s: %v", r, err)
		}
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatal(err)
	}
	// Both ways: a -> b enters port 1, b -> a port 2.
	reach := func(what string) {
		t.Helper()
		for _, p := range []*udpPair{newUDPPair(t, a, b, "10.77.0.2"), newUDPPair(t, b, a, "10.77.0.1")} {
			if err := waitfor.Until(10*time.Second, func() error { return p.send(time.Second) }); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			p.close()
		}
	}
	reach("through the network")
	flows := func() map[string]rest.Flow {
		t.Helper()
		fs, err := d.c.Flows(ctx, "pg")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]rest.Flow{}
		for _, f := range fs {
			out[f.Match] = f
		}
		return out
	}
	if got := flows(); len(got) != 2 {
		t.Fatalf("flows = %v, want 2", got)
	}
	for m, f := range flows() {
		if f.Tier != wantTier {
			t.Errorf("rule %s in tier %s, want %s", m, f.Tier, wantTier)
		}
	}

	// pg2 goes (its peer in b with it).
	var caller *netns.NS
	bMAC := b.Link(t, "eth0").Attrs().HardwareAddr
	if err := netlink.LinkDel(caller.Link(t, "pg2")); err != nil {
		t.Fatal(err)
	}
	waitPortStatus(t, c, ofwire.PortDeleted, 2, "pg2")
	got, err := d.c.Network(ctx, "pg")
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for _, p := range got.Status.Ports {
		if p.Missing != "" {
			missing = append(missing, fmt.Sprintf("%d %s", p.No, p.Name))
		}
	}
	if strings.Join(missing, ",") != "2 pg2" {
		t.Errorf("missing ports = %v, want 2 pg2 (%+v)", missing, got.Status.Ports)
	}
	if names := d.portNames("pg"); strings.Join(names, ",") != "1 pg1" {
		t.Errorf("ports with pg2 gone = %v, want 1 pg1", names)
	}
	fs, err := c.FlowStats(ctx, ofclient.AllFlows())
	if err != nil || len(fs) != 2 {
		t.Fatalf("dump with pg2 gone: %d rules, %v; want both kept", len(fs), err)
	}

	// A veth of its name again: the same port, forwarding again. b's new
	// end takes the old one's MAC (a's neighbour entry stays right).
	before := flows()
	netns.Veth(t, "pg2", nil, "eth0", b)
	if err := b.Netlink().LinkSetHardwareAddr(b.Link(t, "eth0"), bMAC); err != nil {
		t.Fatal(err)
	}
	b.Addr(t, "eth0", "10.77.0.2/24")
	waitPortStatus(t, c, ofwire.PortAdded, 2, "pg2")
	if names := d.portNames("pg"); strings.Join(names, ",") != "1 pg1,2 pg2" {
		t.Errorf("ports after pg2 is back = %v, want 1 pg1, 2 pg2", names)
	}
	desc, err := c.PortDesc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var descs []string
	for _, p := range desc {
		descs = append(descs, fmt.Sprintf("%d %s", p.PortNo, p.Name))
	}
	if strings.Join(descs, ",") != "1 pg1,2 pg2" {
		t.Errorf("PORT_DESC after pg2 is back = %v, want 1 pg1, 2 pg2", descs)
	}
	reach("after pg2 is back")
	after := flows()
	for m, f := range after {
		if f.Tier != wantTier {
			t.Errorf("rule %s in tier %s after pg2 is back, want %s", m, f.Tier, wantTier)
		}
		if f.Packets <= before[m].Packets {
			t.Errorf("rule %s: %d packets after pg2 is back, %d before: it forwarded nothing", m, f.Packets, before[m].Packets)
		}
		// In the tc tier, what entered the new pg2 met the filters the
		// tier installed on it: the rule of in_port=2 counted in tc.
		if wantTier == "tc" && f.TC.Packets <= before[m].TC.Packets {
			t.Errorf("rule %s: tc counted %d packets after pg2 is back, %d before: its filters are not on the new netdevs", m, f.TC.Packets, before[m].TC.Packets)
		}
	}
}
