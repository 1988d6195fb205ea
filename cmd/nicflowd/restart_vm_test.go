package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
	"github.com/nicflow/nicflow/tcflower"
	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// execEnv makes the test binary run as nicflowd (Run with its arguments):
// TestVMHitlessRestart starts nicflowd as a process of its own, so that
// it can be killed with SIGKILL. The VM has no go tool to build one.
const execEnv = "NICFLOWD_TEST_EXEC"

func TestMain(m *testing.M) {
	if os.Getenv(execEnv) == "1" {
		if err := Run(os.Args[1:]); err != nil {
			fmt.Fprintln(os.Stderr, "nicflowd:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// proc is nicflowd running as a process of its own, its log in a file.
type proc struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error // of Wait, once done is closed
}

// startProc starts nicflowd with args, its stderr in logPath; waitAPI
// waits until it serves.
func startProc(t *testing.T, logPath string, args ...string) *proc {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), execEnv+"=1")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nicflowd: %v", err)
	}
	p := &proc{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitAPI waits until nicflowd's REST API answers on socket.
func (p *proc) waitAPI(t *testing.T, socket string) {
	t.Helper()
	c := apiClient(t, socket)
	if err := waitfor.Until(30*time.Second, func() error {
		select {
		case <-p.done:
			return fmt.Errorf("nicflowd exited: %v", p.err)
		default:
		}
		_, err := c.Health(context.Background())
		return err
	}); err != nil {
		t.Fatalf("nicflowd's API did not answer: %v\n%s", err, p.logText(t))
	}
}

func apiClient(t *testing.T, socket string) *client.Client {
	t.Helper()
	c, err := client.New(client.Options{Socket: socket})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// kill sends sig and waits until the process is gone.
func (p *proc) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal nicflowd: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		t.Fatalf("nicflowd did not end after %v", sig)
	}
}

func (p *proc) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(p.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// echoStream sends ICMP echo requests from a namespace to an address
// every interval, each with its own sequence number, and records which
// were answered.
type echoStream struct {
	conn net.PacketConn
	to   net.Addr
	id   uint16

	mu   sync.Mutex // guards the fields below
	sent []time.Time
	got  map[uint16]bool

	stop             chan struct{}
	sending, reading sync.WaitGroup
}

// startEchoes opens a raw ICMP socket in ns and starts the stream to dst.
func startEchoes(t *testing.T, ns *netns.NS, dst string, interval time.Duration) *echoStream {
	t.Helper()
	e := &echoStream{to: &net.IPAddr{IP: net.ParseIP(dst)}, id: uint16(os.Getpid()), got: map[uint16]bool{}, stop: make(chan struct{})}
	if err := ns.Do(func() error {
		var err error
		e.conn, err = net.ListenPacket("ip4:icmp", "0.0.0.0")
		return err
	}); err != nil {
		t.Fatalf("icmp socket in %s: %v", ns.Name, err)
	}
	e.sending.Add(1)
	e.reading.Add(1)
	go e.receive()
	go e.send(interval)
	t.Cleanup(func() { e.end(0) })
	return e
}

func (e *echoStream) send(interval time.Duration) {
	defer e.sending.Done()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-tick.C:
		}
		e.mu.Lock()
		seq := uint16(len(e.sent))
		e.sent = append(e.sent, time.Now())
		e.mu.Unlock()
		msg := make([]byte, 8+32)
		msg[0] = 8 // echo request
		binary.BigEndian.PutUint16(msg[4:], e.id)
		binary.BigEndian.PutUint16(msg[6:], seq)
		copy(msg[8:], "nicflow hitless restart echo....")
		binary.BigEndian.PutUint16(msg[2:], icmpChecksum(msg))
		_, _ = e.conn.WriteTo(msg, e.to) // an error is a lost echo
	}
}

func (e *echoStream) receive() {
	defer e.reading.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := e.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if n < 8 || buf[0] != 0 || binary.BigEndian.Uint16(buf[4:]) != e.id {
			continue
		}
		e.mu.Lock()
		e.got[binary.BigEndian.Uint16(buf[6:])] = true
		e.mu.Unlock()
	}
}

// answered returns how many echoes were sent so far and how many of them
// were answered.
func (e *echoStream) answered() (sent, got int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.sent), len(e.got)
}

