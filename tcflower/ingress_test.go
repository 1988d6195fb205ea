package tcflower

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nltest"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// linkMsg lays out an RTM_NEWLINK reply: struct ifinfomsg, then the name
// among other attributes.
func linkMsg(index uint32, name string) []byte {
	b := rtnetlink.IfInfoMsg{Index: int32(index)}.Append(nil)
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.IFLA_MTU, 1500)
	ae.String(unix.IFLA_IFNAME, name)
	ae.Do(unix.IFLA_AF_SPEC, nested(func(n *netlink.AttributeEncoder) { n.Uint32(1, 0) }))
	return append(b, mustEncode(ae)...)
}

func TestLinks(t *testing.T) {
	var got []netlink.Message
	h := fakeHandle(t, func(req netlink.Message) []netlink.Message {
		got = append(got, req)
		msgs, _ := nltest.Multipart([]netlink.Message{
			reply(req, unix.RTM_NEWLINK, 0, linkMsg(1, "lo")),
			reply(req, unix.RTM_NEWLINK, 0, linkMsg(4, "p1")),
			reply(req, netlink.Done, 0, nil),
		})
		return msgs
	})
	links, err := h.Links()
	if err != nil {
		t.Fatalf("Links: %v", err)
	}
	if diff := cmp.Diff([]Link{{1, "lo"}, {4, "p1"}}, links); diff != "" {
		t.Errorf("Links (-want +got):\n%s", diff)
	}
	if len(got) != 1 || got[0].Header.Type != unix.RTM_GETLINK || got[0].Header.Flags != netlink.Request|netlink.Dump {
		t.Errorf("requests = %+v, want one RTM_GETLINK dump", got)
	}
}

// TestDumpIngressAddressesTheDevice dumps through the device (tcm_ifindex,
// parent ffff:fff2), which reaches a shared block or the device's own;
// filters of other classifiers are counted, chain heads are not.
func TestDumpIngressAddressesTheDevice(t *testing.T) {
	nf := EncodeCookie(CookieInfo{Version: CookieVersion, Table: 1, FlowID: 9, Priority: 100, Digest: 7})
	flower := func(o *netlink.AttributeEncoder) {
		o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_SKIP_HW)
		o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
			l.Do(1, nested(encodeKernelAction(kernelAction{kind: "gact", cookie: nf, parms: tcGenBytes(1, nl.TC_ACT_SHOT)})))
		}))
	}
	u32 := func(o *netlink.AttributeEncoder) { o.Uint32(1, 1) }
	var got []netlink.Message
	h := fakeHandle(t, func(req netlink.Message) []netlink.Message {
		got = append(got, req)
		msgs, _ := nltest.Multipart([]netlink.Message{
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 0, 10, 0, nil)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("flower", 7, 0, 10, 1, flower)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("u32", 7, 0, 20, 0, nil)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("u32", 7, 0, 20, 0x80000000, u32)),
			reply(req, nl.RTM_NEWTFILTER, 0, kernelFilterMsg("matchall", 7, 0, 30, 1, u32)),
			reply(req, netlink.Done, 0, nil),
		})
		return msgs
	})
	dumped, other, err := h.DumpIngress(4)
	if err != nil {
		t.Fatalf("DumpIngress: %v", err)
	}
	want := nl.TcMsg{Ifindex: 4, Parent: 0xFFFFFFF2}.Append(nil)
	if len(got) != 1 || got[0].Header.Type != nl.RTM_GETTFILTER || got[0].Header.Flags != netlink.Request|netlink.Dump || string(got[0].Data) != string(want) {
		t.Fatalf("requests = %+v, want one RTM_GETTFILTER dump with body %x", got, want)
	}
	if other != 2 {
		t.Errorf("other = %d, want 2 (the u32 hash table and the matchall)", other)
	}
	if len(dumped) != 1 || dumped[0].Filter.Pref != 10 || dumped[0].Filter.Handle != 1 {
		t.Fatalf("flower filters = %+v, want pref 10 handle 1", dumped)
	}
	if c, ok := ParseCookie(dumped[0].Filter.Cookie); !ok || c.FlowID != 9 {
		t.Errorf("cookie %x parses as %+v %v, want nicflow's with flow 9", dumped[0].Filter.Cookie, c, ok)
	}
}

