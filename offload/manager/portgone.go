package manager

import (
	"context"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/store"
)

// A netdev deleted under a running network (RTM_DELLINK, seen by the link
// watcher) takes its OpenFlow port out of the network with a PORT_STATUS
// delete; the rules that name the port's number stay in the pipeline (the
// netdev took their tc filters along). What happens next depends on whose
// port it was:
//
//   - a vNIC's (a host vNIC's veth, a VF's representor): the vNIC is broken
//     until it is attached again, which re-creates its device and its port
//     with its number (repair);
//   - a fixed port's (the uplink, a netdev of spec.Ports): the port is
//     missing (the network's status lists it so) until a netdev of that name
//     appears again (RTM_NEWLINK): then it comes back with the same number
//     (PORT_STATUS add), its OFPPC_* config as it was (a port that was up
//     sets the new netdev up), and the tc tier installs its filters again
//     (linkBack).

// missingPort is a fixed port whose netdev was deleted under its running
// network.
type missingPort struct {
	name   string
	kind   string // uplink, netdev
	since  time.Time
	config uint32 // its OFPPC_* config, set again when it is back
}

// why says in the status why the port is missing.
func (p missingPort) why() string {
	return fmt.Sprintf("netdev %s was deleted at %s; the port comes back with its number when a netdev of that name appears again, and its rules stay meanwhile",
		p.name, p.since.UTC().Format(time.RFC3339))
}

