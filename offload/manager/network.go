package manager

import (
	"errors"
	"fmt"
	"hash/fnv"
	"path/filepath"
	"time"

	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/openflow/ofnetwork"
	"github.com/nicflow/nicflow/api/openflow/oftarget"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/tcport"
	"github.com/nicflow/nicflow/softpath"
)

// network is one running network with its OpenFlow switch.
type network struct {
	// spec is what the network was built from; its DatapathID is the
	// one in use.
	spec  rest.NetworkSpec
	net   *offload.Network
	sw    *openflow.Switch
	tc    *tcport.Setup // nil without a tc tier
	ports Ports
	// guard refuses flow rules the mode cannot enforce (legacy VEB).
	guard *flowGuard
}

// fixedPorts are the netdevs a network switches besides its vNICs, in
// OpenFlow port order (1, 2, ...): the uplink, then the spec's ports.
func fixedPorts(spec rest.NetworkSpec) []string {
	var out []string
	if spec.Uplink != "" {
		out = append(out, spec.Uplink)
	}
	return append(out, spec.Ports...)
}

// build opens a network's fixed ports (numbered from 1), its tc tier and
// its OpenFlow listeners (the spec's targets and the management socket
// RUN_DIR/NAME.mgmt). A zero DatapathID is derived from the first port's
// MAC address, or from the name when there is no port.
func (m *Manager) build(spec rest.NetworkSpec) (_ *network, err error) {
	log, po := m.log, m.cfg.Ports
	failMode, err := offload.ParseFailMode(spec.FailMode)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Name, err)
	}
	policy, err := offload.ParsePolicy(spec.Offload)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Name, err)
	}
	type opened struct {
		info offload.PortInfo
		io   softpath.PacketIO
	}
	names := fixedPorts(spec)
	dpid := uint64(spec.DatapathID)
	ocfg := offload.Config{Name: spec.Name, FailMode: failMode, Logger: log, Offload: policy, PortCounters: po.PortCounters}
	if links := m.cfg.Links; links != nil {
		ocfg.SetAdminUp = func(p offload.PortInfo, up bool) error {
			if up {
				return links.SetUp(p.Name)
			}
			return links.SetDown(p.Name)
		}
	}
	if spec.Mode == rest.ModeHairpin {
		ocfg.NoFastPath = hairpinNoFastPath
	}
	tc, err := m.openTC(spec.Name, policy, &ocfg)
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Name, err)
	}
	defer func() {
		if err != nil && tc != nil {
			tc.Close()
		}
	}()
	var ports []opened
	defer func() {
		if err != nil {
			for _, p := range ports {
				p.io.Close()
			}
		}
	}()
	for i, name := range names {
		if i == 0 && parkedUplink(spec) {
			continue // no port in mode host; its number stays its own
		}
		// With a tc tier, the port's frames reach the fast path through the
		// miss device; reading the port too would handle them twice. A
		// hairpin uplink's frames are the vNICs', never the fast path's.
		info, io, err := po.OpenPort(name, uint32(i+1), tc != nil || ocfg.NoFastPath != "")
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", spec.Name, err)
		}
		ports = append(ports, opened{info, io})
	}
	if dpid == 0 {
		if len(ports) > 0 {
			dpid = dpidFromMAC(ports[0].info.HWAddr)
		} else {
			dpid = dpidFromName(spec.Name)
		}
	}
	ocfg.DPID = dpid
	n := offload.New(ocfg)
	switch {
	case tc != nil && ocfg.NoFastPath == "":
		if err := n.Datapath().AddMissSource(tc.MissPeer, tc.Miss); err != nil {
			return nil, fmt.Errorf("network %s: %w", spec.Name, err)
		}
	case tc != nil:
		tc.Miss.Close() // no miss filters: nothing to read (the pair served the flower probe)
		tc.Miss = nil
	}
	defer func() {
		if err != nil {
			n.Close()
		}
	}()
	for len(ports) > 0 {
		p := ports[0]
		if err := n.AddPort(p.info, p.io); err != nil {
			return nil, fmt.Errorf("network %s: %w", spec.Name, err)
		}
		ports = ports[1:] // the network owns it now
	}
	mgmt := "punix:" + filepath.Join(m.cfg.RunDir, spec.Name+".mgmt")
	targets := append(append([]string{}, spec.Controllers...), mgmt)
	material, err := m.tlsMaterial(spec)
	if err != nil {
		return nil, err
	}
	guard := newFlowGuard(ofnetwork.New(n), log.With(zap.String(logKeyNetwork, spec.Name)))
	sw, err := openflow.New(openflow.Config{
		Datapath: guard,
		Targets:  targets,
		Logger:   log.With(zap.String(logKeyNetwork, spec.Name)),
		TLS:      material,
		// Channel hygiene as Open vSwitch's Controller columns; the
		// management socket is not rate limited (as br0.mgmt).
		InactivityProbe:   probeDuration(m.inactivityProbe(spec)),
		PacketInRate:      spec.ControllerRateLimit,
		PacketInBurst:     spec.ControllerBurstLimit,
		ManagementTargets: []string{mgmt},
		Clock:             m.cfg.Clock,
	})
	if err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Name, err)
	}
	if err := sw.Listen(); err != nil {
		return nil, fmt.Errorf("network %s: %w", spec.Name, err)
	}
	spec.DatapathID = rest.DatapathID(dpid)
	return &network{spec: spec, net: n, sw: sw, tc: tc, ports: po, guard: guard}, nil
}

