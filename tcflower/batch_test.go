package tcflower

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// batchKernel is a batchConn that answers datagrams of requests the way
// netlink_rcv_skb and cls_api do: each request in order; an error always
// (NLM_F_CAPPED, with the extended ack), an acknowledgement only with
// NLM_F_ACK, an echo only with NLM_F_ECHO (after a change, or of a
// removed filter), a read filter always; a NOOP only acknowledged. Each
// answer is a datagram of its own. It keeps the filters of one block by
// chain, pref and handle, with a packet count each; filters of pref 13 are
// taken by the device (in_hw). shuffle delivers the answers of a datagram
// in a random order before its last one, to show that Batch matches them
// by sequence number.
type batchKernel struct {
	t        *testing.T
	filters  map[[3]uint32]uint64 // chain, pref, handle -> packets
	queue    [][]byte             // answer datagrams not read yet
	sent     [][]netlink.Message  // the requests of each datagram
	shuffle  *rand.Rand
	dropEcho bool // send no echo (as when the kernel cannot allocate it)
	capped   bool // errors carry the request's header only (NETLINK_CAP_ACK)
}

func (k *batchKernel) send(b []byte) error {
	msgs, err := parseNlmsgs(b)
	if err != nil {
		k.t.Fatalf("a datagram of requests does not parse: %v", err)
	}
	k.sent = append(k.sent, msgs)
	start := len(k.queue)
	for _, m := range msgs {
		k.handle(m)
	}
	if k.shuffle != nil && len(k.queue)-start > 2 {
		mid := k.queue[start : len(k.queue)-1]
		k.shuffle.Shuffle(len(mid), func(i, j int) { mid[i], mid[j] = mid[j], mid[i] })
	}
	return nil
}

func (k *batchKernel) recv(buf []byte) (int, error) {
	if len(k.queue) == 0 {
		k.t.Fatal("Batch reads with no answer left")
	}
	n := copy(buf, k.queue[0])
	k.queue = k.queue[1:]
	return n, nil
}

func (k *batchKernel) answer(req netlink.Message, typ netlink.HeaderType, flags netlink.HeaderFlags, data []byte) {
	k.queue = append(k.queue, appendNlmsg(nil, typ, flags, req.Header.Sequence, data))
}

// fail refuses req with errno and an extended ack, the request carried
// back whole (no NETLINK_CAP_ACK) or capped to its header.
func (k *batchKernel) fail(req netlink.Message, errno unix.Errno, msg string) {
	b := binary.NativeEndian.AppendUint32(nil, uint32(-int32(errno)))
	flags := netlink.HeaderFlags(nlmAckTLVs)
	if k.capped {
		b = append(b, appendNlmsg(nil, req.Header.Type, req.Header.Flags, req.Header.Sequence, req.Data)[:nlmsgHdrLen]...)
		flags |= nlmCapped
	} else {
		b = appendNlmsg(b, req.Header.Type, req.Header.Flags, req.Header.Sequence, req.Data)
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.NLMSGERR_ATTR_MSG, msg)
	k.answer(req, netlink.Error, flags, append(b, mustEncode(ae)...))
}

func (k *batchKernel) handle(req netlink.Message) {
	if req.Header.Flags&netlink.Request == 0 {
		k.t.Fatalf("a message without NLM_F_REQUEST: %+v", req.Header)
	}
	if req.Header.Type == nlmsgNoop {
		if req.Header.Flags&netlink.Acknowledge != 0 {
			k.answer(req, netlink.Error, nlmCapped, make([]byte, 4+nlmsgHdrLen))
		}
		return
	}
	tm, rest, err := nl.ParseTcMsg(req.Data)
	if err != nil {
		k.t.Fatal(err)
	}
	var chain uint32
	ad, err := netlink.NewAttributeDecoder(rest)
	if err != nil {
		k.t.Fatal(err)
	}
	for ad.Next() {
		if ad.Type() == nl.TCA_CHAIN {
			chain = ad.Uint32()
		}
	}
	pref, _ := nl.SplitInfo(tm.Info)
	key := [3]uint32{chain, uint32(pref), tm.Handle}
	pkts, exists := k.filters[key]
	filterMsg := func(typ netlink.HeaderType) {
		inHW := uint32(nl.TCA_CLS_FLAGS_NOT_IN_HW)
		if pref == 13 {
			inHW = nl.TCA_CLS_FLAGS_IN_HW
		}
		k.answer(req, typ, 0, kernelFilterMsg("flower", tm.Parent, chain, pref, tm.Handle, func(o *netlink.AttributeEncoder) {
			o.Uint32(nl.TCA_FLOWER_FLAGS, inHW)
			o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
				l.Do(1, nested(encodeKernelAction(kernelAction{kind: "mirred", parms: tcGenBytes(11, nl.TC_ACT_STOLEN, nl.TCA_EGRESS_REDIR, 5), pkts: pkts, bytes: 100 * pkts})))
			}))
		}))
	}
	switch req.Header.Type {
	case nl.RTM_NEWTFILTER:
		if exists && req.Header.Flags&netlink.Excl != 0 {
			k.fail(req, unix.EEXIST, "Filter already exists")
			return
		}
		if pref == 66 {
			k.fail(req, unix.EOPNOTSUPP, "fake: pref 66 refused")
			return
		}
		k.filters[key] = 0
		pkts = 0
		if req.Header.Flags&netlink.Echo != 0 && !k.dropEcho {
			filterMsg(nl.RTM_NEWTFILTER)
		}
	case nl.RTM_DELTFILTER, nl.RTM_GETTFILTER:
		if !exists {
			k.fail(req, unix.ENOENT, "Specified filter handle not found")
			return
		}
		if req.Header.Type == nl.RTM_DELTFILTER {
			delete(k.filters, key)
			if req.Header.Flags&netlink.Echo != 0 {
				filterMsg(nl.RTM_DELTFILTER)
			}
		} else {
			filterMsg(nl.RTM_NEWTFILTER)
		}
	default:
		k.t.Fatalf("unexpected request type %d", req.Header.Type)
	}
	if req.Header.Flags&netlink.Acknowledge != 0 {
		k.answer(req, netlink.Error, nlmCapped, make([]byte, 4+nlmsgHdrLen))
	}
}

