package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/sriov/nic"
)

// apiBackend serves the REST API from the daemon's networks, which this
// release takes from the configuration at start.
type apiBackend struct {
	nets []*network
	disc *nic.Discoverer
}

var errStaticNetworks = &rest.Error{Status: http.StatusNotImplemented,
	Msg: "networks come from the configuration file (or flags) in this release; edit it and restart nicflowd"}

var errNoVNICs = &rest.Error{Status: http.StatusNotImplemented,
	Msg: "attaching vNICs to VFs through the API is not wired into nicflowd yet"}

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

func (b *apiBackend) find(name string) (*network, error) {
	for _, n := range b.nets {
		if n.net.Name() == name {
			return n, nil
		}
	}
	return nil, rest.ErrNotFound
}

func (b *apiBackend) Networks(ctx context.Context) ([]rest.Network, error) {
	out := make([]rest.Network, 0, len(b.nets))
	for _, n := range b.nets {
		out = append(out, b.describe(n))
	}
	return out, nil
}

func (b *apiBackend) Network(ctx context.Context, name string) (rest.Network, error) {
	n, err := b.find(name)
	if err != nil {
		return rest.Network{}, err
	}
	return b.describe(n), nil
}

func (b *apiBackend) describe(n *network) rest.Network {
	nc := n.cfg
	st := rest.NetworkStatus{DatapathID: rest.DatapathID(n.net.DPID()), Offload: nc.Offload, OffloadNote: n.net.OffloadNote()}
	for _, p := range n.net.Ports() {
		st.Ports = append(st.Ports, rest.NetworkPort{No: p.No, Name: p.Name})
	}
	for _, t := range nc.Controllers {
		st.Controllers = append(st.Controllers, rest.ControllerStatus{Target: t})
	}
	st.Rules = tierCounts(n.net)
	return rest.Network{
		NetworkSpec: rest.NetworkSpec{Name: nc.Name, Mode: nc.Mode, DatapathID: rest.DatapathID(n.net.DPID()),
			Controllers: nc.Controllers, FailMode: nc.FailMode, Offload: nc.Offload, Ports: nc.Ports},
		Status: st,
	}
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

func (b *apiBackend) CreateNetwork(context.Context, rest.NetworkSpec) (rest.Network, error) {
	return rest.Network{}, errStaticNetworks
}

func (b *apiBackend) UpdateNetwork(context.Context, string, rest.NetworkSpec) (rest.Network, error) {
	return rest.Network{}, errStaticNetworks
}

func (b *apiBackend) DeleteNetwork(context.Context, string) error { return errStaticNetworks }

func (b *apiBackend) VNICs(context.Context) ([]rest.VNIC, error) { return []rest.VNIC{}, nil }

func (b *apiBackend) VNIC(context.Context, string) (rest.VNIC, error) {
	return rest.VNIC{}, rest.ErrNotFound
}

func (b *apiBackend) AttachVNIC(context.Context, rest.VNICSpec) (rest.VNIC, bool, error) {
	return rest.VNIC{}, false, errNoVNICs
}

func (b *apiBackend) DetachVNIC(context.Context, string) error { return rest.ErrNotFound }

// Flows lists a network's rules with their tier, the reason when they are
// not offloaded, and counters per tier.
func (b *apiBackend) Flows(ctx context.Context, network string) ([]rest.Flow, error) {
	n, err := b.find(network)
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
	n, err := b.find(network)
	if err != nil {
		return nil, err
	}
	return ports(n.net), nil
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
	for _, n := range b.nets {
		m.Networks = append(m.Networks, rest.NetworkMetrics{Network: n.net.Name(), Rules: tierCounts(n.net), OffloadRefusals: n.net.OffloadRefusals()})
		for _, p := range ports(n.net) {
			m.Ports = append(m.Ports, rest.PortMetrics{Network: n.net.Name(), Port: p.Name, No: p.No, PortCounters: p.PortCounters})
		}
	}
	return m, nil
}

// Health reports the daemon healthy while it runs its networks.
func (b *apiBackend) Health(ctx context.Context) error {
	if len(b.nets) == 0 {
		return fmt.Errorf("no network is running")
	}
	return nil
}
