package vepa

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

// recorded is one request of testdata/kernel-replies.txt and the kernel's
// replies (see TestRecordKernelReplies).
type recorded struct {
	typ     uint16
	flags   uint16
	body    []byte
	replies []netlink.Message
}

func readKernelReplies(t *testing.T, path string) map[string]*recorded {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*recorded{}
	var cur *recorded
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Fields(line)
		switch {
		case fs[0] == "request" && len(fs) == 5:
			typ, err1 := strconv.ParseUint(fs[2], 0, 16)
			flags, err2 := strconv.ParseUint(fs[3], 0, 16)
			body, err3 := hex.DecodeString(fs[4])
			if err := errors.Join(err1, err2, err3); err != nil {
				t.Fatalf("%s: bad line %q: %v", path, line, err)
			}
			cur = &recorded{typ: uint16(typ), flags: uint16(flags), body: body}
			out[fs[1]] = cur
		case fs[0] == "reply" && len(fs) == 2 && cur != nil:
			b, err := hex.DecodeString(fs[1])
			if err != nil {
				t.Fatalf("%s: bad line %q: %v", path, line, err)
			}
			var m netlink.Message
			if err := m.UnmarshalBinary(b); err != nil {
				t.Fatalf("%s: reply %q: %v", path, line, err)
			}
			cur.replies = append(cur.replies, m)
		default:
			t.Fatalf("%s: bad line %q", path, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// kernelReplyFiles are the recordings of every kernel recorded so far
// (TestRecordKernelReplies), each replayed by the tests below.
func kernelReplyFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/kernel-replies-*.txt")
	if err != nil || len(files) < 2 {
		t.Fatalf("want recordings of at least two kernels in testdata, found %v (%v)", files, err)
	}
	return files
}

// The ifindexes of the recorded topology (its header says so).
const (
	recBridge = 2
	recPort0  = 4 // hairpin on
	recPort1  = 6 // hairpin off
	recVeth   = 8 // no bridge
)

// TestRecordedRequestsMatch keeps the recording honest: the requests it
// answers are the ones the code sends today.
func TestRecordedRequestsMatch(t *testing.T) {
	for _, f := range kernelReplyFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) { testRecordedRequestsMatch(t, f) })
	}
}

func testRecordedRequestsMatch(t *testing.T, file string) {
	recs := readKernelReplies(t, file)
	want := map[string][]byte{
		"dump":                   rtnl.Dump(),
		"set-hwmode-vepa-veth":   rtnl.SetBridgeMode(recVeth, rtnl.BridgeModeVEPA),
		"set-hairpin-on-nonport": rtnl.SetHairpin(recVeth, true),
		"set-hairpin-off-port":   rtnl.SetHairpin(recPort0, false),
	}
	for name, body := range want {
		r, ok := recs[name]
		if !ok {
			t.Errorf("%s: no recording", name)
			continue
		}
		if diff := cmp.Diff(hex.EncodeToString(r.body), hex.EncodeToString(body)); diff != "" {
			t.Errorf("%s: request body (-recorded +now):\n%s", name, diff)
		}
	}
}

// TestDecodeRecordedDump decodes the kernel's bridge-family dump.
func TestDecodeRecordedDump(t *testing.T) {
	for _, f := range kernelReplyFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) { testDecodeRecordedDump(t, f) })
	}
}