func parseNlmsgs(b []byte) ([]netlink.Message, error) {
	var out []netlink.Message
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return nil, fmt.Errorf("%d bytes left", len(b))
		}
		l := int(binary.NativeEndian.Uint32(b))
		if l < nlmsgHdrLen || l > len(b) {
			return nil, fmt.Errorf("a message of %d bytes in %d", l, len(b))
		}
		var m netlink.Message
		if err := m.UnmarshalBinary(b[:l]); err != nil {
			return nil, err
		}
		out = append(out, m)
		b = b[min(nlAlign(l), len(b)):]
	}
	return out, nil
}

func batchHandle(t *testing.T, n int) (*Handle, *batchKernel) {
	k := &batchKernel{t: t, filters: map[[3]uint32]uint64{}}
	h := &Handle{bc: k, batchN: n}
	h.lk = socketLinks{t: t, h: h}
	h.kernelLks = &kernelLinks{h: h}
	return h, k
}

// socketLinks are testLinks that, like the Handle's own, need the socket:
// resolving a name while Batch holds it would deadlock.
type socketLinks struct {
	t *testing.T
	h *Handle
}

func (l socketLinks) free() {
	if !l.h.mu.TryLock() {
		l.t.Fatal("a mirred device resolved while Batch holds the socket: the Handle's links would deadlock")
	}
	l.h.mu.Unlock()
}

func (l socketLinks) linkIndex(name string) (uint32, error) {
	l.free()
	return testLinks.linkIndex(name)
}
func (l socketLinks) linkName(index uint32) (string, error) {
	l.free()
	return testLinks.linkName(index)
}

func dropFilter(pref uint16, handle uint32) *Filter {
	return &Filter{Pref: pref, Protocol: EthPAll, Handle: handle, Flags: FlagSkipHW,
		Actions: []Action{{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}}}}
}

// TestBatchAnswersEachRequest sends adds (with and without echo), a
// duplicate, a device refusal, a filter without its handle, replaces,
// reads and removes, more than one datagram holds, with the answers of
// each datagram delivered out of order: every op gets its own answer by
// sequence number, refusals with the kernel's words; requests ask for no
// acknowledgement of their own, and each datagram ends with an
// acknowledged NOOP.
func TestBatchAnswersEachRequest(t *testing.T) {
	for _, capped := range []bool{false, true} {
		t.Run(fmt.Sprintf("capped=%v", capped), func(t *testing.T) { testBatchAnswers(t, capped) })
	}
}

