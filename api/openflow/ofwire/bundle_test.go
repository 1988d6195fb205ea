package ofwire

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Bytes Open vSwitch 3.1's `ovs-ofctl -O OpenFlow13 --bundle add-flows`
// sent (captured by api/openflow's TestBundleOVSOfctl proxy).
const (
	ovsOpen   = "04040018000000094f4e4600000008fc0000000000000003"
	ovsCommit = "040400180000000b4f4e4600000008fc0000000000040003"
	// table=0,priority=10,in_port=1,actions=output:2
	ovsAdd = "04040070000000064f4e4600000008fd0000000000000003" +
		"040e00580000000600000000000000000000000000000000000000000000000affffffffffffffffffffffff000000000001000c800000040000000100000000000400180000000000000010000000020000000000000000"
)

// TestBundleGolden decodes what ovs-ofctl sent and encodes it again byte
// for byte.
func TestBundleGolden(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  string
		want any
	}{
		{"open", ovsOpen, &BundleCtrl{ID: 0, Type: BundleOpenRequest, Flags: BundleAtomic | BundleOrdered}},
		{"commit", ovsCommit, &BundleCtrl{ID: 0, Type: BundleCommitRequest, Flags: BundleAtomic | BundleOrdered}},
		{"add", ovsAdd, &BundleAdd{ID: 0, Flags: BundleAtomic | BundleOrdered, Msg: unhex(t, ovsAdd)[24:]}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			msg := unhex(t, tt.msg)
			h := ParseHeader(msg)
			if h.Type != of.TypeExperiment || int(h.Length) != len(msg) {
				t.Fatalf("header %+v", h)
			}
			e, err := DecodeExperimenter(msg[HeaderLen:])
			if err != nil || e.Experimenter != ONFExperimenter {
				t.Fatalf("DecodeExperimenter: %+v, %v", e, err)
			}
			var got any
			var again []byte
			switch e.ExpType {
			case ONFBundleControl:
				c, err := DecodeBundleCtrl(e.Data)
				if err != nil {
					t.Fatal(err)
				}
				got, again = c, AppendBundleCtrl(nil, h.Xid, c)
			case ONFBundleAddMessage:
				a, err := DecodeBundleAdd(h.Xid, e.Data)
				if err != nil {
					t.Fatal(err)
				}
				fm, err := DecodeFlowMod(a.Msg[HeaderLen:])
				if err != nil || fm.Priority != 10 || len(fm.Instr.Apply) != 1 || fm.Instr.Apply[0].Port != 2 {
					t.Errorf("inner flow mod %+v, %v", fm, err)
				}
				got, again = a, AppendBundleAdd(nil, a)
			default:
				t.Fatalf("exp_type %d", e.ExpType)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
			if !bytes.Equal(again, msg) {
				t.Errorf("encoded again\n%x\nwant\n%x", again, msg)
			}
		})
	}
}

// TestBundleErrorWire: an OFPBFC_* error over OpenFlow 1.3 is
// OFPET_EXPERIMENTER, exp_type 2300 + code, experimenter ONF, as Open
// vSwitch encodes it; its own decoder (ovs-ofctl ofp-print) names it.
func TestBundleErrorWire(t *testing.T) {
	commit := unhex(t, ovsCommit)
	b := AppendBundleError(nil, 11, BundleFailedMsgFailed, commit)
	want := unhex(t, "04010028"+"0000000b"+"ffff"+"0909"+"4f4e4600"+ovsCommit)
	if !bytes.Equal(b, want) {
		t.Errorf("AppendBundleError\n%x\nwant\n%x", b, want)
	}
	e, err := DecodeError(b[HeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	code, data, ok := DecodeBundleError(e)
	if !ok || code != BundleFailedMsgFailed || !bytes.Equal(data, commit) {
		t.Errorf("DecodeBundleError: %d %x %v", code, data, ok)
	}
	if _, _, ok := DecodeBundleError(&ErrorMsg{Type: pipeline.ErrBadRequest, Code: 2313}); ok {
		t.Errorf("a BAD_REQUEST decoded as a bundle error")
	}
	bin, err := exec.LookPath("ovs-ofctl")
	if err != nil {
		t.Skip("ovs-ofctl not installed")
	}
	for code := BundleFailedUnknown; code <= BundleFailedBundleInProgress; code++ {
		out, err := exec.Command(bin, "ofp-print", hex.EncodeToString(AppendBundleError(nil, 11, code, commit))).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "OFPT_ERROR (OF1.3) (xid=0xb): "+BundleErrorName(code)+"\n") {
			t.Errorf("ovs-ofctl ofp-print of %s: %v\n%s", BundleErrorName(code), err, out)
		}
	}
	// And our encoding of the replies.
	for typ := BundleOpenReply; typ <= BundleDiscardReply; typ += 2 {
		msg := AppendBundleCtrl(nil, 7, &BundleCtrl{ID: 0x1234, Type: typ})
		out, err := exec.Command(bin, "ofp-print", hex.EncodeToString(msg)).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "bundle_id=0x1234 type="+typ.String()) {
			t.Errorf("ovs-ofctl ofp-print of %s: %v\n%s", typ, err, out)
		}
	}
}

