package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/sriov/vf"
)

// managerConfig configures a manager.
type managerConfig struct {
	// RunDir holds the networks' management sockets.
	RunDir string
	// Store keeps API-created networks and every vNIC. Without one the
	// API can read but not create networks or attach vNICs.
	Store *store.Store
	Log   *zap.Logger
	// Ports opens netdevs as OpenFlow ports (kernelPorts).
	Ports portOpener
	// Links creates host vNICs and sets representors up (netlinkLinks).
	Links hostLinks
	// VF is the SR-IOV access of mode nic; nil leaves mode nic unavailable.
	VF vfKernel
	// VEPA is the bridge-mode and macvlan access of mode hairpin
	// (*vepa.Handle); nil leaves mode hairpin unavailable.
	VEPA vepaKernel
	// Errc receives the error of a network whose fast path fails.
	Errc chan<- error
	// Stale takes nicflow's tc state off netdevs that are no ports (nil:
	// nothing is swept).
	Stale staleSweeper
}

// manager owns the running networks: those of the configuration file,
// started at start and fixed for the daemon's life, and those created
// through the API, started and stopped live and kept in the store so they
// come back after a restart. It attaches and detaches vNICs through each
// network's plumbing.
//
// It is safe for concurrent use: changes (create, update, delete, attach,
// detach) are serialized by opMu, so a check and the change that depends on
// it (a name is free, no vNIC is attached, a port number is free) never
// interleave with another change; reads take only mu.
type manager struct {
	cfg   managerConfig
	log   *zap.Logger
	alloc *vf.Allocator // nil without a store or SR-IOV access
	ctx   context.Context

	opMu sync.Mutex // serializes changes

	mu   sync.Mutex // guards nets and the fields of its entries
	nets map[string]*managedNet
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
	// pfBridge is the uplink's embedded bridge mode before mode hairpin
	// put it in VEPA (see hairpinPlumbing.before), kept in the record.
	pfBridge string
}

// portMeta is what kind of port an OpenFlow port is, and whose.
type portMeta struct {
	kind string // uplink, netdev, representor, veth
	vnic string
}

// newManager returns a manager whose networks live until ctx is done.
func newManager(ctx context.Context, cfg managerConfig) (*manager, error) {
	m := &manager{cfg: cfg, log: cfg.Log, ctx: ctx, nets: map[string]*managedNet{}}
	if cfg.Store != nil && cfg.VF != nil {
		a, err := vf.NewAllocator(vf.Config{Kernel: cfg.VF, Store: cfg.Store, Resolve: cfg.VF.Locate})
		if err != nil {
			return nil, err
		}
		m.alloc = a
	}
	return m, nil
}

// adopt registers a network that is already running (started elsewhere:
// tests serving the API over their own networks).
func (m *manager) adopt(n *network) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nets[n.spec.Name] = &managedNet{spec: n.spec, origin: rest.OriginConfig, run: n, ports: fixedPortMeta(n.spec)}
}

// startConfig starts a network of the configuration file.
func (m *manager) startConfig(nc *NetworkConfig) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	spec, err := nc.Spec()
	if err != nil {
		return err
	}
	mn := &managedNet{spec: spec, origin: rest.OriginConfig}
	if err := m.launch(mn); err != nil {
		return err
	}
	m.mu.Lock()
	m.nets[mn.spec.Name] = mn
	m.mu.Unlock()
	return nil
}

// restore brings back the networks the store holds (a configuration
// network of the same name wins), re-attaches their vNICs' ports with
// their recorded OpenFlow port numbers, and reconciles the VFs' settings
// to the records. A network that cannot start is kept, not running, with
// its error; restore fails only when the store cannot be read.
func (m *manager) restore() error {
	if m.cfg.Store == nil {
		return nil
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
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
		if err := m.launch(mn); err != nil {
			mn.err = err
			m.log.Error("stored network did not start", zap.String(logKeyNetwork, r.Name), zap.Error(err))
		}
		m.mu.Lock()
		m.nets[r.Name] = mn
		m.mu.Unlock()
	}
	if m.alloc != nil {
		changes, err := m.alloc.Reconcile(m.ctx)
		for _, c := range changes {
			m.log.Warn("VF drifted from its record; set back", zap.String("vnic", c.VNICID), zap.String("change", c.String()))
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
			m.log.Warn("vnic of a network that no longer exists: detach it", zap.String("vnic", v.ID), zap.String(logKeyNetwork, v.Network))
		}
	}
	return nil
}

