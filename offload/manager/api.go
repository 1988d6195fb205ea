package manager

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/nicflow/nicflow/api/openflow"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/sriov/nic"
)

// The Manager is the REST API's Backend: what it reads of the networks,
// their rules, ports and counters, and of the host's NICs.
var _ rest.Backend = (*Manager)(nil)
var _ rest.HealthChecker = (*Manager)(nil)

// NICs lists the host's NIC ports.
func (m *Manager) NICs(context.Context) ([]any, error) {
	if m.cfg.NICs == nil {
		return nil, errNoNICs
	}
	nics, err := m.cfg.NICs.List()
	if err != nil {
		return nil, err
	}
	out := make([]any, len(nics))
	for i := range nics {
		out[i] = nicJSON(nics[i])
	}
	return out, nil
}

// NIC describes one NIC port by netdev name or PCI address.
func (m *Manager) NIC(_ context.Context, name string) (any, error) {
	if m.cfg.NICs == nil {
		return nil, errNoNICs
	}
	n, err := m.cfg.NICs.Get(name)
	if errors.Is(err, nic.ErrNotFound) {
		return nil, rest.NotFound("name", err.Error())
	}
	if err != nil {
		return nil, err
	}
	return nicJSON(n), nil
}

var errNoNICs = rest.Unavailable("", "this nicflowd does not discover NICs")

// nicJSON adds the summary keys the API documents (sriov, total_vfs,
// num_vfs, ...) to the discovered NIC.
func nicJSON(n nic.NIC) map[string]any {
	return map[string]any{
		"name": n.Name, "pci_address": n.PCIAddress, "driver": n.Driver, "vendor": n.VendorName, "device": n.DeviceName,
		"sriov": n.SRIOV.Capable, "total_vfs": n.SRIOV.TotalVFs, "num_vfs": n.SRIOV.NumVFs,
		"link_state": n.OperState, "speed_mbps": n.SpeedMbps, "eswitch_mode": n.EswitchMode,
		"details": n,
	}
}

// describe is mn as the API shows it.
func (m *Manager) describe(mn *managedNet) rest.Network {
	m.mu.Lock()
	spec, run, err, plumb := mn.spec, mn.run, mn.err, mn.plumb
	meta := make(map[uint32]portMeta, len(mn.ports))
	for k, v := range mn.ports {
		meta[k] = v
	}
	missing := missingPorts(mn)
	m.mu.Unlock()
	st := rest.NetworkStatus{DatapathID: spec.DatapathID, Offload: spec.Offload, Origin: mn.origin,
		Ports: []rest.NetworkPort{}, Controllers: []rest.ControllerStatus{}}
	var channels []openflow.Channel
	var drops map[string]uint64
	if run != nil {
		channels, drops = run.sw.Channels(), run.sw.RateLimitDrops()
	}
	for _, t := range spec.Controllers {
		st.Controllers = append(st.Controllers, controllerStatus(t, channels, drops))
	}
	st.InactivityProbe = m.inactivityProbe(spec)
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
	st.Ports = append(st.Ports, missing...)
	slices.SortFunc(st.Ports, func(a, b rest.NetworkPort) int { return cmp.Compare(a.No, b.No) })
	st.Rules = tierCounts(run.net)
	return rest.Network{NetworkSpec: spec, Status: st}
}

func tierCounts(n *offload.Network) rest.TierCounts {
	var c rest.TierCounts
	for _, fs := range n.FlowStats(allFlows()) {
		switch fs.Tier {
		case offload.TierHW:
			c.HW++
		case offload.TierTC:
			c.TC++
		default:
			c.Soft++
		}
	}
	return c
}

func allFlows() *pipeline.FlowFilter {
	return &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
}

// Flows lists a network's rules with their tier, the reason when they are
// not offloaded, and counters per tier.
func (m *Manager) Flows(_ context.Context, network string) ([]rest.Flow, error) {
	n, err := m.runningNet(network)
	if err != nil {
		return nil, err
	}
	stats := n.net.FlowStats(allFlows())
	out := make([]rest.Flow, 0, len(stats))
	for _, fs := range stats {
		f := fs.Flow
		out = append(out, rest.Flow{
			Table: f.Table, Priority: f.Priority, Cookie: rest.Cookie(f.Cookie),
			Match: ofwire.FormatMatch(&f.Match), Actions: ofwire.FormatInstructions(f.Instr),
			Tier: string(fs.Tier), Reason: fs.Reason,
			Packets: fs.Packets, Bytes: fs.Bytes,
			HW: restCounts(fs.HW), TC: restCounts(fs.TC), Soft: restCounts(fs.Soft),
			DurationSec: fs.Duration.Seconds(), IdleTimeout: f.IdleTimeout, HardTimeout: f.HardTimeout,
		})
	}
	return out, nil
}