func testDecodeRecordedDump(t *testing.T, file string) {
	r := readKernelReplies(t, file)["dump"]
	if r == nil {
		t.Fatal("no recorded dump")
	}
	var got []rtnl.Link
	for _, m := range r.replies {
		if m.Header.Type != rtnl.RTMNewLink {
			continue
		}
		l, err := rtnl.ParseLink(m.Data)
		if err != nil {
			t.Fatalf("ParseLink: %v", err)
		}
		got = append(got, l)
	}
	want := []rtnl.Link{
		// The bridge itself (listed because of RTEXT_FILTER_BRVLAN).
		{Index: recBridge, Name: "vprbr", Master: recBridge},
		// Its ports, reported by the bridge; state 0 = disabled (down).
		{Index: recPort0, Name: "vprp0", Master: recBridge, Port: &rtnl.Port{Hairpin: true}},
		{Index: recPort1, Name: "vprp1", Master: recBridge, Port: &rtnl.Port{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded dump (-want +got):\n%s", diff)
	}
}

// replay answers each request with the recording whose request body is the
// same, with the request's sequence number and port id, as the kernel would.
func replay(t *testing.T, recs map[string]*recorded) nltest.Func {
	return func(reqs []netlink.Message) ([]netlink.Message, error) {
		req := reqs[0]
		for _, r := range recs {
			if r.typ != uint16(req.Header.Type) || string(r.body) != string(req.Data) {
				continue
			}
			out := make([]netlink.Message, len(r.replies))
			for i, m := range r.replies {
				m.Header.Sequence, m.Header.PID = req.Header.Sequence, req.Header.PID
				out[i] = m
			}
			return out, nil
		}
		t.Errorf("no recording answers request type %d body %x", req.Header.Type, req.Data)
		return nltest.Error(int(unix.EINVAL), reqs)
	}
}

func replayHandle(t *testing.T, file string, names map[string]int32) *Handle {
	t.Helper()
	recs := readKernelReplies(t, file)
	h := &Handle{conn: nltest.Dial(replay(t, recs))}
	h.index = func(name string) (int32, error) {
		if i, ok := names[name]; ok {
			return i, nil
		}
		return 0, fmt.Errorf("dev %s: find link: %w", name, unix.ENODEV)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// TestHandleOnRecordedReplies drives the Handle's request/reply logic with
// the recorded kernel replies: reading hairpin and bridge modes, and the
// kernel's refusals turned into errors.
func TestHandleOnRecordedReplies(t *testing.T) {
	for _, f := range kernelReplyFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) { testHandleOnRecordedReplies(t, f) })
	}
}

func testHandleOnRecordedReplies(t *testing.T, file string) {
	h := replayHandle(t, file, map[string]int32{"vprbr": recBridge, "vprp0": recPort0, "vprp1": recPort1, "vprx": recVeth})

	for _, tt := range []struct {
		port string
		want bool
	}{{"vprp0", true}, {"vprp1", false}} {
		got, err := h.Hairpin(tt.port)
		if err != nil || got != tt.want {
			t.Errorf("Hairpin(%s) = %v, %v; want %v, nil", tt.port, got, err, tt.want)
		}
	}
	if _, err := h.Hairpin("vprx"); !errors.Is(err, ErrNotBridgePort) {
		t.Errorf("Hairpin(vprx) error = %v, want ErrNotBridgePort", err)
	}
	if err := h.SetHairpin("vprp0", false); err != nil {
		t.Errorf("SetHairpin(vprp0, false) = %v", err)
	}

	errTests := []struct {
		name string
		call func() error
		want string
	}{
		{
			name: "SetBridgeMode on a veth",
			call: func() error { return h.SetBridgeMode("vprx", ModeVEPA) },
			want: "dev vprx: the driver does not support setting the embedded bridge mode: operation not supported",
		},
		{
			name: "BridgeMode of a veth",
			call: func() error { _, err := h.BridgeMode("vprx"); return err },
			want: "dev vprx: the driver does not report an embedded bridge mode: operation not supported",
		},
		{
			name: "SetHairpin on a device outside any bridge",
			call: func() error { return h.SetHairpin("vprx", true) },
			want: "dev vprx: cannot set hairpin on: not a port of a bridge that supports it: operation not supported",
		},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("error text (-want +got):\n%s", diff)
			}
			if !errors.Is(err, ErrNotSupported) || !errors.Is(err, unix.EOPNOTSUPP) {
				t.Errorf("error %v does not match ErrNotSupported and EOPNOTSUPP", err)
			}
		})
	}

	if err := h.SetBridgeMode("vprx", ModeUndefined); err == nil {
		t.Error("SetBridgeMode(ModeUndefined) succeeded")
	}
	if _, err := h.BridgeMode("nosuch"); !errors.Is(err, unix.ENODEV) {
		t.Errorf("BridgeMode(nosuch) error = %v, want ENODEV", err)
	}
}

