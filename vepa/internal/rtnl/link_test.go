package rtnl

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// pfSelfReport is the message a NIC driver's ndo_bridge_getlink sends
// through ndo_dflt_bridge_getlink (net/core/rtnetlink.c) for a PF in VEPA
// mode, written out from the uapi because no device on the test machines
// has an embedded bridge: ifinfomsg, IFLA_IFNAME "eth7", IFLA_MTU 1500,
// IFLA_OPERSTATE up, IFLA_ADDRESS, IFLA_AF_SPEC {IFLA_BRIDGE_FLAGS SELF,
// IFLA_BRIDGE_MODE mode}, IFLA_PROTINFO|NLA_F_NESTED {IFLA_BRPORT_MODE 0}
// (the driver's hairpin flag, as ixgbe reports it).
func pfSelfReport(mode string) string {
	return "07000100" + "05000000" + "43100100" + "00000000" + // AF_BRIDGE, ARPHRD_ETHER, index 5, flags UP|RUNNING|...
		"0900" + "0300" + "65746837" + "00000000" + // IFLA_IFNAME "eth7\0" padded
		"0800" + "0400" + "dc050000" + // IFLA_MTU 1500
		"0500" + "1000" + "06000000" + // IFLA_OPERSTATE IF_OPER_UP
		"0a00" + "0100" + "020000000007" + "0000" + // IFLA_ADDRESS
		"1400" + "1a00" + // IFLA_AF_SPEC
		"0600" + "0000" + "0200" + "0000" + // IFLA_BRIDGE_FLAGS SELF
		"0600" + "0100" + mode + "0000" + // IFLA_BRIDGE_MODE
		"0c00" + "0c80" + "0500" + "0400" + "00000000" // IFLA_PROTINFO {IFLA_BRPORT_MODE 0}
}

func TestParseLink(t *testing.T) {
	tests := []struct {
		name string
		hex  string
		want Link
	}{
		{
			name: "PF in VEPA mode",
			hex:  pfSelfReport("0100"),
			want: Link{Index: 5, Name: "eth7", BridgeFlags: BridgeFlagsSelf, Mode: BridgeModeVEPA, HasMode: true, Port: &Port{}},
		},
		{
			name: "PF in VEB mode",
			hex:  pfSelfReport("0000"),
			want: Link{Index: 5, Name: "eth7", BridgeFlags: BridgeFlagsSelf, Mode: BridgeModeVEB, HasMode: true, Port: &Port{}},
		},
		{
			name: "self report without a mode (BRIDGE_MODE_UNDEF is left out)",
			hex: "07000100" + "05000000" + "00000000" + "00000000" +
				"0c00" + "1a00" + "0600" + "0000" + "0200" + "0000",
			want: Link{Index: 5, BridgeFlags: BridgeFlagsSelf},
		},
		{
			name: "bridge port with hairpin, master 2",
			hex: "07000100" + "04000000" + "00000000" + "00000000" +
				"0800" + "0a00" + "02000000" + // IFLA_MASTER 2
				"1400" + "0c80" + "0500" + "0100" + "03000000" + "0500" + "0400" + "01000000",
			want: Link{Index: 4, Master: 2, Port: &Port{State: 3, Hairpin: true}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseLink(b)
			if err != nil {
				t.Fatalf("ParseLink: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseLink (-want +got):\n%s", diff)
			}
			if got.Self() != (tt.want.BridgeFlags&BridgeFlagsSelf != 0) {
				t.Errorf("Self() = %v", got.Self())
			}
		})
	}
}

func TestParseLinkErrors(t *testing.T) {
	full := pfSelfReport("0100")
	tests := []struct {
		name string
		hex  string
		want string
	}{
		{"short header", "0700", "ifinfomsg: 2 bytes"},
		{"wrong family", "00000100" + "05000000" + "00000000" + "00000000", "family 0"},
		{"attribute runs past the end", full[:len(full)-8], "length too short or too large"},
		{"short IFLA_BRIDGE_MODE", "07000100" + "05000000" + "00000000" + "00000000" +
			"0c00" + "1a00" + "0500" + "0100" + "01000000", "IFLA_BRIDGE_MODE"},
		{"short IFLA_MASTER", "07000100" + "05000000" + "00000000" + "00000000" +
			"0600" + "0a00" + "02000000", "IFLA_MASTER"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := hex.DecodeString(tt.hex)
			if err != nil {
				t.Fatal(err)
			}
			_, err = ParseLink(b)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseLink error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// appendLink encodes l as the kernel would report it, with the attributes
// ParseLink reads: the inverse of ParseLink, for the fuzz target.
func appendLink(l Link) []byte {
	hdr := rtnetlink.IfInfoMsg{Family: AFBridge, Index: l.Index}.Append(nil)
	b, err := rtnetlink.AppendAttributes(hdr, func(ae *netlink.AttributeEncoder) error {
		if l.Name != "" {
			ae.String(IFLAIfname, l.Name)
		}
		if l.Master != 0 {
			ae.Int32(IFLAMaster, l.Master)
		}
		if l.BridgeFlags != 0 || l.HasMode {
			rtnetlink.Nest(ae, IFLAAfSpec, func(ae *netlink.AttributeEncoder) error {
				if l.BridgeFlags != 0 {
					ae.Uint16(IFLABridgeFlags, l.BridgeFlags)
				}
				if l.HasMode {
					ae.Uint16(IFLABridgeMode, l.Mode)
				}
				return nil
			})
		}
		if p := l.Port; p != nil {
			ae.Nested(IFLAProtinfo, func(ae *netlink.AttributeEncoder) error {
				ae.Uint8(IFLABrportState, p.State)
				var hairpin uint8
				if p.Hairpin {
					hairpin = 1
				}
				ae.Uint8(IFLABrportMode, hairpin)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		panic(err)
	}
	return b
}

// FuzzParseLink feeds arbitrary messages to ParseLink: it must not panic,
// and a link it decodes must encode (appendLink) to a message that decodes
// the same.
func FuzzParseLink(f *testing.F) {
	for _, m := range []string{"0100", "0000"} {
		b, _ := hex.DecodeString(pfSelfReport(m))
		f.Add(b)
	}
	f.Add(appendLink(Link{Index: 4, Name: "vprp0", Master: 2, Port: &Port{State: 3, Hairpin: true}}))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLink(b)
		if err != nil {
			return
		}
		again, err := ParseLink(appendLink(l))
		if err != nil {
			t.Fatalf("re-parsing %+v: %v", l, err)
		}
		if diff := cmp.Diff(l, again); diff != "" {
			t.Fatalf("link changed through encode (-first +second):\n%s", diff)
		}
	})
}