// get returns a network by name.
func (m *manager) get(name string) (*managedNet, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mn, ok := m.nets[name]
	return mn, ok
}

// launch starts mn from mn.spec: the mode's plumbing, the network and its
// switch, then its vNICs' ports. Callers hold opMu.
func (m *manager) launch(mn *managedNet) error {
	spec := mn.spec
	p, err := m.newPlumbing(spec)
	if err != nil {
		return err
	}
	changes, err := m.startPlumbing(mn, p)
	if err != nil {
		return fmt.Errorf("network %s: %w", spec.Name, err)
	}
	for _, c := range changes {
		m.log.Info("network mode", zap.String(logKeyNetwork, spec.Name), zap.String("change", c))
	}
	n, err := build(spec, m.cfg.RunDir, m.log, m.cfg.Ports)
	if err != nil {
		if _, serr := m.stopPlumbing(mn, p); serr != nil {
			m.log.Warn("undo the mode's host changes", zap.String(logKeyNetwork, spec.Name), zap.Error(serr))
		}
		return err
	}
	n.guard.refuse(flowRefusal(spec.Name, p))
	ctx, cancel := context.WithCancel(m.ctx)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := n.net.Run(ctx); err != nil {
			m.fail(err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := n.sw.Serve(ctx); err != nil {
			m.fail(fmt.Errorf("network %s: %w", spec.Name, err))
		}
	}()
	m.mu.Lock()
	mn.plumb, mn.run, mn.err = p, n, nil
	mn.spec.DatapathID = n.spec.DatapathID
	mn.ports = fixedPortMeta(mn.spec)
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
	m.adoptVNICs(mn)
	return nil
}

// startPlumbing starts p for mn, giving a hairpin plumbing the uplink's
// recorded bridge mode from before and keeping the one it found.
func (m *manager) startPlumbing(mn *managedNet, p plumbing) ([]string, error) {
	hp, _ := p.(*hairpinPlumbing)
	if hp != nil {
		hp.before = mn.pfBridge
	}
	changes, err := p.start(m.ctx)
	if hp != nil && err == nil {
		m.mu.Lock()
		mn.pfBridge = hp.before
		m.mu.Unlock()
	}
	return changes, err
}

// stopPlumbing stops p for mn (the network leaves p's mode or is
// deleted): the uplink's bridge mode goes back.
func (m *manager) stopPlumbing(mn *managedNet, p plumbing) ([]string, error) {
	if hp, ok := p.(*hairpinPlumbing); ok {
		hp.before = mn.pfBridge
		changes, err := p.stop(m.ctx)
		if err == nil {
			m.mu.Lock()
			mn.pfBridge = ""
			m.mu.Unlock()
		}
		return changes, err
	}
	return p.stop(m.ctx)
}

// fixedPortMeta describes the fixed ports of spec.
func fixedPortMeta(spec rest.NetworkSpec) map[uint32]portMeta {
	out := map[uint32]portMeta{}
	for i := range fixedPorts(spec) {
		kind := "netdev"
		if i == 0 && spec.Uplink != "" {
			kind = "uplink"
		}
		out[uint32(i+1)] = portMeta{kind: kind}
	}
	return out
}

// fail reports a running network's failure to the daemon.
func (m *manager) fail(err error) {
	select {
	case m.cfg.Errc <- err:
	default:
		m.log.Error("network failed", zap.Error(err))
	}
}

// adoptVNICs re-adds the ports of mn's recorded vNICs, with their
// recorded OpenFlow port numbers. Callers hold opMu.
func (m *manager) adoptVNICs(mn *managedNet) {
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
		if err := m.adoptVNIC(mn, rec); err != nil {
			m.log.Error("vnic port not restored", zap.String(logKeyNetwork, name), zap.String("vnic", rec.ID), zap.Error(err))
		}
	}
}

