package tcflower

import (
	"encoding/binary"
	"errors"
	"fmt"
	"syscall"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// OpKind is what one request of a Batch does.
type OpKind uint8

// The requests a Batch carries.
const (
	// OpAdd installs Op.Filter; it fails (EEXIST) when the chain, pref
	// and handle are taken.
	OpAdd OpKind = iota + 1
	// OpReplace installs Op.Filter in place of the filter with its
	// chain, pref and handle (creating it when missing).
	OpReplace
	// OpRemove deletes the filter Op.Chain, Op.Pref, Op.Handle; the
	// answer holds it as the kernel last saw it, counters included.
	OpRemove
	// OpGet reads the filter Op.Chain, Op.Pref, Op.Handle with its
	// counters.
	OpGet
)

func (k OpKind) String() string {
	switch k {
	case OpAdd:
		return "add"
	case OpReplace:
		return "replace"
	case OpRemove:
		return "remove"
	case OpGet:
		return "get"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// Op is one request of a Batch, on Block.
type Op struct {
	Kind  OpKind
	Block uint32
	// Filter is what OpAdd and OpReplace install. Without Echo it must
	// carry its handle (the caller allocates handles, unique in their
	// chain and pref).
	Filter *Filter
	// Chain, Pref and Handle address the filter of OpRemove and OpGet
	// (pref and handle must be set).
	Chain  uint32
	Pref   uint16
	Handle uint32
	// Echo asks the kernel to send an added or replaced filter back: its
	// handle and in_hw (Answer.Installed). OpRemove and OpGet always
	// answer with the filter.
	Echo bool
}

// Answer is the kernel's answer to one Op of a Batch.
type Answer struct {
	// Installed is what OpAdd and OpReplace installed: with Echo as the
	// kernel sent it back, else the filter's handle.
	Installed Installed
	// Dumped is the filter OpRemove removed or OpGet read.
	Dumped Dumped
	// Err is nil when the kernel did what the Op asked, else an *Error
	// with the kernel's errno and extended ack (or an error from before
	// the request was sent).
	Err error
}

// The netlink control messages and flags Batch reads and writes itself.
const (
	nlmsgHdrLen = 16
	nlmsgNoop   = 0x1
	nlmsgError  = 0x2
	nlmCapped   = 0x100 // NLM_F_CAPPED: the error carries the request's header only
	nlmAckTLVs  = 0x200 // NLM_F_ACK_TLVS: extended-ack attributes follow
)

// Batch sizing: a datagram carries at most batchMax requests and
// batchMaxBytes bytes (below the socket's send buffer), and no more
// requests than the receive buffer holds answers for, batchAnswerBytes
// each (an echoed filter fits a page; see Handle.batchN).
const (
	batchMax         = 256
	batchMaxBytes    = 96 << 10
	batchAnswerBytes = 8 << 10
	batchRcvBuf      = 4 << 20
)

// batchConn moves the whole datagrams of a Batch: requests out, one
// answer datagram in. The real socket is sockConn; unit tests use a fake
// kernel that answers at the datagram level.
type batchConn interface {
	send(b []byte) error
	// recv reads one datagram into buf and returns its length.
	recv(buf []byte) (int, error)
}

// sockConn is batchConn over the Handle's netlink socket, read and
// written directly so that an error carries its sequence number (the
// netlink package's Receive turns it into an error without one).
type sockConn struct{ rc syscall.RawConn }

func (s sockConn) send(b []byte) error {
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), b, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

func (s sockConn) recv(buf []byte) (int, error) {
	var n, flags int
	var rerr error
	err := s.rc.Read(func(fd uintptr) bool {
		n, _, flags, _, rerr = unix.Recvmsg(int(fd), buf, nil, unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	if rerr != nil {
		return 0, rerr
	}
	if flags&unix.MSG_TRUNC != 0 {
		return 0, fmt.Errorf("an answer of more than %d bytes", len(buf))
	}
	return n, nil
}

// setupBatch gives h its batch path over c's socket: a receive buffer
// that holds the answers of a datagram of requests (SO_RCVBUFFORCE as
// root, else as large as the system allows) and the number of requests
// per datagram the buffer holds answers for (an error carries its
// request back: the netlink package cannot read the extended ack of a
// capped one, NETLINK_CAP_ACK, so the socket keeps them whole). Without a socket (a test's
// fake connection) Batch sends one request at a time.
func (h *Handle) setupBatch(c *netlink.Conn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rcvbuf := 0
	_ = rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, batchRcvBuf) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, batchRcvBuf)
		}
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 2*batchMaxBytes) != nil {
			_ = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF, 2*batchMaxBytes)
		}
		rcvbuf, _ = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	})
	h.bc = sockConn{rc: rc}
	h.batchN = batchSizeFor(rcvbuf)
}