func TestDeleteIngressRequest(t *testing.T) {
	var req netlink.Message
	h := fakeHandle(t, func(r netlink.Message) []netlink.Message {
		req = r
		if binary.NativeEndian.Uint32(r.Data[8:]) == 0x99 { // tcm_handle
			return []netlink.Message{nlerr(r, unix.ENOENT, "Specified filter handle not found")}
		}
		return []netlink.Message{ack(r)}
	})
	if err := h.DeleteIngress(4, 2, 10, 0x42); err != nil {
		t.Fatalf("DeleteIngress: %v", err)
	}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(nl.TCA_CHAIN, 2)
	want := append(nl.TcMsg{Ifindex: 4, Parent: 0xFFFFFFF2, Handle: 0x42, Info: 10 << 16}.Append(nil), mustEncode(ae)...)
	if req.Header.Type != nl.RTM_DELTFILTER || req.Header.Flags != netlink.Request|netlink.Acknowledge || string(req.Data) != string(want) {
		t.Errorf("request = type %d flags %s body %x, want body %x", req.Header.Type, req.Header.Flags, req.Data, want)
	}
	if err := h.DeleteIngress(4, 0, 10, 0x99); !errors.Is(err, unix.ENOENT) {
		t.Errorf("DeleteIngress of a missing filter = %v, want ENOENT", err)
	}
	if err := h.DeleteIngress(4, 0, 0, 1); err == nil {
		t.Error("DeleteIngress with pref 0 succeeded, want an error (it would flush the chain)")
	}
}

func TestIngressBlock(t *testing.T) {
	tests := []struct {
		name      string
		answer    func(r netlink.Message) []netlink.Message
		wantKind  string
		wantBlock uint32
		wantErrno unix.Errno
	}{
		{"bound", func(r netlink.Message) []netlink.Message {
			b := nl.TcMsg{Ifindex: 4, Handle: 0xFFFF0000, Parent: nl.TC_H_INGRESS}.Append(nil)
			ae := netlink.NewAttributeEncoder()
			ae.String(nl.TCA_KIND, "clsact")
			ae.Uint32(nl.TCA_INGRESS_BLOCK, 7)
			return []netlink.Message{reply(r, nl.RTM_NEWQDISC, 0, append(b, mustEncode(ae)...)), ack(r)}
		}, "clsact", 7, 0},
		// The kernel acks without a qdisc once a device's ingress qdisc was
		// deleted (the builtin noop qdisc is not dumped) ...
		{"deleted", func(r netlink.Message) []netlink.Message { return []netlink.Message{ack(r)} }, "", 0, 0},
		// ... and says ENOENT when it never had one.
		{"never had one", func(r netlink.Message) []netlink.Message {
			return []netlink.Message{nlerr(r, unix.ENOENT, "Cannot find specified qdisc on specified device")}
		}, "", 0, 0},
		{"no device", func(r netlink.Message) []netlink.Message { return []netlink.Message{nlerr(r, unix.ENODEV, "")} }, "", 0, unix.ENODEV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := fakeHandle(t, tt.answer)
			kind, block, err := h.IngressBlock(4)
			if tt.wantErrno != 0 && !errors.Is(err, tt.wantErrno) || tt.wantErrno == 0 && err != nil {
				t.Fatalf("IngressBlock error = %v, want errno %v", err, tt.wantErrno)
			}
			if kind != tt.wantKind || block != tt.wantBlock {
				t.Errorf("IngressBlock = %q, %d; want %q, %d", kind, block, tt.wantKind, tt.wantBlock)
			}
		})
	}
}
