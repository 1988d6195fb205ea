package offload

import (
	"errors"
	"fmt"
	"sort"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/tcflower"
)

// TCKernel is the part of the kernel's tc the tc tier drives.
// *tcflower.Handle implements it.
type TCKernel interface {
	BindBlock(ifindex int, block uint32) error
	UnbindBlock(ifindex int) error
	Add(block uint32, f *tcflower.Filter) (tcflower.Installed, error)
	// Batch sends requests in order, pipelined, and returns one answer
	// per request (see tcflower.Handle.Batch).
	Batch(ops []tcflower.Op) []tcflower.Answer
	Replace(block uint32, f *tcflower.Filter) (tcflower.Installed, error)
	Remove(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error)
	Get(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error)
	Dump(block uint32) ([]tcflower.Dumped, error)
}

// TCConfig turns on a network's tc tier.
type TCConfig struct {
	Kernel TCKernel
	// Block is the network's shared ingress block, bound to every port,
	// under policy tc (kernel software): one filter serves every port and a
	// rule's in_port is an indev key.
	Block uint32
	// PortBlock is the block of port no alone. Under policies auto and hw
	// (and under tc with PerPortBlocks) every port's ingress is bound to a
	// block of its own and a rule's filters go on the ports it applies to,
	// without an indev key: hardware drivers take filters only for the port
	// they are called for (mlx5: "Can't match on the ingress filter port"
	// for an indev naming another port) and, on a shared block, one
	// driver's refusal aborts a skip_sw add for all. nil: Block+no.
	PortBlock func(no uint32) uint32
	// PerPortBlocks makes policy tc use per-port blocks too.
	PerPortBlocks bool
	// MissDev is the netdev the miss filters redirect to: what no
	// offloaded rule of chain 0 took goes there, tagged with its in_port
	// (see softpath.AddMissSource), and the fast path reads it from the
	// device's peer. Empty: no miss filters (see Config.NoFastPath).
	MissDev string
	// ReconcileDelay is how long, after the first rule a controller sends
	// since the start, filters found in the blocks at start (from an
	// earlier run) keep forwarding while the controller re-sends its
	// rules; those no re-sent rule adopted are then removed. When no
	// controller sends a rule they are removed ten times that after the
	// start. Default 30 s.
	ReconcileDelay time.Duration
}

// tcTier is a network's tc tier: its blocks, the filters installed in
// them for its rules and what they counted. It is guarded by the
// network's mu.
type tcTier struct {
	cfg     TCConfig
	policy  Policy
	perPort bool // a block per port (else one shared block)
	log     *zap.Logger

	// blocks are the tier's tc blocks: by port number under per-port
	// blocks, the shared block under 0.
	blocks map[uint32]*tcBlock
	order  []*tcBlock     // blocks by port number (see reorder)
	bound  map[uint32]int // ifindex of each port bound to a block, by port number
	// retired holds what the filters of a flow counted on the blocks of
	// ports since removed, by flow ID: counters never go backwards.
	retired  map[uint64]*retiredCounts
	refusals uint64 // refusals so far (metrics)
	lastSnap *pipeline.Snapshot
	// redo holds the tables to place again at the next sync whatever
	// their flows: the kernel's answers or the environment changed.
	redo     tableSet
	meterUse map[uint32]int // of the last placement
	// nextHandle is the last filter handle the tier chose for a batched
	// add (above every handle found in the blocks at start).
	nextHandle uint32

	envGen    uint64 // bumped when ports, groups or meters change
	dirty     bool
	statsAt   time.Time                  // when the counters were last read
	tableBase [pipeline.NumTables]Counts // counts of removed flows' filters, per table

	// fragDrop: IP fragments are dropped (OFPC_FRAG_DROP): placement keeps
	// the rules that can match IP out of tc (placeInput.fragDrop).
	fragDrop bool

	// reconciled is set once Reconcile has run: the controller has had its
	// time to re-send its rules, so a block read for the first time after
	// it (a port added later, bound to a block of an earlier run) keeps
	// only the filters its first sync adopts.
	reconciled bool
}

