package manager

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// Log keys.
const (
	logKeyNetwork = "network"
	logKeyVNIC    = "vnic"
)

// Config configures a Manager: its state store, logger and kernel access.
// A nil kernel interface leaves what needs it unavailable, with errors
// that say so.
type Config struct {
	// RunDir holds the networks' management sockets (RUN_DIR/NAME.mgmt).
	RunDir string
	// APISocket is nicflowd's REST API socket: no network may listen on
	// it (see checkListeners).
	APISocket string
	// Store keeps API-created networks and every vNIC. Without one the
	// API can read but not create networks or attach vNICs.
	Store *store.Store
	Log   *zap.Logger
	// Ports opens netdevs as OpenFlow ports (Host).
	Ports Ports
	// Links creates host vNICs and sets representors up (Host).
	Links Links
	// Watch follows the ports' carrier (Host); nil: port link changes
	// are not reported.
	Watch LinkWatcher
	// TC gives networks their tc tier and sweeps stale tc state
	// (KernelTC); nil: every rule runs in the fast path, nothing is
	// swept.
	TC TC
	// VF is the SR-IOV access of mode nic (*vf.Netlink); nil leaves mode
	// nic and hairpin vNICs of type vf unavailable.
	VF VFKernel
	// VEPA is the bridge-mode and macvlan access of mode hairpin
	// (*vepa.Handle); nil leaves mode hairpin unavailable.
	VEPA VEPAKernel
	// VFStats reads VF counters for the metrics (Host); nil: none.
	VFStats VFStats
	// NICs lists the host's NICs (*nic.Discoverer); nil: GET /v1/nics is
	// unavailable.
	NICs NICs
	// TLS gives ssl: and pssl: targets their material: the network's own
	// files or the daemon's default; nil: such targets are refused.
	TLS *mtls.Set
	// ClaimPrefix is the abstract unix socket name before a netdev's
	// under which networks and vNICs claim their netdevs against other
	// nicflowds in the namespace (see claims): DefaultClaimPrefix
	// (OpenKernel sets it); "": nothing is claimed (fake netdevs).
	ClaimPrefix string
	// Errc receives the error of a network whose fast path or OpenFlow
	// switch fails (not blocking: when full, the error is logged).
	Errc chan<- error
	// ReconcileDelay is how long a started network's tc filters of an
	// earlier run keep forwarding while the controller re-sends its rules
	// (offload.TCConfig.ReconcileDelay); 0: its default, 30 s.
	ReconcileDelay time.Duration
	// InactivityProbe is the inactivity probe of networks whose spec sets
	// none (nicflowd's --inactivity-probe); 0: 5 s, negative: disabled.
	InactivityProbe time.Duration
	// Clock times the networks' OpenFlow channels (inactivity probe,
	// packet-in rate limits); nil: the system's.
	Clock openflow.Clock
}

// Manager owns the running networks: fixed ones (of nicflowd's
// configuration), started by Start and kept for its life, and those
// created through the API, started and stopped live and kept in the store
// so they come back after a restart. It attaches and detaches vNICs
// through each network's plumbing (the mode's), changes a network's mode
// live, and implements rest.Backend.
//
// It is safe for concurrent use: changes (create, update, delete, attach,
// detach) are serialized by opMu, so a check and the change that depends on
// it (a name is free, no vNIC is attached, a port number is free) never
// interleave with another change; reads take only mu.
type Manager struct {
	cfg   Config
	log   *zap.Logger
	alloc *vf.Allocator // nil without a store or SR-IOV access
	// life is the networks' lifetime: Shutdown cancels it.
	life     context.Context
	shutdown context.CancelFunc

	opMu sync.Mutex // serializes changes

	mu   sync.Mutex // guards nets and the fields of its entries
	nets map[string]*managedNet

	// broken says why a vNIC no longer works, by id: its port's netdev
	// was deleted under its running network (linkGone). Guarded by mu.
	broken map[string]string

	// claims are the netdevs the networks and vNICs use, claimed against
	// other nicflowds (see claims).
	claims *claims

	notedMu sync.Mutex      // guards noted
	noted   map[string]bool // what firstTime has seen
}

