package rtnetlink

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// execFunc is a Conn answering with a function.
type execFunc func(m netlink.Message) ([]netlink.Message, error)

func (f execFunc) Execute(m netlink.Message) ([]netlink.Message, error) { return f(m) }

func TestDumpRetriesWhenInterrupted(t *testing.T) {
	refused := &netlink.OpError{Op: "receive", Err: unix.EPERM, Message: "no"}
	for _, tc := range []struct {
		name        string
		interrupted int   // how many dumps come back flagged NLM_F_DUMP_INTR
		fail        error // what Execute returns instead of messages
		wantTries   int
		wantErr     error
	}{
		{name: "clean", wantTries: 1},
		{name: "twice", interrupted: 2, wantTries: 3},
		{name: "all but the last", interrupted: MaxDumpTries - 1, wantTries: MaxDumpTries},
		{name: "always", interrupted: 100, wantTries: MaxDumpTries, wantErr: ErrDumpInterrupted},
		{name: "refused", fail: refused, wantTries: 1, wantErr: refused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			c := execFunc(func(m netlink.Message) ([]netlink.Message, error) {
				tries++
				if m.Header.Type != unix.RTM_GETLINK || m.Header.Flags != netlink.Request|netlink.Dump || string(m.Data) != "body" {
					t.Errorf("request = %+v, want an RTM_GETLINK dump of %q", m, "body")
				}
				if tc.fail != nil {
					return nil, tc.fail
				}
				var flags netlink.HeaderFlags
				if tries <= tc.interrupted {
					flags = netlink.DumpInterrupted
				}
				return []netlink.Message{
					{Header: netlink.Header{Type: unix.RTM_NEWLINK}, Data: []byte{1}},
					{Header: netlink.Header{Type: unix.RTM_NEWLINK, Flags: flags}, Data: []byte{2}},
				}, nil
			})
			msgs, err := Dump(c, unix.RTM_GETLINK, []byte("body"))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Dump error = %v, want %v", err, tc.wantErr)
			}
			if tries != tc.wantTries {
				t.Errorf("dumped %d times, want %d", tries, tc.wantTries)
			}
			if tc.wantErr == nil && len(msgs) != 2 {
				t.Errorf("Dump returned %d messages, want 2", len(msgs))
			}
			if tc.wantErr != nil && msgs != nil {
				t.Errorf("Dump returned messages %+v with its error", msgs)
			}
		})
	}
}

func TestNestHasNoNestedFlag(t *testing.T) {
	inner := func(ae *netlink.AttributeEncoder) error {
		ae.Uint16(1, 0x0203)
		return nil
	}
	got, err := AppendAttributes([]byte{0xaa}, func(ae *netlink.AttributeEncoder) error {
		Nest(ae, 26, inner)
		ae.Nested(12, inner) // mdlayher's own, for contrast: NLA_F_NESTED set
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "aa" +
		"0c00" + "1a00" + "0600" + "0100" + "0302" + "0000" + // type 26, no flag
		"0c00" + "0c80" + "0600" + "0100" + "0302" + "0000" // type 12|NLA_F_NESTED
	if diff := cmp.Diff(want, hex.EncodeToString(got)); diff != "" {
		t.Errorf("encoded (-want +got):\n%s", diff)
	}
}

func TestAppendAttributesErrors(t *testing.T) {
	boom := errors.New("boom")
	for name, fn := range map[string]func(ae *netlink.AttributeEncoder) error{
		"from fn": func(*netlink.AttributeEncoder) error { return boom },
		"from a nest": func(ae *netlink.AttributeEncoder) error {
			Nest(ae, 1, func(*netlink.AttributeEncoder) error { return boom })
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := AppendAttributes(nil, fn); !errors.Is(err, boom) {
				t.Errorf("AppendAttributes error = %v, want %v", err, boom)
			}
		})
	}
}

func TestIfInfoMsg(t *testing.T) {
	m := IfInfoMsg{Family: unix.AF_BRIDGE, Type: unix.ARPHRD_ETHER, Index: 0x01020304, Flags: unix.IFF_UP, Change: 0xffffffff}
	b := m.Append(nil)
	// struct ifinfomsg, little-endian: family, pad, type, index, flags, change.
	want := "07" + "00" + "0100" + "04030201" + "01000000" + "ffffffff"
	if diff := cmp.Diff(want, hex.EncodeToString(b)); diff != "" {
		t.Fatalf("Append (-want +got):\n%s", diff)
	}
	got, rest, err := ParseIfInfoMsg(append(b, 9))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("ParseIfInfoMsg (-want +got):\n%s", diff)
	}
	if string(rest) != "\x09" {
		t.Errorf("rest = %x, want 09", rest)
	}
	if _, _, err := ParseIfInfoMsg(b[:15]); err == nil {
		t.Error("ParseIfInfoMsg of 15 bytes: no error")
	}
}

func TestDecodeAttributes(t *testing.T) {
	names := map[uint16]string{10: "IFLA_MASTER", 26: "IFLA_AF_SPEC"}
	type got struct {
		Name   string
		Master int32
		Mode   uint16
	}
	decode := func(b []byte) (got, error) {
		var g got
		err := DecodeAttributes(b, names, func(ad *netlink.AttributeDecoder) {
			switch ad.Type() {
			case 3:
				g.Name = ad.String()
			case 10:
				g.Master = ad.Int32()
			case 26:
				ad.Do(func(b []byte) error {
					return DecodeAttributes(b, map[uint16]string{1: "IFLA_BRIDGE_MODE"}, func(ad *netlink.AttributeDecoder) {
						if ad.Type() == 1 {
							g.Mode = ad.Uint16()
						}
					})
				})
			}
		})
		return g, err
	}
	for _, tc := range []struct {
		name    string
		hex     string
		want    got
		wantErr string
	}{
		{name: "attributes in any order, unknown ones skipped, flags ignored",
			hex:  "0c00" + "1a80" + "0600" + "0100" + "0100" + "0000" + "0800" + "0a00" + "02000000" + "0800" + "6300" + "00000000" + "0900" + "0300" + "65746830" + "00000000",
			want: got{Name: "eth0", Master: 2, Mode: 1}},
		{name: "empty", hex: ""},
		{name: "wrong size, named", hex: "0600" + "0a00" + "0200" + "0000", wantErr: "IFLA_MASTER: netlink: attribute 10 is not a int32; length: 2"},
		{name: "wrong size in a nest, named on both levels", hex: "0c00" + "1a00" + "0500" + "0100" + "01000000",
			wantErr: "IFLA_AF_SPEC: IFLA_BRIDGE_MODE: netlink: attribute 1 is not a uint16; length: 1"},
		{name: "runs past the end", hex: "0800" + "0a00" + "0200", wantErr: "invalid attribute"},
		{name: "short header", hex: "0800" + "0a00" + "02000000" + "0400", wantErr: "invalid attribute"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := hex.DecodeString(tc.hex)
			if err != nil {
				t.Fatal(err)
			}
			g, err := decode(b)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if diff := cmp.Diff(tc.want, g); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
