package rest

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/openflow/oftarget"
)

// Network modes (see DESIGN.md, switching modes).
const (
	ModeHost    = "host"
	ModeNIC     = "nic"
	ModeHairpin = "hairpin"
)

// Eswitch modes of an uplink.
const (
	EswitchSwitchdev = "switchdev"
	EswitchLegacy    = "legacy"
)

// NetworkSpec is a network as a client asks for it. Empty fields take
// defaults: mode host, fail_mode secure, offload auto, datapath_id
// derived.
type NetworkSpec struct {
	Name string `json:"name"`
	// Mode is host, nic or hairpin.
	Mode string `json:"mode"`
	// Uplink is the PF netdev the network's VFs come from and its
	// traffic leaves by; required in modes nic and hairpin.
	Uplink string `json:"uplink,omitempty"`
	// DatapathID is the OpenFlow datapath id; zero derives one.
	DatapathID DatapathID `json:"datapath_id"`
	// Controllers are OpenFlow targets: tcp:HOST[:PORT], ssl:HOST[:PORT],
	// unix:PATH (active) and ptcp:[PORT][:IP], pssl:[PORT][:IP],
	// punix:PATH (passive).
	Controllers []string `json:"controllers,omitempty"`
	// Files (private_key, certificate, ca_cert: absolute paths, all three
	// or none) are the TLS material of the ssl: and pssl: targets;
	// none: nicflowd's own (--private-key, --certificate, --ca-cert).
	mtls.Files
	// FailMode is secure or standalone.
	FailMode string `json:"fail_mode"`
	// Offload is the offload policy: auto, hw, tc or off.
	Offload string `json:"offload"`
	// Ports are netdevs added as OpenFlow ports besides the uplink and
	// the vNICs attached later.
	Ports []string `json:"ports,omitempty"`
	// EswitchMode is the uplink's eswitch mode in mode nic: switchdev
	// (VF representors are OpenFlow ports), legacy (the NIC's VEB
	// switches VFs by MAC/VLAN; no per-flow rules for them), or empty:
	// switchdev when the NIC can, else legacy.
	EswitchMode string `json:"eswitch_mode,omitempty"`
	// NumVFs sets the uplink's VF count in mode nic; 0 keeps the count
	// the PF has.
	NumVFs int `json:"num_vfs,omitempty"`
	// VNICType is what a vNIC is in mode hairpin: vf (a VF of the uplink,
	// whose embedded bridge goes to VEPA), macvlan or macvtap (a
	// host-side device on the uplink in VEPA mode). Empty: vf when the
	// uplink has SR-IOV VFs, else macvlan (the daemon fills it in).
	VNICType string `json:"vnic_type,omitempty"`
	// AllowHostNetdev lets the uplink or a port be a netdev the host
	// itself uses (it carries the host's addresses or its default
	// route): as an OpenFlow port it goes promiscuous and its traffic is
	// the switch's. Without it such a netdev is refused (409).
	AllowHostNetdev bool `json:"allow_host_netdev,omitempty"`
	// InactivityProbe is Open vSwitch's inactivity_probe, in
	// milliseconds: a controller channel that receives nothing for that
	// long is sent ECHO_REQUEST, and dropped when it then receives
	// nothing for as long again. 0 disables the probe; else at least
	// MinInactivityProbe. Absent: nicflowd's default (--inactivity-probe,
	// DefaultInactivityProbe); status.inactivity_probe shows the one in
	// force.
	InactivityProbe *int `json:"inactivity_probe,omitempty"`
	// ControllerRateLimit is Open vSwitch's controller_rate_limit: each
	// controller channel gets at most this many PACKET_INs a second of
	// table misses, and as many of the other reasons (at least
	// MinControllerRateLimit); the others are dropped and counted
	// (status.controllers[].packet_in_rate_drops). 0: no limit.
	ControllerRateLimit int `json:"controller_rate_limit,omitempty"`
	// ControllerBurstLimit is Open vSwitch's controller_burst_limit: how
	// many PACKET_INs of each kind may go at once above the rate (at least
	// MinControllerBurstLimit; only with ControllerRateLimit). 0: a
	// quarter of the rate (Validate fills it in).
	ControllerBurstLimit int `json:"controller_burst_limit,omitempty"`
}

// Channel limits, as Open vSwitch's Controller table has them.
const (
	// DefaultInactivityProbe is NetworkSpec.InactivityProbe's default
	// (ms); MinInactivityProbe the shortest probe but 0.
	DefaultInactivityProbe = 5000
	MinInactivityProbe     = 5000
	// MinControllerRateLimit and MinControllerBurstLimit are the
	// smallest controller_rate_limit and controller_burst_limit.
	MinControllerRateLimit  = 100
	MinControllerBurstLimit = 25
	// maxChannelLimit bounds the three (ms, packets/s, packets).
	maxChannelLimit = 1<<31 - 1
)

