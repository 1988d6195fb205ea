package store

import "time"

// Network is a virtual network of this host: one OpenFlow datapath.
type Network struct {
	Name string `json:"name"`
	// Mode is how vNIC-to-vNIC traffic is switched: "host", "nic" or "hairpin".
	Mode string `json:"mode"`
	// Uplink is the PF netdev of the network.
	Uplink string `json:"uplink,omitempty"`
	// DPID is the datapath id in use (derived once when the network was
	// created without one, then kept).
	DPID        uint64   `json:"dpid"`
	Controllers []string `json:"controllers,omitempty"`
	// FailMode is the OpenFlow fail mode ("secure" or "standalone").
	FailMode string `json:"fail_mode,omitempty"`
	// Offload is the offload policy of the network's rules.
	Offload string `json:"offload,omitempty"`
	// Ports are netdevs switched besides the uplink and the vNICs.
	Ports []string `json:"ports,omitempty"`
	// EswitchMode is the uplink's requested eswitch mode in mode nic
	// ("switchdev", "legacy", or "" for switchdev when the NIC can).
	EswitchMode string `json:"eswitch_mode,omitempty"`
	// NumVFs is the uplink's requested VF count (0 keeps the PF's count).
	NumVFs int `json:"num_vfs,omitempty"`
	// VNICType is what a vNIC is in mode hairpin ("vf", "macvlan",
	// "macvtap").
	VNICType string `json:"vnic_type,omitempty"`
	// PFBridgeMode is the uplink's embedded bridge mode ("veb", "vepa")
	// before a hairpin network put it in VEPA, restored when the network
	// stops being hairpin; empty when nicflowd did not change it.
	PFBridgeMode string `json:"pf_bridge_mode,omitempty"`
	// AllowHostNetdev: the uplink or a port may be a netdev the host uses
	// (rest.NetworkSpec.AllowHostNetdev).
	AllowHostNetdev bool `json:"allow_host_netdev,omitempty"`
	// PrivateKey, Certificate and CACert are the network's own TLS files
	// for its ssl: and pssl: targets (all three or none; none: the
	// daemon's).
	PrivateKey  string `json:"private_key,omitempty"`
	Certificate string `json:"certificate,omitempty"`
	CACert      string `json:"ca_cert,omitempty"`
	// InactivityProbe is the network's inactivity probe in milliseconds
	// (0: disabled; nil: the daemon's default); ControllerRateLimit and
	// ControllerBurstLimit its packet-in rate limit (0: none), as
	// rest.NetworkSpec has them.
	InactivityProbe      *int      `json:"inactivity_probe,omitempty"`
	ControllerRateLimit  int       `json:"controller_rate_limit,omitempty"`
	ControllerBurstLimit int       `json:"controller_burst_limit,omitempty"`
	Created              time.Time `json:"created"`
}

// VFSettings are the settings of one VF as the PF applies them. Pointer and
// empty fields mean "not set"; sriov/vf gives them their defaults.
//
// This is the one definition of the field list: sriov/vf's Settings is a
// type defined on it (with the validation and defaults), and the REST
// API's wire type converts to it in one place in nicflowd.
type VFSettings struct {
	MAC        string `json:"mac,omitempty"`
	VLAN       int    `json:"vlan,omitempty"`
	QoS        int    `json:"qos,omitempty"`
	VLANProto  string `json:"vlan_proto,omitempty"`
	SpoofCheck *bool  `json:"spoof_check,omitempty"`
	Trust      *bool  `json:"trust,omitempty"`
	// MinTxRate and MaxTxRate are in Mbit/s; 0 is no limit.
	MinTxRate int    `json:"min_tx_rate,omitempty"`
	MaxTxRate int    `json:"max_tx_rate,omitempty"`
	LinkState string `json:"link_state,omitempty"`
}

// Kinds of vNIC.
const (
	// KindVF is a vNIC on an SR-IOV VF (the zero value reads as KindVF).
	KindVF = "vf"
	// KindVeth is a host-side vNIC: a veth pair nicflowd created, its
	// host end (Port) switched by nicflowd, its other end (VFNetdev)
	// given to the VM or container.
	KindVeth = "veth"
	// KindMacvlan and KindMacvtap are host-side vNICs on the network's
	// uplink (mode hairpin): VFNetdev is the device, Port is empty.
	KindMacvlan = "macvlan"
	KindMacvtap = "macvtap"
)

// VNIC is the allocation of one VF (or one host-side veth) to one vNIC.
type VNIC struct {
	ID      string `json:"id"`
	Network string `json:"network"`
	// Kind is KindVF or KindVeth; empty means KindVF.
	Kind string `json:"kind,omitempty"`
	// PF is the PF netdev the VF belongs to; VFIndex its VF number. Both
	// are unset for a veth.
	PF      string `json:"pf"`
	VFIndex int    `json:"vf_index"`
	VFPCI   string `json:"vf_pci,omitempty"`
	// VFNetdev is the vNIC's netdev on the host: the VF's, or the VM end
	// of a veth.
	VFNetdev    string `json:"vf_netdev,omitempty"`
	Representor string `json:"representor,omitempty"`
	// Port is the netdev the network switches on for this vNIC (the VF's
	// representor, the host end of a veth), empty when it has none (a VF
	// in legacy mode, switched by the NIC); OFPort is its OpenFlow port.
	Port   string `json:"port,omitempty"`
	OFPort uint32 `json:"of_port,omitempty"`
	// Settings are the requested settings; Original the VF's settings read
	// before attach, restored on detach.
	Settings VFSettings `json:"settings"`
	Original VFSettings `json:"original"`
	Attached time.Time  `json:"attached"`
}

// IsVF reports whether the vNIC is on a VF.
func (v VNIC) IsVF() bool { return v.Kind == "" || v.Kind == KindVF }
