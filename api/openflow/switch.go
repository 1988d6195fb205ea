package openflow

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/openflow/oftarget"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
)

// Config configures a Switch.
type Config struct {
	// Datapath is the network the channels control. Required.
	Datapath Datapath
	// Targets are the controller targets (see oftarget.Parse).
	Targets []string
	// Logger gets the channel events; nil: no logging.
	Logger *zap.Logger
	// TLS is the material of the ssl: and pssl: targets (required when
	// there is one): every peer must present a certificate the CA signed.
	// Channels up when the material is reloaded stay while their peer
	// still verifies against the new CA.
	TLS *mtls.Material

	// Desc answers OFPMP_DESC; empty fields get nicflow's defaults.
	Desc ofwire.Desc
	// MaxFlowEntries is the max_entries of every table in
	// TABLE_FEATURES (default 1<<20).
	MaxFlowEntries uint32

	// InactivityProbe is Open vSwitch's inactivity_probe: a channel that
	// has received nothing for that long is sent ECHO_REQUEST, and one
	// that then receives nothing for as long again (twice the probe in
	// all) is dropped; anything received, the echo reply or any other
	// message, starts the count again. 0: DefaultInactivityProbe;
	// NoInactivityProbe disables it.
	InactivityProbe time.Duration
	// BackoffMin and BackoffMax bound the reconnect delay of active
	// targets (default 1s and 8s); the delay doubles per failure, with
	// jitter, and starts again from BackoffMin after a channel that
	// stayed up longer than BackoffMax.
	BackoffMin time.Duration
	BackoffMax time.Duration
	// PacketInRate and PacketInBurst are Open vSwitch's
	// controller_rate_limit and controller_burst_limit: each channel
	// gets at most PacketInRate packet-ins a second of table misses and
	// as many of the other reasons, each kind with a burst of
	// PacketInBurst (0: DefaultBurst, a quarter of the rate). A
	// packet-in beyond the limit is dropped and counted for the channel's
	// target (RateLimitDrops); Open vSwitch queues it instead. 0: no
	// limit.
	PacketInRate  int
	PacketInBurst int
	// ManagementTargets are targets among Targets that serve as Open
	// vSwitch's management socket (br0.mgmt) does: their channels get
	// every packet-in, whatever PacketInRate.
	ManagementTargets []string
	// PacketInQueue is how many packet-ins may wait per channel before
	// new ones are dropped (default 256).
	PacketInQueue int
	// Clock times the inactivity probe and the rate limits; nil: the
	// system's.
	Clock Clock
	// MaxReplyLen caps a multipart reply message (default 65535).
	MaxReplyLen int
	// WriteTimeout drops a channel whose peer does not read (default 30s).
	WriteTimeout time.Duration
}

func (c *Config) setDefaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.InactivityProbe == 0 {
		c.InactivityProbe = DefaultInactivityProbe
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	def(&c.BackoffMin, time.Second)
	def(&c.BackoffMax, 8*time.Second)
	def(&c.WriteTimeout, 30*time.Second)
	if c.PacketInQueue <= 0 {
		c.PacketInQueue = 256
	}
	if c.MaxReplyLen <= 0 || c.MaxReplyLen > ofwire.MaxMessageLen {
		c.MaxReplyLen = ofwire.MaxMessageLen
	}
	if c.MaxFlowEntries == 0 {
		c.MaxFlowEntries = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = zap.NewNop()
	}
	str := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	str(&c.Desc.Manufacturer, "nicflow")
	str(&c.Desc.Hardware, "nicflow host agent")
	str(&c.Desc.Software, "nicflow")
	str(&c.Desc.SerialNum, "None")
}

// DefaultInactivityProbe is Config.InactivityProbe's default, Open
// vSwitch's; NoInactivityProbe disables the probe.
const (
	DefaultInactivityProbe = 5 * time.Second
	NoInactivityProbe      = time.Duration(-1)
)