// linkGone handles the deletion of netdev ev.Name under the manager (see
// above). The deletion of a netdev that is no port of a running network,
// or of another device of the port's name (its ifindex differs: the
// port's netdev is already a new one), is ignored.
func (m *Manager) linkGone(ev LinkEvent) {
	// Most deletions are of no port (a veth's peer, a port an operation
	// removed first): answered without waiting for opMu, so the watcher
	// keeps up while an operation runs.
	if _, _, _, ok := m.portOf(ev); !ok {
		return
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	mn, p, meta, ok := m.portOf(ev)
	if !ok {
		return
	}
	if meta.vnic != "" {
		m.vnicGone(mn, p, meta)
		return
	}
	m.mu.Lock()
	run, network := mn.run, mn.spec.Name
	m.mu.Unlock()
	mp := missingPort{name: p.Name, kind: meta.kind, since: time.Now(), config: p.Config()}
	if err := run.net.PortGone(p.No); err != nil {
		m.log.Error("remove the port of a deleted netdev", zap.String(logKeyNetwork, network), zap.String("port", p.Name), zap.Error(err))
		return
	}
	m.mu.Lock()
	if mn.missing == nil {
		mn.missing = map[uint32]missingPort{}
	}
	mn.missing[p.No] = mp
	m.mu.Unlock()
	m.log.Warn("port missing: its netdev was deleted; it comes back when a netdev of its name appears again",
		zap.String(logKeyNetwork, network), zap.String("port", p.Name), zap.String("kind", meta.kind), zap.Uint32("ofport", p.No))
}

// vnicGone breaks the vNIC whose port p's netdev was deleted. A netdev
// that exists again by the time this runs (nicflowd re-created it) is left
// be. Callers hold opMu.
func (m *Manager) vnicGone(mn *managedNet, p offload.PortInfo, meta portMeta) {
	if m.cfg.Links != nil && m.cfg.Links.HasLink(p.Name) {
		return
	}
	m.mu.Lock()
	run, network := mn.run, mn.spec.Name
	m.broken[meta.vnic] = fmt.Sprintf("its port's netdev %s was deleted under network %s; attach it again to re-create it", p.Name, network)
	m.mu.Unlock()
	if err := run.net.PortGone(p.No); err != nil {
		m.log.Error("remove the port of a deleted netdev", zap.String(logKeyNetwork, network), zap.String("port", p.Name), zap.Error(err))
	}
	m.log.Warn("vnic broken: its port's netdev was deleted", zap.String(logKeyVNIC, meta.vnic), zap.String(logKeyNetwork, network),
		zap.String("port", p.Name), zap.Uint32("ofport", p.No))
}

// portOf finds the running network with a port on the netdev of ev: by
// name, and by ifindex when both are known.
func (m *Manager) portOf(ev LinkEvent) (*managedNet, offload.PortInfo, portMeta, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mn := range m.nets {
		if mn.run == nil {
			continue
		}
		p, ok := mn.run.net.PortByName(ev.Name)
		if !ok || ev.Index != 0 && p.Ifindex != 0 && ev.Index != p.Ifindex {
			continue
		}
		return mn, p, mn.ports[p.No], true
	}
	return nil, offload.PortInfo{}, portMeta{}, false
}

// linkBack brings back a missing fixed port when a netdev of its name
// appears (any RTM_NEWLINK of that name: a port that could not be opened
// at the first is tried again at the next).
func (m *Manager) linkBack(name string) {
	if _, _, _, ok := m.missingNamed(name); !ok {
		return
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	mn, no, mp, ok := m.missingNamed(name)
	if !ok {
		return
	}
	m.mu.Lock()
	run, network := mn.run, mn.spec.Name
	m.mu.Unlock()
	if err := run.addPort(name, no); err != nil {
		m.log.Warn("port's netdev is back but the port is not yet", zap.String(logKeyNetwork, network), zap.String("port", name),
			zap.Uint32("ofport", no), zap.Error(err))
		return
	}
	m.mu.Lock()
	delete(mn.missing, no)
	m.mu.Unlock()
	// Its OFPPC_* config as it was, PORT_DOWN included: a port that was
	// up sets its new netdev up (a netdev is created down), as OFPPC_PORT_DOWN
	// of a PORT_MOD would.
	if p, ok := run.net.PortByName(name); ok && p.Config() != mp.config {
		const all = offload.PortConfigDown | offload.PortConfigNoRecv | offload.PortConfigNoFwd | offload.PortConfigNoPacketIn
		pm := offload.PortMod{Port: no, Config: mp.config, Mask: all}
		copy(pm.HWAddr[:], p.HWAddr)
		if err := run.net.PortMod(pm); err != nil {
			m.log.Warn("port back without its config", zap.String(logKeyNetwork, network), zap.String("port", name), zap.Error(err))
		}
	}
	m.log.Info("port back: a netdev of its name appeared", zap.String(logKeyNetwork, network), zap.String("port", name),
		zap.String("kind", mp.kind), zap.Uint32("ofport", no), zap.Duration("missing_for", time.Since(mp.since)))
}

// missingNamed finds the running network with a missing port named name.
func (m *Manager) missingNamed(name string) (*managedNet, uint32, missingPort, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mn := range m.nets {
		if mn.run == nil {
			continue
		}
		for no, mp := range mn.missing {
			if mp.name == name {
				return mn, no, mp, true
			}
		}
	}
	return nil, 0, missingPort{}, false
}

// missingPorts are mn's missing ports as the status shows them. Callers
// hold mu.
func missingPorts(mn *managedNet) []rest.NetworkPort {
	var out []rest.NetworkPort
	for no, mp := range mn.missing {
		out = append(out, rest.NetworkPort{No: no, Name: mp.name, Kind: mp.kind, Missing: mp.why()})
	}
	return out
}

// brokenWhy says why vNIC id is broken ("": it is not).
func (m *Manager) brokenWhy(id string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.broken[id]
}

// vnicView is a vNIC record as the API shows it, broken or not.
func (m *Manager) vnicView(rec store.VNIC) rest.VNIC {
	v := vnicOf(rec)
	v.Broken = m.brokenWhy(rec.ID)
	return v
}

// repair re-creates broken vNIC rec of network mn (attached again with
// its spec): its device and its port, with its number. Callers hold opMu.
func (m *Manager) repair(ctx context.Context, mn *managedNet, rec store.VNIC) (rest.VNIC, bool, error) {
	m.mu.Lock()
	run := mn.run
	m.mu.Unlock()
	if run == nil {
		return rest.VNIC{}, false, rest.Unavailable("network", fmt.Sprintf("network %s is not running: %v", mn.spec.Name, mn.err))
	}
	if rec.OFPort != 0 && run.hasPort(rec.OFPort) {
		if err := run.net.RemovePort(rec.OFPort); err != nil {
			return rest.VNIC{}, false, fmt.Errorf("remove the port of broken vnic %s: %w", rec.ID, err)
		}
	}
	if err := m.adoptVNIC(ctx, mn, rec); err != nil {
		return rest.VNIC{}, false, fmt.Errorf("re-create vnic %s: %w", rec.ID, err)
	}
	now, err := m.cfg.Store.GetVNIC(rec.ID) // adoptVNIC records a new port number if its own was taken
	if err != nil {
		return rest.VNIC{}, false, err
	}
	m.log.Info("vnic re-created", zap.String(logKeyVNIC, now.ID), zap.String(logKeyNetwork, now.Network),
		zap.String("port", now.Port), zap.Uint32("ofport", now.OFPort))
	return m.vnicView(now), true, nil
}