// end stops sending, gives the last answers grace to arrive, stops
// receiving and returns the send times of the echoes never answered.
func (e *echoStream) end(grace time.Duration) (sent int, lost []time.Time) {
	select {
	case <-e.stop:
	default:
		close(e.stop)
		e.sending.Wait()
		e.mu.Lock()
		n := len(e.sent)
		e.mu.Unlock()
		_ = waitfor.Until(grace, func() error {
			if _, got := e.answered(); got < n {
				return fmt.Errorf("%d of %d answered", got, n)
			}
			return nil
		})
		e.conn.Close()
	}
	e.reading.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	for i, at := range e.sent {
		if !e.got[uint16(i)] {
			lost = append(lost, at)
		}
	}
	return len(e.sent), lost
}

func icmpChecksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// kernelFilters returns nicflow's rule filters in the blocks the ports
// are bound to (the network's shared block, or each port's own), named
// by their cookie's table and priority and sorted, the handles of those
// filters, and the number of miss filters.
func kernelFilters(t *testing.T, ports ...string) (rules []string, handles map[string][]uint32, miss int) {
	t.Helper()
	h, err := tcflower.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	seen := map[uint32]bool{}
	handles = map[string][]uint32{}
	for _, p := range ports {
		l, err := netlink.LinkByName(p)
		if err != nil {
			t.Fatal(err)
		}
		_, b, err := h.IngressBlock(l.Attrs().Index)
		if err != nil || b == 0 {
			t.Fatalf("%s is bound to no block (%v)", p, err)
		}
		if seen[b] {
			continue
		}
		seen[b] = true
		ds, err := h.Dump(b)
		if err != nil {
			t.Fatalf("dump block %d of %s: %v", b, p, err)
		}
		for _, d := range ds {
			c, ok := tcflower.ParseCookie(d.Filter.Cookie)
			switch {
			case !ok:
				t.Errorf("block %d of %s holds a filter that is not nicflow's: %s", b, p, d.Filter.String())
			case c.FlowID == 0 && d.Filter.Pref == tcflower.MissPref:
				miss++
			default:
				r := fmt.Sprintf("table %d priority %d", c.Table, c.Priority)
				rules = append(rules, r)
				handles[r] = append(handles[r], d.Installed.Handle)
			}
		}
	}
	sort.Strings(rules)
	return rules, handles, miss
}

// placedRules returns the network's rules in tier tc, as ruleFilters
// names them.
func placedRules(t *testing.T, c *client.Client, network string) []string {
	t.Helper()
	fs, err := c.Flows(context.Background(), network)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		if f.Tier != "tc" {
			t.Errorf("rule table %d priority %d %s runs in tier %s (%s), want tc", f.Table, f.Priority, f.Match, f.Tier, f.Reason)
			continue
		}
		out = append(out, fmt.Sprintf("table %d priority %d", f.Table, f.Priority))
	}
	sort.Strings(out)
	return out
}

// allocation is what the REST API says of a network's vNICs and ports,
// and the ifindex of each port's netdev.
type allocation struct {
	VNICs   []rest.VNIC
	Ports   []rest.NetworkPort
	Ifindex map[string]int
}

func allocationOf(t *testing.T, c *client.Client, network string) allocation {
	t.Helper()
	ctx := context.Background()
	vs, err := c.VNICs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Network(ctx, network)
	if err != nil {
		t.Fatal(err)
	}
	a := allocation{VNICs: vs, Ports: n.Status.Ports, Ifindex: map[string]int{}}
	for _, p := range n.Status.Ports {
		l, err := netlink.LinkByName(p.Name)
		if err != nil {
			t.Fatalf("port %s: %v", p.Name, err)
		}
		a.Ifindex[p.Name] = l.Attrs().Index
	}
	return a
}

// controller is the test's OpenFlow controller: it connects to the
// network's listener and sends rules, as a controller does on each
// (re)connect.
func controller(t *testing.T, sock string, rules []string) *ofclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var c *ofclient.Client
	if err := waitfor.Until(15*time.Second, func() error {
		var err error
		c, err = ofclient.Dial(ctx, "unix:"+sock)
		return err
	}); err != nil {
		t.Fatalf("controller: %v", err)
	}
	for _, r := range rules {
		if err := c.AddFlow(ctx, flowtext.MustFlowMod(r)); err != nil {
			t.Fatalf("controller: add %q: %v", r, err)
		}
	}
	if err := c.Barrier(ctx); err != nil {
		t.Fatalf("controller: barrier: %v", err)
	}
	return c
}

