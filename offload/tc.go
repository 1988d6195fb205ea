package offload

import (
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

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
	// AddBatch adds filters that carry their handles, in order, without
	// reading them back; one answer per filter.
	AddBatch(block uint32, fs []*tcflower.Filter) []error
	Replace(block uint32, f *tcflower.Filter) (tcflower.Installed, error)
	Remove(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error)
	Get(block, chain uint32, pref uint16, handle uint32) (tcflower.Dumped, error)
	Dump(block uint32) ([]tcflower.Dumped, error)
}

// TCConfig turns on a network's tc tier.
type TCConfig struct {
	Kernel TCKernel
	// Block is the network's shared ingress block; every port with an
	// ifindex is bound to it.
	Block uint32
	// MissDev is the netdev the miss filters redirect to: what no
	// offloaded rule of chain 0 took goes there, tagged with its in_port
	// (see softpath.AddMissSource), and the fast path reads it from the
	// device's peer. Empty: no miss filters (see Config.NoFastPath).
	MissDev string
	// ReconcileDelay is how long filters found in the block at start
	// (from an earlier run) keep forwarding while the controller re-sends
	// its rules; those no re-sent rule adopted are then removed. Default
	// 30 s.
	ReconcileDelay time.Duration
}

// tcTier is a network's tc tier: the filters installed for its rules and
// what they counted. It is guarded by the network's mu.
type tcTier struct {
	cfg    TCConfig
	policy Policy
	log    *zap.Logger

	rules map[uint64]*tcRule // by flow ID: every flow that ever had a filter
	// twins holds the 802.1ad half of the flows whose translation has a
	// Twin (tcflower.Filter.Twin), by flow ID; its counts add to the rule's.
	twins    map[uint64]*tcRule
	inHW     map[uint64]bool    // policy auto: in_hw read back, by flow ID
	refused  map[uint64]refusal // device refusals, by flow ID
	refusals uint64             // refusals so far (metrics)
	placed   map[uint64]Placement
	ps       placeState // what the last placement found, per table
	// redo holds the tables to place again at the next sync whatever
	// their flows: the kernel's answers or the environment changed.
	redo     tableSet
	meterUse map[uint32]int // of the last placement
	// nextHandle is the last filter handle the tier chose for a batched
	// add (above every handle found in the block at start).
	nextHandle uint32
	pending    []pendingAdd   // batched adds not sent yet (see flushAdds)
	miss       map[uint32]int // ifindex of each port bound to the block (with its miss filter), by port number
	orphans    []*orphan      // filters of an earlier run not yet adopted

	envGen    uint64 // bumped when ports, groups or meters change
	trans     map[uint64]translation
	police    map[*pipeline.Meter]uint32
	dirty     bool
	statsAt   time.Time                  // when the counters were last read
	tableBase [pipeline.NumTables]Counts // counts of removed flows' filters, per table
}

// tcRule is the tc side of one flow.
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
	flow *pipeline.Flow
	msg  string
}

// orphan is a nicflow filter found in the block at start.
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
	return &tcTier{
		cfg:     cfg,
		policy:  policy,
		log:     log,
		rules:   map[uint64]*tcRule{},
		twins:   map[uint64]*tcRule{},
		inHW:    map[uint64]bool{},
		refused: map[uint64]refusal{},
		placed:  map[uint64]Placement{},
		miss:    map[uint32]int{},
		trans:   map[uint64]translation{},
		police:  map[*pipeline.Meter]uint32{},
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

// missFilterOf returns the miss filter of port p: in chain 0 below every
// rule, it tags what arrived on p with p's number and hands it to the miss
// device. It always runs in kernel software.
func (t *tcTier) missFilterOf(p PortInfo) *tcflower.Filter {
	f := &tcflower.Filter{
		Chain:    0,
		Pref:     tcflower.MissPref,
		Protocol: tcflower.EthPAll,
		Handle:   p.No,
		Flags:    tcflower.FlagSkipHW,
		Keys:     tcflower.Keys{Indev: p.Name},
		Actions: []tcflower.Action{
			{Kind: tcflower.KindVlan, Vlan: &tcflower.Vlan{Op: tcflower.VlanPush, ID: uint16(p.No), Proto: softpath.MissTPID, HasPrio: true}},
			{Kind: tcflower.KindMirred, Mirred: &tcflower.Mirred{Dev: t.cfg.MissDev, Redirect: true}},
		},
	}
	f.Cookie = tcflower.EncodeCookie(tcflower.CookieInfo{Version: tcflower.CookieVersion, Digest: tcflower.Digest(f)})
	return f
}

// addPort binds p to the block and installs its miss filter (when the
// tier has a miss device).
func (t *tcTier) addPort(p PortInfo) error {
	if p.Ifindex == 0 {
		return nil // not a kernel netdev: the fast path reads it
	}
	if p.No > softpath.MaxMissPort {
		return fmt.Errorf("port number %d: the tc tier carries port numbers up to %d", p.No, softpath.MaxMissPort)
	}
	if err := t.cfg.Kernel.BindBlock(p.Ifindex, t.cfg.Block); err != nil {
		return err
	}
	if t.cfg.MissDev != "" {
		if _, err := t.cfg.Kernel.Replace(t.cfg.Block, t.missFilterOf(p)); err != nil {
			_ = t.cfg.Kernel.UnbindBlock(p.Ifindex) // undo; the install error is the one to report
			return err
		}
	}
	t.miss[p.No] = p.Ifindex
	t.invalidate()
	return nil
}

// removePort removes p's miss filter and unbinds it; its rules leave tc
// at the next sync (their in_port or output no longer exists).
func (t *tcTier) removePort(p PortInfo) error {
	ifindex, ok := t.miss[p.No]
	if !ok {
		return nil
	}
	delete(t.miss, p.No)
	t.invalidate()
	var err error
	if t.cfg.MissDev != "" {
		_, err = t.cfg.Kernel.Remove(t.cfg.Block, 0, tcflower.MissPref, p.No)
	}
	if uerr := t.cfg.Kernel.UnbindBlock(ifindex); uerr != nil && err == nil {
		err = uerr
	}
	return err
}

// teardown unbinds every port from the block. The kernel frees a shared
// block, with every filter in it, when its last binding goes, so nothing
// of the tier stays behind.
func (t *tcTier) teardown() error {
	var errs []error
	for no, ifindex := range t.miss {
		if err := t.cfg.Kernel.UnbindBlock(ifindex); err != nil {
			errs = append(errs, fmt.Errorf("port %d: %w", no, err))
		}
		delete(t.miss, no)
	}
	return errors.Join(errs...)
}

// invalidate marks every rule for translation and placement at the next
// sync: ports, groups or meters changed.
func (t *tcTier) invalidate() {
	t.envGen++
	t.redo = allTables
	t.dirty = true
}

func (c *Counts) add(o Counts) {
	c.Packets += o.Packets
	c.Bytes += o.Bytes
}
