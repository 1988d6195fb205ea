package openflow

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// conn is one OpenFlow channel. The read loop handles requests in order
// and writes replies itself; asynchronous messages go through a bounded
// queue drained by a writer goroutine, so a slow controller never blocks
// the datapath. Writes are serialized by wmu. A barrier reply goes out
// after the queue is drained (see drain).
type conn struct {
	s   *Switch
	nc  net.Conn
	log *zap.Logger
	// controller is set for channels to active targets; passive
	// (service) connections don't count for the fail mode.
	controller bool
	// target is the target the channel belongs to (tcp:..., ptcp:...);
	// "" for a connection handed to ServeConn.
	target string
	// tls is nc on a TLS channel; peerSubject is its peer certificate's
	// subject and tlsGen the generation of the material it was
	// verified with (see recheckPeer).
	tls         *tls.Conn
	peerSubject string
	tlsGen      uint64

	wmu sync.Mutex // serializes writes to nc
	dmu sync.Mutex // one drain of the queue at a time, so it leaves in order

	qmu        sync.Mutex // guards the fields below
	queue      []queued
	queuedPins int
	wake       chan struct{}

	pinMu    sync.Mutex  // guards pinLimit
	pinLimit *pinLimiter // nil: no packet-in rate limit
	// rateDrops counts the packet-ins the rate limit dropped, for the
	// channel's target (shared with its other channels).
	rateDrops *atomic.Uint64

	closeOnce sync.Once
	done      chan struct{}
	lastRecv  atomic.Int64 // unix ns (of the Clock) of the last message received
	busy      atomic.Bool  // a request is being handled (the datapath may be slow)
	up        atomic.Bool  // handshake done and not closed
	everUp    atomic.Bool

	bundles bundleSet // the channel's open bundles; the read loop's alone (bundle.go)

	stmu        sync.Mutex // guards the channel state below
	role        uint32
	async       ofwire.AsyncConfig
	missSendLen uint16
}

type queued struct {
	msg []byte
	pin bool
}

// maxQueued bounds the asynchronous queue of one channel: packet-ins are
// bounded by Config.PacketInQueue, everything together by this.
const maxQueued = 4096

// defaultMissSendLen is OFP_DEFAULT_MISS_SEND_LEN.
const defaultMissSendLen = 128

func newConn(s *Switch, nc net.Conn) *conn {
	c := &conn{
		s:           s,
		nc:          nc,
		log:         s.log.With(zap.String(logKeyRemote, remoteName(nc))),
		wake:        make(chan struct{}, 1),
		done:        make(chan struct{}),
		role:        ofwire.RoleEqual,
		async:       ofwire.DefaultAsyncConfig(),
		missSendLen: defaultMissSendLen,
	}
	c.received()
	return c
}

// received notes that a message came in (or that the datapath finished
// handling one): the inactivity probe counts from here.
func (c *conn) received() { c.lastRecv.Store(c.s.cfg.Clock.Now().UnixNano()) }

// admitPacketIn reports whether the channel's rate limit lets a
// packet-in of reason go at time now; it counts the ones it drops.
func (c *conn) admitPacketIn(reason uint8, now time.Time) bool {
	if c.pinLimit == nil {
		return true
	}
	c.pinMu.Lock()
	ok := c.pinLimit.admit(reason, now)
	c.pinMu.Unlock()
	if !ok {
		c.rateDrops.Add(1)
	}
	return ok
}

func remoteName(nc net.Conn) string {
	if a := nc.RemoteAddr(); a != nil && a.String() != "" {
		return a.String()
	}
	return "local"
}

func (c *conn) isUp() bool  { return c.up.Load() }
func (c *conn) wasUp() bool { return c.everUp.Load() }

func (c *conn) close() {
	c.closeOnce.Do(func() {
		c.up.Store(false)
		close(c.done)
		c.nc.Close()
	})
}

// errWrite marks a failed write: the channel is closed and nothing more
// can be sent on it.
var errWrite = errors.New("write to controller")