// vNIC types of mode hairpin.
const (
	VNICTypeVF      = "vf"
	VNICTypeMacvlan = "macvlan"
	VNICTypeMacvtap = "macvtap"
)

// Switching points: where a network's vNIC-to-vNIC traffic is switched
// (NetworkStatus.SwitchingPoint, the metrics' switching label).
const (
	// SwitchNicflow: nicflow itself (tc in kernel software and the fast
	// path), mode host.
	SwitchNicflow = "nicflow"
	// SwitchEswitch: the NIC's eswitch in switchdev mode, rules on the
	// representors in tc/hardware (mode nic).
	SwitchEswitch = "eswitch"
	// SwitchVEB: the NIC's legacy VEB, by MAC and VLAN only (mode nic).
	SwitchVEB = "veb"
	// SwitchExternal: the external switch reflecting frames back
	// (VEPA, hairpin on its port), mode hairpin.
	SwitchExternal = "external"
)

// Network origins.
const (
	// OriginConfig: the network comes from nicflowd's configuration file
	// or flags; the API cannot change or delete it.
	OriginConfig = "config"
	// OriginAPI: the network was created through the API and is kept in
	// the state store.
	OriginAPI = "api"
)

// Network is a network with its effective, read-only state.
type Network struct {
	NetworkSpec
	Status NetworkStatus `json:"status"`
}

// NetworkStatus is what the daemon made of a NetworkSpec.
type NetworkStatus struct {
	// DatapathID is the id in use (derived when the spec's is zero).
	DatapathID DatapathID `json:"datapath_id"`
	// Offload is the policy in effect: "off" when the tc tier is
	// unavailable, for example; OffloadNote says why it differs.
	Offload     string `json:"offload"`
	OffloadNote string `json:"offload_note,omitempty"`
	// EswitchMode is the uplink's eswitch mode (legacy, switchdev) when
	// it has one.
	EswitchMode string `json:"eswitch_mode,omitempty"`
	// ModeNote says how the mode runs when that differs from the spec
	// (switchdev refused by the NIC: legacy VEB; hairpin runs its rules
	// in the fast path).
	ModeNote string `json:"mode_note,omitempty"`
	// SwitchingPoint is where vNIC-to-vNIC traffic is switched, one of
	// nicflow, eswitch, veb, external (see SwitchNicflow); Switching says
	// it in words with where rules apply.
	SwitchingPoint string `json:"switching_point,omitempty"`
	Switching      string `json:"switching,omitempty"`
	// Changes lists what an update did, step by step (a mode change
	// re-plumbing vNICs, for example); only in the update's answer.
	Changes     []string           `json:"changes,omitempty"`
	Ports       []NetworkPort      `json:"ports"`
	Controllers []ControllerStatus `json:"controllers"`
	// InactivityProbe is the inactivity probe in force, in milliseconds
	// (the spec's or nicflowd's default); 0: disabled.
	InactivityProbe int `json:"inactivity_probe"`
	// Rules counts the network's rules per tier.
	Rules TierCounts `json:"rules"`
	// Origin is config or api (see OriginConfig).
	Origin string `json:"origin,omitempty"`
	// Running is false when the network could not be started (after a
	// restart, say, its uplink is gone); Error says why.
	Running bool   `json:"running"`
	Error   string `json:"error,omitempty"`
}

// NetworkPort is one OpenFlow port of a network.
type NetworkPort struct {
	No   uint32 `json:"no"`
	Name string `json:"name"`
	// Kind is uplink, representor, tap, veth or netdev.
	Kind string `json:"kind,omitempty"`
	// VNIC is the id of the vNIC behind the port, if any.
	VNIC string `json:"vnic,omitempty"`
	// Missing says why a port of the network is not in its datapath: its
	// netdev was deleted under the running network. Its rules stay, and
	// it comes back with its number when a netdev of its name appears.
	Missing string `json:"missing,omitempty"`
}

// ControllerStatus is one controller connection of a network.
type ControllerStatus struct {
	Target    string `json:"target"`
	Connected bool   `json:"connected"`
	// Role is equal, master or slave (OpenFlow roles) while connected.
	Role string `json:"role,omitempty"`
	// PeerSubject is the subject of the peer's certificate on a TLS
	// channel (ssl:, pssl:).
	PeerSubject string `json:"peer_subject,omitempty"`
	// PacketInRateDrops counts the PACKET_INs that the network's
	// controller_rate_limit dropped on this target's channels since the
	// network (re)started.
	PacketInRateDrops uint64 `json:"packet_in_rate_drops"`
}

// TierCounts counts something (rules) per tier.
type TierCounts struct {
	HW   int `json:"hw"`
	TC   int `json:"tc"`
	Soft int `json:"soft"`
}