// firstTime reports whether key is new to this manager: a condition of
// the host (no tc tier, say) is logged once at its level, then at debug.
func (m *Manager) firstTime(key string) bool {
	m.notedMu.Lock()
	defer m.notedMu.Unlock()
	if m.noted[key] {
		return false
	}
	if m.noted == nil {
		m.noted = map[string]bool{}
	}
	m.noted[key] = true
	return true
}

// managedNet is one network of the manager. Its fields change only while
// opMu is held, and under mu too: a change holds both, a reader either.
type managedNet struct {
	// spec is the network's spec, DatapathID the one in use once it ran.
	spec    rest.NetworkSpec
	origin  string // rest.OriginConfig or rest.OriginAPI
	created time.Time
	plumb   plumbing
	run     *network // nil while not running
	err     error    // why it is not running
	stop    func()   // stops run and waits for its goroutines
	// ports describes the OpenFlow ports beyond what the datapath knows.
	ports map[uint32]portMeta
	// missing are the fixed ports whose netdev was deleted under the
	// running network, by number, until a netdev of the name is back
	// (see linkGone).
	missing map[uint32]missingPort
	// pfBridge is the uplink's embedded bridge mode before mode hairpin
	// put it in VEPA (see hairpinPlumbing.before), kept in the record.
	pfBridge string
}

// portMeta is what kind of port an OpenFlow port is, and whose.
type portMeta struct {
	kind string // uplink, netdev, representor, veth
	vnic string
}

// New returns a Manager without networks; Start brings them up.
func New(cfg Config) (*Manager, error) {
	if cfg.Log == nil {
		cfg.Log = zap.NewNop()
	}
	if cfg.Ports == nil || cfg.Links == nil {
		return nil, errors.New("manager: Config.Ports and Config.Links are required")
	}
	life, shutdown := context.WithCancel(context.Background())
	m := &Manager{cfg: cfg, log: cfg.Log, life: life, shutdown: shutdown, nets: map[string]*managedNet{}, broken: map[string]string{},
		claims: newClaims(cfg.ClaimPrefix, claimsSelf(cfg))}
	if cfg.Store != nil && cfg.VF != nil {
		a, err := vf.NewAllocator(vf.Config{Kernel: cfg.VF, Store: cfg.Store, Resolve: cfg.VF.Locate})
		if err != nil {
			shutdown()
			return nil, err
		}
		m.alloc = a
	}
	return m, nil
}

// Start brings the networks up: the fixed ones (of the configuration:
// validated specs, which the API cannot change or delete), then those the
// store holds with their vNICs; it sweeps stale tc state off the host and
// follows the ports' carrier. It fails when a fixed network does not start
// or the store cannot be read; a stored network that does not start is
// kept, not running, with its error.
func (m *Manager) Start(ctx context.Context, fixed ...rest.NetworkSpec) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	for _, spec := range fixed {
		if err := m.startFixed(ctx, spec); err != nil {
			return err
		}
	}
	if err := m.restore(ctx); err != nil {
		return err
	}
	m.logStarted(len(fixed))
	m.sweepStale("start")
	if m.cfg.Watch != nil {
		err := m.cfg.Watch.WatchLinks(m.life, m.linkChanged, func(err error) { m.log.Warn("link watch", zap.Error(err)) })
		if err != nil {
			m.log.Warn("port link changes will not be reported", zap.Error(err))
		}
	}
	return nil
}

// logStarted says how many networks the start brought back: those of the
// configuration (fixed of them) and those restored from the store, and
// how many of them are down with an error.
func (m *Manager) logStarted(fixed int) {
	m.mu.Lock()
	total, down := len(m.nets), 0
	for _, mn := range m.nets {
		if mn.err != nil {
			down++
		}
	}
	m.mu.Unlock()
	m.log.Info("networks started", zap.Int("networks", total), zap.Int("configured", fixed),
		zap.Int("restored", total-fixed), zap.Int("down", down))
}

