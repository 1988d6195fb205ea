package store

import "time"

// Network is a virtual network of this host: one OpenFlow datapath.
type Network struct {
	Name string `json:"name"`
	// Mode is how vNIC-to-vNIC traffic is switched: "host", "nic" or "hairpin".
	Mode string `json:"mode"`
	// Uplink is the PF netdev of the network.
	Uplink      string   `json:"uplink,omitempty"`
	DPID        uint64   `json:"dpid"`
	Controllers []string `json:"controllers,omitempty"`
	// FailMode is the OpenFlow fail mode ("secure" or "standalone").
	FailMode string `json:"fail_mode,omitempty"`
	// Offload is the offload policy of the network's rules.
	Offload string    `json:"offload,omitempty"`
	Created time.Time `json:"created"`
}

// VFSettings are the settings of one VF as the PF applies them. Pointer and
// empty fields mean "not set"; sriov/vf gives them their defaults.
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

// VNIC is the allocation of one VF to one vNIC.
type VNIC struct {
	ID      string `json:"id"`
	Network string `json:"network"`
	// PF is the PF netdev the VF belongs to; VFIndex its VF number.
	PF          string `json:"pf"`
	VFIndex     int    `json:"vf_index"`
	VFPCI       string `json:"vf_pci,omitempty"`
	VFNetdev    string `json:"vf_netdev,omitempty"`
	Representor string `json:"representor,omitempty"`
	OFPort      uint32 `json:"of_port,omitempty"`
	// Settings are the requested settings; Original the VF's settings read
	// before attach, restored on detach.
	Settings VFSettings `json:"settings"`
	Original VFSettings `json:"original"`
	Attached time.Time  `json:"attached"`
}
