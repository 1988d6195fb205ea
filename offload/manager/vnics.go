package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// settingsOf and specOf convert between the API's vNIC spec and the VF
// settings the store records: the one place that maps the two. The wire
// type stays separate from the record (see store.VFSettings) so the API
// can keep its shape while the on-disk schema evolves, and the other way
// round.
func settingsOf(s rest.VNICSpec) vf.Settings {
	return vf.Settings{MAC: s.MAC, VLAN: s.VLAN, QoS: s.QoS, VLANProto: s.VLANProto, SpoofCheck: s.SpoofCheck, Trust: s.Trust,
		MinTxRate: int(s.MinTxRate), MaxTxRate: int(s.MaxTxRate), LinkState: s.LinkState}
}

func specOf(rec store.VNIC) rest.VNICSpec {
	s := rec.Settings
	return rest.VNICSpec{ID: rec.ID, Network: rec.Network, MAC: s.MAC, VLAN: s.VLAN, QoS: s.QoS, VLANProto: s.VLANProto,
		SpoofCheck: s.SpoofCheck, Trust: s.Trust, MinTxRate: uint32(s.MinTxRate), MaxTxRate: uint32(s.MaxTxRate), LinkState: s.LinkState}
}

// vnicOf is a vNIC record as the API shows it.
func vnicOf(rec store.VNIC) rest.VNIC {
	v := rest.VNIC{VNICSpec: specOf(rec), VFIndex: -1, Netdev: rec.VFNetdev, Representor: rec.Representor}
	if rec.Port != "" {
		v.OFPort = rec.OFPort // otherwise the number is only reserved (mode hairpin)
	}
	if rec.IsVF() {
		v.VF, v.VFIndex, v.Uplink = rec.VFPCI, rec.VFIndex, rec.PF
	}
	return v
}

// VNICs returns every vNIC, sorted by id.
func (m *Manager) VNICs(context.Context) ([]rest.VNIC, error) {
	out := []rest.VNIC{}
	if m.cfg.Store == nil {
		return out, nil
	}
	recs, err := m.cfg.Store.VNICs("")
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		out = append(out, m.vnicView(r))
	}
	return out, nil
}

// VNIC returns one vNIC.
func (m *Manager) VNIC(_ context.Context, id string) (rest.VNIC, error) {
	if m.cfg.Store == nil {
		return rest.VNIC{}, rest.NotFound("id", "no vnic "+id)
	}
	rec, err := m.cfg.Store.GetVNIC(id)
	if errors.Is(err, store.ErrNotFound) {
		return rest.VNIC{}, rest.NotFound("id", "no vnic "+id)
	}
	if err != nil {
		return rest.VNIC{}, err
	}
	return m.vnicView(rec), nil
}