// startFixed starts a network of the configuration. Callers hold opMu.
func (m *Manager) startFixed(ctx context.Context, spec rest.NetworkSpec) error {
	if _, taken := m.get(spec.Name); taken {
		return rest.Conflict("name", fmt.Sprintf("network %s is configured twice", spec.Name))
	}
	if err := m.checkPorts(spec); err != nil {
		return fmt.Errorf("network %s: %w", spec.Name, err)
	}
	if err := checkUplink(spec, nil); err != nil {
		return fmt.Errorf("network %s: %w", spec.Name, err)
	}
	if err := m.checkListeners(spec, nil); err != nil {
		return fmt.Errorf("network %s: %w", spec.Name, err)
	}
	mn := &managedNet{spec: spec, origin: rest.OriginConfig}
	if err := m.launch(ctx, mn); err != nil {
		return err
	}
	m.mu.Lock()
	m.nets[spec.Name] = mn
	m.mu.Unlock()
	return nil
}

// linkChanged reports a carrier change of a port of a running network as
// PORT_STATUS; a port whose netdev is gone leaves its network (linkGone),
// a missing fixed port whose netdev is back comes back (linkBack).
func (m *Manager) linkChanged(ev LinkEvent) {
	if ev.Gone {
		m.linkGone(ev)
	} else {
		m.linkBack(ev.Name)
	}
	name, up := ev.Name, ev.Up && !ev.Gone
	m.mu.Lock()
	var runs []*network
	for _, mn := range m.nets {
		if mn.run != nil {
			runs = append(runs, mn.run)
		}
	}
	m.mu.Unlock()
	for _, n := range runs {
		if p, ok := n.net.PortByName(name); ok {
			n.net.SetLink(p.No, up)
		}
	}
}

// restore brings back the networks the store holds (a fixed network of
// the same name wins), re-attaches their vNICs' ports with their recorded
// OpenFlow port numbers, and reconciles the VFs' settings to the records.
// Callers hold opMu.
func (m *Manager) restore(ctx context.Context) error {
	if m.cfg.Store == nil {
		return nil
	}
	recs, err := m.cfg.Store.Networks()
	if err != nil {
		return fmt.Errorf("restore networks: %w", err)
	}
	for _, r := range recs {
		if _, taken := m.get(r.Name); taken {
			m.log.Error("stored network has the name of a configuration network: keeping the configuration's",
				zap.String(logKeyNetwork, r.Name))
			continue
		}
		mn := &managedNet{spec: specOfRecord(r), origin: rest.OriginAPI, created: r.Created, pfBridge: r.PFBridgeMode}
		if err := m.checkListeners(mn.spec, nil); err != nil {
			mn.err = err
			m.log.Error("stored network not started: fix its controllers with PUT /v1/networks/"+r.Name+" or delete it",
				zap.String(logKeyNetwork, r.Name), zap.Error(err))
		} else if err := m.launch(ctx, mn); err != nil {
			mn.err = err
			m.log.Error("stored network did not start", zap.String(logKeyNetwork, r.Name), zap.Error(err))
		}
		m.mu.Lock()
		m.nets[r.Name] = mn
		m.mu.Unlock()
	}
	if m.alloc != nil {
		changes, err := m.alloc.Reconcile(ctx)
		for _, c := range changes {
			m.log.Warn("VF drifted from its record; set back", zap.String(logKeyVNIC, c.VNICID), zap.String("change", c.String()))
		}
		if err != nil {
			m.log.Error("reconcile VFs", zap.Error(err))
		}
	}
	vnics, err := m.cfg.Store.VNICs("")
	if err != nil {
		return fmt.Errorf("restore vnics: %w", err)
	}
	for _, v := range vnics {
		if _, ok := m.get(v.Network); !ok {
			m.log.Warn("vnic of a network that no longer exists: detach it", zap.String(logKeyVNIC, v.ID), zap.String(logKeyNetwork, v.Network))
		}
	}
	return nil
}

// get returns a network by name.
func (m *Manager) get(name string) (*managedNet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mn, ok := m.nets[name]
	return mn, ok
}