// batchSizeFor is how many requests a datagram may carry for a receive
// buffer of rcvbuf bytes (as getsockopt reports it).
func batchSizeFor(rcvbuf int) int {
	return min(max(rcvbuf/batchAnswerBytes, 8), batchMax)
}

// Batch sends ops in order, pipelined on the Handle's socket: many
// requests per datagram, each asking for no acknowledgement of its own
// (the kernel answers an error, an echo, or a removed or read filter, each
// carrying the request's sequence number), and a NLMSG_NOOP with
// NLM_F_ACK last, whose acknowledgement tells that the kernel has handled
// every request before it. It returns one Answer per op, in order. An add
// or replace whose mirred device the kernel no longer knows by its cached
// ifindex is sent again once after the names are looked up afresh.
func (h *Handle) Batch(ops []Op) []Answer {
	ans := make([]Answer, len(ops))
	h.batch(ops, ans)
	var again []int
	for i, a := range ans {
		if (ops[i].Kind == OpAdd || ops[i].Kind == OpReplace) && errorIsNoDevice(a.Err) && hasMirred(ops[i].Filter) {
			again = append(again, i)
		}
	}
	if len(again) > 0 {
		// A cached ifindex may belong to a device since re-created
		// under the same name.
		h.kernelLks.forget()
		rops := make([]Op, len(again))
		for j, i := range again {
			rops[j] = ops[i]
		}
		rans := make([]Answer, len(again))
		h.batch(rops, rans)
		for j, i := range again {
			ans[i] = rans[j]
		}
	}
	return ans
}

// opName names op in errors, as the one-request methods do.
func opName(op *Op) string {
	switch op.Kind {
	case OpAdd, OpReplace:
		if op.Filter == nil {
			return op.Kind.String() + " flower filter"
		}
		return fmt.Sprintf("%s flower filter %s", op.Kind, filterName(op.Block, op.Filter))
	}
	return fmt.Sprintf("%s flower filter block %d chain %d pref %d handle %#x", op.Kind, op.Block, op.Chain, op.Pref, op.Handle)
}

// encodeOp returns the request of op: its type, flags and body.
func (h *Handle) encodeOp(op *Op) (netlink.HeaderType, netlink.HeaderFlags, []byte, error) {
	switch op.Kind {
	case OpAdd, OpReplace:
		if op.Filter == nil {
			return 0, 0, nil, errors.New("no filter")
		}
		if op.Filter.Handle == 0 && !op.Echo {
			return 0, 0, nil, errors.New("a filter sent without echo needs its handle")
		}
		body, err := encodeFilterMsg(h.links(), op.Block, op.Filter)
		if err != nil {
			return 0, 0, nil, err
		}
		flags := netlink.Create | netlink.Excl
		if op.Kind == OpReplace {
			flags = netlink.Create | netlink.Replace
		}
		if op.Echo {
			flags |= netlink.Echo
		}
		return nl.RTM_NEWTFILTER, flags, body, nil
	case OpRemove, OpGet:
		if op.Pref == 0 || op.Handle == 0 {
			return 0, 0, nil, errors.New("pref and handle must be set")
		}
		body := chainMsg(blockMsg(op.Block, op.Handle, nl.Info(op.Pref, 0)), kindFlower, op.Chain)
		if op.Kind == OpRemove {
			return nl.RTM_DELTFILTER, netlink.Echo, body, nil
		}
		return nl.RTM_GETTFILTER, 0, body, nil
	}
	return 0, 0, nil, fmt.Errorf("unknown request kind %d", op.Kind)
}

