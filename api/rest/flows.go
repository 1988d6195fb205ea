package rest

import (
	"net/http"
)

// Tiers: where a rule executes (DESIGN.md).
const (
	TierHW   = "hw"
	TierTC   = "tc"
	TierSoft = "soft"
)

// Flow is one OpenFlow rule of a network with its placement and merged
// counters.
type Flow struct {
	Table    uint8  `json:"table"`
	Priority uint16 `json:"priority"`
	Cookie   Cookie `json:"cookie"`
	// Match and Actions are in ovs-ofctl syntax ("in_port=1,dl_type=0x0800",
	// "output:2"); an empty Match matches every packet.
	Match   string `json:"match"`
	Actions string `json:"actions"`
	// Tier is hw, tc or soft; Reason says why a rule is not in hw (empty
	// when it is offloaded as far as its network's policy allows).
	Tier   string `json:"tier"`
	Reason string `json:"reason,omitempty"`
	// Packets and Bytes are the totals: HW + TC + Soft.
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
	HW      Counts `json:"hw"`
	TC      Counts `json:"tc"`
	Soft    Counts `json:"soft"`
	// DurationSec is the rule's age in seconds.
	DurationSec float64 `json:"duration_sec"`
	// IdleTimeout and HardTimeout are in seconds; 0: none.
	IdleTimeout uint16 `json:"idle_timeout,omitempty"`
	HardTimeout uint16 `json:"hard_timeout,omitempty"`
}

// Counts are packets and bytes.
type Counts struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (s *Server) routeFlows() {
	s.handle("GET /v1/networks/{name}/flows", s.listFlows)
}

func (s *Server) listFlows(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	flows, err := s.backend.Flows(r.Context(), name)
	answerList(s, w, r, flows, err, "flows of network "+name)
}