// errBadFraming is returned by readMessage when the length field cannot be
// trusted; the channel must close after answering.
var errBadFraming = errors.New("bad message length")

// readMessage reads one whole message. With errBadFraming it returns the
// header it read.
func readMessage(r *bufio.Reader) ([]byte, error) {
	hdr := make([]byte, ofwire.HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, err
	}
	n := int(hdr[2])<<8 | int(hdr[3])
	if n < ofwire.HeaderLen {
		return hdr, errBadFraming
	}
	msg := make([]byte, n)
	copy(msg, hdr)
	if _, err := io.ReadFull(r, msg[ofwire.HeaderLen:]); err != nil {
		return nil, fmt.Errorf("read message body: %w", err)
	}
	return msg, nil
}

func (c *conn) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer c.close()
	go func() {
		select {
		case <-ctx.Done():
			c.close()
		case <-c.done:
		}
	}()
	go c.writeLoop()
	go c.keepalive()

	if err := c.send(ofwire.AppendHello(nil, c.s.nextXid())); err != nil {
		return
	}
	r := bufio.NewReaderSize(c.nc, 64<<10)
	if !c.handshake(r) {
		return
	}
	c.everUp.Store(true)
	c.up.Store(true)
	c.logChannel("channel up")
	c.s.updateConnected()
	for {
		msg, err := readMessage(r)
		if err != nil {
			c.readFailed(msg, err)
			return
		}
		// busy is set before and cleared after lastRecv is, so a channel
		// seen not busy has lastRecv of its last message handled.
		c.busy.Store(true)
		c.received()
		if isFlowMod(msg) {
			c.handleFlowMods(ctx, readFlowModBatch(r, msg))
		} else {
			c.handle(ctx, msg)
		}
		// Time spent in the datapath is not the controller's silence.
		c.received()
		c.busy.Store(false)
	}
}

// readFailed answers a framing error and logs why the channel ends.
func (c *conn) readFailed(hdr []byte, err error) {
	select {
	case <-c.done:
		c.log.Info("controller channel closed")
		return
	default:
	}
	if errors.Is(err, errBadFraming) {
		c.s.malformed.Add(1)
		h := ofwire.ParseHeader(hdr)
		c.log.Warn("message length below 8, closing channel", zap.Uint32(logKeyXid, h.Xid))
		c.send(ofwire.AppendError(nil, h.Xid, pipeline.ErrBadRequest, ofwire.BadRequestBadLen, hdr))
		c.lingerClose()
		return
	}
	if errors.Is(err, io.EOF) {
		c.logChannel("peer closed the channel")
		return
	}
	c.log.Info("controller channel failed", zap.Error(err))
}

// send writes one message (or several, back to back) now.
func (c *conn) send(msgs ...[]byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout))
	for _, m := range msgs {
		if _, err := c.nc.Write(m); err != nil {
			c.close()
			return fmt.Errorf("%w: %w", errWrite, err)
		}
	}
	return nil
}

// sendError answers the message offending with an OFPT_ERROR.
func (c *conn) sendError(offending []byte, e *pipeline.Error) {
	xid := ofwire.ParseHeader(offending).Xid
	c.log.Debug("answering with error", zap.Uint32(logKeyXid, xid),
		zap.String(logKeyOFError, ofwire.ErrorName(e.Type, e.Code)), zap.String(logKeyReason, e.Msg))
	c.send(ofwire.AppendError(nil, xid, e.Type, e.Code, offending))
}

// enqueue queues an asynchronous message without blocking; it reports
// whether the message was queued.
func (c *conn) enqueue(msg []byte, pin bool) bool {
	c.qmu.Lock()
	if pin && c.queuedPins >= c.s.cfg.PacketInQueue || len(c.queue) >= maxQueued {
		c.qmu.Unlock()
		if pin {
			c.s.pinDrops.Add(1)
		} else {
			c.s.asyncDrop.Add(1)
		}
		return false
	}
	c.queue = append(c.queue, queued{msg: msg, pin: pin})
	if pin {
		c.queuedPins++
	}
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *conn) writeLoop() {
	for {
		select {
		case <-c.done:
			return
		case <-c.wake:
		}
		if err := c.drain(); err != nil {
			return
		}
	}
}