// tcBlock is one tc block of the tier and the filters it holds for the
// network's rules: a port's own block (per-port blocks) or the shared
// block of every port.
type tcBlock struct {
	index uint32
	port  uint32 // the block's one port; 0: the shared block
	name  string // the port's netdev ("" for the shared block)
	// noEthBytes is set when the port's driver counts hardware bytes
	// without the Ethernet header (see hwBytesWithoutEthernet).
	noEthBytes bool

	rules map[uint64]*tcRule // by flow ID: every flow that had a filter here
	// twins holds the 802.1ad half of the flows whose translation has a
	// Twin (tcflower.Filter.Twin), by flow ID; its counts add to the rule's.
	twins map[uint64]*tcRule
	inHW  map[uint64]bool // policy auto: in_hw read back, by flow ID
	// twinInHW is inHW of the 802.1ad halves (tcflower.Filter.Twin): a
	// device may take one half of a rule and not the other; the rule is
	// in hardware when both are.
	twinInHW map[uint64]bool
	refused  map[uint64]refusal // device refusals, by flow ID
	// placed is where each flow that applies on this block runs.
	placed  map[uint64]Placement
	ps      placeState // what the last placement found, per table
	trans   map[uint64]translation
	pending []pendingOp // kernel requests not sent yet (see flush)
	// hwFreed is set when a filter left the device: rules it refused
	// for room (ENOSPC) or, under auto, did not take may fit now.
	hwFreed bool
	// retry holds the rules whose filter is installed again as it is, so
	// that the device is asked again (policy auto), by flow ID.
	retry   map[uint64]bool
	orphans []*orphan // filters of an earlier run not yet adopted
	read    bool      // the filters of an earlier run were read
	// earlier counts what became of the filters of an earlier run found
	// here, for the log of the reconcile (see reconcileCount).
	earlier reconcileCount

	// guards are the TTL guards the block holds, by handle, for guardDec
	// decrements (see syncGuards); guardErr is the kernel's refusal of one,
	// which keeps the rules that decrement out of tc until the ports
	// change.
	guards   map[uint32]*tcflower.Filter
	guardDec ttlDec
	guardErr string
	// guardStale: guards may be held that guardDec does not need (an
	// earlier run's, kept while its filters remain).
	guardStale bool
}

// retiredCounts is what a flow's filters counted on removed blocks.
type retiredCounts struct {
	table  uint8
	hw, tc Counts
}

// tcRule is the tc side of one flow on one block.
type tcRule struct {
	table  uint8
	flow   *pipeline.Flow   // the flow version the filter was made for
	filter *tcflower.Filter // installed filter (nil: none now)
	// src is the placement's filter the installed one was made from: the
	// translation cache returns the same pointer while flow and
	// environment are unchanged, so an unchanged rule is found without
	// comparing filters.
	src  *tcflower.Filter
	tier Tier // tier of the installed filter
	// base is what filters of this flow counted before the current one
	// (replaced, removed, moved): counters never go backwards.
	baseHW, baseTC Counts
	// adopt is what an adopted filter had counted before this run took it
	// over: a rule's counters start at zero.
	adoptHW, adoptTC Counts
	cur              tcflower.Stats // the current filter's last read counters
	lastUsed         time.Time
}

// refusal is a device's refusal of one version of a flow's filter.
type refusal struct {
	flow  *pipeline.Flow
	msg   string
	errno unix.Errno // 0: not a kernel error
}

// orphan is a nicflow filter found in a block at start.
type orphan struct {
	d tcflower.Dumped
}

// translation caches one flow's translation.
type translation struct {
	flow   *pipeline.Flow
	envGen uint64
	// complete is whether the goto_table target was complete.
	complete bool
	filter   *tcflower.Filter
	err      error
}

func newTCTier(cfg TCConfig, policy Policy, log *zap.Logger) *tcTier {
	if cfg.ReconcileDelay <= 0 {
		cfg.ReconcileDelay = 30 * time.Second
	}
	if cfg.PortBlock == nil {
		base := cfg.Block
		cfg.PortBlock = func(no uint32) uint32 { return base + no }
	}
	t := &tcTier{
		cfg:     cfg,
		policy:  policy,
		perPort: policy != PolicyTC || cfg.PerPortBlocks,
		log:     log,
		blocks:  map[uint32]*tcBlock{},
		bound:   map[uint32]int{},
		retired: map[uint64]*retiredCounts{},
	}
	if !t.perPort {
		t.blocks[0] = newTCBlock(cfg.Block, PortInfo{})
		t.reorder()
	}
	return t
}

func newTCBlock(index uint32, p PortInfo) *tcBlock {
	return &tcBlock{
		index:      index,
		port:       p.No,
		name:       p.Name,
		noEthBytes: hwBytesWithoutEthernet[p.Driver],
		rules:      map[uint64]*tcRule{},
		twins:      map[uint64]*tcRule{},
		inHW:       map[uint64]bool{},
		twinInHW:   map[uint64]bool{},
		refused:    map[uint64]refusal{},
		placed:     map[uint64]Placement{},
		trans:      map[uint64]translation{},
		retry:      map[uint64]bool{},
		guards:     map[uint32]*tcflower.Filter{},
	}
}

// tierFlags are the filter flags of a policy.
func (t *tcTier) tierFlags() tcflower.Flags {
	switch t.policy {
	case PolicyHW:
		return tcflower.FlagSkipSW
	case PolicyTC:
		return tcflower.FlagSkipHW
	}
	return 0
}

