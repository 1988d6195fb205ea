package rest

import (
	"fmt"
	"net/http"
	"net/url"
)

// VLAN protocols and VF link states.
const (
	VLANProto8021Q  = "802.1Q"
	VLANProto8021AD = "802.1ad"

	LinkAuto    = "auto"
	LinkEnable  = "enable"
	LinkDisable = "disable"
)

// VNICSpec asks for a vNIC on a network: one VF of the network's uplink
// (modes nic and hairpin) or a host-side port (mode host), with its VF
// settings. Empty fields take defaults: NIC-chosen MAC, no VLAN,
// vlan_proto 802.1Q, spoof_check on, trust off, no rate limits,
// link_state auto.
type VNICSpec struct {
	// ID names the vNIC (the VM's interface, for example); attach and
	// detach are idempotent per ID.
	ID      string `json:"id"`
	Network string `json:"network"`
	// MAC is a unicast MAC address; empty lets the NIC pick.
	MAC string `json:"mac,omitempty"`
	// VLAN is the port VLAN (1-4094; 0: untagged) and QoS its PCP (0-7).
	VLAN      int    `json:"vlan,omitempty"`
	QoS       int    `json:"qos,omitempty"`
	VLANProto string `json:"vlan_proto,omitempty"`
	// SpoofCheck and Trust are the VF's flags; nil takes the default.
	SpoofCheck *bool `json:"spoof_check,omitempty"`
	Trust      *bool `json:"trust,omitempty"`
	// MinTxRate and MaxTxRate are in Mbit/s; 0 means no limit.
	MinTxRate uint32 `json:"min_tx_rate,omitempty"`
	MaxTxRate uint32 `json:"max_tx_rate,omitempty"`
	// LinkState is auto, enable or disable.
	LinkState string `json:"link_state,omitempty"`
}

// VNIC is an attached vNIC: its effective settings and where it landed.
type VNIC struct {
	VNICSpec
	// VF is the VF's PCI address and VFIndex its number on the uplink
	// (both empty/-1 for host-mode vNICs).
	VF      string `json:"vf,omitempty"`
	VFIndex int    `json:"vf_index"`
	Uplink  string `json:"uplink,omitempty"`
	// Netdev is the vNIC's netdev on the host (the VF's, or the tap or
	// veth), empty while the VF is bound to vfio-pci.
	Netdev string `json:"netdev,omitempty"`
	// Representor is the VF's representor netdev in switchdev mode.
	Representor string `json:"representor,omitempty"`
	// OFPort is the vNIC's OpenFlow port number in its network.
	OFPort uint32 `json:"ofport"`
	// Broken says why the vNIC no longer works (its port's netdev was
	// deleted under the running network); attaching it again with the
	// same spec re-creates it. Empty: it works.
	Broken string `json:"broken,omitempty"`
}

// Validate checks the spec and fills its defaults; errors name the field.
func (v *VNICSpec) Validate() error {
	if err := checkName("id", v.ID); err != nil {
		return err
	}
	if err := checkName("network", v.Network); err != nil {
		return err
	}
	mac, err := normalizeMAC("mac", v.MAC)
	if err != nil {
		return err
	}
	v.MAC = mac
	if v.VLAN < 0 || v.VLAN > 4094 {
		return Invalid("vlan", fmt.Sprintf("%d is out of range 0-4094", v.VLAN))
	}
	if v.QoS < 0 || v.QoS > 7 {
		return Invalid("qos", fmt.Sprintf("%d is out of range 0-7", v.QoS))
	}
	if v.QoS != 0 && v.VLAN == 0 {
		return Invalid("qos", "needs a vlan (the priority goes in the VLAN tag)")
	}
	if err := oneOf("vlan_proto", &v.VLANProto, VLANProto8021Q, VLANProto8021Q, VLANProto8021AD); err != nil {
		return err
	}
	if v.VLANProto != VLANProto8021Q && v.VLAN == 0 {
		return Invalid("vlan_proto", v.VLANProto+" needs a vlan")
	}
	if v.MaxTxRate != 0 && v.MinTxRate > v.MaxTxRate {
		return Invalid("max_tx_rate", fmt.Sprintf("%d Mbit/s is below min_tx_rate %d Mbit/s", v.MaxTxRate, v.MinTxRate))
	}
	if err := oneOf("link_state", &v.LinkState, LinkAuto, LinkAuto, LinkEnable, LinkDisable); err != nil {
		return err
	}
	if v.SpoofCheck == nil {
		v.SpoofCheck = ptr(true)
	}
	if v.Trust == nil {
		v.Trust = ptr(false)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

func (s *Server) routeVNICs() {
	s.handle("GET /v1/vnics", s.listVNICs)
	s.handle("POST /v1/vnics", s.attachVNIC)
	s.handle("GET /v1/vnics/{id}", s.getVNIC)
	s.handle("DELETE /v1/vnics/{id}", s.detachVNIC)
}

func (s *Server) listVNICs(w http.ResponseWriter, r *http.Request) {
	vs, err := s.backend.VNICs(r.Context())
	answerList(s, w, r, vs, err, "list vnics")
}

func (s *Server) getVNIC(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	v, err := s.backend.VNIC(r.Context(), id)
	answer(s, w, r, v, err, "vnic "+id)
}

func (s *Server) attachVNIC(w http.ResponseWriter, r *http.Request) {
	var spec VNICSpec
	if !s.decodeValid(w, r, &spec) {
		return
	}
	v, created, err := s.backend.AttachVNIC(r.Context(), spec)
	if err != nil {
		s.fail(w, r, fmt.Errorf("attach vnic %s to network %s: %w", spec.ID, spec.Network, err))
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	w.Header().Set("Location", "/v1/vnics/"+url.PathEscape(v.ID))
	writeJSON(w, status, v)
}

func (s *Server) detachVNIC(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := s.backend.DetachVNIC(r.Context(), id); err != nil {
		s.fail(w, r, fmt.Errorf("detach vnic %s: %w", id, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
