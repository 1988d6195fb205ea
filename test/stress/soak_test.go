package stress

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/test/daemontest"
	"github.com/nicflow/nicflow/test/waitfor"
)

// Soak sizes: the thousand of each, after a warm-up that brings
// the daemon to its steady state (buffers grown, lazily started
// goroutines running) before the baseline is taken.
const (
	soakSessions   = 1000
	soakWarmup     = 100
	soakPingRound  = 20 // echo requests per ping round
	soakRSSPercent = 10 // final RSS at most this much above the baseline
	// soakSlack is what fds and goroutines may differ from the baseline
	// by at the end: a scrape's own connection, a timer's goroutine. A
	// leak per session shows as hundreds.
	soakSlack = 3
)

// TestSoak runs a thousand OpenFlow client sessions (hello, features, a
// flow added and deleted, close; every fifth one ends abruptly: before
// its HELLO, in the middle of a message, with requests unread) and a
// thousand ovs-ofctl sessions against nicflowd in fail-mode secure while
// three hosts ping through it. Pings must follow the fail mode throughout:
// h1 and h2 reach each other by the flow table's rules, and h1's pings to
// h3, which no rule forwards, are dropped (secure: no controller, so a
// table miss drops; the sessions are service connections and must not
// change that); h3 receives nothing. At the end nicflowd's file
// descriptors and goroutines are back at their warmed-up baseline, its
// RSS within 10% of it, and its flow table as it was.
func TestSoak(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	h := newHosts(t, 3)
	port := daemontest.FreePort(t)
	ptcp := fmt.Sprintf("tcp:127.0.0.1:%d", port)
	d := startDaemon(t, "info", "--port", h[0].Port, "--port", h[1].Port, "--port", h[2].Port,
		"--fail-mode", "secure", "--offload", "off", "--listen", fmt.Sprintf("ptcp:%d:127.0.0.1", port))

	// The switch forwards by destination MAC to h1 and h2; nothing goes
	// to h3.
	daemontest.MustOfctl(t, "add-flow", d.Mgmt(), "priority=10,dl_dst="+h[0].MAC+",actions=output:1")
	daemontest.MustOfctl(t, "add-flow", d.Mgmt(), "priority=10,dl_dst="+h[1].MAC+",actions=output:2")
	flows0 := flowLines(daemontest.MustOfctl(t, "dump-flows", d.Mgmt(), "--no-stats"))
	if len(flows0) != 2 {
		t.Fatalf("dump-flows after adding two flows:\n%s", strings.Join(flows0, "\n"))
	}

	// Pings run until the sessions are done, in rounds; every round must
	// follow the fail mode.
	stopPings := make(chan struct{})
	var pingWG sync.WaitGroup
	var pingMu sync.Mutex
	var pingErrs []string
	rounds := map[string]int{}
	pinger := func(from, to *daemontest.Host, want func(sent, got int) bool, what string) {
		defer pingWG.Done()
		for {
			select {
			case <-stopPings:
				return
			default:
			}
			sent, got, err := from.Ping(to.IP, soakPingRound, "-i", "0.05", "-W", "2")
			pingMu.Lock()
			rounds[what]++
			if err != nil {
				pingErrs = append(pingErrs, err.Error())
			} else if !want(sent, got) {
				pingErrs = append(pingErrs, fmt.Sprintf("%s: round %d: %d sent, %d answered", what, rounds[what], sent, got))
			}
			pingMu.Unlock()
		}
	}
	pingWG.Add(2)
	go pinger(h[0], h[1], func(sent, got int) bool { return sent == soakPingRound && got == sent },
		"ping h1 -> h2 (forwarded by the flow table: every echo answered)")
	go pinger(h[0], h[2], func(sent, got int) bool { return got == 0 },
		"ping h1 -> h3 (no rule, fail-mode secure: every echo dropped)")
	t.Cleanup(func() {
		select {
		case <-stopPings:
		default:
			close(stopPings)
		}
		pingWG.Wait()
	})

	ctx := context.Background()
	sessions := func(t *testing.T, from, n int) {
		t.Helper()
		var wg sync.WaitGroup
		errc := make(chan error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := from; i < from+n; i++ {
				if err := goSession(ctx, ptcp, i); err != nil {
					errc <- fmt.Errorf("OpenFlow client session %d: %w", i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for i := from; i < from+n; i++ {
				target := d.Mgmt()
				if i%2 == 1 {
					target = ptcp
				}
				if err := ofctlSession(target, i); err != nil {
					errc <- fmt.Errorf("ovs-ofctl session %d: %w", i, err)
					return
				}
			}
		}()
		wg.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
	}

	start := time.Now()
	sessions(t, 0, soakWarmup)
	base := steadyUsage(t, d)
	t.Logf("baseline after %d warm-up sessions of each kind (%v): %v", soakWarmup, time.Since(start).Round(time.Millisecond), base)

	// Lookups first: a frame sent before sent0 is read but looked up
	// after lookups0 is then counted as looked up and not as sent, never
	// the other way round.
	lookups0 := table0Lookups(t, d)
	sent0 := h[0].TxPackets(t) + h[1].TxPackets(t) + h[2].TxPackets(t)
	h3rx0 := h[2].RxPackets(t)
	start = time.Now()
	sessions(t, soakWarmup, soakSessions)
	t.Logf("%d OpenFlow client sessions and %d ovs-ofctl sessions in %v", soakSessions, soakSessions, time.Since(start).Round(time.Millisecond))
	close(stopPings)
	pingWG.Wait()

	// Every frame the hosts sent must have been looked up by the switch
	// before h3's silence means anything.
	sent := h[0].TxPackets(t) + h[1].TxPackets(t) + h[2].TxPackets(t) - sent0
	if err := waitfor.Until(10*time.Second, func() error {
		if looked := table0Lookups(t, d) - lookups0; looked < sent {
			return fmt.Errorf("the switch looked up %d of the %d frames the hosts sent", looked, sent)
		}
		return nil
	}); err != nil {
		t.Errorf("%v\n%s%s", err, daemontest.MustOfctl(t, "dump-ports", d.Mgmt()), daemontest.MustOfctl(t, "dump-tables", d.Mgmt()))
	}
	pingMu.Lock()
	for what, n := range rounds {
		t.Logf("%s: %d rounds of %d", what, n, soakPingRound)
	}
	for _, e := range pingErrs {
		t.Error(e)
	}
	pingMu.Unlock()
	if got := h[2].RxPackets(t) - h3rx0; got != 0 {
		t.Errorf("h3 received %d frames during the soak, want none (no rule forwards to it)", got)
	}

	if got := flowLines(daemontest.MustOfctl(t, "dump-flows", d.Mgmt(), "--no-stats")); strings.Join(got, "\n") != strings.Join(flows0, "\n") {
		t.Errorf("flow table after the soak:\n%s\nwant as before:\n%s", strings.Join(got, "\n"), strings.Join(flows0, "\n"))
	}

	var final usage
	err := waitfor.Until(15*time.Second, func() error {
		var err error
		if final, err = d.usage(); err != nil {
			return err
		}
		if final.FDs > base.FDs+soakSlack || final.Goroutines > base.Goroutines+soakSlack {
			return fmt.Errorf("%v, baseline %v", final, base)
		}
		return nil
	})
	t.Logf("after the soak: %v (baseline %v)", final, base)
	if err != nil {
		t.Errorf("file descriptors or goroutines leaked: %v", err)
	}
	if limit := base.RSSKiB * (100 + soakRSSPercent) / 100; final.RSSKiB > limit {
		t.Errorf("RSS %d KiB after the soak, more than %d%% above the baseline %d KiB", final.RSSKiB, soakRSSPercent, base.RSSKiB)
	}
}

// steadyUsage waits until nicflowd's fds and goroutines read the same
// twice in a row (the warm-up's connections are closed on both sides) and
// returns the usage then.
func steadyUsage(t *testing.T, d *daemon) usage {
	t.Helper()
	var prev, u usage
	err := waitfor.Until(15*time.Second, func() error {
		var err error
		if u, err = d.usage(); err != nil {
			return err
		}
		same := u.FDs == prev.FDs && u.Goroutines == prev.Goroutines
		prev = u
		if !same {
			return fmt.Errorf("still changing: %v", u)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

var table0LookupRE = regexp.MustCompile(`table 0:\s+active=\d+, lookup=(\d+)`)

// table0Lookups is the lookup count of table 0 in dump-tables.
func table0Lookups(t *testing.T, d *daemon) uint64 {
	t.Helper()
	out := daemontest.MustOfctl(t, "dump-tables", d.Mgmt())
	m := table0LookupRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no lookup count of table 0 in dump-tables:\n%s", out)
	}
	n, _ := strconv.ParseUint(m[1], 10, 64)
	return n
}

// flowLines are dump-flows' flow lines, without the reply's header line.
func flowLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.Contains(l, "reply") {
			lines = append(lines, l)
		}
	}
	return lines
}

// goSession is OpenFlow client session i against target. Four in five
// are whole: the handshake, a flow added to table 1 (which no packet
// reaches) under cookie i, a barrier, the flow deleted by its cookie, and
// a close. The fifth ends abruptly, in one of five ways.
func goSession(ctx context.Context, target string, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if i%5 == 4 {
		return abruptSession(ctx, target, i/5)
	}
	c, err := ofclient.Dial(ctx, target)
	if err != nil {
		return err
	}
	defer c.Close()
	cookie := 0x50a6_0000_0000 | uint64(i)
	fm := &pipeline.FlowMod{Table: 1, Priority: 5, Cookie: cookie}
	fm.Match.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
	fm.Match.Set(pipeline.FieldIPv4Dst, binary.BigEndian.AppendUint32(nil, 0x0a630000|uint32(i)), nil)
	if err := c.AddFlow(ctx, fm); err != nil {
		return fmt.Errorf("add flow: %w", err)
	}
	del := &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: 1, Cookie: cookie, CookieMask: ^uint64(0),
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	if err := c.FlowMod(ctx, del); err != nil {
		return fmt.Errorf("delete flow: %w", err)
	}
	if i%3 == 0 {
		if _, err := c.PortStats(ctx, pipeline.PortAny); err != nil {
			return fmt.Errorf("port stats: %w", err)
		}
	}
	return nil
}

// abruptSession ends a session in one of five rude ways.
func abruptSession(ctx context.Context, target string, i int) error {
	var dl net.Dialer
	nc, err := dl.DialContext(ctx, "tcp", strings.TrimPrefix(target, "tcp:"))
	if err != nil {
		return err
	}
	defer nc.Close()
	hello := ofwire.AppendHello(nil, 1)
	features := ofwire.Marshal(of.TypeFeaturesRequest, 2)
	switch i % 5 {
	case 0: // connect and go before saying anything
		return nil
	case 1: // half a HELLO
		_, err = nc.Write(hello[:5])
	case 2: // HELLO, then half a FLOW_MOD
		fm := &pipeline.FlowMod{Table: 1, Priority: 5, BufferID: ofwire.NoBuffer, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
		msg := ofwire.Marshal(of.TypeFlowMod, 3, ofwire.AppendFlowMod(nil, fm))
		_, err = nc.Write(append(hello, msg[:len(msg)/2]...))
	case 3: // requests whose replies are never read
		b := hello
		for range 50 {
			b = append(b, ofwire.AppendMultipartRequest(nil, 4, 13 /* port desc */, 0, nil)...)
		}
		_, err = nc.Write(b)
	case 4: // a reset (RST) right after FEATURES_REQUEST
		_, err = nc.Write(append(hello, features...))
		if tc, ok := nc.(*net.TCPConn); ok && err == nil {
			err = tc.SetLinger(0)
		}
	}
	return err
}

// ofctlSessions are the ovs-ofctl commands the soak cycles through; %d is
// the session number. The added flows go to table 1 under a cookie of
// their own and are deleted by the next command.
var ofctlSessions = [][]string{
	{"dump-flows"},
	{"add-flow", "table=1,cookie=0x0fc7%d,priority=7,ip,nw_dst=10.98.0.1,actions=drop"},
	{"del-flows", "table=1,cookie=0x0fc7%d/-1"},
	{"show"},
	{"dump-ports"},
	{"dump-tables"},
	{"dump-ports-desc"},
	{"dump-groups"},
	{"dump-aggregate"},
	{"dump-table-features"},
}

// ofctlSession runs ovs-ofctl session i against target.
func ofctlSession(target string, i int) error {
	cmd := ofctlSessions[i%len(ofctlSessions)]
	args := []string{cmd[0], target}
	for _, a := range cmd[1:] {
		// A flow added by session i is deleted by session i+1.
		n := i
		if cmd[0] == "del-flows" {
			n = i - 1
		}
		args = append(args, strings.ReplaceAll(a, "%d", strconv.Itoa(n)))
	}
	if out, err := daemontest.Ofctl(args...); err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}
