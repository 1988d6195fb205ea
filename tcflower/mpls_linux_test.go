//go:build linux

package tcflower

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
	"unsafe"

	vnl "github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// Kernel tests of the MPLS and TTL mappings: OpenFlow rules translated by
// Translate, installed in the block of two veth ports, and frames sent
// through them; what comes out is parsed and compared byte for byte with
// the frame OpenFlow makes. They need act_mpls (test/vm/modules.txt) and
// run in the VM harness.

// mplsFrame describes a test frame: Ethernet (a VLAN tag when vid is not
// 0, TPID tpid or 802.1Q), MPLS label stack entries (top first; unicast,
// or multicast when mc), IPv4 or
// IPv6 with TTL ttl, UDP to port dport, payload.
type mplsFrame struct {
	vid     uint16
	tpid    uint16
	lses    []uint32
	mc      bool // the MPLS ethertype is multicast (0x8848)
	v6      bool
	ttl     uint8
	dport   uint16
	payload string
}

func lse(label uint32, tc uint8, bos bool, ttl uint8) uint32 {
	v := label<<12 | uint32(tc)<<9 | uint32(ttl)
	if bos {
		v |= 1 << 8
	}
	return v
}

// bytes builds the frame from src to dst.
func (f mplsFrame) bytes(src, dst net.HardwareAddr) []byte {
	b := append(append([]byte{}, dst...), src...)
	if f.vid != 0 {
		tpid := f.tpid
		if tpid == 0 {
			tpid = EthType8021Q
		}
		b = binary.BigEndian.AppendUint16(b, tpid)
		b = binary.BigEndian.AppendUint16(b, f.vid)
	}
	l3 := uint16(EthTypeIPv4)
	if f.v6 {
		l3 = EthTypeIPv6
	}
	if len(f.lses) > 0 {
		et := uint16(EthTypeMPLS)
		if f.mc {
			et = EthTypeMPLSMC
		}
		b = binary.BigEndian.AppendUint16(b, et)
		for _, e := range f.lses {
			b = binary.BigEndian.AppendUint32(b, e)
		}
	} else {
		b = binary.BigEndian.AppendUint16(b, l3)
	}
	udp := binary.BigEndian.AppendUint16(nil, 40000)
	udp = binary.BigEndian.AppendUint16(udp, f.dport)
	udp = binary.BigEndian.AppendUint16(udp, uint16(8+len(f.payload)))
	udp = binary.BigEndian.AppendUint16(udp, 0)
	udp = append(udp, f.payload...)
	if f.v6 {
		ip := []byte{0x60, 0, 0, 0, 0, 0, 17, f.ttl}
		binary.BigEndian.PutUint16(ip[4:], uint16(len(udp)))
		ip = append(ip, net.ParseIP("2001:db8::1")...)
		ip = append(ip, net.ParseIP("2001:db8::2")...)
		return append(append(b, ip...), udp...)
	}
	ip := []byte{0x45, 0, 0, 0, 0, 1, 0, 0, f.ttl, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(udp)))
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	return append(append(b, ip...), udp...)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// describeFrame parses a received frame for a failure report: tags,
// label stack entries, the IP TTL and whether the IPv4 checksum holds.
func describeFrame(b []byte) string {
	var w strings.Builder
	if len(b) < 14 {
		return fmt.Sprintf("short frame %x", b)
	}
	et, off := binary.BigEndian.Uint16(b[12:]), 14
	for (et == EthType8021Q || et == EthType8021AD) && len(b) >= off+4 {
		fmt.Fprintf(&w, "tag %#04x vid %d, ", et, binary.BigEndian.Uint16(b[off:])&0xfff)
		et, off = binary.BigEndian.Uint16(b[off+2:]), off+4
	}
	if isMPLS(et) {
		for len(b) >= off+4 {
			e := binary.BigEndian.Uint32(b[off:])
			off += 4
			fmt.Fprintf(&w, "mpls label %d tc %d bos %d ttl %d, ", e>>12, e>>9&7, e>>8&1, e&0xff)
			if e&0x100 != 0 {
				break
			}
		}
		et = EthTypeIPv4
		if len(b) > off && b[off]>>4 == 6 {
			et = EthTypeIPv6
		}
	}
	switch {
	case et == EthTypeIPv4 && len(b) >= off+20:
		fmt.Fprintf(&w, "ipv4 ttl %d checksum ok %v", b[off+8], ipChecksum(b[off:off+20]) == 0)
	case et == EthTypeIPv6 && len(b) >= off+40:
		fmt.Fprintf(&w, "ipv6 hop limit %d", b[off+7])
	default:
		fmt.Fprintf(&w, "ethertype %#04x", et)
	}
	return w.String()
}