// Tables lists a network's tables in use (a rule or a lookup) with their
// counters merged over the tiers, as TABLE_STATS gives them.
func (m *Manager) Tables(_ context.Context, network string) ([]rest.Table, error) {
	n, err := m.runningNet(network)
	if err != nil {
		return nil, err
	}
	out := []rest.Table{}
	for _, t := range n.net.TableStats() {
		if t.Active == 0 && t.Lookups == 0 {
			continue
		}
		out = append(out, rest.Table{Table: t.Table, Active: t.Active, Lookups: t.Lookups, Matched: t.Matched})
	}
	return out, nil
}

func restCounts(c offload.Counts) rest.Counts { return rest.Counts{Packets: c.Packets, Bytes: c.Bytes} }

// Ports lists a network's OpenFlow ports with their counters.
func (m *Manager) Ports(_ context.Context, network string) ([]rest.Port, error) {
	n, err := m.runningNet(network)
	if err != nil {
		return nil, err
	}
	ps := ports(n.net)
	meta := m.portMeta(network)
	for i := range ps {
		ps[i].Kind, ps[i].VNIC = meta[ps[i].No].kind, meta[ps[i].No].vnic
	}
	return ps, nil
}

func ports(n *offload.Network) []rest.Port {
	stats := map[uint32]offload.PortStat{}
	for _, s := range n.PortStats(pipeline.PortAny) {
		stats[s.PortNo] = s
	}
	var out []rest.Port
	for _, p := range n.Ports() {
		s := stats[p.No]
		out = append(out, rest.Port{
			No: p.No, Name: p.Name, HWAddr: p.HWAddr.String(), LinkUp: p.Up, AdminDown: p.AdminDown,
			SpeedMbps: p.SpeedKbps / 1000, DurationSec: s.Duration.Seconds(),
			PortCounters: rest.PortCounters{
				RxPackets: s.RxPackets, RxBytes: s.RxBytes, RxDropped: s.RxDropped, RxErrors: s.RxErrors,
				TxPackets: s.TxPackets, TxBytes: s.TxBytes, TxDropped: s.TxDropped, TxErrors: s.TxErrors,
			},
		})
	}
	return out
}

// Metrics returns the figures /metrics exposes: per network, port and VF.
func (m *Manager) Metrics(ctx context.Context) (*rest.Metrics, error) {
	out := &rest.Metrics{}
	nets, _ := m.Networks(ctx)
	if vnics, err := m.VNICs(ctx); err == nil && m.cfg.VFStats != nil {
		out.VFs = vfMetrics(m.cfg.VFStats, nets, vnics)
	}
	for _, nw := range nets {
		run, err := m.runningNet(nw.Name)
		if err != nil {
			continue // not running: no figures
		}
		n := run.net
		out.Networks = append(out.Networks, rest.NetworkMetrics{Network: nw.Name, Mode: nw.Mode, Switching: nw.Status.SwitchingPoint,
			Rules: nw.Status.Rules, OffloadRefusals: n.OffloadRefusals()})
		for _, p := range ports(n) {
			out.Ports = append(out.Ports, rest.PortMetrics{Network: n.Name(), Port: p.Name, No: p.No, PortCounters: p.PortCounters})
		}
		for _, c := range nw.Status.Controllers {
			out.Controllers = append(out.Controllers, rest.ControllerMetrics{Network: nw.Name, Controller: c.Target, PacketInRateDrops: c.PacketInRateDrops})
		}
	}
	return out, nil
}

// Health reports the daemon unhealthy while a network of its
// configuration is not running (an API network that failed to come back
// shows its error in GET /v1/networks instead).
func (m *Manager) Health(ctx context.Context) error {
	nets, _ := m.Networks(ctx)
	var down []string
	for _, n := range nets {
		if n.Status.Origin == rest.OriginConfig && !n.Status.Running {
			down = append(down, n.Name)
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("networks not running: %s", strings.Join(down, ", "))
	}
	return nil
}
