package offload

import (
	"fmt"
	"reflect"
	"sort"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower"
)

// fakeTC is a TCKernel held in memory: the flower filters of its blocks,
// keyed by block, chain, pref and handle, as cls_flower keeps them. It assigns
// handles like the kernel (0: the lowest free handle of the chain and
// pref), refuses duplicates with EEXIST (the same handle, or the same keys
// in the same chain and pref), resets a filter's counters when it is
// replaced (new actions count from zero), and returns a removed filter
// with its final counters. Tests drive the counters with hit and the
// device's answers with inHW and refuse; calls records every request.
// It is safe for concurrent use: the network's sync loop calls it while
// the test reads it.
type fakeTC struct {
	mu      sync.Mutex // guards the fields below
	now     func() time.Time
	filters map[fakeKey]*fakeFilter
	bound   map[int]uint32 // ifindex -> block
	calls   []fakeCall
	batches int // Batch calls

	// inHW answers, for a filter without skip flags, whether the device
	// took it (nil: never). skip_sw filters are always in hardware,
	// skip_hw filters never.
	inHW func(*tcflower.Filter) bool
	// refuse, when it returns an error, refuses an "add" or "replace" of
	// f the way the kernel does (a *tcflower.Error with an extack).
	refuse func(op string, block uint32, f *tcflower.Filter) error
	// capacity, when non-zero, is how many filters each block's device
	// holds: a skip_sw filter beyond it is refused with ENOSPC, one
	// without flags runs in software only.
	capacity int
}

// fakeKey addresses a filter of a block.
type fakeKey struct {
	chain  uint32
	pref   uint16
	handle uint32
	block  uint32
}

// fakeFilter is one installed filter.
type fakeFilter struct {
	f      tcflower.Filter // as the kernel reads it back (AsInstalled), Handle set
	sent   tcflower.Keys   // the keys as the request carried them
	inHW   bool
	stats  tcflower.Stats
	added  time.Time
	hitAt  time.Time // zero: never ran
	block  uint32
	flowID uint64 // from the cookie (0: not a rule's filter)
}

// fakeCall is one request the fake answered.
type fakeCall struct {
	Op      string // bind, unbind, add, replace, remove, get, dump
	Ifindex int    // bind, unbind
	Block   uint32
	Chain   uint32
	Pref    uint16
	Handle  uint32 // the handle the filter got (add, replace) or was asked for
	Flags   tcflower.Flags
	FlowID  uint64 // parsed from the filter's cookie (add, replace)
	Failed  bool
}

func newFakeTC(now func() time.Time) *fakeTC {
	return &fakeTC{now: now, filters: map[fakeKey]*fakeFilter{}, bound: map[int]uint32{}}
}

func errnoErr(op string, errno unix.Errno, msg string) error {
	return &tcflower.Error{Op: op, Errno: errno, Message: msg}
}

func (k *fakeTC) BindBlock(ifindex int, block uint32) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, fakeCall{Op: "bind", Ifindex: ifindex, Block: block})
	k.bound[ifindex] = block
	return nil
}

func (k *fakeTC) UnbindBlock(ifindex int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.bound[ifindex]; !ok {
		k.calls = append(k.calls, fakeCall{Op: "unbind", Ifindex: ifindex, Failed: true})
		return errnoErr("unbind block", unix.ENOENT, "")
	}
	k.calls = append(k.calls, fakeCall{Op: "unbind", Ifindex: ifindex})
	block := k.bound[ifindex]
	delete(k.bound, ifindex)
	for _, b := range k.bound {
		if b == block {
			return nil
		}
	}
	// The kernel frees a shared block, with its filters, when its last
	// binding goes.
	for key := range k.filters {
		if key.block == block {
			delete(k.filters, key)
		}
	}
	return nil
}

func (k *fakeTC) Add(block uint32, f *tcflower.Filter) (tcflower.Installed, error) {
	return k.change("add", block, f)
}

// Batch answers each request as the one-request methods do, in order; an
// add or replace without echo and without its handle is refused before
// anything is sent, as tcflower does. It counts the batches.
func (k *fakeTC) Batch(ops []tcflower.Op) []tcflower.Answer {
	k.mu.Lock()
	k.batches++
	k.mu.Unlock()
	ans := make([]tcflower.Answer, len(ops))
	for i, op := range ops {
		a := &ans[i]
		switch op.Kind {
		case tcflower.OpAdd, tcflower.OpReplace:
			if op.Filter.Handle == 0 && !op.Echo {
				a.Err = fmt.Errorf("%s flower filter: a filter sent without echo needs its handle", op.Kind)
				continue
			}
			a.Installed, a.Err = k.change(op.Kind.String(), op.Block, op.Filter)
		case tcflower.OpRemove:
			a.Dumped, a.Err = k.Remove(op.Block, op.Chain, op.Pref, op.Handle)
		case tcflower.OpGet:
			a.Dumped, a.Err = k.Get(op.Block, op.Chain, op.Pref, op.Handle)
		default:
			a.Err = fmt.Errorf("fake: unknown request %v", op.Kind)
		}
	}
	return ans
}