// Stats are counters of a Switch.
type Stats struct {
	Connections    int    // channels past the handshake
	PacketInDrops  uint64 // packet-ins dropped because a channel's queue was full
	RateLimitDrops uint64 // packet-ins dropped by the rate limit (PacketInRate), all targets
	AsyncDrops     uint64 // flow-removed and port-status messages dropped likewise
	MalformedInput uint64 // messages answered with an error because they were malformed
}

// Switch serves the OpenFlow channels of one datapath. Its methods are safe
// for concurrent use.
type Switch struct {
	cfg     Config
	log     *zap.Logger
	targets []oftarget.Target
	// mgmt holds the ManagementTargets (as Target.String names them).
	mgmt map[string]bool

	mu        sync.Mutex // guards the fields below
	listeners []net.Listener
	listenOn  map[net.Listener]oftarget.Target // each listener's target
	conns     map[*conn]struct{}
	genID     uint64 // last generation id of a MASTER/SLAVE role request
	genIDSet  bool

	upMu sync.Mutex // serializes SetConnected calls

	// rateDrops counts, per target (as Channel.Target names it), the
	// packet-ins the rate limit dropped on its channels.
	rateDrops map[string]*atomic.Uint64

	xid       atomic.Uint32
	pinDrops  atomic.Uint64
	asyncDrop atomic.Uint64
	malformed atomic.Uint64
}

// New checks cfg and returns a Switch; it opens no socket.
func New(cfg Config) (*Switch, error) {
	if cfg.Datapath == nil {
		return nil, errors.New("new openflow switch: no datapath")
	}
	cfg.setDefaults()
	s := &Switch{cfg: cfg, log: cfg.Logger.Named("openflow"), conns: map[*conn]struct{}{}, rateDrops: map[string]*atomic.Uint64{}}
	for _, raw := range cfg.Targets {
		t, err := oftarget.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("new openflow switch: %w", err)
		}
		if t.TLS && cfg.TLS == nil {
			return nil, fmt.Errorf("new openflow switch: target %s: %w", raw, mtls.ErrNoMaterial)
		}
		s.targets = append(s.targets, t)
	}
	s.mgmt = map[string]bool{}
	for _, raw := range cfg.ManagementTargets {
		t, err := oftarget.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("new openflow switch: %w", err)
		}
		s.mgmt[t.String()] = true
	}
	return s, nil
}

// Listen opens the sockets of the passive targets. Serve calls it when it
// has not been called; call it first to learn the addresses (Addrs) of
// listeners on port 0.
func (s *Switch) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.listeners != nil {
		return nil
	}
	var ls []net.Listener
	on := map[net.Listener]oftarget.Target{}
	for _, t := range s.targets {
		if !t.Passive {
			continue
		}
		if t.Network == "unix" {
			removeStaleSocket(t.Address)
		}
		l, err := net.Listen(t.Network, t.Address)
		if err != nil {
			for _, l := range ls {
				l.Close()
			}
			return fmt.Errorf("listen on %s: %w", t, err)
		}
		ls = append(ls, l)
		on[l] = t
	}
	s.listeners, s.listenOn = append([]net.Listener{}, ls...), on
	return nil
}

// removeStaleSocket removes a Unix socket left by an earlier run: one
// that nothing answers on. It leaves alone anything that is not a socket
// and a socket another listener serves (nicflowd's API, another network's,
// another program's): Listen then fails, and the live socket stays.
func removeStaleSocket(path string) {
	if state, err := oftarget.ProbeSocket(path); err == nil && state == oftarget.SocketStale {
		os.Remove(path)
	}
}

// Addrs returns the addresses of the open listeners.
func (s *Switch) Addrs() []net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []net.Addr
	for _, l := range s.listeners {
		out = append(out, l.Addr())
	}
	return out
}

