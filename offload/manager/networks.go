package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/offload/tcport"
)

// The networks as the API changes and reads them, and as the store
// records them.

// CreateNetwork starts a network from spec (validated) and records it.
func (m *Manager) CreateNetwork(ctx context.Context, spec rest.NetworkSpec) (rest.Network, error) {
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
	if err := m.checkListeners(spec, nil); err != nil {
		return rest.Network{}, err
	}
	if err := m.checkHostNetdevs(spec, nil); err != nil {
		return rest.Network{}, err
	}
	mn := &managedNet{spec: spec, origin: rest.OriginAPI, created: time.Now().UTC()}
	if err := m.launch(ctx, mn); err != nil {
		return rest.Network{}, err
	}
	if err := m.cfg.Store.PutNetwork(recordOf(mn)); err != nil {
		m.halt(mn)
		m.stopQuietly(ctx, mn)
		return rest.Network{}, fmt.Errorf("record network: %w", err)
	}
	m.mu.Lock()
	m.nets[spec.Name] = mn
	m.mu.Unlock()
	return m.describe(mn), nil
}

// checkPorts refuses an uplink or port that is missing or that another
// network switches; it names the field.
func (m *Manager) checkPorts(spec rest.NetworkSpec) error {
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
		if !m.cfg.Links.HasLink(p) {
			return rest.Invalid(field, fmt.Sprintf("no netdev named %s on this host", p))
		}
	}
	return nil
}

// errConfigNetwork refuses to change a network of the configuration file.
func errConfigNetwork(name, what string) error {
	return rest.Conflict("name", fmt.Sprintf("network %s comes from nicflowd's configuration (file or flags) and cannot be %s through the API; edit the configuration and restart nicflowd", name, what))
}

// UpdateNetwork replaces an API network's spec (validated): the network
// restarts with it (its vNICs keep their ports and port numbers). A change
// of mode (or of vNIC type or eswitch mode) re-plumbs the running
// network's vNICs live instead (see changeMode) and must come alone. While
// vNICs are attached, its uplink, ports and VF count cannot change.
func (m *Manager) UpdateNetwork(ctx context.Context, name string, spec rest.NetworkSpec) (rest.Network, error) {
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
		return m.changeMode(ctx, mn, spec)
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
	if err := m.checkListeners(spec, &old); err != nil {
		return rest.Network{}, err
	}
	if err := m.checkHostNetdevs(spec, &old); err != nil {
		return rest.Network{}, err
	}
	if spec.DatapathID == 0 && spec.Uplink == old.Uplink && slices.Equal(spec.Ports, old.Ports) {
		spec.DatapathID = old.DatapathID // derived once, then kept
	}
	// The network restarts with the new spec; what its controllers
	// installed is installed again in it (status.changes says so).
	m.mu.Lock()
	run := mn.run
	m.mu.Unlock()
	var snap ruleSnapshot
	if run != nil {
		snap = snapshotRules(run)
	}
	m.halt(mn)
	if modeChanged(old, spec) {
		m.stopQuietly(ctx, mn) // a network that is not running, without vNICs
	}
	m.setSpec(mn, spec)
	if err := m.launch(ctx, mn); err != nil {
		m.setSpec(mn, old)
		if rerr := m.launch(context.WithoutCancel(ctx), mn); rerr != nil {
			m.mu.Lock()
			mn.err = rerr
			m.mu.Unlock()
			m.log.Error("network did not come back with its old spec", zap.String(logKeyNetwork, name), zap.Error(rerr))
		} else if !snap.empty() {
			m.log.Info("network back with its old spec", zap.String(logKeyNetwork, name), zap.String("change", snap.reinstall(context.WithoutCancel(ctx), m.running(mn))))
		}
		return rest.Network{}, err
	}
	changes := []string{fmt.Sprintf("network %s: restarted (%s changed)", name, strings.Join(changedFields(old, spec), ", "))}
	if !snap.empty() {
		changes = append(changes, fmt.Sprintf("network %s: %s", name, snap.reinstall(context.WithoutCancel(ctx), m.running(mn))))
	}
	for _, c := range changes {
		m.log.Info("network updated", zap.String(logKeyNetwork, name), zap.String("change", c))
	}
	if err := m.cfg.Store.PutNetwork(recordOf(mn)); err != nil {
		return rest.Network{}, fmt.Errorf("record network: %w", err)
	}
	n := m.describe(mn)
	n.Status.Changes = changes
	return n, nil
}

// running is mn's running network (nil when it is not running).
func (m *Manager) running(mn *managedNet) *network {
	m.mu.Lock()
	defer m.mu.Unlock()
	return mn.run
}