// vfNet is a network in mode nic on a simulated SmartNIC (netdevsim in
// switchdev mode, test/vm/netdevsim) with a VF vNIC, whose rules run in
// its hardware. It has no data path: the test checks the VF's allocation
// and settings and the filters the simulated hardware holds.
type vfNet struct {
	name, sock, pf, rep string
	rules               []string // re-sent after the restart
	extra               string   // not re-sent
	vfs                 []netlink.VfInfo
	hw                  []vmtest.SmartNICFilter
}

func newVFNet(t *testing.T, c *client.Client, dir string) *vfNet {
	t.Helper()
	ctx := context.Background()
	nsim := vmtest.NewNetdevsim(t, 60, 2) // an id ending in 0: sriovnet reads the PF number from its last digit
	v := &vfNet{name: "rsnic", sock: filepath.Join(dir, "rsnic.sock"), pf: nsim.PF}
	if _, err := c.CreateNetwork(ctx, rest.NetworkSpec{Name: v.name, Mode: "nic", Uplink: v.pf, Offload: "auto",
		Controllers: []string{"punix:" + v.sock}}); err != nil {
		t.Fatalf("create network %s: %v", v.name, err)
	}
	vn, _, err := c.AttachVNIC(ctx, rest.VNICSpec{ID: "vf", Network: v.name, MAC: "02:00:00:00:5e:11", VLAN: 100})
	if err != nil {
		t.Fatalf("attach a VF: %v", err)
	}
	v.rep = vn.Representor
	v.rules = []string{fmt.Sprintf("priority=100,in_port=%d,actions=output:1", vn.OFPort)}
	v.extra = fmt.Sprintf("priority=300,in_port=%d,udp,udp_dst=9999,actions=drop", vn.OFPort)
	controller(t, v.sock, append(v.rules, v.extra)).Close()
	v.vfs, v.hw = v.state(t)
	fs, err := c.Flows(ctx, v.name)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Tier != "hw" {
			t.Errorf("%s: rule priority %d in tier %s (%s), want hw", v.name, f.Priority, f.Tier, f.Reason)
		}
	}
	if len(fs) != 2 || len(v.hw) != 2 {
		t.Fatalf("%s: %d rules, %d filters in hardware on %s; want 2 and 2", v.name, len(fs), len(v.hw), v.rep)
	}
	return v
}

// state returns the PF's VFs as netlink reads them and the filters the
// representor holds in hardware.
func (v *vfNet) state(t *testing.T) ([]netlink.VfInfo, []vmtest.SmartNICFilter) {
	t.Helper()
	l, err := netlink.LinkByName(v.pf)
	if err != nil {
		t.Fatal(err)
	}
	hw, err := vmtest.SmartNICFilters(v.rep)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Vfs, hw
}

// resync is the controller connecting again and re-sending its rules.
func (v *vfNet) resync(t *testing.T) {
	t.Helper()
	controller(t, v.sock, v.rules).Close()
}

// check checks, once the reconcile has run, that the VF kept its
// settings and the hardware holds the re-sent rule's filter as it was
// (adopted, not offloaded again) and nothing else.
func (v *vfNet) check(t *testing.T) {
	t.Helper()
	if err := waitfor.Until(10*time.Second, func() error {
		if _, hw := v.state(t); len(hw) != 1 {
			return fmt.Errorf("%d filters in hardware on %s: %+v", len(hw), v.rep, hw)
		}
		return nil
	}); err != nil {
		t.Errorf("%s after the reconcile: %v; want the re-sent rule's alone", v.name, err)
	}
	vfs, hw := v.state(t)
	if diff := cmp.Diff(v.vfs, vfs); diff != "" {
		t.Errorf("%s's VFs (-before +after the restart):\n%s", v.pf, diff)
	}
	if len(hw) == 1 && !cmp.Equal(hw[0], v.hw[0]) && !cmp.Equal(hw[0], v.hw[1]) {
		t.Errorf("filter in hardware %+v after the restart, not one of before %+v: offloaded again, not adopted", hw[0], v.hw)
	}
}