// sortedBlocks are the blocks by port number, for a deterministic order
// of kernel requests. The slice is the tier's: do not change it.
func (t *tcTier) sortedBlocks() []*tcBlock { return t.order }

// reorder rebuilds the block order after blocks came or went: placement
// asks for it once per rule and sync, not once per change of ports.
func (t *tcTier) reorder() {
	order := make([]*tcBlock, 0, len(t.blocks)) // a new slice: a caller may still range over the old
	for _, b := range t.blocks {
		order = append(order, b)
	}
	sort.Slice(order, func(i, j int) bool { return order[i].port < order[j].port })
	t.order = order
}

// missFilterOf returns the miss filter of port p: in chain 0 below every
// rule, it tags what arrived on p with p's number and hands it to the miss
// device. It always runs in kernel software. On a block of its own the
// port is implied; on the shared block it matches p's indev.
func (t *tcTier) missFilterOf(p PortInfo) *tcflower.Filter {
	f := &tcflower.Filter{
		Chain:    0,
		Pref:     tcflower.MissPref,
		Protocol: tcflower.EthPAll,
		Handle:   p.No,
		Flags:    tcflower.FlagSkipHW,
		Actions:  t.toFastPath(p),
	}
	if !t.perPort {
		f.Keys.Indev = p.Name
	}
	f.Cookie = tcflower.EncodeCookie(tcflower.CookieInfo{Version: tcflower.CookieVersion, Digest: tcflower.Digest(f)})
	return f
}

// addPort binds p to its block (a new one of its own under per-port
// blocks) and installs its miss filter (when the tier has a miss device).
func (t *tcTier) addPort(p PortInfo) error {
	if p.Ifindex == 0 {
		return nil // not a kernel netdev: the fast path reads it
	}
	if p.No > softpath.MaxMissPort {
		return fmt.Errorf("port number %d: the tc tier carries port numbers up to %d", p.No, softpath.MaxMissPort)
	}
	b := t.blocks[0]
	if t.perPort {
		b = newTCBlock(t.cfg.PortBlock(p.No), p)
	}
	if err := t.cfg.Kernel.BindBlock(p.Ifindex, b.index); err != nil {
		return err
	}
	if t.cfg.MissDev != "" {
		if _, err := t.cfg.Kernel.Replace(b.index, t.missFilterOf(p)); err != nil {
			_ = t.cfg.Kernel.UnbindBlock(p.Ifindex) // undo; the install error is the one to report
			return err
		}
	}
	if t.perPort {
		t.blocks[p.No] = b
		t.reorder()
	}
	t.bound[p.No] = p.Ifindex
	t.invalidate()
	return nil
}

// removePort takes p out of the tier. On the shared block its miss filter
// goes and it is unbound; its rules leave tc at the next sync (their
// in_port or output no longer exists). A block of its own is read a last
// time (what its filters counted stays with their rules) and unbound: the
// kernel frees a block with its filters when its last binding goes.
func (t *tcTier) removePort(p PortInfo, now time.Time) error {
	ifindex, ok := t.bound[p.No]
	if !ok {
		return nil
	}
	delete(t.bound, p.No)
	t.invalidate()
	var err error
	if b := t.blocks[p.No]; t.perPort && b != nil {
		t.refreshBlock(b, now)
		t.retire(b)
		delete(t.blocks, p.No)
		t.reorder()
	} else {
		b := t.blocks[0]
		if t.cfg.MissDev != "" {
			_, err = t.cfg.Kernel.Remove(b.index, 0, tcflower.MissPref, p.No)
		}
		for h, g := range b.guards {
			if h>>8&softpath.MaxMissPort != p.No {
				continue
			}
			if _, gerr := t.cfg.Kernel.Remove(b.index, g.Chain, g.Pref, g.Handle); gerr != nil && !isErrno(gerr, unix.ENOENT) && err == nil {
				err = gerr
			}
			delete(b.guards, h) // the next sync sets the guards of the ports left
		}
	}
	if uerr := t.cfg.Kernel.UnbindBlock(ifindex); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// teardown unbinds every port from its block. The kernel frees a block,
// with every filter in it, when its last binding goes, so nothing of the
// tier stays behind.
func (t *tcTier) teardown() error {
	var errs []error
	for no, ifindex := range t.bound {
		if err := t.cfg.Kernel.UnbindBlock(ifindex); err != nil {
			errs = append(errs, fmt.Errorf("port %d: %w", no, err))
		}
		delete(t.bound, no)
	}
	return errors.Join(errs...)
}

// invalidate marks every rule for translation and placement at the next
// sync: ports, groups or meters changed.
func (t *tcTier) invalidate() {
	t.envGen++
	t.redo = allTables
	t.dirty = true
	for _, b := range t.blocks {
		b.guardErr = "" // another try with the new ports
	}
}

func (c *Counts) add(o Counts) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
}