// TestBundleAddChecks: the inner message's framing is checked as
// OpenFlow 1.4 asks.
func TestBundleAddChecks(t *testing.T) {
	inner := Marshal(of.TypeEchoRequest, 5, []byte("abcd"))
	data := func(m []byte, tail ...byte) []byte {
		return append(append([]byte{0, 0, 0, 1, 0, 0, 0, 3}, m...), tail...)
	}
	tests := []struct {
		name string
		xid  uint32
		data []byte
		want error // *BundleError or *pipeline.Error, by code
	}{
		{"ok", 5, data(inner), nil},
		{"short", 5, []byte{0, 0, 0, 1}, errf(pipeline.ErrBadRequest, BadRequestBadLen, "")},
		{"no inner", 5, data(nil), BundleErrorf(BundleFailedMsgBadLen, "")},
		{"inner too long", 5, data(inner[:HeaderLen+2]), BundleErrorf(BundleFailedMsgBadLen, "")},
		{"other xid", 6, data(inner), BundleErrorf(BundleFailedMsgBadXid, "")},
		{"other version", 5, data(append([]byte{1}, inner[1:]...)), errf(pipeline.ErrBadRequest, BadRequestBadVersion, "")},
		// 16 + 8 + 12 = 36: 4 bytes of padding before the properties.
		{"properties", 5, data(inner, 0, 0, 0, 0, 0xff, 0xff, 0, 8, 0, 0, 0, 0), nil},
		{"short padding", 5, data(inner, 0, 0), BundleErrorf(BundleFailedMsgBadLen, "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := DecodeBundleAdd(tt.xid, tt.data)
			var be *BundleError
			var pe *pipeline.Error
			switch w := tt.want.(type) {
			case nil:
				if err != nil {
					t.Fatalf("DecodeBundleAdd: %v", err)
				}
				if !bytes.Equal(a.Msg, inner) {
					t.Errorf("inner %x, want %x", a.Msg, inner)
				}
				msg := AppendBundleAdd(nil, a)
				if !bytes.Equal(msg[ExperimenterHeaderLen:], tt.data) {
					t.Errorf("encoded again\n%x\nwant\n%x", msg[ExperimenterHeaderLen:], tt.data)
				}
			case *BundleError:
				if !errors.As(err, &be) || be.Code != w.Code {
					t.Errorf("error %v, want %s", err, BundleErrorName(w.Code))
				}
			case *pipeline.Error:
				if !errors.As(err, &pe) || pe.Type != w.Type || pe.Code != w.Code {
					t.Errorf("error %v, want %s", err, ErrorName(w.Type, w.Code))
				}
			}
		})
	}
}

// FuzzBundle round-trips bundle messages: what decodes encodes to the
// same bytes and decodes to the same value.
func FuzzBundle(f *testing.F) {
	for _, s := range []string{ovsOpen, ovsCommit, ovsAdd} {
		b, _ := hex.DecodeString(s)
		f.Add(be32(b[12:]) == ONFBundleAddMessage, ParseHeader(b).Xid, b[ExperimenterHeaderLen:])
	}
	f.Fuzz(func(t *testing.T, add bool, xid uint32, data []byte) {
		if len(data) > MaxMessageLen-ExperimenterHeaderLen {
			return
		}
		if !add {
			c, err := DecodeBundleCtrl(data)
			if err != nil {
				return
			}
			msg := AppendBundleCtrl(nil, xid, c)
			if !bytes.Equal(msg[ExperimenterHeaderLen:], data) {
				t.Fatalf("control %x encoded as %x", data, msg)
			}
			c2, err := DecodeBundleCtrl(msg[ExperimenterHeaderLen:])
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, c2); diff != "" {
				t.Fatalf("control again (-first +second):\n%s", diff)
			}
			return
		}
		a, err := DecodeBundleAdd(xid, data)
		if err != nil {
			return
		}
		msg := AppendBundleAdd(nil, a)
		a2, err := DecodeBundleAdd(ParseHeader(msg).Xid, msg[ExperimenterHeaderLen:])
		if err != nil {
			t.Fatalf("add %x encoded as %x: %v", data, msg, err)
		}
		if diff := cmp.Diff(a, a2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("add again (-first +second):\n%s", diff)
		}
		if ParseHeader(msg).Xid != xid {
			t.Fatalf("outer xid %d, want %d", ParseHeader(msg).Xid, xid)
		}
	})
}
