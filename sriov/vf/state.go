package vf

import (
	"fmt"
	"strings"
)

// State is a VF's complete configuration as the PF holds it.
type State struct {
	// MAC in canonical lower-case form; "00:00:00:00:00:00" when unset.
	MAC        string
	VLAN       int
	QoS        int
	VLANProto  string // Proto8021Q or Proto8021AD
	SpoofCheck bool
	Trust      bool
	// MinTxRate and MaxTxRate are in Mbit/s, 0 for none.
	MinTxRate int
	MaxTxRate int
	LinkState string // LinkAuto, LinkEnable or LinkDisable
}

// Field is a group of VF settings the kernel sets in one operation.
type Field int

// The fields, in the order they are applied.
const (
	FieldMAC        Field = iota // MAC address
	FieldVLAN                    // VLAN, QoS and VLAN protocol
	FieldSpoofCheck              // spoof check
	FieldTrust                   // trust
	FieldRate                    // min and max tx rate
	FieldLinkState               // link state
	numFields
)

var fieldNames = [numFields]string{"mac", "vlan", "spoof_check", "trust", "rate", "link_state"}

func (f Field) String() string {
	if f < 0 || f >= numFields {
		return fmt.Sprintf("Field(%d)", int(f))
	}
	return fieldNames[f]
}

// format renders the value of field f in s, as operators read it.
func (s State) format(f Field) string {
	switch f {
	case FieldMAC:
		return s.MAC
	case FieldVLAN:
		return fmt.Sprintf("%d qos %d proto %s", s.VLAN, s.QoS, s.VLANProto)
	case FieldSpoofCheck:
		return onOff(s.SpoofCheck)
	case FieldTrust:
		return onOff(s.Trust)
	case FieldRate:
		return fmt.Sprintf("min %d max %d Mbit/s", s.MinTxRate, s.MaxTxRate)
	case FieldLinkState:
		return s.LinkState
	}
	return "?"
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// diff returns the fields where cur differs from want, in apply order. A VF
// without a VLAN tag (VLAN and QoS 0) has no protocol to compare.
func diff(cur, want State) []Field {
	var fs []Field
	if !strings.EqualFold(cur.MAC, want.MAC) {
		fs = append(fs, FieldMAC)
	}
	untagged := cur.VLAN == 0 && cur.QoS == 0 && want.VLAN == 0 && want.QoS == 0
	if cur.VLAN != want.VLAN || cur.QoS != want.QoS || (!untagged && cur.VLANProto != want.VLANProto) {
		fs = append(fs, FieldVLAN)
	}
	if cur.SpoofCheck != want.SpoofCheck {
		fs = append(fs, FieldSpoofCheck)
	}
	if cur.Trust != want.Trust {
		fs = append(fs, FieldTrust)
	}
	if cur.MinTxRate != want.MinTxRate || cur.MaxTxRate != want.MaxTxRate {
		fs = append(fs, FieldRate)
	}
	if cur.LinkState != want.LinkState {
		fs = append(fs, FieldLinkState)
	}
	return fs
}

// settingsOf is s as fully explicit Settings (what Detach restores).
func settingsOf(s State) Settings {
	spoof, trust := s.SpoofCheck, s.Trust
	return Settings{
		MAC:        s.MAC,
		VLAN:       s.VLAN,
		QoS:        s.QoS,
		VLANProto:  s.VLANProto,
		SpoofCheck: &spoof,
		Trust:      &trust,
		MinTxRate:  s.MinTxRate,
		MaxTxRate:  s.MaxTxRate,
		LinkState:  s.LinkState,
	}
}
