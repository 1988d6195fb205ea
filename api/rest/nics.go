package rest

import (
	"net/http"
)

// NICSummary lists the keys every NIC object served by the API carries
// (the Backend's values may carry many more, which are passed through).
// nicflowctl prints its table from these.
type NICSummary struct {
	Name       string `json:"name"`
	PCIAddress string `json:"pci_address"`
	Driver     string `json:"driver"`
	// Vendor and Device are the PCI names (or ids when pci.ids lacks them).
	Vendor string `json:"vendor,omitempty"`
	Device string `json:"device,omitempty"`
	// LinkState is the netdev's operstate (up, down, ...).
	LinkState string `json:"link_state,omitempty"`
	// SpeedMbps is the link speed; 0 when unknown.
	SpeedMbps int `json:"speed_mbps,omitempty"`
	// SRIOV says the port can have VFs; TotalVFs and NumVFs count its
	// possible and current VFs.
	SRIOV    bool `json:"sriov"`
	TotalVFs int  `json:"total_vfs"`
	NumVFs   int  `json:"num_vfs"`
	// EswitchMode is legacy or switchdev (devlink), empty without one.
	EswitchMode string `json:"eswitch_mode,omitempty"`
}

func (s *Server) routeNICs() {
	s.handle("GET /v1/nics", s.listNICs)
	s.handle("GET /v1/nics/{name}", s.getNIC)
}

func (s *Server) listNICs(w http.ResponseWriter, r *http.Request) {
	nics, err := s.backend.NICs(r.Context())
	answerList(s, w, r, nics, err, "list nics")
}

func (s *Server) getNIC(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	nic, err := s.backend.NIC(r.Context(), name)
	answer(s, w, r, nic, err, "nic "+name)
}