// TestVMHitlessRestart: nicflowd (a process of its own) runs network rs
// with a tc tier (policy tc: the shared block; auto: a block per port)
// and two host vNICs whose netdevs are in namespaces, as a container's; a
// controller installs rules that forward both ways in tc, and one more.
// While echoes run between the namespaces every 5 ms, nicflowd is killed
// with SIGKILL, stays down, and starts again on the same state; the
// controller connects again as soon as the switch listens and re-sends
// all its rules but the extra one. No echo is lost; once the reconcile
// delay has passed the kernel holds one filter per placed rule (none of
// the rule not re-sent) and a miss filter per port; the vNICs keep their
// ports and netdevs; the log says what was adopted and removed. With
// policy auto the same nicflowd also runs a network in mode nic on a
// simulated SmartNIC with a VF vNIC: the VF keeps its allocation and
// settings, and the hardware keeps the re-sent rule's filter alone; its
// network rs is in fail mode standalone (a learning switch while no
// controller is connected, as between the kill and the re-sync).
func TestVMHitlessRestart(t *testing.T) {
	vmtest.Require(t)
	t.Run("tc", func(t *testing.T) { hitlessRestart(t, "tc", "secure", false) })
	t.Run("auto+vf standalone", func(t *testing.T) { hitlessRestart(t, "auto", "standalone", true) })
}