// changedFields names the spec fields b changes.
func changedFields(a, b rest.NetworkSpec) []string {
	var out []string
	for _, f := range []struct {
		field   string
		changed bool
	}{
		{"mode", modeChanged(a, b)}, {"uplink", a.Uplink != b.Uplink}, {"ports", !slices.Equal(a.Ports, b.Ports)},
		{"controllers", !slices.Equal(a.Controllers, b.Controllers)}, {"fail_mode", a.FailMode != b.FailMode},
		{"offload", a.Offload != b.Offload}, {"num_vfs", a.NumVFs != b.NumVFs}, {"datapath_id", b.DatapathID != a.DatapathID},
		{"inactivity_probe", !equalPtr(a.InactivityProbe, b.InactivityProbe)},
		{"controller_rate_limit", a.ControllerRateLimit != b.ControllerRateLimit},
		{"controller_burst_limit", a.ControllerBurstLimit != b.ControllerBurstLimit},
	} {
		if f.changed {
			out = append(out, f.field)
		}
	}
	if len(out) == 0 {
		out = append(out, "nothing")
	}
	return out
}

// setSpec replaces mn's spec. Callers hold opMu; readers (describe) hold
// only mu, so the write takes it too.
func (m *Manager) setSpec(mn *managedNet, spec rest.NetworkSpec) {
	m.mu.Lock()
	mn.spec = spec
	m.mu.Unlock()
}

// DeleteNetwork stops an API network and forgets it; it refuses while
// vNICs are attached.
func (m *Manager) DeleteNetwork(ctx context.Context, name string) error {
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
	m.stopQuietly(ctx, mn)
	if err := m.cfg.Store.DeleteNetwork(name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("forget network: %w", err)
	}
	m.mu.Lock()
	delete(m.nets, name)
	m.mu.Unlock()
	// The tc tier's miss pair outlives restarts on purpose; a deleted
	// network takes it along.
	missDev, _ := tcport.Names(name)
	if err := m.cfg.Links.DelLink(missDev); err != nil {
		m.log.Warn("remove the tc miss pair", zap.String(logKeyNetwork, name), zap.Error(err))
	}
	m.log.Info("network deleted", zap.String(logKeyNetwork, name))
	return nil
}

// stopQuietly stops mn's plumbing (its uplink's bridge mode goes back) as
// the network goes away, logging what it did.
func (m *Manager) stopQuietly(ctx context.Context, mn *managedNet) {
	m.mu.Lock()
	p := mn.plumb
	m.mu.Unlock()
	if p == nil {
		return
	}
	changes, err := m.stopPlumbing(ctx, mn, p)
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

// Networks describes every network, sorted by name.
func (m *Manager) Networks(context.Context) ([]rest.Network, error) {
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
	return out, nil
}

// Network describes one network.
func (m *Manager) Network(_ context.Context, name string) (rest.Network, error) {
	mn, ok := m.get(name)
	if !ok {
		return rest.Network{}, rest.NotFound("name", "no network "+name)
	}
	return m.describe(mn), nil
}

// runningNet returns the running network name.
func (m *Manager) runningNet(name string) (*network, error) {
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
func (m *Manager) portMeta(name string) map[uint32]portMeta {
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

// specOfRecord and recordOf convert between the API's network spec and the
// store's record: the one place that maps the two.
func specOfRecord(r store.Network) rest.NetworkSpec {
	return rest.NetworkSpec{Name: r.Name, Mode: r.Mode, Uplink: r.Uplink, DatapathID: rest.DatapathID(r.DPID),
		Controllers: r.Controllers, FailMode: r.FailMode, Offload: r.Offload, Ports: r.Ports,
		EswitchMode: r.EswitchMode, NumVFs: r.NumVFs, VNICType: r.VNICType, AllowHostNetdev: r.AllowHostNetdev,
		Files:           mtls.Files{PrivateKey: r.PrivateKey, Certificate: r.Certificate, CACert: r.CACert},
		InactivityProbe: r.InactivityProbe, ControllerRateLimit: r.ControllerRateLimit, ControllerBurstLimit: r.ControllerBurstLimit}
}

func recordOf(mn *managedNet) store.Network {
	s := mn.spec
	return store.Network{Name: s.Name, Mode: s.Mode, Uplink: s.Uplink, DPID: uint64(s.DatapathID),
		Controllers: s.Controllers, FailMode: s.FailMode, Offload: s.Offload, Ports: s.Ports,
		EswitchMode: s.EswitchMode, NumVFs: s.NumVFs, VNICType: s.VNICType, PFBridgeMode: mn.pfBridge, Created: mn.created,
		AllowHostNetdev: s.AllowHostNetdev,
		PrivateKey:      s.PrivateKey, Certificate: s.Certificate, CACert: s.CACert,
		InactivityProbe: s.InactivityProbe, ControllerRateLimit: s.ControllerRateLimit, ControllerBurstLimit: s.ControllerBurstLimit}
}

// equalPtr reports whether a and b are both nil or point at equal values.
func equalPtr[T comparable](a, b *T) bool {
	return a == b || a != nil && b != nil && *a == *b
}
