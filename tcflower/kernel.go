package tcflower

import (
	"errors"
	"fmt"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// Installed is what the kernel reports about one installed filter.
type Installed struct {
	// Handle is the filter's handle in its chain and pref (the kernel picks
	// one when the request carried 0).
	Handle uint32
	// InHW is true when the kernel flagged the filter TCA_CLS_FLAGS_IN_HW
	// (at least one device executes it).
	InHW bool
	// InHWCount is the number of devices executing the filter.
	InHWCount uint32
}

// Handle is a netlink socket for tc requests. It is safe for concurrent
// use: requests are serialized, one request and its replies at a time.
type Handle struct {
	mu   sync.Mutex // guards conn's request/reply exchanges
	conn *netlink.Conn

	// lk resolves mirred device names; set once by newHandle (tests may
	// replace it before first use).
	lk        links
	kernelLks *kernelLinks

	// The batch path (see Batch), set up by OpenNetNS; nil bc: one
	// request at a time. mu guards seq, base and rbuf.
	bc     batchConn
	batchN int    // requests per datagram
	seq    uint32 // the last sequence number Batch used
	base   uint32 // the sequence number of the first request of the datagram in flight
	rbuf   []byte // one answer datagram
}

// Open opens a tc netlink socket in the caller's network namespace.
func Open() (*Handle, error) { return OpenNetNS(0) }

// OpenNetNS opens a tc netlink socket in the network namespace the file
// descriptor fd refers to (0: the caller's namespace). The socket stays in
// that namespace for its lifetime.
func OpenNetNS(fd int) (*Handle, error) {
	c, err := netlink.Dial(unix.NETLINK_ROUTE, &netlink.Config{NetNS: fd})
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if err := c.SetOption(netlink.ExtendedAcknowledge, true); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("enable netlink extended acks: %w", err)
	}
	h := newHandle(c)
	h.setupBatch(c)
	return h, nil
}

// newHandle wraps an open connection (a real socket or an nltest fake).
func newHandle(c *netlink.Conn) *Handle {
	h := &Handle{conn: c}
	h.kernelLks = &kernelLinks{h: h}
	h.lk = h.kernelLks
	return h
}

func (h *Handle) links() links { return h.lk }

// Close closes the socket.
func (h *Handle) Close() error {
	if err := h.conn.Close(); err != nil {
		return fmt.Errorf("close rtnetlink socket: %w", err)
	}
	return nil
}

// request sends one message and collects the replies carrying its sequence
// number up to the kernel's acknowledgement (requests always ask for one).
// The echo of a change (NLM_F_ECHO) and the ack arrive as separate
// datagrams, so it keeps reading until the ack.
func (h *Handle) request(op string, typ netlink.HeaderType, flags netlink.HeaderFlags, body []byte) ([]netlink.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	req, err := h.conn.Send(netlink.Message{
		Header: netlink.Header{Type: typ, Flags: netlink.Request | netlink.Acknowledge | flags},
		Data:   body,
	})
	if err != nil {
		return nil, opError(op, err)
	}
	var replies []netlink.Message
	for {
		msgs, err := h.conn.Receive()
		if err != nil {
			return nil, opError(op, err)
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("%s: no acknowledgement from the kernel", op)
		}
		for _, m := range msgs {
			if m.Header.Sequence != req.Header.Sequence {
				continue // a reply to an abandoned request
			}
			if m.Header.Type == netlink.Error {
				return replies, nil // the ack (errors come back from Receive)
			}
			replies = append(replies, m)
		}
	}
}

// dump runs a dump request and returns its messages, starting over when the
// kernel flags the dump inconsistent (rtnetlink.Dump).
func (h *Handle) dump(op string, typ netlink.HeaderType, body []byte) ([]netlink.Message, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	msgs, err := rtnetlink.Dump(h.conn, typ, body)
	if err != nil {
		return nil, opError(op, err)
	}
	return msgs, nil
}