// TestDumpInterrupted replays the recorded dump flagged NLM_F_DUMP_INTR:
// the handle starts over (the shared rtnetlink.Dump) and, when every try is
// interrupted, fails with the one sentinel tcflower's Dump returns too.
func TestDumpInterrupted(t *testing.T) {
	file := kernelReplyFiles(t)[0]
	for _, tc := range []struct {
		name        string
		interrupted int
		wantErr     error
	}{
		{"once", 1, nil},
		{"always", 100, rtnetlink.ErrDumpInterrupted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replies := replay(t, readKernelReplies(t, file))
			tries := 0
			h := &Handle{conn: nltest.Dial(func(reqs []netlink.Message) ([]netlink.Message, error) {
				msgs, err := replies(reqs)
				if reqs[0].Header.Flags&netlink.Dump == 0 || err != nil {
					return msgs, err
				}
				tries++
				if tries <= tc.interrupted {
					for i := range msgs {
						msgs[i].Header.Flags |= netlink.DumpInterrupted
					}
				}
				return msgs, nil
			})}
			h.index = func(string) (int32, error) { return recPort0, nil }
			t.Cleanup(func() { _ = h.Close() })
			on, err := h.Hairpin("vprp0")
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Hairpin error = %v, want %v", err, tc.wantErr)
			}
			if want := min(tc.interrupted+1, rtnetlink.MaxDumpTries); tries != want {
				t.Errorf("dumped %d times, want %d", tries, want)
			}
			if tc.wantErr == nil && !on {
				t.Error("Hairpin(vprp0) = false after the retry, want true")
			}
		})
	}
}

// TestNetdevsimRefusal replays netdevsim's refusal of VEPA recorded in the
// VM (Debian 6.1): the error the hairpin mode of a nic network reports.
func TestNetdevsimRefusal(t *testing.T) {
	h := replayHandle(t, "testdata/netdevsim-refusal-6.1.txt", map[string]int32{"eth0": 11})
	err := h.SetBridgeMode("eth0", ModeVEPA)
	want := "dev eth0: the driver does not support setting the embedded bridge mode: operation not supported"
	if err == nil || err.Error() != want {
		t.Fatalf("SetBridgeMode(eth0, vepa) error = %v, want %q", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Errno != unix.EOPNOTSUPP || e.Message != "" || !errors.Is(err, ErrNotSupported) {
		t.Errorf("error %#v: want an *Error with EOPNOTSUPP, no extended ack, matching ErrNotSupported", err)
	}
}

// TestErrorText covers the text of a refusal with the kernel's own
// extended-ack message.
func TestErrorText(t *testing.T) {
	err := opError("eth0", "set embedded bridge mode to vepa", "the driver does not support setting the embedded bridge mode",
		&netlink.OpError{Op: "receive", Err: unix.EINVAL, Message: "VEPA is not supported with VFs in switchdev mode"})
	want := "dev eth0: set embedded bridge mode to vepa: VEPA is not supported with VFs in switchdev mode: invalid argument"
	if diff := cmp.Diff(want, err.Error()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if errors.Is(err, ErrNotSupported) || !errors.Is(err, unix.EINVAL) {
		t.Errorf("errors.Is mismatch for %v", err)
	}
}

func TestParseModes(t *testing.T) {
	for _, m := range []Mode{ModeVEB, ModeVEPA} {
		got, err := ParseMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMode("hairpin"); err == nil {
		t.Error("ParseMode(hairpin) succeeded")
	}
	for _, m := range []MacvlanMode{MacvlanVEPA, MacvlanBridge, MacvlanPrivate, MacvlanPassthru} {
		got, err := ParseMacvlanMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseMacvlanMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := ParseMacvlanMode("source"); err == nil {
		t.Error("ParseMacvlanMode(source) succeeded")
	}
}