// batch answers ops into ans, one datagram of requests at a time. The
// requests are encoded before and the answers decoded after the socket is
// held: resolving a mirred device's name or ifindex is a request of its
// own on the same socket.
func (h *Handle) batch(ops []Op, ans []Answer) {
	if h.bc == nil {
		h.oneByOne(ops, ans)
		return
	}
	reqs := make([]encodedOp, 0, len(ops))
	for i := range ops {
		typ, flags, body, err := h.encodeOp(&ops[i])
		if err != nil {
			ans[i].Err = fmt.Errorf("%s: %w", opName(&ops[i]), err)
			continue
		}
		reqs = append(reqs, encodedOp{i: i, typ: typ, flags: flags, body: body})
	}
	raw := make([][]byte, len(ops)) // the filter each op was answered with
	h.mu.Lock()
	var buf []byte
	var idx []int // ops index of each request in buf, by sequence offset
	flush := func() {
		if len(idx) > 0 {
			h.exchange(buf, idx, ops, ans, raw)
		}
		buf, idx = buf[:0], idx[:0]
	}
	for _, r := range reqs {
		if len(idx) == h.batchN || len(idx) > 0 && len(buf)+nlmsgHdrLen+len(r.body) > batchMaxBytes {
			flush()
		}
		if len(idx) == 0 {
			h.seq += 2 // a fresh range: answers to an abandoned datagram cannot match
			h.base = h.seq
		}
		buf = appendNlmsg(buf, r.typ, netlink.Request|r.flags, h.base+uint32(len(idx)), r.body)
		idx = append(idx, r.i)
	}
	flush()
	h.mu.Unlock()
	for i, b := range raw {
		if b == nil {
			continue
		}
		op := &ops[i]
		d, err := decodeFilterMsg(h.links(), b)
		switch {
		case err != nil:
			ans[i].Err = fmt.Errorf("%s: decode the kernel's answer: %w", opName(op), err)
		case op.Kind == OpAdd || op.Kind == OpReplace:
			ans[i].Installed = d.Installed
		default:
			ans[i].Dumped = d
		}
	}
}

// encodedOp is the request of ops[i].
type encodedOp struct {
	i     int
	typ   netlink.HeaderType
	flags netlink.HeaderFlags
	body  []byte
}