// launch starts mn from mn.spec: the mode's plumbing, the network and its
// switch, then its vNICs' ports. The network runs until it is halted or
// the manager shuts down. It claims the network's netdevs first (see
// claims). Callers hold opMu.
func (m *Manager) launch(ctx context.Context, mn *managedNet) (err error) {
	m.mu.Lock()
	spec := mn.spec
	m.mu.Unlock()
	p, err := m.newPlumbing(spec)
	if err != nil {
		return err
	}
	if err := m.claimNetwork(spec); err != nil {
		return err
	}
	defer func() {
		if err != nil {
			m.releaseNetwork(spec.Name)
		}
	}()
	changes, err := m.startPlumbing(ctx, mn, p)
	if err != nil {
		return fmt.Errorf("network %s: %w", spec.Name, err)
	}
	for _, c := range changes {
		m.log.Info("network mode", zap.String(logKeyNetwork, spec.Name), zap.String("change", c))
	}
	n, err := m.build(spec)
	if err != nil {
		if _, serr := m.stopPlumbing(ctx, mn, p); serr != nil {
			m.log.Warn("undo the mode's host changes", zap.String(logKeyNetwork, spec.Name), zap.Error(serr))
		}
		return err
	}
	n.guard.refuse(flowRefusal(spec.Name, p))
	runCtx, cancel := context.WithCancel(m.life)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := n.net.Run(runCtx); err != nil {
			m.fail(err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := n.sw.Serve(runCtx); err != nil {
			m.fail(fmt.Errorf("network %s: %w", spec.Name, err))
		}
	}()
	m.mu.Lock()
	mn.plumb, mn.run, mn.err = p, n, nil
	mn.spec.DatapathID = n.spec.DatapathID
	mn.ports, mn.missing = fixedPortMeta(mn.spec), nil
	mn.stop = func() {
		cancel()
		wg.Wait()
		if err := n.closeTC(); err != nil {
			m.log.Warn("close tc tier", zap.String(logKeyNetwork, spec.Name), zap.Error(err))
		}
	}
	m.mu.Unlock()
	var addrs []string
	for _, a := range n.sw.Addrs() {
		addrs = append(addrs, a.Network()+":"+a.String())
	}
	m.log.Info("network up", zap.String(logKeyNetwork, spec.Name), zap.String("mode", spec.Mode), zap.String("origin", mn.origin),
		zap.String("dpid", fmt.Sprintf("%016x", n.net.DPID())), zap.Strings("listening", addrs))
	if note := p.note(); note != "" {
		m.log.Warn("network mode", zap.String(logKeyNetwork, spec.Name), zap.String("note", note))
	}
	if parkedUplink(spec) {
		m.log.Info("uplink kept for a change back to mode nic or hairpin; in mode host it is no port", zap.String(logKeyNetwork, spec.Name),
			zap.String("uplink", spec.Uplink))
	}
	m.adoptVNICs(ctx, mn)
	return nil
}

// startPlumbing starts p for mn, giving a hairpin plumbing the uplink's
// recorded bridge mode from before and keeping the one it found.
func (m *Manager) startPlumbing(ctx context.Context, mn *managedNet, p plumbing) ([]string, error) {
	hp, _ := p.(*hairpinPlumbing)
	if hp != nil {
		hp.before = mn.pfBridge
	}
	changes, err := p.start(ctx)
	if hp != nil && err == nil {
		m.mu.Lock()
		mn.pfBridge = hp.before
		m.mu.Unlock()
	}
	return changes, err
}

// stopPlumbing stops p for mn (the network leaves p's mode or is
// deleted): the uplink's bridge mode goes back.
func (m *Manager) stopPlumbing(ctx context.Context, mn *managedNet, p plumbing) ([]string, error) {
	if hp, ok := p.(*hairpinPlumbing); ok {
		hp.before = mn.pfBridge
		changes, err := p.stop(ctx)
		if err == nil {
			m.mu.Lock()
			mn.pfBridge = ""
			m.mu.Unlock()
		}
		return changes, err
	}
	return p.stop(ctx)
}

// fixedPortMeta describes the fixed ports of spec (a parked uplink is
// none).
func fixedPortMeta(spec rest.NetworkSpec) map[uint32]portMeta {
	out := map[uint32]portMeta{}
	for i := range fixedPorts(spec) {
		kind := "netdev"
		if i == 0 && spec.Uplink != "" {
			kind = "uplink"
			if parkedUplink(spec) {
				continue
			}
		}
		out[uint32(i+1)] = portMeta{kind: kind}
	}
	return out
}

// fail reports a running network's failure to the daemon.
func (m *Manager) fail(err error) {
	select {
	case m.cfg.Errc <- err:
	default:
		m.log.Error("network failed", zap.Error(err))
	}
}

// adoptVNICs re-adds the ports of mn's recorded vNICs, with their
// recorded OpenFlow port numbers. Callers hold opMu.
func (m *Manager) adoptVNICs(ctx context.Context, mn *managedNet) {
	if m.cfg.Store == nil {
		return
	}
	name := mn.spec.Name
	recs, err := m.cfg.Store.VNICs(name)
	if err != nil {
		m.log.Error("read vnics", zap.String(logKeyNetwork, name), zap.Error(err))
		return
	}
	for _, rec := range recs {
		if err := m.adoptVNIC(ctx, mn, rec); err != nil {
			m.log.Error("vnic port not restored", zap.String(logKeyNetwork, name), zap.String(logKeyVNIC, rec.ID), zap.Error(err))
		}
	}
}

// adoptVNIC re-adds rec's port to mn (re-creating a veth that is gone);
// the vNIC is no longer broken. Callers hold opMu.
func (m *Manager) adoptVNIC(ctx context.Context, mn *managedNet, rec store.VNIC) error {
	if err := m.claimVNIC(rec.ID); err != nil {
		return err
	}
	if err := m.adoptVNICPort(ctx, mn, rec); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.broken, rec.ID)
	m.mu.Unlock()
	return nil
}