// AttachVNIC attaches a vNIC (its spec validated) to its network through
// the network's plumbing and adds its port (if the mode has one) as an
// OpenFlow port. It is idempotent per id: the same spec again returns the
// vNIC with created false (or, when it is broken, re-creates it: created
// true); another spec is a conflict naming the differences.
func (m *Manager) AttachVNIC(ctx context.Context, spec rest.VNICSpec) (rest.VNIC, bool, error) {
	if m.cfg.Store == nil {
		return rest.VNIC{}, false, errNoState
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	defer m.sweepStale("attach vnic") // the port lists changed
	mn, ok := m.get(spec.Network)
	if !ok {
		return rest.VNIC{}, false, rest.NotFound("network", "no network "+spec.Network)
	}
	want := settingsOf(spec)
	if rec, err := m.cfg.Store.GetVNIC(spec.ID); err == nil {
		v, created, err := existing(rec, spec, want)
		if err == nil && m.brokenWhy(rec.ID) != "" {
			return m.repair(ctx, mn, rec)
		}
		return v, created, err
	} else if !errors.Is(err, store.ErrNotFound) {
		return rest.VNIC{}, false, err
	}
	m.mu.Lock()
	run, plumb, nerr := mn.run, mn.plumb, mn.err
	m.mu.Unlock()
	if run == nil {
		return rest.VNIC{}, false, rest.Unavailable("network", fmt.Sprintf("network %s is not running: %v", spec.Network, nerr))
	}
	if err := plumb.check(want); err != nil {
		return rest.VNIC{}, false, err
	}
	if err := m.claimVNIC(spec.ID); err != nil {
		return rest.VNIC{}, false, err
	}
	rec, err := plumb.attach(ctx, spec.ID, spec.Network, want)
	if err != nil {
		m.releaseVNIC(spec.ID)
		return rest.VNIC{}, false, err
	}
	if rec.Port == "" && mn.spec.Mode == rest.ModeHairpin {
		// No port of its own: reserve its number for a change of mode.
		rec.OFPort = m.nextPort(mn)
		if err := m.cfg.Store.PutVNIC(rec); err != nil {
			return rest.VNIC{}, false, errors.Join(fmt.Errorf("record vnic: %w", err), plumb.detach(ctx, rec))
		}
	}
	if rec.Port != "" {
		rec.OFPort = m.nextPort(mn)
		err := m.addVNICPort(mn, rec)
		if err == nil {
			err = m.cfg.Store.PutVNIC(rec)
		}
		if err != nil {
			if run.hasPort(rec.OFPort) {
				_ = run.net.RemovePort(rec.OFPort)
			}
			m.mu.Lock()
			delete(mn.ports, rec.OFPort)
			m.mu.Unlock()
			return rest.VNIC{}, false, errors.Join(fmt.Errorf("add port %s: %w", rec.Port, err), plumb.detach(ctx, rec))
		}
	}
	m.log.Info("vnic attached", zap.String(logKeyVNIC, rec.ID), zap.String(logKeyNetwork, rec.Network), zap.String("kind", kindName(rec)),
		zap.String("netdev", rec.VFNetdev), zap.String("port", rec.Port), zap.Uint32("ofport", rec.OFPort))
	return vnicOf(rec), true, nil
}

// existing answers an attach of an id that is attached: the same request
// returns it, another is a conflict.
func existing(rec store.VNIC, spec rest.VNICSpec, want vf.Settings) (rest.VNIC, bool, error) {
	var d []string
	if rec.Network != spec.Network {
		d = append(d, fmt.Sprintf("network %q (requested %q)", rec.Network, spec.Network))
	}
	d = append(d, vf.Settings(rec.Settings).Diff(want)...)
	if len(d) > 0 {
		return rest.VNIC{}, false, rest.Conflict("id", fmt.Sprintf("vnic %s is attached with %s; detach it first to change it", rec.ID, strings.Join(d, ", ")))
	}
	return vnicOf(rec), false, nil
}

// DetachVNIC removes a vNIC's port and its device (a VF gets its original
// settings back). Detaching an id that is not attached succeeds: detach is
// idempotent per id, like attach.
func (m *Manager) DetachVNIC(ctx context.Context, id string) error {
	if m.cfg.Store == nil {
		return nil
	}
	m.opMu.Lock()
	defer m.opMu.Unlock()
	defer m.sweepStale("detach vnic") // the port lists changed
	rec, err := m.cfg.Store.GetVNIC(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if mn, ok := m.get(rec.Network); ok {
		m.mu.Lock()
		run := mn.run
		if mn.ports[rec.OFPort].vnic == rec.ID {
			delete(mn.ports, rec.OFPort)
		}
		m.mu.Unlock()
		if run != nil && rec.OFPort != 0 && run.hasPort(rec.OFPort) {
			if err := run.net.RemovePort(rec.OFPort); err != nil {
				return fmt.Errorf("remove port %s: %w", rec.Port, err)
			}
		}
	}
	p, err := m.plumbingOf(rec)
	if err != nil {
		return err
	}
	if err := p.detach(ctx, rec); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.broken, id)
	m.mu.Unlock()
	m.releaseVNIC(id)
	m.log.Info("vnic detached", zap.String(logKeyVNIC, id), zap.String(logKeyNetwork, rec.Network))
	return nil
}

// kindName is a vNIC record's kind (the zero value reads as a VF).
func kindName(rec store.VNIC) string {
	if rec.Kind == "" {
		return store.KindVF
	}
	return rec.Kind
}