func (k *fakeTC) Replace(block uint32, f *tcflower.Filter) (tcflower.Installed, error) {
	return k.change("replace", block, f)
}

// change installs f: add fails on an existing handle, replace swaps the
// filter of that handle (creating it when missing).
func (k *fakeTC) change(op string, block uint32, f *tcflower.Filter) (tcflower.Installed, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	call := fakeCall{Op: op, Block: block, Chain: f.Chain, Pref: f.Pref, Flags: f.Flags, FlowID: cookieFlow(f.Cookie)}
	fail := func(err error) (tcflower.Installed, error) {
		call.Handle, call.Failed = f.Handle, true
		k.calls = append(k.calls, call)
		return tcflower.Installed{}, err
	}
	opName := fmt.Sprintf("%s flower filter block %d chain %d pref %d handle %#x", op, block, f.Chain, f.Pref, f.Handle)
	if f.Pref == 0 {
		return fail(errnoErr(opName, unix.EINVAL, "fake: pref 0 is not supported"))
	}
	if k.refuse != nil {
		if err := k.refuse(op, block, f); err != nil {
			return fail(err)
		}
	}
	handle := f.Handle
	if handle != 0 {
		if _, ok := k.filters[fakeKey{f.Chain, f.Pref, handle, block}]; ok && op == "add" {
			return fail(errnoErr(opName, unix.EEXIST, "Filter already exists"))
		}
	}
	// flower keeps one filter per keys in a chain and pref (the keys as
	// sent: it matches a VLAN tag's TPID, though it reads it back as 802.1Q).
	inst := f.AsInstalled()
	for key, g := range k.filters {
		if key.block == block && key.chain == f.Chain && key.pref == f.Pref && key.handle != handle && reflect.DeepEqual(g.sent, f.Keys) {
			return fail(errnoErr(opName, unix.EEXIST, "Filter already exists"))
		}
	}
	if handle == 0 {
		handle = 1
		for {
			if _, ok := k.filters[fakeKey{f.Chain, f.Pref, handle, block}]; !ok {
				break
			}
			handle++
		}
	}
	full := false
	if k.capacity > 0 {
		held := 0
		for key, g := range k.filters {
			if key.block == block && g.inHW && key != (fakeKey{f.Chain, f.Pref, handle, block}) {
				held++
			}
		}
		full = held >= k.capacity
	}
	if full && f.Flags&tcflower.FlagSkipSW != 0 {
		return fail(errnoErr(opName, unix.ENOSPC, fmt.Sprintf("fake: flow table full (%d rules)", k.capacity)))
	}
	nf := &fakeFilter{f: cloneFilter(inst), sent: f.Keys, block: block, added: k.now(), flowID: cookieFlow(f.Cookie)}
	nf.f.Handle = handle
	switch {
	case full && f.Flags&tcflower.FlagSkipHW == 0:
	case f.Flags&tcflower.FlagSkipSW != 0:
		nf.inHW = true
	case f.Flags&tcflower.FlagSkipHW != 0:
	case k.inHW != nil:
		nf.inHW = k.inHW(&nf.f)
	}
	k.filters[fakeKey{f.Chain, f.Pref, handle, block}] = nf
	call.Handle = handle
	k.calls = append(k.calls, call)
	return tcflower.Installed{Handle: handle, InHW: nf.inHW, InHWCount: b2u(nf.inHW)}, nil
}

func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

func (k *fakeTC) Remove(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	key := fakeKey{chain, pref, handle, block}
	g, ok := k.filters[key]
	k.calls = append(k.calls, fakeCall{Op: "remove", Block: block, Chain: chain, Pref: pref, Handle: handle, Failed: !ok})
	if !ok {
		return tcflower.Dumped{}, errnoErr(fmt.Sprintf("remove flower filter block %d chain %d pref %d handle %#x", block, chain, pref, handle),
			unix.ENOENT, "Filter with specified priority/protocol not found")
	}
	delete(k.filters, key)
	return k.dumped(g), nil
}

func (k *fakeTC) Get(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.filters[fakeKey{chain, pref, handle, block}]
	k.calls = append(k.calls, fakeCall{Op: "get", Block: block, Chain: chain, Pref: pref, Handle: handle, Failed: !ok})
	if !ok {
		return tcflower.Dumped{}, errnoErr(fmt.Sprintf("get flower filter block %d chain %d pref %d handle %#x", block, chain, pref, handle),
			unix.ENOENT, "Specified filter handle not found")
	}
	return k.dumped(g), nil
}

func (k *fakeTC) Dump(block uint32) ([]tcflower.Dumped, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = append(k.calls, fakeCall{Op: "dump", Block: block})
	var out []tcflower.Dumped
	for _, key := range k.keysLocked() {
		if g := k.filters[key]; g.block == block {
			out = append(out, k.dumped(g))
		}
	}
	return out, nil
}