// capture reads every frame dev (in the host namespace) receives, with
// the VLAN tag the kernel took out of the data (PACKET_AUXDATA) put back.
type capture struct {
	fd int
}

func (tp *topo) capture(t *testing.T, dev vnl.Link) *capture {
	t.Helper()
	c := &capture{}
	err := tp.host.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
		if err != nil {
			return err
		}
		c.fd = fd
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return err
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: dev.Attrs().Index})
	})
	if err != nil {
		t.Fatalf("capture on %s: %v", dev.Attrs().Name, err)
	}
	t.Cleanup(func() { unix.Close(c.fd) })
	return c
}

// wait returns the first frame that holds marker, within d.
func (c *capture) wait(marker []byte, d time.Duration) []byte {
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	_ = unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	buf := make([]byte, 2048)
	oob := make([]byte, 256)
	for end := time.Now().Add(d); time.Now().Before(end); {
		n, oobn, _, _, err := unix.Recvmsg(c.fd, buf, oob, 0)
		if err != nil || !bytes.Contains(buf[:n], marker) {
			continue
		}
		frame := append([]byte{}, buf[:n]...)
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for _, m := range msgs {
			if m.Header.Level != unix.SOL_PACKET || m.Header.Type != unix.PACKET_AUXDATA || len(m.Data) < int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
				continue
			}
			aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&m.Data[0]))
			if aux.Status&unix.TP_STATUS_VLAN_VALID == 0 {
				continue
			}
			tpid := uint16(EthType8021Q)
			if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
				tpid = aux.Vlan_tpid
			}
			tag := binary.BigEndian.AppendUint16(nil, tpid)
			tag = binary.BigEndian.AppendUint16(tag, aux.Vlan_tci)
			frame = append(append(append([]byte{}, frame[:12]...), tag...), frame[12:]...)
		}
		return frame
	}
	return nil
}

// sendFrame writes frame to from (in the host namespace).
func (tp *topo) sendFrame(t *testing.T, from vnl.Link, frame []byte) {
	t.Helper()
	err := tp.host.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Sendto(fd, frame, 0, &unix.SockaddrLinklayer{Ifindex: from.Attrs().Index, Halen: 6})
	})
	if err != nil {
		t.Fatalf("send on %s: %v", from.Attrs().Name, err)
	}
}

// guardTag is the VID the test's TTL guards tag the frames they take with
// (as nicflow's tag them with their port for the fast path).
const guardTag = 99

