package vf

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func boolp(b bool) *bool { return &b }

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		s    Settings
		want []string // fields named by the errors, in order
	}{
		{name: "zero", s: Settings{}},
		{name: "full", s: Settings{MAC: "02:00:00:00:00:11", VLAN: 4094, QoS: 7, VLANProto: Proto8021AD, SpoofCheck: boolp(false), Trust: boolp(true), MinTxRate: 10, MaxTxRate: 100, LinkState: LinkDisable}},
		{name: "min without max", s: Settings{MinTxRate: 500}},
		{name: "bad mac", s: Settings{MAC: "02:00:00:00:00"}, want: []string{"mac"}},
		{name: "eui64 mac", s: Settings{MAC: "02:00:00:00:00:00:00:01"}, want: []string{"mac"}},
		{name: "multicast mac", s: Settings{MAC: "01:00:5e:00:00:01"}, want: []string{"mac"}},
		{name: "vlan 4095", s: Settings{VLAN: 4095}, want: []string{"vlan"}},
		{name: "vlan negative", s: Settings{VLAN: -1}, want: []string{"vlan"}},
		{name: "qos 8", s: Settings{VLAN: 10, QoS: 8}, want: []string{"qos"}},
		{name: "qos without vlan", s: Settings{QoS: 3}, want: []string{"qos"}},
		{name: "proto", s: Settings{VLAN: 10, VLANProto: "802.1x"}, want: []string{"vlan_proto"}},
		{name: "min above max", s: Settings{MinTxRate: 200, MaxTxRate: 100}, want: []string{"min_tx_rate"}},
		{name: "negative rates", s: Settings{MinTxRate: -1, MaxTxRate: -2}, want: []string{"min_tx_rate", "max_tx_rate"}},
		{name: "link state", s: Settings{LinkState: "up"}, want: []string{"link_state"}},
		{name: "several", s: Settings{MAC: "zz", VLAN: 5000, LinkState: "up"}, want: []string{"mac", "vlan", "link_state"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.Validate()
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *FieldError
					if !errors.As(e, &fe) {
						t.Fatalf("error %v is not a *FieldError", e)
					}
					if !strings.HasPrefix(e.Error(), fe.Field+": ") {
						t.Errorf("error %q does not start with its field %q", e, fe.Field)
					}
					got = append(got, fe.Field)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("fields named (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}

func TestValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		s    Settings
		want string
	}{
		{Settings{VLAN: 4096}, "vlan: 4096 is out of range 0..4094"},
		{Settings{VLAN: 1, QoS: 9}, "qos: 9 is out of range 0..7"},
		{Settings{MAC: "nope"}, `mac: "nope" is not a MAC address`},
		{Settings{MinTxRate: 200, MaxTxRate: 100}, "min_tx_rate: 200 Mbit/s is above max_tx_rate 100 Mbit/s"},
		{Settings{LinkState: "up"}, `link_state: "up" is not auto, enable or disable`},
	} {
		if err := tc.s.Validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want it to contain %q", tc.s, err, tc.want)
		}
	}
}

func TestDesiredDefaults(t *testing.T) {
	cur := State{MAC: "aa:bb:cc:dd:ee:ff", VLAN: 7, VLANProto: Proto8021AD, SpoofCheck: false, Trust: true, MinTxRate: 1, MaxTxRate: 2, LinkState: LinkDisable}
	got := Settings{}.desired(cur)
	want := State{MAC: "aa:bb:cc:dd:ee:ff", VLANProto: Proto8021Q, SpoofCheck: true, Trust: false, LinkState: LinkAuto}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("desired of zero Settings (-want +got):\n%s", diff)
	}
	// The original settings of a VF, made explicit, restore it exactly.
	if diff := cmp.Diff(cur, settingsOf(cur).desired(State{})); diff != "" {
		t.Errorf("settingsOf round trip (-want +got):\n%s", diff)
	}
	if got := (Settings{MAC: "02:AA:00:00:00:01"}).desired(cur).MAC; got != "02:aa:00:00:00:01" {
		t.Errorf("MAC = %q, want canonical lower case", got)
	}
}

func TestDiff(t *testing.T) {
	base := State{MAC: "02:00:00:00:00:0a", VLANProto: Proto8021Q, SpoofCheck: true, LinkState: LinkAuto}
	for _, tc := range []struct {
		name   string
		change func(s *State)
		want   []Field
	}{
		{"same", func(s *State) {}, nil},
		{"proto of an untagged VF is ignored", func(s *State) { s.VLANProto = Proto8021AD }, nil},
		{"proto of a tagged VF", func(s *State) { s.VLAN = 5; s.VLANProto = Proto8021AD }, []Field{FieldVLAN}},
		{"mac case", func(s *State) { s.MAC = "02:00:00:00:00:0A" }, nil},
		{"all", func(s *State) {
			*s = State{MAC: "02:00:00:00:00:02", VLAN: 1, SpoofCheck: false, Trust: true, MaxTxRate: 9, LinkState: LinkEnable}
		}, []Field{FieldMAC, FieldVLAN, FieldSpoofCheck, FieldTrust, FieldRate, FieldLinkState}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := base
			tc.change(&want)
			if diff := cmp.Diff(tc.want, diff(base, want)); diff != "" {
				t.Errorf("diff (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordConversion(t *testing.T) {
	s := Settings{MAC: "02:00:00:00:00:11", VLAN: 10, QoS: 1, VLANProto: Proto8021Q, SpoofCheck: boolp(true), Trust: boolp(false), MinTxRate: 1, MaxTxRate: 2, LinkState: LinkEnable}
	if diff := cmp.Diff(s, fromRecord(toRecord(s))); diff != "" {
		t.Errorf("record round trip (-want +got):\n%s", diff)
	}
}