// Stats returns the switch's counters.
func (s *Switch) Stats() Stats {
	s.mu.Lock()
	n := 0
	for c := range s.conns {
		if c.isUp() {
			n++
		}
	}
	var rate uint64
	for _, d := range s.rateDrops {
		rate += d.Load()
	}
	s.mu.Unlock()
	return Stats{Connections: n, PacketInDrops: s.pinDrops.Load(), RateLimitDrops: rate, AsyncDrops: s.asyncDrop.Load(), MalformedInput: s.malformed.Load()}
}

// RateLimitDrops returns, per target (tcp:..., ptcp:..., as
// Channel.Target names it), how many packet-ins the rate limit
// (Config.PacketInRate) dropped on its channels since the switch started;
// a target none of whose channels dropped any is absent.
func (s *Switch) RateLimitDrops() map[string]uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]uint64, len(s.rateDrops))
	for t, d := range s.rateDrops {
		if n := d.Load(); n > 0 {
			out[t] = n
		}
	}
	return out
}

// rateDropCounter returns target's counter of rate-limited packet-ins.
func (s *Switch) rateDropCounter(target string) *atomic.Uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.rateDrops[target]
	if d == nil {
		d = new(atomic.Uint64)
		s.rateDrops[target] = d
	}
	return d
}

// Channel describes one OpenFlow channel past its handshake.
type Channel struct {
	// Target is the target the channel came from (tcp:..., ptcp:...,
	// punix:...); "" for a connection handed to ServeConn.
	Target string
	Remote string
	// Controller is true for channels to active targets, the ones that
	// count for the fail mode.
	Controller bool
	// Role is equal, master or slave.
	Role string
	// PeerSubject is the subject of the peer's certificate on a TLS
	// channel (ssl:, pssl:).
	PeerSubject string
}

// Channels returns the channels past their handshake, by target.
func (s *Switch) Channels() []Channel {
	var out []Channel
	for _, c := range s.snapshotConns() {
		role := map[uint32]string{ofwire.RoleEqual: "equal", ofwire.RoleMaster: "master", ofwire.RoleSlave: "slave"}[c.getRole()]
		ch := Channel{Target: c.target, Controller: c.controller, Role: role, PeerSubject: c.peerSubject}
		if a := c.nc.RemoteAddr(); a != nil {
			ch.Remote = a.String()
		}
		out = append(out, ch)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Target != out[j].Target {
			return out[i].Target < out[j].Target
		}
		return out[i].Remote < out[j].Remote
	})
	return out
}

// Serve runs the channels until ctx is done: it accepts controllers on the
// passive targets, connects to the active ones, and forwards the
// datapath's events. It returns nil when ctx is done, or an error when a
// listener cannot be opened.
func (s *Switch) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	unsubscribe := s.cfg.Datapath.Subscribe(s.onEvent)
	defer unsubscribe()

	var wg sync.WaitGroup
	s.mu.Lock()
	listeners, on := s.listeners, s.listenOn
	s.mu.Unlock()
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.acceptLoop(ctx, l, on[l], &wg)
		}()
	}
	for _, t := range s.targets {
		if t.Passive {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.dialLoop(ctx, t)
		}()
	}
	<-ctx.Done()
	s.mu.Lock()
	for _, l := range s.listeners {
		l.Close()
	}
	s.listeners = nil
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	wg.Wait()
	return nil
}