// TestKernelMPLSAndTTLForwarding runs the MPLS and TTL mappings in the
// kernel: each rule is translated, installed with skip_hw in the block of
// p1 and p2 (TTL guards in front of them, as the tc tier installs them),
// and a frame sent into p1 must leave p2 as OpenFlow says, parsed and
// compared byte for byte; packets whose TTL would expire go through a
// guard untouched; every filter counts what it took.
func TestKernelMPLSAndTTLForwarding(t *testing.T) {
	requireFlower(t)
	tp := newTopo(t)
	env := &testEnv{ports: map[uint32]Port{1: {Name: "p1", SameSwitch: true}, 2: {Name: "p2", SameSwitch: true}}}
	rules := []string{
		"priority=100,in_port=1,udp,udp_dst=1001,actions=dec_ttl,push_mpls:0x8847,set_field:100->mpls_label,set_field:3->mpls_tc,set_mpls_ttl:64,output:2",
		"priority=100,in_port=1,vlan_vid=10,udp,udp_dst=1002,actions=push_mpls:0x8847,set_field:200->mpls_label,set_field:0->mpls_tc,set_mpls_ttl:9,output:2",
		"priority=100,in_port=1,mpls,mpls_label=300,actions=dec_mpls_ttl,set_field:301->mpls_label,output:2",
		"priority=100,in_port=1,mpls,mpls_label=400,mpls_bos=1,actions=pop_mpls:0x0800,output:2",
		"priority=100,in_port=1,mpls,mpls_label=500,mpls_bos=0,actions=pop_mpls:0x8847,output:2",
		"priority=100,in_port=1,udp6,udp_dst=1003,actions=dec_ttl,output:2",
		"priority=100,in_port=1,udp,udp_dst=1004,actions=set_nw_ttl:7,output:2",
		"priority=100,in_port=1,mpls,mpls_label=600,actions=set_mpls_ttl:33,set_field:5->mpls_tc,output:2",
		"priority=100,in_port=1,vlan_vid=none,udp,udp_dst=1005,actions=push_vlan:0x8100,set_field:20->vlan_vid,push_mpls:0x8848,set_field:7->mpls_label,set_field:1->mpls_tc,set_mpls_ttl:2,output:2",
		"priority=100,in_port=1,mpls,mpls_label=700,mpls_bos=1,actions=set_field:0->mpls_bos,output:2",
	}
	var dec [NumTTLClasses]uint8
	var handles []uint32
	for i, r := range rules {
		f, err := flowtext.Flow(r)
		if err != nil {
			t.Fatal(err)
		}
		f.ID = uint64(i + 1)
		flt, err := Translate(f, env)
		if err != nil {
			t.Fatalf("translate %s: %v", r, err)
		}
		for c := range dec {
			dec[c] = max(dec[c], flt.TTL.Dec[c])
		}
		for _, h := range []*Filter{flt, flt.Twin} {
			if h == nil {
				continue
			}
			h.Flags = FlagSkipHW
			inst, err := tp.h.Add(testBlock, h)
			if err != nil {
				t.Fatalf("add %s: %v", h, err)
			}
			handles = append(handles, inst.Handle)
		}
	}
	if dec != [NumTTLClasses]uint8{1, 1, 1} {
		t.Fatalf("the rules decrement %v, want each class once", dec)
	}
	for c := TTLClass(0); c < NumTTLClasses; c++ {
		for _, k := range GuardKeys(c, dec[c]) {
			k.Indev = "p1"
			g := &Filter{Pref: GuardPref, Protocol: EthPAll, Flags: FlagSkipHW, Keys: k, Actions: []Action{
				{Kind: KindVlan, Vlan: &Vlan{Op: VlanPush, ID: guardTag, Proto: EthType8021AD, HasPrio: true}},
				redirectTo("p2"),
			}}
			if _, err := tp.h.Add(testBlock, g); err != nil {
				t.Fatalf("add guard %s: %v", g, err)
			}
		}
	}

	in, out := tp.h1.Attrs().HardwareAddr, tp.h2.Attrs().HardwareAddr
	udp4 := func(ttl uint8, port uint16, p string) mplsFrame { return mplsFrame{ttl: ttl, dport: port, payload: p} }
	guarded := func(f mplsFrame) []byte {
		b := f.bytes(in, out)
		tag := []byte{0x88, 0xa8, 0, guardTag}
		return append(append(append([]byte{}, b[:12]...), tag...), b[12:]...)
	}
	cases := []struct {
		name     string
		send     mplsFrame
		want     []byte
		filterOf int // the rule whose filter takes it; -1: a guard
	}{
		{"dec_ttl, push_mpls", udp4(64, 1001, "nf-mpls-1"),
			mplsFrame{lses: []uint32{lse(100, 3, true, 64)}, ttl: 63, dport: 1001, payload: "nf-mpls-1"}.bytes(in, out), 0},
		{"TTL 1: the guard", udp4(1, 1001, "nf-mpls-2"), guarded(udp4(1, 1001, "nf-mpls-2")), -1},
		{"push_mpls after the VLAN tag", mplsFrame{vid: 10, ttl: 64, dport: 1002, payload: "nf-mpls-3"},
			mplsFrame{vid: 10, lses: []uint32{lse(200, 0, true, 9)}, ttl: 64, dport: 1002, payload: "nf-mpls-3"}.bytes(in, out), 1},
		{"push_mpls after the 802.1ad tag", mplsFrame{vid: 10, tpid: EthType8021AD, ttl: 64, dport: 1002, payload: "nf-mpls-3ad"},
			mplsFrame{vid: 10, tpid: EthType8021AD, lses: []uint32{lse(200, 0, true, 9)}, ttl: 64, dport: 1002, payload: "nf-mpls-3ad"}.bytes(in, out), 1},
		{"dec_mpls_ttl, set mpls_label", mplsFrame{lses: []uint32{lse(300, 2, true, 10)}, ttl: 64, payload: "nf-mpls-4"},
			mplsFrame{lses: []uint32{lse(301, 2, true, 9)}, ttl: 64, payload: "nf-mpls-4"}.bytes(in, out), 2},
		{"MPLS TTL 1: the guard", mplsFrame{lses: []uint32{lse(300, 2, true, 1)}, ttl: 64, payload: "nf-mpls-5"},
			guarded(mplsFrame{lses: []uint32{lse(300, 2, true, 1)}, ttl: 64, payload: "nf-mpls-5"}), -1},
		{"pop_mpls to IPv4", mplsFrame{lses: []uint32{lse(400, 0, true, 5)}, ttl: 64, payload: "nf-mpls-6"},
			udp4(64, 0, "nf-mpls-6").bytes(in, out), 3},
		{"pop_mpls to MPLS", mplsFrame{lses: []uint32{lse(500, 0, false, 5), lse(501, 1, true, 6)}, ttl: 64, payload: "nf-mpls-7"},
			mplsFrame{lses: []uint32{lse(501, 1, true, 6)}, ttl: 64, payload: "nf-mpls-7"}.bytes(in, out), 4},
		{"dec_ttl of the IPv6 hop limit", mplsFrame{v6: true, ttl: 64, dport: 1003, payload: "nf-mpls-8"},
			mplsFrame{v6: true, ttl: 63, dport: 1003, payload: "nf-mpls-8"}.bytes(in, out), 5},
		{"hop limit 0: the guard", mplsFrame{v6: true, ttl: 0, dport: 1003, payload: "nf-mpls-9"},
			guarded(mplsFrame{v6: true, ttl: 0, dport: 1003, payload: "nf-mpls-9"}), -1},
		{"set_nw_ttl", udp4(64, 1004, "nf-mpls-10"), udp4(7, 1004, "nf-mpls-10").bytes(in, out), 6},
		{"set_mpls_ttl, set mpls_tc", mplsFrame{lses: []uint32{lse(600, 0, true, 10)}, ttl: 64, payload: "nf-mpls-11"},
			mplsFrame{lses: []uint32{lse(600, 5, true, 33)}, ttl: 64, payload: "nf-mpls-11"}.bytes(in, out), 7},
		{"push_vlan, push_mpls", udp4(64, 1005, "nf-mpls-12"),
			mplsFrame{vid: 20, lses: []uint32{lse(7, 1, true, 2)}, mc: true, ttl: 64, dport: 1005, payload: "nf-mpls-12"}.bytes(in, out), 8},
		{"set mpls_bos", mplsFrame{lses: []uint32{lse(700, 1, true, 10)}, ttl: 64, payload: "nf-mpls-13"},
			mplsFrame{lses: []uint32{lse(700, 1, false, 10)}, ttl: 64, payload: "nf-mpls-13"}.bytes(in, out), 9},
	}
	capt := tp.capture(t, tp.h2)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			frame := c.send.bytes(in, out)
			tp.sendFrame(t, tp.h1, frame)
			got := capt.wait([]byte(c.send.payload), 3*time.Second)
			if got == nil {
				t.Fatalf("sent %s (%x) into p1: nothing came out of p2", describeFrame(frame), frame)
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("sent %s\n got %s\n%x\nwant %s\n%x", describeFrame(frame), describeFrame(got), got, describeFrame(c.want), c.want)
			}
		})
	}

	// Every rule's filter and the guards counted the frames they took.
	ds, err := tp.h.Dump(testBlock)
	if err != nil {
		t.Fatal(err)
	}
	counted := map[uint64]uint64{}
	guards := map[uint16]uint64{} // by ethertype
	for _, d := range ds {
		if d.DecodeErr != nil {
			t.Errorf("dump: %v", d.DecodeErr)
		}
		if c, ok := ParseCookie(d.Filter.Cookie); ok {
			counted[c.FlowID] += d.Stats.Packets
		} else if d.Filter.Pref == GuardPref {
			guards[d.Filter.Keys.EthType] += d.Stats.Packets
		}
	}
	want := map[uint64]uint64{}
	wantGuards := map[uint16]uint64{}
	for _, c := range cases {
		if c.filterOf < 0 {
			et := uint16(EthTypeIPv4)
			switch {
			case len(c.send.lses) > 0:
				et = EthTypeMPLS
			case c.send.v6:
				et = EthTypeIPv6
			}
			wantGuards[et]++
			continue
		}
		want[uint64(c.filterOf+1)]++
	}
	for i := range rules {
		if counted[uint64(i+1)] != want[uint64(i+1)] {
			t.Errorf("rule %q counted %d packets, want %d", rules[i], counted[uint64(i+1)], want[uint64(i+1)])
		}
	}
	for et, n := range wantGuards {
		// The host's own IPv6 (MLD and ND, hop limit 1 or 255) reaches
		// the IPv6 guard too.
		if got := guards[et]; got != n && (et != EthTypeIPv6 || got < n) {
			t.Errorf("the %s guards counted %d packets, want %d", protoName(et), got, n)
		}
	}
}