func (m *Manager) adoptVNICPort(ctx context.Context, mn *managedNet, rec store.VNIC) error {
	now, err := mn.plumb.adopt(ctx, rec)
	if err != nil {
		return err
	}
	if now.Port == "" {
		return nil
	}
	if now.OFPort == 0 || mn.run.hasPort(now.OFPort) {
		now.OFPort = m.nextPort(mn) // recorded without one (a crash mid-attach), or taken
	}
	if err := m.addVNICPort(mn, now); err != nil {
		return err
	}
	if !vnicEqual(now, rec) {
		return m.cfg.Store.PutVNIC(now)
	}
	return nil
}

// addVNICPort adds rec's port to mn as OpenFlow port rec.OFPort.
func (m *Manager) addVNICPort(mn *managedNet, rec store.VNIC) error {
	if err := mn.run.addPort(rec.Port, rec.OFPort); err != nil {
		return err
	}
	kind := "representor"
	if !rec.IsVF() {
		kind = "veth"
	}
	m.mu.Lock()
	mn.ports[rec.OFPort] = portMeta{kind: kind, vnic: rec.ID}
	m.mu.Unlock()
	return nil
}

func vnicEqual(a, b store.VNIC) bool {
	return a.Port == b.Port && a.OFPort == b.OFPort && a.Representor == b.Representor && a.VFNetdev == b.VFNetdev && a.VFPCI == b.VFPCI
}

// nextPort is the lowest OpenFlow port number above mn's fixed ports that
// no port and no recorded vNIC of mn holds. Callers hold opMu.
func (m *Manager) nextPort(mn *managedNet) uint32 {
	used := map[uint32]bool{}
	for _, p := range mn.run.net.Ports() {
		used[p.No] = true
	}
	if recs, err := m.cfg.Store.VNICs(mn.spec.Name); err == nil {
		for _, r := range recs {
			used[r.OFPort] = true
		}
	}
	no := uint32(len(fixedPorts(mn.spec)) + 1)
	for used[no] {
		no++
	}
	return no
}

// halt stops mn's network and gives its netdev claims up (launch takes
// them again). Callers hold opMu.
func (m *Manager) halt(mn *managedNet) {
	m.mu.Lock()
	stop, name := mn.stop, mn.spec.Name
	mn.run, mn.stop = nil, nil
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
	m.releaseNetwork(name)
}

// Shutdown stops every network (their filters stay in the kernel,
// forwarding, for the next run to adopt) and the link watch; it waits
// for the networks' goroutines, or returns ctx's error when ctx ends
// first.
func (m *Manager) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.opMu.Lock()
		defer m.opMu.Unlock()
		m.mu.Lock()
		nets := make([]*managedNet, 0, len(m.nets))
		for _, mn := range m.nets {
			nets = append(nets, mn)
		}
		m.mu.Unlock()
		for _, mn := range nets {
			m.halt(mn)
		}
		m.claims.releaseAll()
		m.shutdown()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop networks: %w", ctx.Err())
	}
}
