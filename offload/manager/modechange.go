package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/store"
	"github.com/nicflow/nicflow/sriov/vf"
)

// changeLog is the steps of a change done so far, with how to undo each.
type changeLog struct {
	lines []string
	undos []func() error
}

// done records a step: what it did (nil: nothing worth saying, an
// intermediate step) and how to undo it (nil: nothing to undo).
func (l *changeLog) done(what []string, undo func() error) {
	l.lines = append(l.lines, what...)
	if undo != nil {
		l.undos = append(l.undos, undo)
	}
}

// rollback undoes every step, last first, and returns what failed.
func (l *changeLog) rollback() error {
	var errs []error
	for i := len(l.undos) - 1; i >= 0; i-- {
		if err := l.undos[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// modeChanged reports whether b changes how a's vNICs are plumbed: its
// mode, its vNIC type (hairpin) or its eswitch mode (nic).
func modeChanged(a, b rest.NetworkSpec) bool {
	return a.Mode != b.Mode || a.VNICType != b.VNICType || a.EswitchMode != b.EswitchMode
}

// restartField names a field that b changes and that needs the network
// restarted (a change of mode comes alone), "" when there is none.
func restartField(a, b rest.NetworkSpec) string {
	for _, f := range []struct {
		field   string
		changed bool
	}{
		{"uplink", a.Uplink != b.Uplink}, {"ports", !slices.Equal(a.Ports, b.Ports)},
		{"controllers", !slices.Equal(a.Controllers, b.Controllers)}, {"fail_mode", a.FailMode != b.FailMode},
		{"offload", a.Offload != b.Offload}, {"num_vfs", a.NumVFs != b.NumVFs},
		{"datapath_id", b.DatapathID != 0 && b.DatapathID != a.DatapathID},
	} {
		if f.changed {
			return f.field
		}
	}
	return ""
}

// changeMode moves a running network to spec's mode without restarting
// it where it can: the old mode's host changes are undone (hairpin: the
// uplink's bridge mode back), the new mode's are made (nic: eswitch mode;
// hairpin with VFs: the uplink's embedded bridge to VEPA, the first thing
// a device can refuse, so a refusal changes nothing), then every vNIC is
// re-plumbed keeping its id, MAC and OpenFlow port number (a VF stays the
// same VF between modes nic and hairpin; its representor port comes and
// goes), and the record is written. Rules stay; when the network's tc tier
// must come or go (hairpin runs without one), the network restarts and its
// rules, groups and meters are installed again. Each step is logged and
// returned in status.changes; when one fails, the steps done are undone
// in reverse (even when ctx ends meanwhile) and the error is returned in
// the kernel's words. Callers hold opMu.
func (m *Manager) changeMode(ctx context.Context, mn *managedNet, spec rest.NetworkSpec) (rest.Network, error) {
	old := mn.spec
	name := old.Name
	if err := uplinkAcross(old, spec); err != nil {
		return rest.Network{}, err
	}
	// An uplink parked or back (nic <-> host) is released or claimed.
	if err := m.claimNetwork(spec); err != nil {
		return rest.Network{}, err
	}
	if f := restartField(old, spec); f != "" {
		return rest.Network{}, rest.Conflict(f, fmt.Sprintf("a change of mode (%s -> %s) re-plumbs the running network and comes alone; change %s in another update",
			describeMode(old), describeMode(spec), f))
	}
	spec.DatapathID = old.DatapathID
	newP, err := m.newPlumbing(spec)
	if err != nil {
		return rest.Network{}, err
	}
	vnics, err := m.cfg.Store.VNICs(name)
	if err != nil {
		return rest.Network{}, err
	}
	for _, v := range vnics {
		if err := newP.check(vf.Settings(v.Settings)); err != nil {
			return rest.Network{}, rest.Conflict("mode", fmt.Sprintf("vnic %s cannot be re-plumbed for %s: %v", v.ID, describeMode(spec), err))
		}
	}
	m.mu.Lock()
	run, oldP := mn.run, mn.plumb
	m.mu.Unlock()

	var log changeLog
	err = m.replumb(ctx, mn, run, oldP, newP, spec, vnics, &log)
	if err != nil {
		if cerr := m.claimNetwork(old); cerr != nil {
			m.log.Warn("mode change: claim the netdevs of the old mode again", zap.String(logKeyNetwork, name), zap.Error(cerr))
		}
		if rerr := log.rollback(); rerr != nil {
			m.log.Error("mode change: rolling back failed", zap.String(logKeyNetwork, name), zap.Error(rerr))
			err = fmt.Errorf("%w (rolling back the steps done failed too: %v)", err, rerr)
		}
		m.log.Warn("mode change refused", zap.String(logKeyNetwork, name), zap.String("from", describeMode(old)),
			zap.String("to", describeMode(spec)), zap.Error(err))
		return rest.Network{}, err
	}
	// The change is made: the restart goes to its end whatever becomes of
	// ctx.
	if line, err := m.restartForFastPath(context.WithoutCancel(ctx), mn, run, old, spec); line != "" || err != nil {
		if line != "" {
			log.lines = append(log.lines, line)
		}
		if err != nil {
			m.log.Error("mode change: network restart", zap.String(logKeyNetwork, name), zap.Error(err))
			return rest.Network{}, fmt.Errorf("network %s is in mode %s but did not restart: %w", name, spec.Mode, err)
		}
	}
	line, err := m.parkUplink(mn)
	if line != "" {
		log.lines = append(log.lines, line)
	}
	if err != nil {
		m.log.Error("mode change: uplink port", zap.String(logKeyNetwork, name), zap.Error(err))
		return rest.Network{}, fmt.Errorf("network %s is in mode %s but its uplink port is not: %w", name, spec.Mode, err)
	}
	changes := append([]string{fmt.Sprintf("network %s: mode %s -> %s", name, describeMode(old), describeMode(spec))}, log.lines...)
	for _, l := range changes {
		m.log.Info("mode change", zap.String(logKeyNetwork, name), zap.String("change", l))
	}
	n := m.describe(mn)
	n.Status.Changes = changes
	return n, nil
}

// uplinkAcross refuses a change of mode into or out of mode host that
// adds or drops the uplink (see parkedUplink): the uplink stays in the
// spec, parked in mode host, so no port is renumbered.
func uplinkAcross(old, spec rest.NetworkSpec) error {
	if old.Uplink == spec.Uplink || (old.Mode == rest.ModeHost) == (spec.Mode == rest.ModeHost) {
		return nil
	}
	switch {
	case old.Uplink == "":
		return rest.Conflict("uplink", fmt.Sprintf("network %s was created in mode host without an uplink, and a change of mode cannot give it one: "+
			"the uplink is OpenFlow port 1, which its first port or vNIC holds; create the network in mode %s with its uplink (it may change to host and back)",
			old.Name, spec.Mode))
	case spec.Uplink == "":
		return rest.Conflict("uplink", fmt.Sprintf("keep uplink %s in the change to mode host: there it is no port, only kept (with port number 1) for the way back; drop it in a later update if the network stays in mode host",
			old.Uplink))
	}
	return rest.Conflict("uplink", fmt.Sprintf("a change of mode keeps the uplink (%s); change it in another update", old.Uplink))
}

// parkUplink makes the running network's uplink port agree with its mode
// after a change of mode that did not restart it (nic <-> host): into
// mode host the uplink's port goes (PORT_STATUS delete; its number stays
// its own), out of it the port comes back as port 1. It says what it did.
func (m *Manager) parkUplink(mn *managedNet) (string, error) {
	m.mu.Lock()
	spec, run := mn.spec, mn.run
	m.mu.Unlock()
	if spec.Uplink == "" || run == nil {
		return "", nil
	}
	p, isPort := run.net.PortByName(spec.Uplink)
	switch {
	case parkedUplink(spec) && isPort:
		if err := run.net.RemovePort(p.No); err != nil {
			return "", err
		}
		m.mu.Lock()
		delete(mn.ports, p.No)
		m.mu.Unlock()
		return fmt.Sprintf("uplink %s: no port in mode host (number %d kept for the way back)", spec.Uplink, p.No), nil
	case !parkedUplink(spec) && !isPort:
		if err := run.addPort(spec.Uplink, 1); err != nil {
			return "", fmt.Errorf("add uplink port %s: %w", spec.Uplink, err)
		}
		m.mu.Lock()
		mn.ports[1] = portMeta{kind: "uplink"}
		m.mu.Unlock()
		return fmt.Sprintf("uplink %s: port 1 again", spec.Uplink), nil
	}
	return "", nil
}

// describeMode names a spec's mode with its vNIC type or eswitch mode.
func describeMode(s rest.NetworkSpec) string {
	switch {
	case s.Mode == rest.ModeHairpin && s.VNICType != "":
		return s.Mode + " (" + s.VNICType + ")"
	case s.Mode == rest.ModeNIC && s.EswitchMode != "":
		return s.Mode + " (" + s.EswitchMode + ")"
	}
	return s.Mode
}

// replumb does changeMode's steps up to the record, logging each in log
// with its undo, which runs to its end whatever becomes of ctx.
func (m *Manager) replumb(ctx context.Context, mn *managedNet, run *network, oldP, newP plumbing, spec rest.NetworkSpec, vnics []store.VNIC, log *changeLog) error {
	undoCtx := context.WithoutCancel(ctx)
	lines, err := m.stopPlumbing(ctx, mn, oldP)
	if err != nil {
		return err
	}
	log.done(lines, func() error { _, err := m.startPlumbing(undoCtx, mn, oldP); return err })
	lines, err = m.startPlumbing(ctx, mn, newP)
	if err != nil {
		return err
	}
	log.done(lines, func() error { _, err := m.stopPlumbing(undoCtx, mn, newP); return err })
	for _, rec := range vnics {
		if err := m.replumbVNIC(ctx, mn, run, oldP, newP, spec, rec, log); err != nil {
			return fmt.Errorf("vnic %s: %w", rec.ID, err)
		}
	}
	m.mu.Lock()
	oldSpec, oldRefusal := mn.spec, run.guard.reason()
	mn.spec, mn.plumb = spec, newP
	m.mu.Unlock()
	run.guard.refuse(flowRefusal(spec.Name, newP))
	log.done(nil, func() error {
		m.mu.Lock()
		mn.spec, mn.plumb = oldSpec, oldP
		m.mu.Unlock()
		run.guard.refuse(oldRefusal)
		return m.cfg.Store.PutNetwork(recordOf(mn))
	})
	if err := m.cfg.Store.PutNetwork(recordOf(mn)); err != nil {
		return fmt.Errorf("record network: %w", err)
	}
	return nil
}

// replumbVNIC moves one vNIC from oldP's device to newP's, keeping its
// id, settings, MAC and OpenFlow port number.
func (m *Manager) replumbVNIC(ctx context.Context, mn *managedNet, run *network, oldP, newP plumbing, spec rest.NetworkSpec, rec store.VNIC, log *changeLog) error {
	undoCtx := context.WithoutCancel(ctx)
	if rec.Port != "" && run.hasPort(rec.OFPort) {
		if err := m.removeVNICPort(mn, run, rec); err != nil {
			return err
		}
		log.done(nil, func() error { return m.addVNICPort(mn, rec) })
	}
	var now store.VNIC
	var err error
	if kindName(rec) == store.KindVF && vnicKind(spec) == store.KindVF {
		// The same VF: find its netdev and representor as the new mode
		// uses them.
		if now, err = newP.adopt(ctx, rec); err != nil {
			return err
		}
		log.done(nil, func() error { return m.cfg.Store.PutVNIC(rec) })
	} else {
		create := vf.Settings(rec.Settings)
		if create.MAC == "" {
			create.MAC = m.currentMAC(rec)
		}
		if err := oldP.detach(ctx, rec); err != nil {
			return err
		}
		log.done(nil, func() error {
			back, err := oldP.attach(undoCtx, rec.ID, rec.Network, create)
			if err != nil {
				return fmt.Errorf("vnic %s: re-create its %s: %w", rec.ID, kindName(rec), err)
			}
			back.Settings, back.OFPort, back.Attached = rec.Settings, rec.OFPort, rec.Attached
			return m.cfg.Store.PutVNIC(back)
		})
		if now, err = newP.attach(ctx, rec.ID, rec.Network, create); err != nil {
			return err
		}
		now.Settings, now.OFPort, now.Attached = rec.Settings, rec.OFPort, rec.Attached
		undo := now
		log.done(nil, func() error { return newP.detach(undoCtx, undo) })
	}
	if now.OFPort == 0 && (now.Port != "" || spec.Mode == rest.ModeHairpin) {
		now.OFPort = m.nextPort(mn)
	}
	if err := m.cfg.Store.PutVNIC(now); err != nil {
		return fmt.Errorf("record vnic: %w", err)
	}
	if now.Port != "" {
		if err := m.addVNICPort(mn, now); err != nil {
			return fmt.Errorf("add port %s: %w", now.Port, err)
		}
		added := now
		log.done(nil, func() error { return m.removeVNICPort(mn, run, added) })
	}
	log.done([]string{fmt.Sprintf("vnic %s: %s -> %s", rec.ID, describeVNIC(rec), describeVNIC(now))}, nil)
	return nil
}

// removeVNICPort removes rec's OpenFlow port from the running network.
func (m *Manager) removeVNICPort(mn *managedNet, run *network, rec store.VNIC) error {
	if err := run.net.RemovePort(rec.OFPort); err != nil {
		return fmt.Errorf("remove port %s: %w", rec.Port, err)
	}
	m.mu.Lock()
	delete(mn.ports, rec.OFPort)
	m.mu.Unlock()
	return nil
}

// currentMAC is the MAC a vNIC has now when it asked for none, so its
// next device keeps it: a macvlan's derived one, a veth's read from its
// netdev (when it is in nicflowd's namespace); "" when unknown.
func (m *Manager) currentMAC(rec store.VNIC) string {
	switch rec.Kind {
	case store.KindMacvlan, store.KindMacvtap:
		return vnicMAC(rec)
	case store.KindVeth:
		return m.cfg.Links.LinkMAC(rec.VFNetdev)
	}
	return ""
}

// describeVNIC is a vNIC's device and port in a change line.
func describeVNIC(rec store.VNIC) string {
	var dev string
	switch rec.Kind {
	case store.KindVeth:
		dev = "veth " + rec.VFNetdev
	case store.KindMacvlan, store.KindMacvtap:
		dev = rec.Kind + " (vepa) " + rec.VFNetdev
	default:
		dev = fmt.Sprintf("VF %d of %s", rec.VFIndex, rec.PF)
	}
	switch {
	case rec.Port != "":
		return fmt.Sprintf("%s, port %d (%s)", dev, rec.OFPort, rec.Port)
	case rec.OFPort != 0:
		return fmt.Sprintf("%s, no port (number %d kept)", dev, rec.OFPort)
	}
	return dev + ", no port"
}

// restartForFastPath restarts a network whose change of mode takes the fast
// path off its ports or puts it back (a hairpin network's uplink frames go
// to its vNICs, see hairpinNote), and installs its switch configuration,
// its ports' OFPPC_* config, rules, groups and meters again (their counters restart; a hairpin
// network refuses OFPC_FRAG_DROP). It says what it did; "" when no
// restart was needed.
func (m *Manager) restartForFastPath(ctx context.Context, mn *managedNet, run *network, old, spec rest.NetworkSpec) (string, error) {
	toHairpin := spec.Mode == rest.ModeHairpin
	if (old.Mode == rest.ModeHairpin) == toHairpin {
		return "", nil
	}
	snap := snapshotRules(run)
	m.halt(mn)
	if err := m.launch(ctx, mn); err != nil {
		m.mu.Lock()
		mn.err = err
		m.mu.Unlock()
		return "", err
	}
	m.mu.Lock()
	n := mn.run
	m.mu.Unlock()
	installed := snap.reinstall(ctx, n)
	tier := "with the fast path on its ports"
	if toHairpin {
		tier = "without the fast path on the uplink"
	}
	tier += " (" + n.net.OffloadNote() + ")"
	return fmt.Sprintf("network %s: restarted %s; %s", spec.Name, tier, installed), nil
}

// ruleSnapshot is what a network's controllers installed: its switch
// configuration, its ports' OFPPC_* config, rules, groups and meters, to
// install again in the network that replaces it.
type ruleSnapshot struct {
	flows   []offload.FlowStat
	groups  []*pipeline.Group
	meters  []*pipeline.Meter
	swcfg   offload.SwitchConfig
	portCfg map[string]uint32 // NO_RECV, NO_FWD, NO_PACKET_IN by netdev (PORT_DOWN is the netdev's own)
}

func snapshotRules(run *network) ruleSnapshot {
	s := ruleSnapshot{flows: run.net.FlowStats(allFlows()), groups: run.net.Groups(), meters: run.net.Meters(pipeline.MeterAll),
		swcfg: run.net.SwitchConfig(), portCfg: map[string]uint32{}}
	for _, p := range run.net.Ports() {
		if c := p.Config() &^ offload.PortConfigDown; c != 0 {
			s.portCfg[p.Name] = c
		}
	}
	return s
}

// empty reports whether the snapshot holds nothing to install again.
func (s ruleSnapshot) empty() bool {
	return len(s.flows) == 0 && len(s.groups) == 0 && len(s.meters) == 0 && len(s.portCfg) == 0 && s.swcfg == (offload.SwitchConfig{})
}

// reinstall installs the snapshot in n (counters restart) and says what
// it installed and what n refused.
func (s ruleSnapshot) reinstall(ctx context.Context, n *network) string {
	var failed []error
	rulesFailed := 0
	if err := n.net.SetSwitchConfig(s.swcfg); err != nil {
		failed = append(failed, fmt.Errorf("switch configuration: %w", err))
	}
	for _, p := range n.net.Ports() {
		c, ok := s.portCfg[p.Name]
		if !ok {
			continue
		}
		pm := offload.PortMod{Port: p.No, Config: c, Mask: c}
		copy(pm.HWAddr[:], p.HWAddr)
		if err := n.net.PortMod(pm); err != nil {
			failed = append(failed, fmt.Errorf("port %s config: %w", p.Name, err))
		}
	}
	for _, g := range s.groups {
		gm := &pipeline.GroupMod{Command: pipeline.GroupAdd, Type: g.Type, ID: g.ID, Buckets: g.Buckets}
		if err := n.net.GroupMod(ctx, gm); err != nil {
			failed = append(failed, fmt.Errorf("group %d: %w", g.ID, err))
		}
	}
	for _, mt := range s.meters {
		mm := &pipeline.MeterMod{Command: pipeline.MeterAdd, Flags: mt.Flags, ID: mt.ID, Bands: mt.Bands}
		if err := n.net.MeterMod(ctx, mm); err != nil {
			failed = append(failed, fmt.Errorf("meter %d: %w", mt.ID, err))
		}
	}
	for _, fs := range s.flows {
		f := fs.Flow
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Table: f.Table, Priority: f.Priority, Match: f.Match, Instr: *f.Instr,
			Cookie: f.Cookie, IdleTimeout: f.IdleTimeout, HardTimeout: f.HardTimeout, Flags: f.Flags, BufferID: ofwire.NoBuffer,
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
		if err := n.net.FlowMod(ctx, fm); err != nil {
			failed = append(failed, fmt.Errorf("rule table %d priority %d cookie %#x: %w", f.Table, f.Priority, f.Cookie, err))
			rulesFailed++
		}
	}
	line := fmt.Sprintf("%d rules, %d groups, %d meters installed again (their counters restart)",
		len(s.flows)-rulesFailed, len(s.groups), len(s.meters))
	if len(failed) > 0 {
		line += fmt.Sprintf("; not installed again: %v", errors.Join(failed...))
	}
	return line
}
