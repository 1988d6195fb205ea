package rest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
)

// Metrics are the figures /metrics exposes, supplied by the Backend.
type Metrics struct {
	Networks []NetworkMetrics
	Ports    []PortMetrics
	VFs      []VFMetrics
	// Controllers are the networks' controller targets.
	Controllers []ControllerMetrics
}

// ControllerMetrics are one controller target's figures.
type ControllerMetrics struct {
	Network, Controller string
	// PacketInRateDrops counts the PACKET_INs the network's
	// controller_rate_limit dropped on the target's channels.
	PacketInRateDrops uint64
}

// NetworkMetrics are one network's rule placement figures.
type NetworkMetrics struct {
	Network string
	// Mode is the network's mode (host, nic, hairpin); Switching its
	// switching point (nicflow, eswitch, veb, external).
	Mode, Switching string
	// Rules counts the network's rules per tier.
	Rules TierCounts
	// OffloadRefusals counts the rules the device or kernel refused to
	// offload since the daemon started (the rules then ran in soft).
	OffloadRefusals uint64
}

// PortMetrics are one OpenFlow port's counters.
type PortMetrics struct {
	Network string
	Port    string
	No      uint32
	PortCounters
}

// VFMetrics are one VF's hardware counters.
type VFMetrics struct {
	Uplink string
	VF     int
	PCI    string
	VNIC   string // empty when no vNIC holds the VF
	PortCounters
}

// metricsContentType is the Prometheus text exposition format.
const metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

func (s *Server) routeMetrics() {
	s.handle("GET /metrics", s.metrics)
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) {
	m, err := s.backend.Metrics(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("metrics: %w", err))
		return
	}
	w.Header().Set("Content-Type", metricsContentType)
	_ = WriteMetrics(w, m, s.version) // the client went away: nothing to do
}

// counterFields are the PortCounters as metric name suffixes.
var counterFields = []struct {
	name, help string
	get        func(*PortCounters) uint64
}{
	{"rx_packets_total", "packets received", func(c *PortCounters) uint64 { return c.RxPackets }},
	{"rx_bytes_total", "bytes received", func(c *PortCounters) uint64 { return c.RxBytes }},
	{"rx_dropped_total", "received packets dropped", func(c *PortCounters) uint64 { return c.RxDropped }},
	{"rx_errors_total", "receive errors", func(c *PortCounters) uint64 { return c.RxErrors }},
	{"tx_packets_total", "packets sent", func(c *PortCounters) uint64 { return c.TxPackets }},
	{"tx_bytes_total", "bytes sent", func(c *PortCounters) uint64 { return c.TxBytes }},
	{"tx_dropped_total", "packets dropped on send", func(c *PortCounters) uint64 { return c.TxDropped }},
	{"tx_errors_total", "send errors", func(c *PortCounters) uint64 { return c.TxErrors }},
}

// WriteMetrics writes m in the Prometheus text exposition format
// (version 0.0.4). A nil m writes the families without samples.
func WriteMetrics(w io.Writer, m *Metrics, version string) error {
	if m == nil {
		m = &Metrics{}
	}
	bw := bufio.NewWriter(w)
	mw := metricWriter{w: bw}
	mw.family("nicflow_build_info", "gauge", "the nicflowd build; the value is 1")
	mw.sample("nicflow_build_info", 1, "version", version)
	mw.family("go_goroutines", "gauge", "goroutines of the process (as Prometheus' Go collector names it)")
	mw.sample("go_goroutines", uint64(runtime.NumGoroutine()))

	mw.family("nicflow_network_info", "gauge", "a network's mode and switching point (nicflow, eswitch, veb, external); the value is 1")
	for _, n := range m.Networks {
		mw.sample("nicflow_network_info", 1, "network", n.Network, "mode", n.Mode, "switching", n.Switching)
	}
	mw.family("nicflow_rules", "gauge", "rules of a network per tier (hw, tc, soft)")
	for _, n := range m.Networks {
		mw.sample("nicflow_rules", uint64(n.Rules.HW), "network", n.Network, "tier", TierHW)
		mw.sample("nicflow_rules", uint64(n.Rules.TC), "network", n.Network, "tier", TierTC)
		mw.sample("nicflow_rules", uint64(n.Rules.Soft), "network", n.Network, "tier", TierSoft)
	}
	mw.family("nicflow_offload_refusals_total", "counter", "rules the device or kernel refused to offload (they ran in soft)")
	for _, n := range m.Networks {
		mw.sample("nicflow_offload_refusals_total", n.OffloadRefusals, "network", n.Network)
	}
	mw.family("nicflow_controller_packet_in_rate_drops_total", "counter", "PACKET_INs dropped by the network's controller_rate_limit on a controller target's channels")
	for _, c := range m.Controllers {
		mw.sample("nicflow_controller_packet_in_rate_drops_total", c.PacketInRateDrops, "network", c.Network, "controller", c.Controller)
	}
	for _, f := range counterFields {
		name := "nicflow_port_" + f.name
		mw.family(name, "counter", "OpenFlow port: "+f.help)
		for i := range m.Ports {
			p := &m.Ports[i]
			mw.sample(name, f.get(&p.PortCounters), "network", p.Network, "port", p.Port, "port_no", strconv.FormatUint(uint64(p.No), 10))
		}
	}
	for _, f := range counterFields {
		name := "nicflow_vf_" + f.name
		mw.family(name, "counter", "VF hardware counter: "+f.help)
		for i := range m.VFs {
			v := &m.VFs[i]
			mw.sample(name, f.get(&v.PortCounters), "uplink", v.Uplink, "vf", strconv.Itoa(v.VF), "pci", v.PCI, "vnic", v.VNIC)
		}
	}
	if mw.err != nil {
		return fmt.Errorf("write metrics: %w", mw.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// metricWriter writes exposition lines, keeping the first error.
type metricWriter struct {
	w   io.Writer
	err error
}

func (m *metricWriter) family(name, typ, help string) {
	m.printf("# HELP %s %s\n# TYPE %s %s\n", name, escapeHelp(help), name, typ)
}

// sample writes one sample; labels are name, value pairs.
func (m *metricWriter) sample(name string, v uint64, labels ...string) {
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(labels[i] + `="` + escapeLabel(labels[i+1]) + `"`)
		}
		b.WriteByte('}')
	}
	m.printf("%s %s\n", b.String(), strconv.FormatUint(v, 10))
}

func (m *metricWriter) printf(format string, args ...any) {
	if m.err == nil {
		_, m.err = fmt.Fprintf(m.w, format, args...)
	}
}

var (
	labelEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
)

func escapeLabel(s string) string { return labelEscaper.Replace(s) }
func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