func hitlessRestart(t *testing.T, policy, failMode string, withVF bool) {
	const (
		name      = "rs"
		reconcile = 5 * time.Second
		down      = 2 * time.Second
		interval  = 5 * time.Millisecond
	)
	dir := t.TempDir()
	socket := filepath.Join(dir, "nicflowd.sock")
	ofSock := filepath.Join(dir, name+".sock")
	args := []string{"--run-dir", dir, "--state", filepath.Join(dir, "state.db"), "--reconcile-delay", reconcile.String()}
	first := startProc(t, filepath.Join(dir, "first.log"), args...)
	first.waitAPI(t, socket)
	c := apiClient(t, socket)
	ctx := context.Background()

	if _, err := c.CreateNetwork(ctx, rest.NetworkSpec{Name: name, Offload: policy, FailMode: failMode,
		Controllers: []string{"punix:" + ofSock}}); err != nil {
		t.Fatalf("create network: %v", err)
	}
	ends := map[string]*netns.NS{}
	ports := map[string]uint32{}
	var netdevs []string
	for i, id := range []string{"a", "b"} {
		v, _, err := c.AttachVNIC(ctx, rest.VNICSpec{ID: id, Network: name, MAC: fmt.Sprintf("02:00:00:00:5e:0%d", i+1)})
		if err != nil {
			t.Fatalf("attach %s: %v", id, err)
		}
		ports[id] = v.OFPort
		netdevs = append(netdevs, "nfh-"+id)
		// The vNIC's netdev goes into a namespace, as a container's.
		ns := netns.New(t, "rs"+id)
		l, err := netlink.LinkByName(v.Netdev)
		if err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetNsFd(l, int(ns.Handle())); err != nil {
			t.Fatalf("move %s into %s: %v", v.Netdev, ns.Name, err)
		}
		ns.LinkUp(t, v.Netdev)
		ns.Addr(t, v.Netdev, fmt.Sprintf("10.77.0.%d/24", i+1))
		ends[id] = ns
	}
	forward := []string{
		fmt.Sprintf("priority=100,in_port=%d,actions=output:%d", ports["a"], ports["b"]),
		fmt.Sprintf("priority=100,in_port=%d,actions=output:%d", ports["b"], ports["a"]),
	}
	extra := fmt.Sprintf("priority=300,in_port=%d,udp,udp_dst=9999,actions=drop", ports["a"]) // not re-sent
	ofc := controller(t, ofSock, append(forward, extra))
	var vf *vfNet
	if withVF {
		vf = newVFNet(t, c, dir)
	}
	before := allocationOf(t, c, name)
	var vnicsBefore []rest.VNIC
	if vf != nil {
		vnicsBefore = allocationOf(t, c, vf.name).VNICs
	}
	placed := placedRules(t, c, name)
	got, handles, miss := kernelFilters(t, netdevs...)
	if !cmp.Equal(placed, got) || len(placed) != 3 || miss != 2 {
		t.Fatalf("before the restart: filters %q and %d miss filters, placed rules %q; want the 3 rules, a filter each, and a miss filter per port", got, miss, placed)
	}

	echoes := startEchoes(t, ends["a"], "10.77.0.2", interval)
	waitfor.True(t, 10*time.Second, "the first echo replies", func() bool { _, got := echoes.answered(); return got >= 20 })

	first.kill(t, syscall.SIGKILL)
	ofc.Close()
	killed := time.Now()
	sentAtKill, _ := echoes.answered()
	time.Sleep(down) // traffic runs through tc while nicflowd is down

	second := startProc(t, filepath.Join(dir, "second.log"), args...)
	started := time.Now()
	// The controller connects again as soon as the switch listens (maybe
	// before nicflowd has brought the vNICs' ports back) and re-sends its
	// rules.
	ofc = controller(t, ofSock, forward)
	defer ofc.Close()
	if vf != nil {
		vf.resync(t)
	}
	resent := time.Now()
	second.waitAPI(t, socket)
	up := time.Now()
	sentAtUp, gotAtUp := echoes.answered()

	// The rule not re-sent loses its filter once the reconcile delay
	// (from the controller's first rule) has passed.
	want := placedRules(t, c, name)
	if err := waitfor.Until(reconcile+10*time.Second, func() error {
		if got, _, miss := kernelFilters(t, netdevs...); !cmp.Equal(want, got) || miss != 2 {
			return fmt.Errorf("filters %q and %d miss filters, placed rules %q", got, miss, want)
		}
		return nil
	}); err != nil {
		t.Errorf("after the reconcile: %v", err)
	}
	// The re-sent rules adopted their filters: the same handles, not
	// filters added again.
	_, handlesAfter, _ := kernelFilters(t, netdevs...)
	delete(handles, "table 0 priority 300")
	if diff := cmp.Diff(handles, handlesAfter); diff != "" {
		t.Errorf("filter handles (-before +after the restart):\n%s", diff)
	}
	reconciled := time.Now()
	time.Sleep(200 * time.Millisecond) // echoes after the reconcile too
	sent, lost := echoes.end(2 * time.Second)
	t.Logf("echoes: %d sent (every %v), %d lost; %d sent while nicflowd was down (%v from the kill until its API answered), %d answered by then",
		sent, interval, len(lost), sentAtUp-sentAtKill, up.Sub(killed).Round(time.Millisecond), gotAtUp)
	t.Logf("the controller re-sent its rules %v after the start, the API answered after %v; filters as placed %v after the start",
		resent.Sub(started).Round(time.Millisecond), up.Sub(started).Round(time.Millisecond), reconciled.Sub(started).Round(time.Millisecond))
	if len(lost) > 0 {
		var when []string
		for _, at := range lost {
			when = append(when, fmt.Sprintf("%+v", at.Sub(killed).Round(time.Millisecond)))
		}
		t.Errorf("%d of %d echoes lost; sent at (from the kill): %s", len(lost), sent, strings.Join(when, " "))
	}
	if len(want) != 2 {
		t.Errorf("placed rules after the restart: %q, want the 2 re-sent", want)
	}
	// The adopted filters count for the re-sent rules.
	fs, err := ofc.FlowStats(ctx, ofclient.AllFlows())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fs {
		if f.Packets == 0 {
			t.Errorf("re-sent rule priority %d counted no packet: its filter is not the rule's", f.Priority)
		}
	}

	after := allocationOf(t, c, name)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("allocations after the restart (-before +after):\n%s", diff)
	}
	if vf != nil {
		vf.check(t)
		if diff := cmp.Diff(vnicsBefore, allocationOf(t, c, vf.name).VNICs); diff != "" {
			t.Errorf("vNICs after the restart (-before +after):\n%s", diff)
		}
	}

	// The log says what was adopted and what was removed.
	log := second.logText(t)
	for _, want := range []string{"reconciled the filters of an earlier run", `"adopted": 2`, `"removed": 1`} {
		if !strings.Contains(log, want) {
			t.Errorf("nicflowd's log after the restart does not say %s", want)
		}
	}

	vnics, nets := []string{"a", "b"}, []string{name}
	if vf != nil {
		vnics, nets = append(vnics, "vf"), append(nets, vf.name)
	}
	for _, id := range vnics {
		if err := c.DetachVNIC(ctx, id); err != nil {
			t.Errorf("detach %s: %v", id, err)
		}
	}
	for _, n := range nets {
		if err := c.DeleteNetwork(ctx, n); err != nil {
			t.Errorf("delete %s: %v", n, err)
		}
	}
	second.kill(t, syscall.SIGTERM)
	if second.err != nil {
		t.Errorf("nicflowd after SIGTERM: %v", second.err)
	}
	if t.Failed() {
		t.Logf("first nicflowd's log:\n%s", first.logText(t))
		t.Logf("second nicflowd's log:\n%s", log)
	}
}
