package offload

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
)

// Config configures one network.
type Config struct {
	Name     string
	DPID     uint64
	FailMode FailMode
	Logger   *zap.Logger
	// Now returns the current time; nil means time.Now. Tests inject a clock.
	Now func() time.Time
	// Offload is the offload policy (default auto).
	Offload Policy
	// TC turns on the tc tier; nil: every rule runs in the fast path.
	TC *TCConfig
	// TCUnavailable says why there is no tc tier when the policy asks for
	// one (e.g. the kernel has no cls_flower); it is every rule's reason.
	TCUnavailable string
	// PortCounters reads a port's counters from its netdev. With a tc
	// tier, port statistics come from it (the fast path sees only what tc
	// did not handle); false: not available, use the fast path's.
	PortCounters func(PortInfo) (PortStat, bool)
	// NoFastPath, when set, says why the fast path sees none of the
	// ports' frames (a hairpin network's uplink: its frames must go on to
	// the vNICs stacked on it). The tc tier then installs no miss filters,
	// so frames no filter takes go on to the host stack, and every rule
	// left in the fast path is reported as not enforced, with this reason.
	// The caller opens the ports send-only.
	NoFastPath string
	// SetAdminUp sets a port's netdev administratively up or down, for
	// OFPPC_PORT_DOWN (PortMod); nil: there is no netdev (in-memory
	// ports), only the fast path stops using the port.
	SetAdminUp func(p PortInfo, up bool) error
}

// Network is one virtual network: one OpenFlow datapath. Safe for
// concurrent use.
type Network struct {
	cfg Config
	log *zap.Logger
	dp  *softpath.Datapath

	mu         sync.Mutex // guards the fields below
	pipe       *pipeline.Pipeline
	tc         *tcTier // nil: no tc tier
	syncKick   chan struct{}
	ports      map[uint32]*port
	connected  int
	swcfg      SwitchConfig
	subs       map[int]func(Event)
	nextSub    int
	expiryKick chan struct{}
	// rulesSent is closed when a controller's first rule is taken: the
	// earlier run's filters are reconciled ReconcileDelay after it.
	rulesSent chan struct{}
	rulesOnce sync.Once
}

type port struct {
	info  PortInfo
	added time.Time
}

// New returns a network with no ports. Call Run to start its fast path and
// timers.
func New(cfg Config) *Network {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	if cfg.FailMode == "" {
		cfg.FailMode = FailSecure
	}
	if cfg.Offload == "" {
		cfg.Offload = PolicyAuto
	}
	n := &Network{
		cfg:        cfg,
		log:        cfg.Logger.Named("offload").With(zap.String(logKeyNetwork, cfg.Name)),
		pipe:       pipeline.New(),
		ports:      make(map[uint32]*port),
		subs:       make(map[int]func(Event)),
		expiryKick: make(chan struct{}, 1),
		syncKick:   make(chan struct{}, 1),
		rulesSent:  make(chan struct{}),
	}
	if cfg.TC != nil && cfg.Offload != PolicyOff {
		tc := *cfg.TC
		if cfg.NoFastPath != "" {
			tc.MissDev = ""
		}
		n.tc = newTCTier(tc, cfg.Offload, n.log)
	}
	n.dp = softpath.New(softpath.Config{Now: cfg.Now, Upcall: n.upcall})
	n.dp.Install(n.pipe.Snapshot())
	n.applyFailMode()
	return n
}

const (
	logKeyNetwork = "network"
	logKeyPort    = "port"
)

// Name returns the network's name.
func (n *Network) Name() string { return n.cfg.Name }

// DPID returns the datapath id.
func (n *Network) DPID() uint64 { return n.cfg.DPID }

// Datapath returns the soft tier (for tests and benchmarks).
func (n *Network) Datapath() *softpath.Datapath { return n.dp }

// Run runs the fast path and the flow expiry timer until ctx is done.
func (n *Network) Run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- n.dp.Run(ctx) }()
	n.mu.Lock()
	tc := n.tc
	n.mu.Unlock()
	if tc != nil {
		go n.syncLoop(ctx, tc.cfg.ReconcileDelay)
	}
	n.expireLoop(ctx)
	err := <-errc
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("network %s fast path: %w", n.cfg.Name, err)
	}
	return nil
}

// AddPort adds a port with OpenFlow number info.No, its packets read and
// written through io, and announces it with a PORT_STATUS.
func (n *Network) AddPort(info PortInfo, io softpath.PacketIO) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.ports[info.No]; ok {
		return fmt.Errorf("add port %s: port number %d is taken", info.Name, info.No)
	}
	if n.tc != nil {
		if err := n.tc.addPort(info); err != nil {
			return fmt.Errorf("add port %s to the tc tier: %w", info.Name, err)
		}
		n.kickSync()
	}
	if err := n.dp.AddPort(info.No, info.Name, io); err != nil {
		if n.tc != nil {
			_ = n.tc.removePort(info, n.cfg.Now()) // undo; the fast path's error is the one to report
		}
		return fmt.Errorf("add port %s: %w", info.Name, err)
	}
	n.dp.SetPortLive(info.No, info.Live())
	n.dp.SetPortConfig(info.No, softpath.PortConfig{NoRecv: info.NoRecv, NoFwd: info.NoFwd, NoPacketIn: info.NoPacketIn})
	n.ports[info.No] = &port{info: info, added: n.cfg.Now()}
	n.emit(&PortStatus{Reason: PortAdded, Port: info})
	n.log.Info("port added", zap.String(logKeyPort, info.Name), zap.Uint32("ofport", info.No))
	return nil
}

