package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/sriov/nic"
)

// apiBackend serves the REST API from the daemon's network manager and
// NIC discovery.
type apiBackend struct {
	m    *manager
	disc *nic.Discoverer
	vfs  vfReader // nil: the kernel's
}

func (b *apiBackend) NICs(ctx context.Context) ([]any, error) {
	nics, err := b.disc.List()
	if err != nil {
		return nil, err
	}
	out := make([]any, len(nics))
	for i := range nics {
		out[i] = nicJSON(nics[i])
	}
	return out, nil
}

func (b *apiBackend) NIC(ctx context.Context, name string) (any, error) {
	n, err := b.disc.Get(name)
	if errors.Is(err, nic.ErrNotFound) {
		return nil, rest.NotFound("name", err.Error())
	}
	if err != nil {
		return nil, err
	}
	return nicJSON(n), nil
}

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

func (b *apiBackend) Networks(ctx context.Context) ([]rest.Network, error) {
	return b.m.Networks(), nil
}

func (b *apiBackend) Network(ctx context.Context, name string) (rest.Network, error) {
	return b.m.Network(name)
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

func (b *apiBackend) CreateNetwork(ctx context.Context, spec rest.NetworkSpec) (rest.Network, error) {
	return b.m.Create(spec)
}

func (b *apiBackend) UpdateNetwork(ctx context.Context, name string, spec rest.NetworkSpec) (rest.Network, error) {
	return b.m.Update(name, spec)
}

func (b *apiBackend) DeleteNetwork(ctx context.Context, name string) error { return b.m.Delete(name) }

func (b *apiBackend) VNICs(context.Context) ([]rest.VNIC, error) { return b.m.VNICs() }

func (b *apiBackend) VNIC(ctx context.Context, id string) (rest.VNIC, error) { return b.m.VNIC(id) }

func (b *apiBackend) AttachVNIC(ctx context.Context, spec rest.VNICSpec) (rest.VNIC, bool, error) {
	return b.m.Attach(ctx, spec)
}

// DetachVNIC is idempotent: an id that is not attached is not an error.
func (b *apiBackend) DetachVNIC(ctx context.Context, id string) error { return b.m.Detach(ctx, id) }

// Flows lists a network's rules with their tier, the reason when they are
// not offloaded, and counters per tier.
func (b *apiBackend) Flows(ctx context.Context, network string) ([]rest.Flow, error) {
	n, err := b.m.runningNet(network)
	if err != nil {
		return nil, err
	}
	stats := n.net.FlowStats(allFlows())
	out := make([]rest.Flow, 0, len(stats))
	for _, fs := range stats {
		f := fs.Flow
		out = append(out, rest.Flow{
			Table: f.Table, Priority: f.Priority, Cookie: rest.Cookie(f.Cookie),
			Match: ofwire.FormatMatch(&f.Match), Actions: ofwire.FormatInstructions(&f.Instr),
			Tier: string(fs.Tier), Reason: fs.Reason,
			Packets: fs.Packets, Bytes: fs.Bytes,
			HW: restCounts(fs.HW), TC: restCounts(fs.TC), Soft: restCounts(fs.Soft),
			DurationSec: fs.Duration.Seconds(), IdleTimeout: f.IdleTimeout, HardTimeout: f.HardTimeout,
		})
	}
	return out, nil
}

func restCounts(c offload.Counts) rest.Counts { return rest.Counts{Packets: c.Packets, Bytes: c.Bytes} }

func (b *apiBackend) Ports(ctx context.Context, network string) ([]rest.Port, error) {
	n, err := b.m.runningNet(network)
	if err != nil {
		return nil, err
	}
	ps := ports(n.net)
	meta := b.m.portMeta(network)
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

func (b *apiBackend) Metrics(ctx context.Context) (*rest.Metrics, error) {
	m := &rest.Metrics{}
	nets := b.m.Networks()
	if vnics, err := b.m.VNICs(); err == nil {
		r := b.vfs
		if r == nil {
			r = kernelVFs{}
		}
		m.VFs = vfMetrics(r, nets, vnics)
	}
	for _, nw := range nets {
		run, err := b.m.runningNet(nw.Name)
		if err != nil {
			continue // not running: no figures
		}
		n := run.net
		m.Networks = append(m.Networks, rest.NetworkMetrics{Network: nw.Name, Mode: nw.Mode, Switching: nw.Status.SwitchingPoint,
			Rules: nw.Status.Rules, OffloadRefusals: n.OffloadRefusals()})
		for _, p := range ports(n) {
			m.Ports = append(m.Ports, rest.PortMetrics{Network: n.Name(), Port: p.Name, No: p.No, PortCounters: p.PortCounters})
		}
	}
	return m, nil
}

// Health reports the daemon unhealthy while a network of its
// configuration is not running (an API network that failed to come back
// shows its error in GET /v1/networks instead).
func (b *apiBackend) Health(ctx context.Context) error {
	var down []string
	for _, n := range b.m.Networks() {
		if n.Status.Origin == rest.OriginConfig && !n.Status.Running {
			down = append(down, n.Name)
		}
	}
	if len(down) > 0 {
		return fmt.Errorf("networks not running: %s", strings.Join(down, ", "))
	}
	return nil
}
