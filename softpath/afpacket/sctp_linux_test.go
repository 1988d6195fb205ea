//go:build linux

package afpacket_test

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/softpath/packet"
)

// TestSCTPSetFieldChecksum sends SCTP packets from a through a datapath
// flow that rewrites sctp_dst 2906 to 3000 (and one that forwards sctp_dst
// 2907 as is), and checks the CRC32c b receives. Packets whose CRC the
// sender left to offload (CHECKSUM_PARTIAL, as the kernel's SCTP stack
// sends on veth) reach the fast path with a zero CRC: it must complete it
// before rewriting (issue 12's wrong SCTP checksum).
func TestSCTPSetFieldChecksum(t *testing.T) {
	tp := newTopo(t)
	f := &flows{}
	sctpDst := func(port uint16) func(*pipeline.Match) {
		return func(m *pipeline.Match) { m.Set(pipeline.FieldSCTPDst, binary.BigEndian.AppendUint16(nil, port), nil) }
	}
	rw := f.add(30, 1, pipeline.ProtoSCTP, out(2, pipeline.SetField(pipeline.FieldSCTPDst, []byte{0x0b, 0xb8})), sctpDst(2906))
	fw := f.add(30, 1, pipeline.ProtoSCTP, out(2), sctpDst(2907))
	tp.d.Install(f.snapshot())

	capt := openIn(t, tp.b.Do, "b0")
	got := make(chan []byte, 16)
	go func() {
		frames := make([]softpath.Frame, 8)
		for {
			n, err := capt.ReadBatch(frames)
			if err != nil {
				return
			}
			for _, fr := range frames[:n] {
				b := fr.Buf[:fr.Len]
				if len(b) >= 38 && binary.BigEndian.Uint16(b[12:]) == 0x0800 && b[23] == pipeline.ProtoSCTP {
					got <- append([]byte(nil), b...)
				}
			}
		}
	}()
	send := openIn(t, tp.a.Do, "a0")
	partial := openVnet(t, tp.a.Do, "a0")

	data := []byte{0, 3, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 'h', 'i', '!', 0}
	for _, tc := range []struct {
		name    string
		payload []byte
		minLen  int
		// partial: the CRC is left to offload (zero, CHECKSUM_PARTIAL), as
		// the kernel's SCTP stack sends on a device with NETIF_F_SCTP_CRC
		// (veth has it).
		partial bool
		dst     uint16 // 2906: rewritten to 3000; 2907: forwarded as is
	}{
		{"data chunk", data, 0, false, 2906},
		{"padded to 60 bytes", nil, 60, false, 2906},
		{"crc left to offload", data, 0, true, 2906},
		{"crc left to offload, padded", nil, 60, true, 2906},
		{"crc left to offload, forwarded", data, 0, true, 2907},
	} {
		frame := packet.Build(packet.Spec{
			EthDst: packet.MAC("02:00:00:00:00:02"), EthSrc: packet.MAC("02:00:00:00:00:01"),
			IPv4:    &packet.IPv4{Src: netip.MustParseAddr("10.77.0.1"), Dst: netip.MustParseAddr("10.77.0.2")},
			SCTP:    &packet.SCTP{Src: 2905, Dst: tc.dst, Tag: 0x01020304},
			Payload: tc.payload, MinLen: tc.minLen,
		})
		if !sctpOK(frame) {
			t.Fatalf("%s: the frame sent has a bad CRC", tc.name)
		}
		if tc.partial {
			clear(frame[34+8 : 34+12])
			writeVnet(t, partial, frame, 34, 8)
		} else if err := send.WriteBatch([][]byte{frame}); err != nil {
			t.Fatal(err)
		}
		select {
		case b := <-got:
			want := tc.dst
			if want == 2906 {
				want = 3000
			}
			if dst := binary.BigEndian.Uint16(b[36:]); dst != want {
				t.Errorf("%s: sctp_dst %d, want %d", tc.name, dst, want)
			}
			if !sctpOK(b) {
				t.Errorf("%s: bad SCTP CRC32c received: % x", tc.name, b)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: no SCTP frame reached b0", tc.name)
		}
	}
	if n, m := rw.Counters.Packets.Load(), fw.Counters.Packets.Load(); n != 4 || m != 1 {
		t.Errorf("rewrite flow packets %d, forward flow packets %d; want 4 and 1", n, m)
	}
}

// openIn opens an AF_PACKET socket on dev inside a namespace (do is its Do).
func openIn(t *testing.T, do func(func() error) error, dev string) *afpacket.Socket {
	t.Helper()
	var s *afpacket.Socket
	if err := do(func() (err error) {
		s, err = afpacket.Open(dev, afpacket.Options{Frames: 64, NoPromisc: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// sctpOK checks the CRC32c of the SCTP packet in an untagged
// Ethernet/IPv4 frame (up to the IPv4 total length).
func sctpOK(b []byte) bool {
	ip := b[14:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	if total > len(ip) || total < ihl+12 {
		return false
	}
	s := append([]byte(nil), ip[ihl:total]...)
	want := binary.LittleEndian.Uint32(s[8:])
	binary.LittleEndian.PutUint32(s[8:], 0)
	return crc32.Checksum(s, crc32.MakeTable(crc32.Castagnoli)) == want
}

// openVnet opens a raw AF_PACKET socket on dev inside a namespace with
// PACKET_VNET_HDR, to send frames whose checksum is left to offload.
func openVnet(t *testing.T, do func(func() error) error, dev string) int {
	t.Helper()
	fd := -1
	if err := do(func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VNET_HDR, 1); err != nil {
			return fmt.Errorf("PACKET_VNET_HDR: %w", err)
		}
		return unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// writeVnet sends frame with a virtio_net_hdr asking for the checksum at
// csumStart+csumOffset to be completed (VIRTIO_NET_HDR_F_NEEDS_CSUM): the
// kernel marks it CHECKSUM_PARTIAL.
func writeVnet(t *testing.T, fd int, frame []byte, csumStart, csumOffset uint16) {
	t.Helper()
	hdr := make([]byte, 10) // struct virtio_net_hdr, host byte order
	hdr[0] = 1              // VIRTIO_NET_HDR_F_NEEDS_CSUM
	binary.NativeEndian.PutUint16(hdr[6:], csumStart)
	binary.NativeEndian.PutUint16(hdr[8:], csumOffset)
	if _, err := unix.Write(fd, append(hdr, frame...)); err != nil {
		t.Fatalf("send with virtio_net_hdr: %v", err)
	}
}
