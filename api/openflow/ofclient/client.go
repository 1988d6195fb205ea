package ofclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
)

// Message is one OpenFlow message received from the switch.
type Message struct {
	Header ofwire.Header
	Body   []byte
}

// ErrClosed is returned by requests on a closed client.
var ErrClosed = errors.New("openflow client closed")

// Client is a connection to an OpenFlow 1.3 switch. Its methods are safe
// for concurrent use.
type Client struct {
	nc       net.Conn
	features ofwire.SwitchFeatures

	wmu sync.Mutex // serializes writes
	xid atomic.Uint32

	mu      sync.Mutex // guards pending and err
	pending map[uint32]chan Message
	err     error

	async     chan Message
	asyncDrop atomic.Uint64
	done      chan struct{}
	closeOnce sync.Once
}

// Dial connects to a switch at target ("tcp:HOST:PORT", "unix:PATH", or
// a bare "HOST:PORT") and does the handshake.
func Dial(ctx context.Context, target string) (*Client, error) {
	network, addr := "tcp", target
	switch {
	case strings.HasPrefix(target, "tcp:"):
		addr = strings.TrimPrefix(target, "tcp:")
	case strings.HasPrefix(target, "unix:"):
		network, addr = "unix", strings.TrimPrefix(target, "unix:")
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, fmt.Errorf("dial openflow switch %s: %w", target, err)
	}
	c, err := NewClient(ctx, nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// NewClient does the handshake on an established connection: HELLO both
// ways (OpenFlow 1.3), then FEATURES_REQUEST.
func NewClient(ctx context.Context, nc net.Conn) (*Client, error) {
	c := &Client{
		nc:      nc,
		pending: map[uint32]chan Message{},
		async:   make(chan Message, 1024),
		done:    make(chan struct{}),
	}
	r := bufio.NewReader(nc)
	if dl, ok := ctx.Deadline(); ok {
		nc.SetReadDeadline(dl)
	}
	if err := c.write(ofwire.AppendHello(nil, c.nextXid())); err != nil {
		return nil, fmt.Errorf("openflow handshake: %w", err)
	}
	m, err := readMessage(r)
	if err != nil {
		return nil, fmt.Errorf("openflow handshake: read hello: %w", err)
	}
	switch {
	case m.Header.Type == of.TypeError:
		e, _ := ofwire.DecodeError(m.Body)
		return nil, fmt.Errorf("openflow handshake: %w", e)
	case m.Header.Type != of.TypeHello:
		return nil, fmt.Errorf("openflow handshake: got message type %d, want HELLO", m.Header.Type)
	case !ofwire.HelloSupports13(m.Header, m.Body):
		return nil, fmt.Errorf("openflow handshake: switch does not speak OpenFlow 1.3 (version %#x)", m.Header.Version)
	}
	nc.SetReadDeadline(time.Time{})
	go c.readLoop(r)
	reply, err := c.Request(ctx, of.TypeFeaturesRequest, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("openflow handshake: features: %w", err)
	}
	f, err := ofwire.DecodeFeatures(reply.Body)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("openflow handshake: features: %w", err)
	}
	c.features = *f
	return c, nil
}

// Features returns the switch's FEATURES_REPLY.
func (c *Client) Features() ofwire.SwitchFeatures { return c.features }

// Async returns the channel of messages that answer no request:
// PACKET_IN, FLOW_REMOVED, PORT_STATUS, and errors for messages sent with
// Send. When nobody reads it and it is full, new messages are dropped.
func (c *Client) Async() <-chan Message { return c.async }

// Close closes the connection; pending requests fail with ErrClosed.
func (c *Client) Close() error {
	var err error
	c.closeOnce.Do(func() {
		close(c.done)
		err = c.nc.Close()
	})
	return err
}

func (c *Client) nextXid() uint32 { return c.xid.Add(1) }

func (c *Client) write(msg []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.nc.Write(msg)
	return err
}

// Send sends a message of type t and returns its xid without waiting for
// anything; errors the switch answers with go to Async.
func (c *Client) Send(t of.Type, body []byte) (uint32, error) {
	xid := c.nextXid()
	if err := c.write(ofwire.Marshal(t, xid, body)); err != nil {
		return 0, fmt.Errorf("send openflow message: %w", err)
	}
	return xid, nil
}

// SendRaw writes bytes as they are (tests use it for malformed messages).
func (c *Client) SendRaw(b []byte) error { return c.write(b) }

// register waits for replies with xid.
func (c *Client) register(xid uint32) (chan Message, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return nil, c.err
	}
	ch := make(chan Message, 16)
	c.pending[xid] = ch
	return ch, nil
}

func (c *Client) unregister(xid uint32) {
	c.mu.Lock()
	delete(c.pending, xid)
	c.mu.Unlock()
}

// Request sends a message and waits for the reply with its xid. An
// OFPT_ERROR reply is returned as *ofwire.ErrorMsg.
func (c *Client) Request(ctx context.Context, t of.Type, body []byte) (Message, error) {
	xid := c.nextXid()
	ch, err := c.register(xid)
	if err != nil {
		return Message{}, err
	}
	defer c.unregister(xid)
	if err := c.write(ofwire.Marshal(t, xid, body)); err != nil {
		return Message{}, fmt.Errorf("send openflow request: %w", err)
	}
	m, err := c.wait(ctx, ch)
	if err != nil {
		return Message{}, err
	}
	if m.Header.Type == of.TypeError {
		return m, asError(m)
	}
	return m, nil
}

func asError(m Message) error {
	e, err := ofwire.DecodeError(m.Body)
	if err != nil {
		return err
	}
	return e
}

func (c *Client) wait(ctx context.Context, ch chan Message) (Message, error) {
	select {
	case m, ok := <-ch:
		if !ok {
			return Message{}, c.closedErr()
		}
		return m, nil
	case <-ctx.Done():
		return Message{}, ctx.Err()
	case <-c.done:
		return Message{}, c.closedErr()
	}
}

func (c *Client) closedErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return ErrClosed
}

func readMessage(r *bufio.Reader) (Message, error) {
	hdr := make([]byte, ofwire.HeaderLen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Message{}, err
	}
	h := ofwire.ParseHeader(hdr)
	if h.Length < ofwire.HeaderLen {
		return Message{}, fmt.Errorf("message length %d below 8", h.Length)
	}
	body := make([]byte, int(h.Length)-ofwire.HeaderLen)
	if _, err := io.ReadFull(r, body); err != nil {
		return Message{}, err
	}
	return Message{Header: h, Body: body}, nil
}

func (c *Client) readLoop(r *bufio.Reader) {
	var err error
	defer func() {
		c.mu.Lock()
		if err == nil || errors.Is(err, net.ErrClosed) {
			err = ErrClosed
		}
		c.err = err
		for xid, ch := range c.pending {
			close(ch)
			delete(c.pending, xid)
		}
		c.mu.Unlock()
		c.Close()
	}()
	for {
		var m Message
		m, err = readMessage(r)
		if err != nil {
			return
		}
		if m.Header.Type == of.TypeEchoRequest {
			c.write(ofwire.Marshal(of.TypeEchoReply, m.Header.Xid, m.Body))
			continue
		}
		c.mu.Lock()
		ch, ok := c.pending[m.Header.Xid]
		c.mu.Unlock()
		if ok {
			select {
			case ch <- m:
			case <-c.done:
				return
			}
			continue
		}
		select {
		case c.async <- m:
		default:
			c.asyncDrop.Add(1)
		}
	}
}