func (m *manager) adoptVNIC(mn *managedNet, rec store.VNIC) error {
	now, err := mn.plumb.adopt(m.ctx, rec)
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
func (m *manager) addVNICPort(mn *managedNet, rec store.VNIC) error {
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
func (m *manager) nextPort(mn *managedNet) uint32 {
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

// halt stops mn's network. Callers hold opMu.
func (m *manager) halt(mn *managedNet) {
	m.mu.Lock()
	stop := mn.stop
	mn.run, mn.stop = nil, nil
	m.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// close stops every network.
func (m *manager) close() {
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
}

// running returns the offload networks that run (for the link watcher).
func (m *manager) running() []*offload.Network {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*offload.Network
	for _, mn := range m.nets {
		if mn.run != nil {
			out = append(out, mn.run.net)
		}
	}
	return out
}

// Create starts a network from spec and records it.
func (m *manager) Create(spec rest.NetworkSpec) (rest.Network, error) {
	if m.cfg.Store == nil {
		return rest.Network{}, errNoState
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	defer m.sweepStale("create network") // the port lists changed
	if mn, ok := m.get(spec.Name); ok {
		return rest.Network{}, rest.Conflict("name", fmt.Sprintf("network %s exists (origin %s)", spec.Name, mn.origin))
	}
	m.fill(&spec)
	if _, err := m.newPlumbing(spec); err != nil {
		return rest.Network{}, err // a mode this nicflowd cannot run
	}
	if err := m.checkPorts(spec); err != nil {
		return rest.Network{}, err
	}
	mn := &managedNet{spec: spec, origin: rest.OriginAPI, created: time.Now().UTC()}
	if err := m.launch(mn); err != nil {
		return rest.Network{}, err
	}
	if err := m.cfg.Store.PutNetwork(recordOf(mn)); err != nil {
		m.halt(mn)
		m.stopQuietly(mn)
		return rest.Network{}, fmt.Errorf("record network: %w", err)
	}
	m.mu.Lock()
	m.nets[spec.Name] = mn
	m.mu.Unlock()
	return m.describe(mn), nil
}

// checkPorts refuses an uplink or port that is missing or that another
// network switches; it names the field.
func (m *manager) checkPorts(spec rest.NetworkSpec) error {
	owner := map[string]string{}
	m.mu.Lock()
	for name, mn := range m.nets {
		if name == spec.Name {
			continue
		}
		for _, p := range fixedPorts(mn.spec) {
			owner[p] = name
		}
	}
	m.mu.Unlock()
	type named struct{ field, netdev string }
	var list []named
	if spec.Uplink != "" {
		list = append(list, named{"uplink", spec.Uplink})
	}
	for i, p := range spec.Ports {
		list = append(list, named{fmt.Sprintf("ports[%d]", i), p})
	}
	for _, n := range list {
		field, p := n.field, n.netdev
		if o, ok := owner[p]; ok {
			return rest.Conflict(field, fmt.Sprintf("%s is already a port of network %s", p, o))
		}
		if !m.cfg.Links.hasLink(p) {
			return rest.Invalid(field, fmt.Sprintf("no netdev named %s on this host", p))
		}
	}
	return nil
}

// errConfigNetwork refuses to change a network of the configuration file.
func errConfigNetwork(name, what string) error {
	return rest.Conflict("name", fmt.Sprintf("network %s comes from nicflowd's configuration (file or flags) and cannot be %s through the API; edit the configuration and restart nicflowd", name, what))
}

// Update replaces an API network's spec: the network restarts with it
// (its vNICs keep their ports and port numbers). A change of mode (or of
// vNIC type or eswitch mode) re-plumbs the running network's vNICs live
// instead (see changeMode) and must come alone. While vNICs are attached,
// its uplink, ports and VF count cannot change.
func (m *manager) Update(name string, spec rest.NetworkSpec) (rest.Network, error) {
	if m.cfg.Store == nil {
		return rest.Network{}, errNoState
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	defer m.sweepStale("update network") // the port lists changed
	mn, ok := m.get(name)
	if !ok {
		return rest.Network{}, rest.NotFound("name", "no network "+name)
	}
	if mn.origin == rest.OriginConfig {
		return rest.Network{}, errConfigNetwork(name, "changed")
	}
	old := mn.spec
	m.fill(&spec)
	m.mu.Lock()
	running := mn.run != nil
	m.mu.Unlock()
	if modeChanged(old, spec) && running {
		return m.changeMode(mn, spec)
	}
	vnics, err := m.cfg.Store.VNICs(name)
	if err != nil {
		return rest.Network{}, err
	}
	if len(vnics) > 0 {
		ids := vnicIDs(vnics)
		for _, f := range []struct {
			field   string
			changed bool
		}{
			{"mode", modeChanged(old, spec)}, // a network that is not running cannot re-plumb its vNICs
			{"uplink", spec.Uplink != old.Uplink}, {"ports", !slices.Equal(spec.Ports, old.Ports)},
			{"num_vfs", spec.NumVFs != old.NumVFs},
		} {
			if f.changed {
				return rest.Network{}, rest.Conflict(f.field, fmt.Sprintf("cannot change while vNICs are attached (%s); detach them first", ids))
			}
		}
	}
	if _, err := m.newPlumbing(spec); err != nil {
		return rest.Network{}, err // a mode this nicflowd cannot run
	}
	if err := m.checkPorts(spec); err != nil {
		return rest.Network{}, err
	}
	if spec.DatapathID == 0 && spec.Uplink == old.Uplink && slices.Equal(spec.Ports, old.Ports) {
		spec.DatapathID = old.DatapathID // derived once, then kept
	}
	m.halt(mn)
	if modeChanged(old, spec) {
		m.stopQuietly(mn) // a network that is not running, without vNICs
	}
	m.setSpec(mn, spec)
	if err := m.launch(mn); err != nil {
		m.setSpec(mn, old)
		if rerr := m.launch(mn); rerr != nil {
			m.mu.Lock()
			mn.err = rerr
			m.mu.Unlock()
			m.log.Error("network did not come back with its old spec", zap.String(logKeyNetwork, name), zap.Error(rerr))
		}
		return rest.Network{}, err
	}
	if err := m.cfg.Store.PutNetwork(recordOf(mn)); err != nil {
		return rest.Network{}, fmt.Errorf("record network: %w", err)
	}
	return m.describe(mn), nil
}

// Delete stops an API network and forgets it; it refuses while vNICs are
// attached.
func (m *manager) Delete(name string) error {
	m.opMu.Lock()
	defer m.opMu.Unlock()
	defer m.sweepStale("delete network") // the port lists changed
	mn, ok := m.get(name)
	if !ok {
		return rest.NotFound("name", "no network "+name)
	}
	if mn.origin == rest.OriginConfig {
		return errConfigNetwork(name, "deleted")
	}
	vnics, err := m.cfg.Store.VNICs(name)
	if err != nil {
		return err
	}
	if len(vnics) > 0 {
		return rest.Conflict("name", fmt.Sprintf("vNICs are attached (%s); detach them first", vnicIDs(vnics)))
	}
	// A stop keeps the network's filters forwarding for the next run to
	// adopt; a deleted network takes them along.
	m.mu.Lock()
	run := mn.run
	m.mu.Unlock()
	if run != nil {
		if err := run.net.Teardown(); err != nil {
			m.log.Warn("take the network's ports out of its tc block", zap.String(logKeyNetwork, name), zap.Error(err))
		}
	}
	m.halt(mn)
	m.stopQuietly(mn)
	if err := m.cfg.Store.DeleteNetwork(name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("forget network: %w", err)
	}
	m.mu.Lock()
	delete(m.nets, name)
	m.mu.Unlock()
	// The tc tier's miss pair outlives restarts on purpose; a deleted
	// network takes it along.
	missDev, _ := tcport.Names(name)
	if err := m.cfg.Links.delLink(missDev); err != nil {
		m.log.Warn("remove the tc miss pair", zap.String(logKeyNetwork, name), zap.Error(err))
	}
	m.log.Info("network deleted", zap.String(logKeyNetwork, name))
	return nil
}

// stopQuietly stops mn's plumbing (its uplink's bridge mode goes back) as
// the network goes away, logging what it did.
func (m *manager) stopQuietly(mn *managedNet) {
	m.mu.Lock()
	p := mn.plumb
	m.mu.Unlock()
	if p == nil {
		return
	}
	changes, err := m.stopPlumbing(mn, p)
	for _, c := range changes {
		m.log.Info("network mode", zap.String(logKeyNetwork, mn.spec.Name), zap.String("change", c))
	}
	if err != nil {
		m.log.Warn("undo the mode's host changes", zap.String(logKeyNetwork, mn.spec.Name), zap.Error(err))
	}
}

func vnicIDs(vs []store.VNIC) string {
	ids := make([]string, len(vs))
	for i, v := range vs {
		ids[i] = v.ID
	}
	return strings.Join(ids, ", ")
}

// setSpec replaces mn's spec. Callers hold opMu; readers (describe) hold
// only mu, so the write takes it too.
func (m *manager) setSpec(mn *managedNet, spec rest.NetworkSpec) {
	m.mu.Lock()
	mn.spec = spec
	m.mu.Unlock()
}

// Networks describes every network, sorted by name.
func (m *manager) Networks() []rest.Network {
	m.mu.Lock()
	nets := make([]*managedNet, 0, len(m.nets))
	for _, mn := range m.nets {
		nets = append(nets, mn)
	}
	m.mu.Unlock()
	out := make([]rest.Network, len(nets))
	for i, mn := range nets {
		out[i] = m.describe(mn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Network describes one network.
func (m *manager) Network(name string) (rest.Network, error) {
	mn, ok := m.get(name)
	if !ok {
		return rest.Network{}, rest.NotFound("name", "no network "+name)
	}
	return m.describe(mn), nil
}

// runningNet returns the running network name.
func (m *manager) runningNet(name string) (*network, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mn, ok := m.nets[name]
	if !ok {
		return nil, rest.NotFound("name", "no network "+name)
	}
	if mn.run == nil {
		return nil, rest.Unavailable("", fmt.Sprintf("network %s is not running: %v", name, mn.err))
	}
	return mn.run, nil
}

// portMeta returns what kind each OpenFlow port of network name is.
func (m *manager) portMeta(name string) map[uint32]portMeta {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[uint32]portMeta{}
	if mn, ok := m.nets[name]; ok {
		for k, v := range mn.ports {
			out[k] = v
		}
	}
	return out
}

// describe is mn as the API shows it.
func (m *manager) describe(mn *managedNet) rest.Network {
	m.mu.Lock()
	spec, run, err, plumb := mn.spec, mn.run, mn.err, mn.plumb
	meta := make(map[uint32]portMeta, len(mn.ports))
	for k, v := range mn.ports {
		meta[k] = v
	}
	m.mu.Unlock()
	st := rest.NetworkStatus{DatapathID: spec.DatapathID, Offload: spec.Offload, Origin: mn.origin,
		Ports: []rest.NetworkPort{}, Controllers: []rest.ControllerStatus{}}
	var channels []openflow.Channel
	if run != nil {
		channels = run.sw.Channels()
	}
	for _, t := range spec.Controllers {
		st.Controllers = append(st.Controllers, controllerStatus(t, channels))
	}
	if plumb != nil {
		st.EswitchMode, st.ModeNote = plumb.eswitchMode(), plumb.note()
		st.SwitchingPoint, st.Switching = plumb.switching()
		if why := flowRefusal(spec.Name, plumb); why != "" && st.ModeNote == "" {
			st.ModeNote = why
		} else if why != "" {
			st.ModeNote += "; " + why
		}
	}
	if run == nil {
		if err != nil {
			st.Error = err.Error()
		}
		return rest.Network{NetworkSpec: spec, Status: st}
	}
	st.Running = true
	st.DatapathID = rest.DatapathID(run.net.DPID())
	st.OffloadNote = run.net.OffloadNote()
	if st.OffloadNote != "" && run.tc == nil {
		st.Offload = string(offload.PolicyOff)
	}
	for _, p := range run.net.Ports() {
		pm := meta[p.No]
		st.Ports = append(st.Ports, rest.NetworkPort{No: p.No, Name: p.Name, Kind: pm.kind, VNIC: pm.vnic})
	}
	st.Rules = tierCounts(run.net)
	return rest.Network{NetworkSpec: spec, Status: st}
}

// specOfRecord and recordOf convert between the API's network spec and the
// store's record: the one place that maps the two.
func specOfRecord(r store.Network) rest.NetworkSpec {
	return rest.NetworkSpec{Name: r.Name, Mode: r.Mode, Uplink: r.Uplink, DatapathID: rest.DatapathID(r.DPID),
		Controllers: r.Controllers, FailMode: r.FailMode, Offload: r.Offload, Ports: r.Ports,
		EswitchMode: r.EswitchMode, NumVFs: r.NumVFs, VNICType: r.VNICType}
}

func recordOf(mn *managedNet) store.Network {
	s := mn.spec
	return store.Network{Name: s.Name, Mode: s.Mode, Uplink: s.Uplink, DPID: uint64(s.DatapathID),
		Controllers: s.Controllers, FailMode: s.FailMode, Offload: s.Offload, Ports: s.Ports,
		EswitchMode: s.EswitchMode, NumVFs: s.NumVFs, VNICType: s.VNICType, PFBridgeMode: mn.pfBridge, Created: mn.created}
}

// controllerStatus is target's status: connected while a channel of it is
// past its handshake (for a passive target, any connection accepted on
// it), with that channel's role.
func controllerStatus(target string, channels []openflow.Channel) rest.ControllerStatus {
	cs := rest.ControllerStatus{Target: target}
	t, err := openflow.ParseTarget(target)
	if err != nil {
		return cs
	}
	for _, ch := range channels {
		if ch.Target == t.String() {
			cs.Connected, cs.Role = true, ch.Role
			break
		}
	}
	return cs
}