func testBatchAnswers(t *testing.T, capped bool) {
	h, k := batchHandle(t, 8)
	k.capped = capped
	k.shuffle = rand.New(rand.NewPCG(1, 2))
	k.filters[[3]uint32{0, 10, 5}] = 42 // counted packets before the batch
	var ops []Op
	want := map[int]string{} // op index -> expected answer
	add := func(op Op, answer string) {
		want[len(ops)] = answer
		ops = append(ops, op)
	}
	for i := range 12 {
		add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(12, uint32(100+i))}, "ok handle "+fmt.Sprint(100+i))
	}
	add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(13, 1), Echo: true}, "ok handle 1 in_hw")
	add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(12, 7), Echo: true}, "ok handle 7")
	add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(12, 103)}, "EEXIST Filter already exists")
	add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(66, 1)}, "ENOTSUP fake: pref 66 refused")
	add(Op{Kind: OpAdd, Block: 7, Filter: dropFilter(12, 0)}, "error needs its handle")
	add(Op{Kind: OpGet, Block: 7, Chain: 0, Pref: 10, Handle: 5}, "filter 10/5 42 packets")
	add(Op{Kind: OpReplace, Block: 7, Filter: dropFilter(10, 5)}, "ok handle 5")
	add(Op{Kind: OpRemove, Block: 7, Chain: 0, Pref: 10, Handle: 5}, "filter 10/5 0 packets")
	add(Op{Kind: OpRemove, Block: 7, Chain: 0, Pref: 10, Handle: 5}, "ENOENT Specified filter handle not found")
	add(Op{Kind: OpGet, Block: 7, Chain: 0, Pref: 12, Handle: 104}, "filter 12/104 0 packets")
	add(Op{Kind: OpGet, Block: 7, Chain: 0, Pref: 0, Handle: 104}, "error pref and handle")

	ans := h.Batch(ops)
	if len(ans) != len(ops) {
		t.Fatalf("%d answers for %d ops", len(ans), len(ops))
	}
	for i, a := range ans {
		var got string
		var e *Error
		switch {
		case errors.As(a.Err, &e):
			got = fmt.Sprintf("%s %s", unix.ErrnoName(e.Errno), e.Message)
			if !strings.HasPrefix(e.Op, ops[i].Kind.String()+" flower filter") {
				t.Errorf("op %d: error names %q", i, e.Op)
			}
		case a.Err != nil:
			got = "error " + a.Err.Error()
		case ops[i].Kind == OpGet || ops[i].Kind == OpRemove:
			got = fmt.Sprintf("filter %d/%d %d packets", a.Dumped.Filter.Pref, a.Dumped.Installed.Handle, a.Dumped.Stats.Packets)
		default:
			got = fmt.Sprintf("ok handle %d", a.Installed.Handle)
			if a.Installed.InHW {
				got += " in_hw"
			}
		}
		if w := want[i]; !strings.HasPrefix(got, w) && !(strings.HasPrefix(w, "error") && strings.Contains(got, strings.TrimPrefix(w, "error "))) {
			t.Errorf("op %d (%s): %q, want %q", i, ops[i].Kind, got, w)
		}
	}
	// 22 ops, 2 refused before sending: 20 requests in datagrams of 8.
	if len(k.sent) != 3 {
		t.Fatalf("%d datagrams, want 3", len(k.sent))
	}
	for d, msgs := range k.sent {
		last := msgs[len(msgs)-1]
		if last.Header.Type != nlmsgNoop || last.Header.Flags&netlink.Acknowledge == 0 {
			t.Errorf("datagram %d ends with %+v, want an acknowledged NOOP", d, last.Header)
		}
		if len(msgs)-1 > 8 {
			t.Errorf("datagram %d holds %d requests, want at most 8", d, len(msgs)-1)
		}
		for _, m := range msgs[:len(msgs)-1] {
			if m.Header.Flags&netlink.Acknowledge != 0 {
				t.Errorf("datagram %d: request %d asks for an acknowledgement", d, m.Header.Sequence)
			}
		}
	}
	if len(k.queue) != 0 {
		t.Errorf("%d answers left unread", len(k.queue))
	}
}

// TestBatchMissingEcho: an echo the kernel did not send (it could not
// allocate it) is an error for that op alone, not a success with a zero
// handle, and the next batch starts clean.
func TestBatchMissingEcho(t *testing.T) {
	h, k := batchHandle(t, 8)
	k.dropEcho = true
	ans := h.Batch([]Op{
		{Kind: OpAdd, Block: 7, Filter: dropFilter(12, 1), Echo: true},
		{Kind: OpAdd, Block: 7, Filter: dropFilter(12, 2)},
	})
	if ans[0].Err == nil || !strings.Contains(ans[0].Err.Error(), "no answer") {
		t.Errorf("echo op: %v, want no answer", ans[0].Err)
	}
	if ans[1].Err != nil || ans[1].Installed.Handle != 2 {
		t.Errorf("plain add: %+v", ans[1])
	}
	k.dropEcho = false
	ans = h.Batch([]Op{{Kind: OpGet, Block: 7, Pref: 12, Handle: 1}})
	if ans[0].Err != nil || ans[0].Dumped.Installed.Handle != 1 {
		t.Errorf("next batch: %+v", ans[0])
	}
}

func TestBatchSizeFor(t *testing.T) {
	for _, c := range []struct{ rcvbuf, want int }{
		{0, 8}, {212992 * 2, 52}, {8 << 20, batchMax},
	} {
		if got := batchSizeFor(c.rcvbuf); got != c.want {
			t.Errorf("batchSizeFor(%d) = %d, want %d", c.rcvbuf, got, c.want)
		}
	}
}
