// Package softpath is nicflow's software fast path: it reads frames from its
// ports in batches, runs the complete OpenFlow 1.3 pipeline of a
// pipeline.Snapshot on them (flow tables, instructions, action sets, groups,
// meters) and writes the results in batches per output port. Headers and
// the packet-modifying actions (VLAN, MPLS and PBB pushes and pops, TTLs,
// set_field) are softpath/packet's; a TTL that expires (dec_nw_ttl,
// dec_mpls_ttl) ends the packet, sent to the controller as OFPR_INVALID_TTL
// when Config.InvalidTTLToController. What happens to a packet is what the
// reference evaluator (pipeline.Snapshot.EvaluateWith) says: a differential
// test holds the datapath to it.
//
// The per-packet path takes no locks and does not allocate in the steady
// state: the compiled classifier and the port table are published through
// atomic pointers (a new generation per Install, AddPort, RemovePort), and
// every port reader owns its scratch state.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline and
// github.com/nicflow/nicflow/softpath/..., go.uber.org/zap.
package softpath

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath/classifier"
)

// MissPolicy says what happens to a packet that misses a flow table (no flow
// matched, not even a table-miss entry).
type MissPolicy int32

const (
	// MissDrop drops it: the OpenFlow default, and fail-mode secure.
	MissDrop MissPolicy = iota
	// MissNormal hands it to NORMAL: the datapath acts as an L2 learning
	// switch (fail-mode standalone without a controller).
	MissNormal
)

// Config configures a Datapath.
type Config struct {
	// Now returns the current time (counters' last-used time, meters, MAC
	// aging). Default time.Now. Frames' arrival times (Frame.Time) are in
	// its clock: unix time, as the kernel stamps them.
	Now func() time.Time
	// Upcall receives packet-ins. It runs on a port's reader goroutine and
	// must not block for long (queue and return). Nil: packet-ins are
	// dropped.
	Upcall func(PacketIn)
	// InvalidTTLToController sends packets whose TTL expired to the
	// controller (reason InvalidTTL) instead of dropping them silently
	// (OFPC_INVALID_TTL_TO_CONTROLLER). It is the initial value;
	// SetSwitchConfig changes it.
	InvalidTTLToController bool
	// Miss is the initial miss policy.
	Miss MissPolicy
	// BatchSize is the number of frames read at once per port (default 64).
	BatchSize int
	// MACAging is how long NORMAL remembers a MAC address (default 300 s).
	MACAging time.Duration
	// NoFlowCache turns off the per-reader exact-match cache in front of
	// the classifier (keyed by table and packet key, emptied on every
	// Install and when it reaches 8192 entries).
	NoFlowCache bool
}

// SwitchConfig is what the OpenFlow switch configuration (OFPT_SET_CONFIG)
// asks of the fast path.
type SwitchConfig struct {
	// FragDrop drops IP fragments, first and later, IPv4 and IPv6, before
	// they enter the flow tables (OFPC_FRAG_DROP; packet-outs with explicit
	// actions are sent as the controller says).
	FragDrop bool
	// InvalidTTLToController: see Config.
	InvalidTTLToController bool
}

// Datapath runs the pipeline on the frames of its ports. Its methods are
// safe for concurrent use.
type Datapath struct {
	cfg  Config
	miss atomic.Int32
	// swcfg is the switch configuration in force (*SwitchConfig).
	swcfg atomic.Pointer[SwitchConfig]
	gen   atomic.Pointer[generation]
	pt    atomic.Pointer[portTable]
	macs  *macTable

	mu          sync.Mutex // guards the fields below and serializes port-table changes
	running     bool
	stopped     bool
	readers     sync.WaitGroup
	missSources []*missSource                   // see AddMissSource
	meters      map[*pipeline.Meter]*meterState // meter state by meter, carried across generations

	ctlMu sync.Mutex // guards ctl
	ctl   *worker    // runs Execute (packet-outs)

	// Per-table lookup and match counts, folded in by workers once per batch.
	tableLookups [pipeline.NumTables]atomic.Uint64
	tableMatched [pipeline.NumTables]atomic.Uint64
}

// TableStats returns, per table, how many lookups the fast path made and
// how many of them hit a flow.
func (d *Datapath) TableStats() (lookups, matched [pipeline.NumTables]uint64) {
	for t := range lookups {
		lookups[t] = d.tableLookups[t].Load()
		matched[t] = d.tableMatched[t].Load()
	}
	return lookups, matched
}

// generation is one installed snapshot. Its classifier is compiled on
// first use, so a burst of Installs with no packet in between compiles
// once, not once per Install.
type generation struct {
	snap   *pipeline.Snapshot
	meters map[uint32]*meterState
	// base is the latest classifier compiled before this generation was
	// installed (nil: none): the tables it shares with snap are reused.
	base *classifier.Classifier
	once sync.Once
	cls  atomic.Pointer[classifier.Classifier]
	// buckets holds each group bucket's actions in action-set order.
	buckets map[*pipeline.Bucket][]pipeline.Action
}