// drain writes the queued asynchronous messages, oldest first, until the
// queue is empty. The writer goroutine calls it when woken; the read loop
// calls it before a barrier reply, so the controller gets every message
// queued before the barrier ahead of the reply (OpenFlow 1.3.5 section
// 6.2: everything before a barrier is fully processed first).
func (c *conn) drain() error {
	c.dmu.Lock()
	defer c.dmu.Unlock()
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			c.qmu.Unlock()
			return nil
		}
		q := c.queue[0]
		c.queue[0] = queued{}
		c.queue = c.queue[1:]
		if q.pin {
			c.queuedPins--
		}
		c.qmu.Unlock()
		if err := c.send(q.msg); err != nil {
			return err
		}
	}
}

// keepalive runs the inactivity probe, as Open vSwitch's rconn does: a
// channel that has received nothing for Config.InactivityProbe is sent
// ECHO_REQUEST, and dropped when it then receives nothing for as long
// again. While a request is in the datapath the channel is not idle (its
// reply, and the next read, wait for the datapath). It also checks TLS
// peers again after the material was reloaded. It checks every fifth of
// the probe, at least every second.
func (c *conn) keepalive() {
	probe := c.s.cfg.InactivityProbe
	period := time.Second
	if probe > 0 {
		period = min(period, max(probe/5, time.Millisecond))
	}
	ticks, stop := c.s.cfg.Clock.NewTicker(period)
	defer stop()
	var probed int64 // the lastRecv an ECHO_REQUEST went out for
	for {
		select {
		case <-c.done:
			return
		case <-ticks:
		}
		if !c.recheckPeer() {
			return
		}
		if probe <= 0 || c.busy.Load() {
			continue
		}
		last := c.lastRecv.Load()
		idle := c.s.cfg.Clock.Now().Sub(time.Unix(0, last))
		switch {
		case idle >= 2*probe:
			c.log.Warn("no answer to the inactivity probe, dropping channel", zap.Duration(logKeyIdle, idle),
				zap.Duration(logKeyProbe, probe))
			c.close()
			return
		case idle >= probe && probed != last:
			probed = last
			c.log.Debug("channel idle, sending inactivity probe", zap.Duration(logKeyIdle, idle))
			c.enqueue(ofwire.Marshal(of.TypeEchoRequest, c.s.nextXid()), false)
		}
	}
}

// recheckPeer verifies a TLS channel's peer again when the material was
// reloaded since it was last verified, and closes the channel when the
// peer no longer verifies (its CA replaced, say); channels that stay
// valid are kept. It reports whether the channel stays.
func (c *conn) recheckPeer() bool {
	if c.tls == nil {
		return true
	}
	gen := c.s.cfg.TLS.Generation()
	if gen == c.tlsGen {
		return true
	}
	c.tlsGen = gen
	if err := c.s.cfg.TLS.VerifyPeer(c.tls.ConnectionState(), c.controller); err != nil {
		c.log.Warn("TLS peer no longer verifies after the material was reloaded, dropping channel", zap.Error(err))
		c.close()
		return false
	}
	c.log.Debug("TLS peer still verifies after the material was reloaded")
	return true
}

// lingerClose closes the channel after an error that ends it, letting the
// peer read the error first: it half-closes the write side and drains
// what the peer still sends for a moment (closing with unread input would
// reset the connection and may destroy the error in flight).
func (c *conn) lingerClose() {
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		c.nc.SetReadDeadline(time.Now().Add(time.Second))
		io.Copy(io.Discard, c.nc)
	}
	c.close()
}

// logChannel logs a channel event: at info for controllers, at debug for
// service connections (every ovs-ofctl or nicflowctl command makes one).
func (c *conn) logChannel(msg string) {
	if c.controller {
		c.log.Info("controller " + msg)
		return
	}
	c.log.Debug("service " + msg)
}
