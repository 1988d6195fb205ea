package vf

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/nicflow/nicflow/offload/store"
)

// VLAN protocols and link states as written in Settings.
const (
	Proto8021Q  = "802.1Q"
	Proto8021AD = "802.1ad"

	LinkAuto    = "auto"
	LinkEnable  = "enable"
	LinkDisable = "disable"
)

// Settings are what a vNIC asks of its VF. Zero values take defaults: MAC ""
// keeps the VF's MAC, VLAN 0 is untagged, VLANProto "" is 802.1Q, SpoofCheck
// nil is on, Trust nil is off, rates 0 (Mbit/s) are unlimited, LinkState ""
// is auto.
//
// Settings is defined on the store's record type rather than copied from
// it: the field list (and its JSON form on disk) exists once, in
// store.VFSettings, which the store owns as its schema; this package adds
// the behaviour (validation, defaults, diffs). toRecord and fromRecord are
// the conversions. The REST API keeps its own wire type (rest.VNICSpec)
// so that the API and the on-disk schema can evolve separately; nicflowd
// converts between the two in one place.
type Settings store.VFSettings

// FieldError is a bad value of one settings field; Field is the JSON name.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate checks every field and returns the problems joined, each a
// *FieldError naming its field, or nil.
func (s Settings) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	if s.MAC != "" {
		mac, err := net.ParseMAC(s.MAC)
		switch {
		case err != nil || len(mac) != 6:
			bad("mac", "%q is not a MAC address (want xx:xx:xx:xx:xx:xx)", s.MAC)
		case mac[0]&1 != 0:
			bad("mac", "%s is a multicast address", s.MAC)
		}
	}
	if s.VLAN < 0 || s.VLAN > 4094 {
		bad("vlan", "%d is out of range 0..4094", s.VLAN)
	}
	switch {
	case s.QoS < 0 || s.QoS > 7:
		bad("qos", "%d is out of range 0..7", s.QoS)
	case s.QoS != 0 && s.VLAN == 0:
		bad("qos", "%d needs a vlan (qos is the priority of the VF's VLAN tag)", s.QoS)
	}
	switch s.VLANProto {
	case "", Proto8021Q, Proto8021AD:
	default:
		bad("vlan_proto", "%q is not %s or %s", s.VLANProto, Proto8021Q, Proto8021AD)
	}
	if s.MinTxRate < 0 {
		bad("min_tx_rate", "%d is negative", s.MinTxRate)
	}
	if s.MaxTxRate < 0 {
		bad("max_tx_rate", "%d is negative", s.MaxTxRate)
	}
	if s.MaxTxRate > 0 && s.MinTxRate > s.MaxTxRate {
		bad("min_tx_rate", "%d Mbit/s is above max_tx_rate %d Mbit/s", s.MinTxRate, s.MaxTxRate)
	}
	switch s.LinkState {
	case "", LinkAuto, LinkEnable, LinkDisable:
	default:
		bad("link_state", "%q is not auto, enable or disable", s.LinkState)
	}
	return errors.Join(errs...)
}

// normalized returns s with every default made explicit and the MAC in
// canonical form, for comparing two requests.
func (s Settings) normalized() Settings {
	on, off := true, false
	if s.MAC != "" {
		if mac, err := net.ParseMAC(s.MAC); err == nil {
			s.MAC = mac.String()
		}
	}
	if s.VLANProto == "" {
		s.VLANProto = Proto8021Q
	}
	if s.SpoofCheck == nil {
		s.SpoofCheck = &on
	}
	if s.Trust == nil {
		s.Trust = &off
	}
	if s.LinkState == "" {
		s.LinkState = LinkAuto
	}
	return s
}

// desired is the VF state s asks for, given the VF's current state cur (for
// what s leaves unset: the MAC).
func (s Settings) desired(cur State) State {
	n := s.normalized()
	want := State{
		MAC:        n.MAC,
		VLAN:       n.VLAN,
		QoS:        n.QoS,
		VLANProto:  n.VLANProto,
		SpoofCheck: *n.SpoofCheck,
		Trust:      *n.Trust,
		MinTxRate:  n.MinTxRate,
		MaxTxRate:  n.MaxTxRate,
		LinkState:  n.LinkState,
	}
	if want.MAC == "" {
		want.MAC = cur.MAC
	}
	return want
}

// diffSettings names the fields where a and b differ after defaults.
func diffSettings(a, b Settings) []string {
	a, b = a.normalized(), b.normalized()
	var d []string
	add := func(field string, x, y any) {
		d = append(d, fmt.Sprintf("settings.%s %v (requested %v)", field, x, y))
	}
	if !strings.EqualFold(a.MAC, b.MAC) {
		add("mac", quoted(a.MAC), quoted(b.MAC))
	}
	if a.VLAN != b.VLAN {
		add("vlan", a.VLAN, b.VLAN)
	}
	if a.QoS != b.QoS {
		add("qos", a.QoS, b.QoS)
	}
	if a.VLANProto != b.VLANProto {
		add("vlan_proto", a.VLANProto, b.VLANProto)
	}
	if *a.SpoofCheck != *b.SpoofCheck {
		add("spoof_check", *a.SpoofCheck, *b.SpoofCheck)
	}
	if *a.Trust != *b.Trust {
		add("trust", *a.Trust, *b.Trust)
	}
	if a.MinTxRate != b.MinTxRate {
		add("min_tx_rate", a.MinTxRate, b.MinTxRate)
	}
	if a.MaxTxRate != b.MaxTxRate {
		add("max_tx_rate", a.MaxTxRate, b.MaxTxRate)
	}
	if a.LinkState != b.LinkState {
		add("link_state", a.LinkState, b.LinkState)
	}
	return d
}

// Diff names the fields where s and o differ after defaults, as
// "settings.vlan 100 (requested 200)" with s's value first.
func (s Settings) Diff(o Settings) []string { return diffSettings(s, o) }

func quoted(s string) string { return fmt.Sprintf("%q", s) }

// toRecord and fromRecord convert to and from the store's record type.
func toRecord(s Settings) store.VFSettings   { return store.VFSettings(s) }
func fromRecord(s store.VFSettings) Settings { return Settings(s) }