// appendNlmsg appends one netlink message to b.
func appendNlmsg(b []byte, typ netlink.HeaderType, flags netlink.HeaderFlags, seq uint32, body []byte) []byte {
	b = binary.NativeEndian.AppendUint32(b, uint32(nlmsgHdrLen+len(body)))
	b = binary.NativeEndian.AppendUint16(b, uint16(typ))
	b = binary.NativeEndian.AppendUint16(b, uint16(flags))
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // the kernel knows the sender
	b = append(b, body...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// exchange sends one datagram of requests (idx[j] is the op of sequence
// number h.base+j), closes it with a NOOP that asks for an
// acknowledgement, and reads answers until that acknowledgement. Callers
// hold mu.
func (h *Handle) exchange(buf []byte, idx []int, ops []Op, ans []Answer, raw [][]byte) {
	barrier := h.base + uint32(len(idx))
	h.seq = barrier
	buf = appendNlmsg(buf, nlmsgNoop, netlink.Request|netlink.Acknowledge, barrier, nil)
	answered := make([]bool, len(idx))
	fail := func(err error) {
		for j, i := range idx {
			if !answered[j] {
				ans[i].Err = opError(opName(&ops[i]), err)
			}
		}
	}
	if err := h.bc.send(buf); err != nil {
		fail(err)
		return
	}
	if cap(h.rbuf) == 0 {
		h.rbuf = make([]byte, 64<<10)
	}
	for {
		n, err := h.bc.recv(h.rbuf)
		if err != nil {
			// ENOBUFS: the receive buffer overflowed and answers were
			// lost; which requests they answered is unknown.
			fail(fmt.Errorf("read the kernel's answers: %w", err))
			if errors.Is(err, unix.ENOBUFS) {
				h.drain()
			}
			return
		}
		done, perr := h.parseAnswers(h.rbuf[:n], barrier, idx, answered, ops, ans, raw)
		if perr != nil {
			fail(perr)
			return
		}
		if done {
			break
		}
	}
	for j, i := range idx {
		if answered[j] {
			continue
		}
		switch op := &ops[i]; {
		case op.Kind == OpRemove || op.Kind == OpGet || op.Echo:
			ans[i].Err = fmt.Errorf("%s: the kernel sent no answer", opName(op))
		default:
			ans[i].Installed = Installed{Handle: op.Filter.Handle} // no error: done
		}
	}
}

// drain reads and drops answers after an overflow until the
// acknowledgement of a fresh barrier, so the next exchange starts clean.
func (h *Handle) drain() {
	h.seq++
	b := appendNlmsg(nil, nlmsgNoop, netlink.Request|netlink.Acknowledge, h.seq, nil)
	if h.bc.send(b) != nil {
		return
	}
	for {
		n, err := h.bc.recv(h.rbuf)
		if err != nil && !errors.Is(err, unix.ENOBUFS) {
			return
		}
		for m := h.rbuf[:max(n, 0)]; len(m) >= nlmsgHdrLen; {
			l := int(binary.NativeEndian.Uint32(m))
			if l < nlmsgHdrLen || l > len(m) {
				break
			}
			if binary.NativeEndian.Uint32(m[8:]) == h.seq && binary.NativeEndian.Uint16(m[4:]) == nlmsgError {
				return
			}
			m = m[min(nlAlign(l), len(m)):]
		}
	}
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// parseAnswers reads the messages of one answer datagram: errors into
// ans, a copy of each filter sent back into raw (decoded once the socket
// is free). It reports whether the barrier's acknowledgement was among
// them.
func (h *Handle) parseAnswers(b []byte, barrier uint32, idx []int, answered []bool, ops []Op, ans []Answer, raw [][]byte) (done bool, err error) {
	for len(b) >= nlmsgHdrLen {
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return done, fmt.Errorf("an answer of %d bytes in %d", l, len(b))
		}
		typ := binary.NativeEndian.Uint16(b[4:])
		flags := binary.NativeEndian.Uint16(b[6:])
		seq := binary.NativeEndian.Uint32(b[8:])
		data := b[nlmsgHdrLen:l]
		b = b[min(nlAlign(l), len(b)):]
		if seq == barrier {
			done = typ == nlmsgError
			continue
		}
		j := int(seq - h.base)
		if seq-h.base >= uint32(len(idx)) || answered[j] {
			continue // an answer to an abandoned datagram
		}
		i := idx[j]
		op := &ops[i]
		switch typ {
		case nlmsgError:
			errno, msg := parseNlmsgerr(data, flags)
			if errno == 0 {
				continue // an acknowledgement none asked for
			}
			answered[j] = true
			ans[i].Err = &Error{Op: opName(op), Errno: errno, Message: msg}
		case nl.RTM_NEWTFILTER, nl.RTM_DELTFILTER:
			answered[j] = true
			raw[i] = append([]byte(nil), data...)
		}
	}
	return done, nil
}

// parseNlmsgerr reads struct nlmsgerr: the (negative) errno, the request
// it answers (its header only when capped), then with NLM_F_ACK_TLVS the
// extended ack, whose NLMSGERR_ATTR_MSG is returned.
func parseNlmsgerr(b []byte, flags uint16) (unix.Errno, string) {
	if len(b) < 4+nlmsgHdrLen {
		return unix.EIO, "short error message"
	}
	errno := unix.Errno(-int32(binary.NativeEndian.Uint32(b)))
	rest := b[4:]
	orig := nlmsgHdrLen
	if flags&nlmCapped == 0 {
		orig = nlAlign(int(binary.NativeEndian.Uint32(rest)))
	}
	if flags&nlmAckTLVs == 0 || orig > len(rest) {
		return errno, ""
	}
	ad, err := netlink.NewAttributeDecoder(rest[orig:])
	if err != nil {
		return errno, ""
	}
	var msg string
	for ad.Next() {
		if ad.Type() == unix.NLMSGERR_ATTR_MSG {
			msg = ad.String()
		}
	}
	return errno, msg
}

// oneByOne answers ops with one request each, for a Handle without a
// socket of its own (a test's fake connection).
func (h *Handle) oneByOne(ops []Op, ans []Answer) {
	for i := range ops {
		op := &ops[i]
		a := &ans[i]
		if (op.Kind == OpAdd || op.Kind == OpReplace) && op.Filter != nil && op.Filter.Handle == 0 && !op.Echo {
			a.Err = fmt.Errorf("%s: a filter sent without echo needs its handle", opName(op))
			continue
		}
		switch op.Kind {
		case OpAdd:
			a.Installed, a.Err = h.Add(op.Block, op.Filter)
		case OpReplace:
			a.Installed, a.Err = h.Replace(op.Block, op.Filter)
		case OpRemove:
			a.Dumped, a.Err = h.Remove(op.Block, op.Chain, op.Pref, op.Handle)
		case OpGet:
			a.Dumped, a.Err = h.Get(op.Block, op.Chain, op.Pref, op.Handle)
		default:
			a.Err = fmt.Errorf("%s: unknown request kind", opName(op))
		}
	}
}

// AddBatch installs the filters fs in block, in order, the way Add does
// but without reading them back: each filter must carry its handle. It is
// Batch with one OpAdd per filter; it returns one answer per filter, nil
// when the kernel installed it, else an *Error with the kernel's extended
// ack.
func (h *Handle) AddBatch(block uint32, fs []*Filter) []error {
	ops := make([]Op, len(fs))
	for i, f := range fs {
		ops[i] = Op{Kind: OpAdd, Block: block, Filter: f}
	}
	errs := make([]error, len(fs))
	for i, a := range h.Batch(ops) {
		errs[i] = a.Err
	}
	return errs
}