// classifier returns the generation's classifier, compiling it on first
// use. Safe for concurrent use.
func (g *generation) classifier() *classifier.Classifier {
	if c := g.cls.Load(); c != nil {
		return c
	}
	g.once.Do(func() { g.cls.Store(classifier.Recompile(g.base, g.snap)) })
	return g.cls.Load()
}

// compiled returns the latest compiled classifier as of g: g's own, or the
// one g would be compiled from.
func (g *generation) compiled() *classifier.Classifier {
	if c := g.cls.Load(); c != nil {
		return c
	}
	return g.base
}

// New returns a datapath without ports and with an empty pipeline.
func New(cfg Config) *Datapath {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 64
	}
	if cfg.MACAging <= 0 {
		cfg.MACAging = 300 * time.Second
	}
	d := &Datapath{cfg: cfg, macs: newMACTable(macTableSize), meters: map[*pipeline.Meter]*meterState{}}
	d.miss.Store(int32(cfg.Miss))
	d.swcfg.Store(&SwitchConfig{InvalidTTLToController: cfg.InvalidTTLToController})
	d.pt.Store(&portTable{byNo: map[uint32]*port{}})
	d.Install(&pipeline.Snapshot{})
	d.ctl = newWorker(d)
	return d
}

// Install makes s the pipeline of every packet processed after Install
// returns. s must not change afterwards. It is compiled lazily, when the
// first packet after it is classified (or by Compile), so a burst of flow
// mods costs one compile of each table it touched.
func (d *Datapath) Install(s *pipeline.Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	g := &generation{snap: s, meters: make(map[uint32]*meterState, len(s.Meters)), buckets: bucketSets(s)}
	if prev := d.gen.Load(); prev != nil {
		g.base = prev.compiled()
	}
	keep := make(map[*pipeline.Meter]*meterState, len(s.Meters))
	for id, m := range s.Meters {
		st := d.meters[m]
		if st == nil {
			st = newMeterState(m)
		}
		g.meters[id] = st
		keep[m] = st
	}
	d.meters = keep
	d.gen.Store(g)
}

// Compile compiles the installed snapshot now, if no packet did yet.
func (d *Datapath) Compile() { d.gen.Load().classifier() }

// Snapshot returns the installed snapshot.
func (d *Datapath) Snapshot() *pipeline.Snapshot { return d.gen.Load().snap }

// SetMissPolicy sets what happens on a table miss.
func (d *Datapath) SetMissPolicy(p MissPolicy) { d.miss.Store(int32(p)) }

// SetSwitchConfig sets the switch configuration of every packet processed
// after it returns.
func (d *Datapath) SetSwitchConfig(c SwitchConfig) { d.swcfg.Store(&c) }

// SwitchConfig returns the switch configuration in force.
func (d *Datapath) SwitchConfig() SwitchConfig { return *d.swcfg.Load() }

// Run reads every port (one goroutine each, also for ports added later)
// until ctx is done, then closes every port's PacketIO and returns once all
// readers stopped. A Datapath runs once.
func (d *Datapath) Run(ctx context.Context) error {
	d.mu.Lock()
	if d.running || d.stopped {
		d.mu.Unlock()
		return errors.New("softpath: datapath already ran")
	}
	d.running = true
	for _, p := range d.pt.Load().list {
		d.startReader(p)
	}
	for _, m := range d.missSources {
		d.startMissReader(m)
	}
	d.mu.Unlock()

	<-ctx.Done()

	d.mu.Lock()
	d.running, d.stopped = false, true
	var errs []error
	for _, p := range d.pt.Load().list {
		if err := p.close(); err != nil {
			errs = append(errs, fmt.Errorf("close port %d (%s): %w", p.no, p.name, err))
		}
	}
	for _, m := range d.missSources {
		if err := m.io.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close miss source %s: %w", m.name, err))
		}
	}
	d.mu.Unlock()
	d.readers.Wait()
	return errors.Join(errs...)
}

// startReader starts p's reader goroutine. d.mu is held.
func (d *Datapath) startReader(p *port) {
	d.readers.Add(1)
	go func() {
		defer d.readers.Done()
		defer close(p.done)
		newWorker(d).readLoop(p)
	}()
}

// portTable is one generation of the set of ports.
type portTable struct {
	byNo map[uint32]*port
	list []*port // by port number
}

func (t *portTable) with(p *port) *portTable {
	n := &portTable{byNo: make(map[uint32]*port, len(t.byNo)+1)}
	for no, q := range t.byNo {
		n.byNo[no] = q
	}
	n.byNo[p.no] = p
	n.sort()
	return n
}

func (t *portTable) without(no uint32) *portTable {
	n := &portTable{byNo: make(map[uint32]*port, len(t.byNo))}
	for k, q := range t.byNo {
		if k != no {
			n.byNo[k] = q
		}
	}
	n.sort()
	return n
}

func (t *portTable) sort() {
	t.list = t.list[:0]
	for _, p := range t.byNo {
		t.list = append(t.list, p)
	}
	sort.Slice(t.list, func(i, j int) bool { return t.list[i].no < t.list[j].no })
}
