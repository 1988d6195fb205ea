package manager

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
)

// linkGone handles the deletion of netdev name under the manager: when it
// is the port of a vNIC of a running network (a host vNIC's veth, a VF's
// representor), the port leaves the network (PORT_STATUS delete; its
// number stays the vNIC's and the rules stay) and the vNIC is broken
// until it is attached again (AttachVNIC re-creates it). A netdev that
// exists again by the time this runs (nicflowd re-created it) is left be.
func (m *Manager) linkGone(name string) {
	// Most deletions are of no vNIC's port (a veth's peer, a port an
	// operation removed first): answered without waiting for opMu, so the
	// watcher keeps up while an operation runs.
	if _, _, _, ok := m.vnicPort(name); !ok {
		return
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	if m.cfg.Links != nil && m.cfg.Links.HasLink(name) {
		return
	}
	run, network, meta, ok := m.vnicPort(name)
	if !ok {
		return
	}
	why := fmt.Sprintf("its port's netdev %s was deleted under network %s; attach it again to re-create it", name, network)
	m.mu.Lock()
	m.broken[meta.vnic] = why
	m.mu.Unlock()
	if err := run.net.RemovePort(meta.no); err != nil {
		m.log.Error("remove the port of a deleted netdev", zap.String(logKeyNetwork, network), zap.String("port", name), zap.Error(err))
	}
	m.log.Warn("vnic broken: its port's netdev was deleted", zap.String(logKeyVNIC, meta.vnic), zap.String(logKeyNetwork, network),
		zap.String("port", name), zap.Uint32("ofport", meta.no))
}

// vnicPortMeta is a vNIC's port: its number and whose it is.
type vnicPortMeta struct {
	no   uint32
	vnic string
}

// vnicPort finds the running network with a vNIC port on netdev name.
func (m *Manager) vnicPort(name string) (*network, string, vnicPortMeta, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mn := range m.nets {
		if mn.run == nil {
			continue
		}
		if p, ok := mn.run.net.PortByName(name); ok && mn.ports[p.No].vnic != "" {
			return mn.run, mn.spec.Name, vnicPortMeta{no: p.No, vnic: mn.ports[p.No].vnic}, true
		}
	}
	return nil, "", vnicPortMeta{}, false
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