// dumped is g as the kernel reports it. k.mu is held.
func (k *fakeTC) dumped(g *fakeFilter) tcflower.Dumped {
	st := g.stats
	now := k.now()
	st.Installed = now.Sub(g.added)
	st.LastUsed = st.Installed
	if !g.hitAt.IsZero() {
		st.LastUsed = now.Sub(g.hitAt)
	}
	return tcflower.Dumped{
		Filter:    cloneFilter(g.f),
		Installed: tcflower.Installed{Handle: g.f.Handle, InHW: g.inHW, InHWCount: b2u(g.inHW)},
		Stats:     st,
	}
}

// keysLocked returns the filters' keys in block, chain, pref, handle order.
func (k *fakeTC) keysLocked() []fakeKey {
	keys := make([]fakeKey, 0, len(k.filters))
	for key := range k.filters {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.block != b.block {
			return a.block < b.block
		}
		if a.chain != b.chain {
			return a.chain < b.chain
		}
		if a.pref != b.pref {
			return a.pref < b.pref
		}
		return a.handle < b.handle
	})
	return keys
}

// hit counts packets on a filter as if they had run through it now: sw in
// kernel software, hw in hardware. It panics when the filter is missing
// (a test bug).
func (k *fakeTC) hit(key fakeKey, sw, hw Counts) {
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.filters[key]
	if !ok {
		panic(fmt.Sprintf("fakeTC.hit: no filter %+v", key))
	}
	g.stats.Packets += sw.Packets + hw.Packets
	g.stats.Bytes += sw.Bytes + hw.Bytes
	g.stats.HWPackets += hw.Packets
	g.stats.HWBytes += hw.Bytes
	g.hitAt = k.now()
}

// filterOf returns the key and filter of flow id's filter.
func (k *fakeTC) filterOf(id uint64) (fakeKey, tcflower.Filter, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, key := range k.keysLocked() {
		if g := k.filters[key]; g.flowID == id {
			return key, cloneFilter(g.f), true
		}
	}
	return fakeKey{}, tcflower.Filter{}, false
}

// filtersOf returns the keys of every filter of flow id, ordered.
func (k *fakeTC) filtersOf(id uint64) []fakeKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []fakeKey
	for _, key := range k.keysLocked() {
		if k.filters[key].flowID == id {
			out = append(out, key)
		}
	}
	return out
}

// filter returns the filter at key.
func (k *fakeTC) filter(key fakeKey) (tcflower.Filter, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	g, ok := k.filters[key]
	if !ok {
		return tcflower.Filter{}, false
	}
	return cloneFilter(g.f), true
}

// keys returns the keys of every installed filter, ordered.
func (k *fakeTC) keys() []fakeKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keysLocked()
}

// bindings returns the ifindex -> block bindings.
func (k *fakeTC) bindings() map[int]uint32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make(map[int]uint32, len(k.bound))
	for i, b := range k.bound {
		out[i] = b
	}
	return out
}

// callsOf returns the recorded calls whose op is one of ops (all: none given).
func (k *fakeTC) callsOf(ops ...string) []fakeCall {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []fakeCall
	for _, c := range k.calls {
		if len(ops) == 0 {
			out = append(out, c)
			continue
		}
		for _, op := range ops {
			if c.Op == op {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

func (k *fakeTC) resetCalls() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.calls = nil
}

func (k *fakeTC) setInHW(fn func(*tcflower.Filter) bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.inHW = fn
}

func (k *fakeTC) setRefuse(fn func(op string, block uint32, f *tcflower.Filter) error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.refuse = fn
}

// cookieFlow is the flow ID a nicflow cookie carries (0: none).
func cookieFlow(c []byte) uint64 {
	info, ok := tcflower.ParseCookie(c)
	if !ok {
		return 0
	}
	return info.FlowID
}

// cloneFilter deep-copies f, so neither side sees the other's changes.
func cloneFilter(f tcflower.Filter) tcflower.Filter {
	g := f
	g.Cookie = append([]byte(nil), f.Cookie...) // nil stays nil
	if f.Actions == nil {
		return g
	}
	g.Actions = make([]tcflower.Action, len(f.Actions))
	for i, a := range f.Actions {
		b := a
		if a.Gact != nil {
			v := *a.Gact
			b.Gact = &v
		}
		if a.Mirred != nil {
			v := *a.Mirred
			b.Mirred = &v
		}
		if a.Vlan != nil {
			v := *a.Vlan
			b.Vlan = &v
		}
		if a.Pedit != nil {
			v := tcflower.Pedit{Keys: append([]tcflower.PeditKey(nil), a.Pedit.Keys...)}
			b.Pedit = &v
		}
		if a.Csum != nil {
			v := *a.Csum
			b.Csum = &v
		}
		if a.TunnelKey != nil {
			v := *a.TunnelKey
			b.TunnelKey = &v
		}
		if a.Police != nil {
			v := *a.Police
			b.Police = &v
		}
		if a.MPLS != nil {
			v := *a.MPLS
			b.MPLS = &v
		}
		g.Actions[i] = b
	}
	return g
}

var _ TCKernel = (*fakeTC)(nil)

func (k *fakeTC) setCapacity(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.capacity = n
}