func (s *Switch) acceptLoop(ctx context.Context, l net.Listener, target oftarget.Target, wg *sync.WaitGroup) {
	for {
		nc, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("accept controller connection", zap.Stringer(logKeyTarget, l.Addr()), zap.Error(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if target.TLS {
				if nc = s.handshake(ctx, tls.Server(nc, s.cfg.TLS.ServerConfig()), target); nc == nil {
					return
				}
			}
			s.serveConn(ctx, nc, false, target.String())
		}()
	}
}

func (s *Switch) dialLoop(ctx context.Context, t oftarget.Target) {
	backoff := newBackoff(s.cfg.BackoffMin, s.cfg.BackoffMax, rand.Int64N)
	var d net.Dialer
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, s.cfg.BackoffMax)
		nc, err := d.DialContext(dctx, t.Network, t.Address)
		cancel()
		if err == nil && t.TLS {
			nc = s.handshake(ctx, tls.Client(nc, s.cfg.TLS.ClientConfig()), t)
		}
		if err == nil && nc != nil {
			start := time.Now()
			s.log.Info("connected to controller", zap.Stringer(logKeyTarget, t))
			s.serveConn(ctx, nc, true, t.String())
			backoff.connected(time.Since(start))
		}
		sleep := backoff.wait()
		if err != nil && ctx.Err() == nil {
			s.log.Debug("connect to controller", zap.Stringer(logKeyTarget, t), zap.Duration(logKeyBackoff, sleep), zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(sleep):
		}
	}
}

// handshakeTimeout bounds a TLS handshake.
const handshakeTimeout = 10 * time.Second

// handshake runs the TLS handshake of a channel of target t; it returns
// nil, having logged who was refused and why, when it fails.
func (s *Switch) handshake(ctx context.Context, tc *tls.Conn, t oftarget.Target) net.Conn {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	err := tc.HandshakeContext(hctx)
	if err == nil {
		return tc
	}
	tc.Close()
	if ctx.Err() != nil {
		return nil
	}
	subject := mtls.RefusedSubject(err)
	if subject == "" {
		subject = "(no certificate)"
	}
	what := "TLS peer refused"
	if !t.Passive {
		what = "TLS controller refused"
	}
	s.log.Warn(what, zap.Stringer(logKeyTarget, t), zap.String(logKeyRemote, remoteName(tc)),
		zap.String(logKeySubject, subject), zap.Error(err))
	return nil
}

// ServeConn runs one OpenFlow channel on an established connection until
// the peer goes away, the channel fails or ctx is done; it closes nc.
// Events reach the channel only while Serve runs.
//
// Connections accepted on passive targets are service connections (like
// ovs-ofctl on Open vSwitch's management socket): they have the full
// protocol but do not count as controllers for the fail mode. Only channels
// to active targets (tcp:, unix:) do.
func (s *Switch) ServeConn(ctx context.Context, nc net.Conn) { s.serveConn(ctx, nc, false, "") }

func (s *Switch) serveConn(ctx context.Context, nc net.Conn, controller bool, target string) {
	c := newConn(s, nc)
	c.controller, c.target = controller, target
	if !s.mgmt[target] {
		c.pinLimit = newPinLimiter(s.cfg.PacketInRate, s.cfg.PacketInBurst, s.cfg.Clock.Now())
		c.rateDrops = s.rateDropCounter(target)
	}
	if tc, ok := nc.(*tls.Conn); ok {
		c.tls, c.peerSubject = tc, mtls.PeerSubject(tc.ConnectionState())
		c.tlsGen = s.cfg.TLS.Generation()
		c.log = c.log.With(zap.String(logKeySubject, c.peerSubject))
	}
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	c.run(ctx)
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	if c.wasUp() {
		s.updateConnected()
	}
}

// updateConnected tells the datapath how many channels are up.
func (s *Switch) updateConnected() {
	s.upMu.Lock()
	defer s.upMu.Unlock()
	s.mu.Lock()
	n := 0
	for c := range s.conns {
		if c.controller && c.isUp() {
			n++
		}
	}
	s.mu.Unlock()
	s.log.Debug("controller channels", zap.Int(logKeyConns, n))
	s.cfg.Datapath.SetConnected(n)
}

// nextXid returns an xid for a message the switch originates.
func (s *Switch) nextXid() uint32 { return s.xid.Add(1) }

// snapshotConns returns the channels past their handshake.
func (s *Switch) snapshotConns() []*conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		if c.isUp() {
			out = append(out, c)
		}
	}
	return out
}
