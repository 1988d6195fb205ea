package rest

import (
	"net/http"
)

// Port is one OpenFlow port of a network with its counters (representor
// netdev stats plus the VF's hardware stats, for a VF port).
type Port struct {
	No     uint32 `json:"no"`
	Name   string `json:"name"`
	Kind   string `json:"kind,omitempty"` // uplink, representor, tap, veth, netdev
	VNIC   string `json:"vnic,omitempty"`
	HWAddr string `json:"hw_addr,omitempty"`
	// LinkUp is the carrier; AdminDown is OFPPC_PORT_DOWN.
	LinkUp    bool   `json:"link_up"`
	AdminDown bool   `json:"admin_down,omitempty"`
	SpeedMbps uint32 `json:"speed_mbps,omitempty"`
	PortCounters
	DurationSec float64 `json:"duration_sec"`
}

// PortCounters are a port's counters.
type PortCounters struct {
	RxPackets uint64 `json:"rx_packets"`
	RxBytes   uint64 `json:"rx_bytes"`
	RxDropped uint64 `json:"rx_dropped"`
	RxErrors  uint64 `json:"rx_errors"`
	TxPackets uint64 `json:"tx_packets"`
	TxBytes   uint64 `json:"tx_bytes"`
	TxDropped uint64 `json:"tx_dropped"`
	TxErrors  uint64 `json:"tx_errors"`
}

func (s *Server) routePorts() {
	s.handle("GET /v1/networks/{name}/ports", s.listPorts)
}

func (s *Server) listPorts(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	ports, err := s.backend.Ports(r.Context(), name)
	answerList(s, w, r, ports, err, "ports of network "+name)
}