// inactivityProbe is spec's inactivity probe in force, in milliseconds
// (0: disabled): its own, else the daemon's (Config.InactivityProbe).
func (m *Manager) inactivityProbe(spec rest.NetworkSpec) int {
	if spec.InactivityProbe != nil {
		return *spec.InactivityProbe
	}
	switch d := m.cfg.InactivityProbe; {
	case d < 0:
		return 0
	case d == 0:
		return rest.DefaultInactivityProbe
	default:
		return int(d.Milliseconds())
	}
}

// probeDuration is an inactivity probe of ms milliseconds (0: disabled)
// as openflow.Config takes it.
func probeDuration(ms int) time.Duration {
	if ms == 0 {
		return openflow.NoInactivityProbe
	}
	return time.Duration(ms) * time.Millisecond
}

// controllerStatus is target's status: connected while a channel of it is
// past its handshake (for a passive target, any connection accepted on
// it), with that channel's role, and the packet-ins the rate limit
// dropped on its channels (drops, by target as openflow names them).
func controllerStatus(target string, channels []openflow.Channel, drops map[string]uint64) rest.ControllerStatus {
	cs := rest.ControllerStatus{Target: target}
	t, err := oftarget.Parse(target)
	if err != nil {
		return cs
	}
	cs.PacketInRateDrops = drops[t.String()]
	for _, ch := range channels {
		if ch.Target == t.String() {
			cs.Connected, cs.Role, cs.PeerSubject = true, ch.Role, ch.PeerSubject
			break
		}
	}
	return cs
}

// tlsMaterial is the TLS material of spec's ssl: and pssl: targets (nil
// when it has none): its own files or the daemon's.
func (m *Manager) tlsMaterial(spec rest.NetworkSpec) (*mtls.Material, error) {
	field := ""
	for i, c := range spec.Controllers {
		if t, err := oftarget.Parse(c); err == nil && t.TLS {
			field = fmt.Sprintf("controllers[%d]", i)
			break
		}
	}
	if field == "" {
		return nil, nil
	}
	if m.cfg.TLS == nil {
		return nil, rest.Invalid(field, mtls.ErrNoMaterial.Error())
	}
	mat, err := m.cfg.TLS.Get(spec.Files)
	if errors.Is(err, mtls.ErrNoMaterial) {
		return nil, rest.Invalid(field, err.Error())
	}
	if err != nil {
		if spec.Files.IsZero() {
			field = "private_key"
		}
		return nil, rest.Invalid(field, err.Error())
	}
	return mat, nil
}

// addPort opens netdev name and adds it as OpenFlow port no (send-only
// with a tc tier or in mode hairpin, as build opens them).
func (n *network) addPort(name string, no uint32) error {
	info, io, err := n.ports.OpenPort(name, no, n.tc != nil || n.spec.Mode == rest.ModeHairpin)
	if err != nil {
		return err
	}
	if err := n.net.AddPort(info, io); err != nil {
		io.Close()
		return err
	}
	return nil
}

// hasPort reports whether OpenFlow port no exists.
func (n *network) hasPort(no uint32) bool {
	for _, p := range n.net.Ports() {
		if p.No == no {
			return true
		}
	}
	return false
}

// closeTC releases the tc tier's netlink socket (the miss pair stays; see
// package tcport).
func (n *network) closeTC() error {
	if n.tc == nil {
		return nil
	}
	return n.tc.Close()
}

// noTC is why a manager without TC runs every rule in the fast path.
const noTC = "this nicflowd has no tc access"

// openTC sets up the network's tc tier when its policy asks for one. When
// the kernel cannot have one the network runs every rule in the fast path
// (the reason shows on every rule and in its status); the log says so once
// per reason and process, then at debug, except for a network whose policy
// hw asks for the hardware: that is an error each time.
func (m *Manager) openTC(name string, policy offload.Policy, cfg *offload.Config) (*tcport.Setup, error) {
	log := m.log
	if policy == offload.PolicyOff {
		log.Info("offload policy off: every rule runs in the fast path", zap.String(logKeyNetwork, name))
		return nil, nil
	}
	var s *tcport.Setup
	err := error(&tcport.UnavailableError{Reason: noTC})
	if m.cfg.TC != nil {
		s, err = m.cfg.TC.Open(name)
	}
	var ue *tcport.UnavailableError
	if errors.As(err, &ue) {
		lvl := log.Debug
		switch {
		case policy == offload.PolicyHW:
			lvl = log.Error
		case m.firstTime("tc unavailable: " + ue.Reason):
			lvl = log.Warn
		}
		lvl("tc tier unavailable: every rule runs in the fast path", zap.String(logKeyNetwork, name),
			zap.String("offload", string(policy)), zap.String("reason", ue.Reason))
		cfg.TCUnavailable = ue.Reason
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cfg.TC = &offload.TCConfig{Kernel: rebindingKernel{Handle: s.Handle, log: log, network: name}, Block: s.Block, PortBlock: s.PortBlock, MissDev: s.MissDev,
		ReconcileDelay: m.cfg.ReconcileDelay}
	log.Info("tc tier up", zap.String(logKeyNetwork, name), zap.String("offload", string(policy)),
		zap.Uint32("shared_block", s.Block), zap.String("miss_device", s.MissDev))
	return s, nil
}

// dpidFromMAC derives a datapath id from a MAC address, as Open vSwitch
// does: the MAC in the low 48 bits.
func dpidFromMAC(mac []byte) uint64 {
	var v uint64
	for _, b := range mac {
		v = v<<8 | uint64(b)
	}
	if v == 0 {
		v = 1
	}
	return v
}

// dpidFromName derives a datapath id for a network without ports: a hash
// of its name in the low 48 bits, with the locally administered bit of a
// MAC set (so it never equals a port-derived one).
func dpidFromName(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()&0x0000_feff_ffff_ffff | 0x0000_0200_0000_0000
}