// RemovePort removes a port and announces it.
func (n *Network) RemovePort(no uint32) error {
	return n.removePort(no, false)
}

// PortGone removes a port whose netdev was deleted and announces it
// (PORT_STATUS delete). Its rules stay in the pipeline, naming its number;
// their tc filters went with the device, so what the tc tier fails to
// remove from it is expected and only logged at debug. AddPort with the
// same number brings the port back and the tc tier installs its filters
// again.
func (n *Network) PortGone(no uint32) error {
	return n.removePort(no, true)
}

func (n *Network) removePort(no uint32, gone bool) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.ports[no]
	if !ok {
		return fmt.Errorf("remove port %d: no such port", no)
	}
	if n.tc != nil {
		if err := n.tc.removePort(p.info, n.cfg.Now()); err != nil {
			lvl := n.log.Error
			if gone {
				lvl = n.log.Debug // the device took its filters and bindings along
			}
			lvl("remove port from the tc tier", zap.String(logKeyPort, p.info.Name), zap.Bool("netdev_gone", gone), zap.Error(err))
		}
		n.syncTC() // its rules leave tc now, before the device goes
	}
	if err := n.dp.RemovePort(no); err != nil {
		return fmt.Errorf("remove port %s: %w", p.info.Name, err)
	}
	delete(n.ports, no)
	n.emit(&PortStatus{Reason: PortDeleted, Port: p.info})
	return nil
}

// SetLink records a port's carrier state, as the link watcher sees it, and
// announces a change.
func (n *Network) SetLink(no uint32, up bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.ports[no]
	if !ok || p.info.Up == up {
		return
	}
	p.info.Up = up
	n.dp.SetPortLive(no, p.info.Live())
	n.emit(&PortStatus{Reason: PortModified, Port: p.info})
}

// PortByName returns the port of a netdev.
func (n *Network) PortByName(name string) (PortInfo, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.ports {
		if p.info.Name == name {
			return p.info, true
		}
	}
	return PortInfo{}, false
}

// Ports returns the ports ordered by number.
func (n *Network) Ports() []PortInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	ports := n.sortedPorts()
	out := make([]PortInfo, len(ports))
	for i, p := range ports {
		out[i] = p.info
	}
	return out
}

// SetConnected records how many controller channels are up and applies the
// fail mode: with none, a standalone network learns and floods on a miss.
func (n *Network) SetConnected(count int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if (n.connected == 0) != (count == 0) {
		n.log.Info("controller connectivity changed", zap.Int("channels", count), zap.String("fail_mode", string(n.cfg.FailMode)))
	}
	n.connected = count
	n.applyFailMode()
}

// applyFailMode sets the miss policy. Callers hold mu (or own n exclusively).
func (n *Network) applyFailMode() {
	if n.connected == 0 && n.cfg.FailMode == FailStandalone {
		n.dp.SetMissPolicy(softpath.MissNormal)
		return
	}
	n.dp.SetMissPolicy(softpath.MissDrop)
}

// Subscribe registers fn for asynchronous events; fn must not block. The
// returned function cancels the subscription.
func (n *Network) Subscribe(fn func(Event)) (cancel func()) {
	n.mu.Lock()
	defer n.mu.Unlock()
	id := n.nextSub
	n.nextSub++
	n.subs[id] = fn
	return func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		delete(n.subs, id)
	}
}

// emit delivers an event to every subscriber. Callers hold mu.
func (n *Network) emit(e Event) {
	for _, fn := range n.subs {
		fn(e)
	}
}

// upcall is the fast path's PACKET_IN hook; it runs on a fast-path
// goroutine, so it takes mu only to read the subscriber list.
func (n *Network) upcall(pi softpath.PacketIn) {
	ev := &PacketIn{
		Reason:   pi.Reason,
		Table:    pi.Table,
		Cookie:   pi.Cookie,
		InPort:   pi.InPort,
		Metadata: pi.Metadata,
		TunnelID: pi.TunnelID,
		Data:     pi.Data,
		TotalLen: pi.TotalLen,
	}
	n.mu.Lock()
	subs := make([]func(Event), 0, len(n.subs))
	for _, fn := range n.subs {
		subs = append(subs, fn)
	}
	n.mu.Unlock()
	for _, fn := range subs {
		fn(ev)
	}
}

// Teardown takes the network's tc tier out of the kernel for good: every
// port leaves the block, which takes every filter along, and the tier
// does nothing more (rules then run in the fast path, which is going away
// too). It is for a network being deleted: a network stopped to restart
// keeps its filters, forwarding, for the next run to adopt.
func (n *Network) Teardown() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.tc == nil {
		return nil
	}
	err := n.tc.teardown()
	n.tc = nil
	n.cfg.TCUnavailable = "the network was deleted"
	return err
}

// Close removes every port, closing its packet I/O. Use it for a network
// that never ran; Run closes the ports itself when its context ends.
func (n *Network) Close() {
	n.mu.Lock()
	nos := make([]uint32, 0, len(n.ports))
	for no := range n.ports {
		nos = append(nos, no)
	}
	n.mu.Unlock()
	for _, no := range nos {
		_ = n.RemovePort(no) // already closed by Run: nothing to report
	}
}