// blockMsg addresses a shared block: tcm_ifindex TCM_IFINDEX_MAGIC_BLOCK and
// tcm_block_index (tcm_parent) the block.
func blockMsg(block uint32, handle uint32, info uint32) nl.TcMsg {
	return nl.TcMsg{
		Family:  unix.AF_UNSPEC,
		Ifindex: nl.TCMIfindexMagicBlock,
		Parent:  block,
		Handle:  handle,
		Info:    info,
	}
}

// tcMsg returns the tcmsg m followed by the attributes fn encodes: integers
// and constant strings, which cannot fail to encode (an error is a bug, and
// panics).
func tcMsg(m nl.TcMsg, fn func(ae *netlink.AttributeEncoder)) []byte {
	b, err := rtnetlink.AppendAttributes(m.Append(nil), func(ae *netlink.AttributeEncoder) error {
		fn(ae)
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("tcflower: encode a tc request: %v", err))
	}
	return b
}

// chainMsg addresses the filters of chain under m: the tcmsg, the
// classifier kind unless "", and TCA_CHAIN.
func chainMsg(m nl.TcMsg, kind string, chain uint32) []byte {
	return tcMsg(m, func(ae *netlink.AttributeEncoder) {
		if kind != "" {
			ae.String(nl.TCA_KIND, kind)
		}
		ae.Uint32(nl.TCA_CHAIN, chain)
	})
}

// Add installs f in block. It fails (EEXIST) when a filter with the same
// chain, pref and handle exists. A zero f.Pref or f.Handle lets the kernel
// choose; the chosen handle is returned.
func (h *Handle) Add(block uint32, f *Filter) (Installed, error) {
	return h.change(fmt.Sprintf("add flower filter %s", filterName(block, f)), block, f, netlink.Create|netlink.Excl)
}

// Replace installs f in place of the filter of the same chain, pref and
// handle (creating it when missing).
func (h *Handle) Replace(block uint32, f *Filter) (Installed, error) {
	return h.change(fmt.Sprintf("replace flower filter %s", filterName(block, f)), block, f, netlink.Create|netlink.Replace)
}

func filterName(block uint32, f *Filter) string {
	return fmt.Sprintf("block %d chain %d pref %d handle %#x", block, f.Chain, f.Pref, f.Handle)
}

func (h *Handle) change(op string, block uint32, f *Filter, flags netlink.HeaderFlags) (Installed, error) {
	body, err := encodeFilterMsg(h.links(), block, f)
	if err != nil {
		return Installed{}, fmt.Errorf("%s: %w", op, err)
	}
	replies, err := h.request(op, nl.RTM_NEWTFILTER, flags|netlink.Echo, body)
	if errorIsNoDevice(err) && hasMirred(f) {
		// A cached ifindex may belong to a device since re-created under
		// the same name: look the names up again, once.
		h.kernelLks.forget()
		if body, err = encodeFilterMsg(h.links(), block, f); err != nil {
			return Installed{}, fmt.Errorf("%s: %w", op, err)
		}
		replies, err = h.request(op, nl.RTM_NEWTFILTER, flags|netlink.Echo, body)
	}
	if err != nil {
		return Installed{}, err
	}
	for _, m := range replies {
		if m.Header.Type != nl.RTM_NEWTFILTER {
			continue
		}
		d, err := decodeFilterMsg(h.links(), m.Data)
		if err != nil {
			return Installed{}, fmt.Errorf("%s: decode the kernel's echo: %w", op, err)
		}
		return d.Installed, nil
	}
	return Installed{}, fmt.Errorf("%s: the kernel sent no echo of the filter", op)
}

// Delete removes one filter. A zero handle removes every filter of the
// chain and pref.
func (h *Handle) Delete(block uint32, chain uint32, pref uint16, handle uint32) error {
	op := fmt.Sprintf("delete flower filter block %d chain %d pref %d handle %#x", block, chain, pref, handle)
	if pref == 0 {
		return fmt.Errorf("%s: pref 0 would flush the whole chain (use DeleteChain)", op)
	}
	_, err := h.request(op, nl.RTM_DELTFILTER, 0, chainMsg(blockMsg(block, handle, nl.Info(pref, 0)), "", chain))
	return err
}