// Validate checks the spec and fills its defaults; errors name the field.
func (n *NetworkSpec) Validate() error {
	if err := checkName("name", n.Name); err != nil {
		return err
	}
	if err := oneOf("mode", &n.Mode, ModeHost, ModeHost, ModeNIC, ModeHairpin); err != nil {
		return err
	}
	if n.Uplink != "" {
		if err := checkNetdev("uplink", n.Uplink); err != nil {
			return err
		}
	} else if n.Mode != ModeHost {
		return Invalid("uplink", fmt.Sprintf("required in mode %s (the PF the VFs come from)", n.Mode))
	}
	if err := oneOf("fail_mode", &n.FailMode, "secure", "secure", "standalone"); err != nil {
		return err
	}
	if err := oneOf("offload", &n.Offload, "auto", "auto", "hw", "tc", "off"); err != nil {
		return err
	}
	if n.Mode != ModeHairpin && n.VNICType != "" {
		return Invalid("vnic_type", "only mode hairpin has a vNIC type (mode host: veth, mode nic: VF)")
	}
	switch n.VNICType {
	case "", VNICTypeVF, VNICTypeMacvlan, VNICTypeMacvtap:
	default:
		return Invalid("vnic_type", fmt.Sprintf("%q is not one of vf, macvlan, macvtap", n.VNICType))
	}
	if n.Mode != ModeNIC {
		if n.EswitchMode != "" {
			return Invalid("eswitch_mode", "only mode nic has an eswitch mode")
		}
		if n.NumVFs != 0 {
			return Invalid("num_vfs", "only mode nic sets a VF count")
		}
	} else if n.EswitchMode != "" && n.EswitchMode != EswitchSwitchdev && n.EswitchMode != EswitchLegacy {
		return Invalid("eswitch_mode", fmt.Sprintf("%q is not one of switchdev, legacy", n.EswitchMode))
	}
	if n.NumVFs < 0 || n.NumVFs > 4096 {
		return Invalid("num_vfs", fmt.Sprintf("%d is out of range 0-4096", n.NumVFs))
	}
	seen := map[string]bool{}
	for i, c := range n.Controllers {
		field := fmt.Sprintf("controllers[%d]", i)
		t, err := oftarget.Parse(c)
		if err != nil {
			return Invalid(field, err.Error())
		}
		if seen[t.String()] {
			return Invalid(field, fmt.Sprintf("%q is listed twice", c))
		}
		seen[t.String()] = true
	}
	if err := n.Files.Check(); err != nil {
		var fe *mtls.FieldError
		if errors.As(err, &fe) {
			return Invalid(fe.Field, fe.Msg)
		}
		return Invalid("private_key", err.Error())
	}
	if err := n.checkChannelLimits(); err != nil {
		return err
	}
	ports := map[string]bool{n.Uplink: n.Uplink != ""}
	for i, p := range n.Ports {
		field := fmt.Sprintf("ports[%d]", i)
		if err := checkNetdev(field, p); err != nil {
			return err
		}
		if ports[p] {
			return Invalid(field, fmt.Sprintf("%s is listed twice (or is the uplink)", p))
		}
		ports[p] = true
	}
	return nil
}

func (s *Server) routeNetworks() {
	s.handle("GET /v1/networks", s.listNetworks)
	s.handle("POST /v1/networks", s.createNetwork)
	s.handle("GET /v1/networks/{name}", s.getNetwork)
	s.handle("PUT /v1/networks/{name}", s.updateNetwork)
	s.handle("DELETE /v1/networks/{name}", s.deleteNetwork)
}

func (s *Server) listNetworks(w http.ResponseWriter, r *http.Request) {
	nets, err := s.backend.Networks(r.Context())
	answerList(s, w, r, nets, err, "list networks")
}

func (s *Server) getNetwork(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	n, err := s.backend.Network(r.Context(), name)
	answer(s, w, r, n, err, "network "+name)
}

func (s *Server) createNetwork(w http.ResponseWriter, r *http.Request) {
	var spec NetworkSpec
	if !s.decodeValid(w, r, &spec) {
		return
	}
	n, err := s.backend.CreateNetwork(r.Context(), spec)
	if err != nil {
		s.fail(w, r, fmt.Errorf("create network %s: %w", spec.Name, err))
		return
	}
	w.Header().Set("Location", "/v1/networks/"+url.PathEscape(n.Name))
	writeJSON(w, http.StatusCreated, n)
}

func (s *Server) updateNetwork(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	var spec NetworkSpec
	if err := decode(w, r, &spec); err != nil {
		s.fail(w, r, err)
		return
	}
	if spec.Name == "" {
		spec.Name = name
	}
	if spec.Name != name {
		s.fail(w, r, Invalid("name", fmt.Sprintf("%q differs from the network in the path, %q (networks cannot be renamed)", spec.Name, name)))
		return
	}
	if err := spec.Validate(); err != nil {
		s.fail(w, r, err)
		return
	}
	n, err := s.backend.UpdateNetwork(r.Context(), name, spec)
	answer(s, w, r, n, err, "update network "+name)
}

func (s *Server) deleteNetwork(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.backend.DeleteNetwork(r.Context(), name); err != nil {
		s.fail(w, r, fmt.Errorf("delete network %s: %w", name, err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
