package manager

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/test/waitfor"
)

// frozenClock stands still: a rate limit's bucket never refills, an
// inactivity probe never fires.
type frozenClock struct{ now time.Time }

func (c frozenClock) Now() time.Time { return c.now }

func (frozenClock) NewTicker(time.Duration) (<-chan time.Time, func()) { return nil, func() {} }

// injectPorts are fakePorts whose in-memory ports the test can feed.
type injectPorts struct {
	fakePorts
	mu sync.Mutex // guards io
	io map[string]*memio.Port
}

func (p *injectPorts) OpenPort(name string, no uint32, sendOnly bool) (offload.PortInfo, softpath.PacketIO, error) {
	info, _, err := p.fakePorts.OpenPort(name, no, sendOnly)
	if err != nil {
		return info, nil, err
	}
	io := memio.New()
	p.mu.Lock()
	p.io[name] = io
	p.mu.Unlock()
	return info, io, nil
}

func (p *injectPorts) port(name string) *memio.Port {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.io[name]
}

// TestChannelSettingsReachTheSwitch: a network's inactivity_probe,
// controller_rate_limit and controller_burst_limit go from the REST API
// into its running switch: a controller flooded with table misses gets
// the burst (the frozen clock adds no tokens) and the rest are dropped,
// counted in the network's status and in /metrics; the management socket
// is not limited. A network without its own probe shows the daemon's.
func TestChannelSettingsReachTheSwitch(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	links := newFakeLinks("eth1", "eth2")
	ports := &injectPorts{fakePorts: fakePorts{links}, io: map[string]*memio.Port{}}
	m, err := New(Config{RunDir: dir, Store: st, Log: zaptest.NewLogger(t), Ports: ports, Links: links, Watch: links,
		Errc: make(chan error, 8), InactivityProbe: 30 * time.Second, Clock: frozenClock{time.Unix(1_000_000, 0)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	if err := m.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, err := rest.New(rest.Config{Backend: m, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	api, err := client.New(client.Options{URL: ts.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()

	// Through the API: the probe off, 100 packet-ins/s, the burst left to
	// its default (a quarter of the rate).
	ctl := "punix:" + filepath.Join(dir, "ctl.sock")
	off := 0
	n, err := api.CreateNetwork(ctx, rest.NetworkSpec{Name: "blue", Offload: "off", Ports: []string{"eth1"},
		Controllers: []string{ctl}, InactivityProbe: &off, ControllerRateLimit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if n.ControllerBurstLimit != 25 || n.Status.InactivityProbe != 0 {
		t.Errorf("created: controller_burst_limit %d, status.inactivity_probe %d; want 25 and 0", n.ControllerBurstLimit, n.Status.InactivityProbe)
	}
	red, err := api.CreateNetwork(ctx, rest.NetworkSpec{Name: "red", Offload: "off", Ports: []string{"eth2"}})
	if err != nil {
		t.Fatal(err)
	}
	if red.Status.InactivityProbe != 30000 {
		t.Errorf("a network without its own probe: status.inactivity_probe %d, want the daemon's 30000", red.Status.InactivityProbe)
	}

	dial := func(target string) *ofclient.Client {
		c, err := ofclient.Dial(ctx, target)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := dial(strings.TrimPrefix(ctl, "p"))
	mgmt := dial("unix:" + filepath.Join(dir, "blue.mgmt"))
	miss := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: 0, Priority: 0, BufferID: 0xffffffff,
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: pipeline.ControllerMaxLenNoBuffer}}}}
	if err := c.AddFlow(ctx, miss); err != nil {
		t.Fatal(err)
	}

	const frames = 200 // within a channel's packet-in queue (256): none is lost there
	frame := make([]byte, 60)
	copy(frame, []byte{0x02, 0, 0, 0, 0, 0xbb, 0x02, 0, 0, 0, 0, 0xaa, 0x88, 0xb5})
	for range frames {
		ports.port("eth1").Inject(frame)
	}
	// Each frame is a packet-in for both channels: the controller's gets
	// the burst and drops the rest, the management socket's gets all.
	drain := func(c *ofclient.Client, n *int) {
		for {
			select {
			case <-c.Async():
				*n++
			default:
				return
			}
		}
	}
	var got, gotMgmt int
	waitfor.True(t, 10*time.Second, "every packet-in on the management socket", func() bool {
		drain(mgmt, &gotMgmt)
		return gotMgmt == frames
	})
	waitfor.True(t, 10*time.Second, "the controller's packet-ins and drops", func() bool {
		drain(c, &got)
		n, err := api.Network(ctx, "blue")
		return err == nil && got == 25 && n.Status.Controllers[0].PacketInRateDrops == frames-25
	})
	if err := c.Barrier(ctx); err != nil { // nothing more was on its way
		t.Fatal(err)
	}
	if drain(c, &got); got != 25 {
		t.Errorf("controller got %d packet-ins, want the burst, 25", got)
	}

	text, err := api.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := `nicflow_controller_packet_in_rate_drops_total{network="blue",controller="` + ctl + `"} 175`
	if !strings.Contains(text, want+"\n") {
		t.Errorf("/metrics lacks %s:\n%s", want, text)
	}
}

// TestChannelSettingsRecorded: the settings survive the store (a restart
// brings them back), and an update names them among what changed.
func TestChannelSettingsRecorded(t *testing.T) {
	probe := 10000
	spec := rest.NetworkSpec{Name: "blue", InactivityProbe: &probe, ControllerRateLimit: 1000, ControllerBurstLimit: 50}
	back := specOfRecord(recordOf(&managedNet{spec: spec}))
	if back.InactivityProbe == nil || *back.InactivityProbe != probe || back.ControllerRateLimit != 1000 || back.ControllerBurstLimit != 50 {
		t.Errorf("from the store: inactivity_probe %v, controller_rate_limit %d, controller_burst_limit %d",
			back.InactivityProbe, back.ControllerRateLimit, back.ControllerBurstLimit)
	}
	if back := specOfRecord(recordOf(&managedNet{spec: rest.NetworkSpec{Name: "red"}})); back.InactivityProbe != nil {
		t.Errorf("a network without a probe comes back with %d", *back.InactivityProbe)
	}
	other := 0
	changed := spec
	changed.InactivityProbe, changed.ControllerRateLimit = &other, 100
	if got, want := strings.Join(changedFields(spec, changed), ", "), "inactivity_probe, controller_rate_limit"; got != want {
		t.Errorf("changed fields %q, want %q", got, want)
	}
}