// Remove deletes one filter and returns it as the kernel last saw it,
// counters included: the kernel echoes a deleted filter before freeing it,
// so no packet it counted is lost. A filter that does not exist is an
// *Error with Errno ENOENT.
func (h *Handle) Remove(block uint32, chain uint32, pref uint16, handle uint32) (Dumped, error) {
	op := fmt.Sprintf("remove flower filter block %d chain %d pref %d handle %#x", block, chain, pref, handle)
	if pref == 0 || handle == 0 {
		return Dumped{}, fmt.Errorf("%s: pref and handle must be set", op)
	}
	return h.one(op, nl.RTM_DELTFILTER, netlink.Echo, block, chain, pref, handle)
}

// Get reads one filter with its counters.
func (h *Handle) Get(block uint32, chain uint32, pref uint16, handle uint32) (Dumped, error) {
	op := fmt.Sprintf("get flower filter block %d chain %d pref %d handle %#x", block, chain, pref, handle)
	if pref == 0 || handle == 0 {
		return Dumped{}, fmt.Errorf("%s: pref and handle must be set", op)
	}
	return h.one(op, nl.RTM_GETTFILTER, 0, block, chain, pref, handle)
}

// one sends a request about a single filter and decodes the filter the
// kernel answers with.
func (h *Handle) one(op string, typ netlink.HeaderType, flags netlink.HeaderFlags, block, chain uint32, pref uint16, handle uint32) (Dumped, error) {
	replies, err := h.request(op, typ, flags, chainMsg(blockMsg(block, handle, nl.Info(pref, 0)), kindFlower, chain))
	if err != nil {
		return Dumped{}, err
	}
	for _, m := range replies {
		if m.Header.Type != nl.RTM_NEWTFILTER && m.Header.Type != nl.RTM_DELTFILTER {
			continue
		}
		d, err := decodeFilterMsg(h.links(), m.Data)
		if err != nil {
			return Dumped{}, fmt.Errorf("%s: decode the kernel's answer: %w", op, err)
		}
		return d, nil
	}
	return Dumped{}, fmt.Errorf("%s: the kernel sent no filter back", op)
}

// DeleteChain removes every filter of chain in block. Flushing a chain that
// holds no filter succeeds.
func (h *Handle) DeleteChain(block, chain uint32) error {
	op := fmt.Sprintf("flush chain %d of block %d", chain, block)
	_, err := h.request(op, nl.RTM_DELTFILTER, 0, chainMsg(blockMsg(block, 0, 0), "", chain))
	return err
}

// Dumped is one filter read back from the kernel.
type Dumped struct {
	Filter    Filter
	Installed Installed
	// Stats sums the filter up from its actions' counters (see
	// aggregateStats); ActionStats has one entry per action, in order.
	Stats       Stats
	ActionStats []Stats
	// DecodeErr is set when the kernel's filter holds something Filter
	// cannot express (a key, action or setting nicflow never installs).
	// Filter then has Chain, Pref, Protocol, Handle, Flags and the keys
	// decoded, so the filter can still be deleted.
	DecodeErr error
}

// Dump reads every flower filter of every chain of block. Filters of other
// kinds are skipped.
func (h *Handle) Dump(block uint32) ([]Dumped, error) {
	op := fmt.Sprintf("dump filters of block %d", block)
	h.kernelLks.forget()
	msgs, err := h.dump(op, nl.RTM_GETTFILTER, blockMsg(block, 0, 0).Append(nil))
	if err != nil {
		return nil, err
	}
	out := make([]Dumped, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != nl.RTM_NEWTFILTER {
			continue
		}
		d, err := decodeFilterMsg(h.links(), m.Data)
		if errors.Is(err, errNotFlower) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		if d.Installed.Handle == 0 {
			continue // the filter chain's head (a tcf_proto with no filter yet)
		}
		out = append(out, d)
	}
	return out, nil
}

func hasMirred(f *Filter) bool {
	for _, a := range f.Actions {
		if a.Kind == KindMirred {
			return true
		}
	}
	return false
}
