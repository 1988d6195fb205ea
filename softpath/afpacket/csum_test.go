package afpacket

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// frame builds Ethernet (+ optional VLAN) / IPv4 or IPv6 / UDP or TCP with
// the L4 checksum field holding only the pseudo-header sum, as
// CHECKSUM_PARTIAL frames do.
func frame(v6, tcp, vlan bool, payload int) (b []byte, l4 int) {
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
	if vlan {
		eth = append(eth, 0x81, 0x00, 0x00, 0x07)
	}
	l4len := 8 + payload
	proto := byte(17)
	if tcp {
		l4len, proto = 20+payload, 6
	}
	var ip []byte
	if v6 {
		eth = append(eth, 0x86, 0xdd)
		ip = make([]byte, 40)
		ip[0], ip[6], ip[7] = 0x60, proto, 64
		binary.BigEndian.PutUint16(ip[4:], uint16(l4len))
		ip[23], ip[39] = 1, 2
	} else {
		eth = append(eth, 0x08, 0x00)
		ip = make([]byte, 20)
		ip[0], ip[8], ip[9] = 0x45, 64, proto
		binary.BigEndian.PutUint16(ip[2:], uint16(20+l4len))
		copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	}
	b = append(append(eth, ip...), make([]byte, l4len)...)
	l4 = len(eth) + len(ip)
	for i := l4 + l4len - payload; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	if tcp {
		b[l4+12] = 5 << 4
	}
	// Ethernet padding after the packet must be ignored.
	b = append(b, 0xee, 0xee)
	return b, l4
}

func verify(b []byte, v6 bool, l4 int, proto uint8) bool {
	end := len(b) - 2
	var s uint64
	if v6 {
		s = sum(b[l4-32:l4], 0)
	} else {
		s = sum(b[l4-8:l4], 0)
	}
	s += uint64(proto) + uint64(end-l4)
	return fold(sum(b[l4:end], s)) == 0xffff
}

func TestCompleteChecksum(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, tcp := range []bool{false, true} {
			for _, vlan := range []bool{false, true} {
				for _, payload := range []int{0, 1, 33, 1400} {
					b, l4 := frame(v6, tcp, vlan, payload)
					proto := uint8(17)
					if tcp {
						proto = 6
					}
					if verify(b, v6, l4, proto) {
						t.Fatalf("v6=%v tcp=%v vlan=%v payload %d: checksum valid before completion", v6, tcp, vlan, payload)
					}
					completeChecksum(b)
					if !verify(b, v6, l4, proto) {
						t.Errorf("v6=%v tcp=%v vlan=%v payload %d: checksum invalid after completion", v6, tcp, vlan, payload)
					}
				}
			}
		}
	}
}

func TestCompleteChecksumLeavesOthersAlone(t *testing.T) {
	b, _ := frame(false, false, false, 10)
	b[14+6] = 0x20 // more fragments
	want := string(b)
	completeChecksum(b)
	if string(b) != want {
		t.Error("a fragment was changed")
	}
	completeChecksum(b[:20]) // truncated: must not panic
}

// TestCompleteChecksumSCTP checks that a partial SCTP CRC32c (zero, as the
// kernel leaves it for NETIF_F_SCTP_CRC) is computed over the SCTP packet
// only, Ethernet padding excluded, behind 0, 1 or 2 tags, IPv4 and IPv6.
func TestCompleteChecksumSCTP(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for tags := 0; tags <= 2; tags++ {
			b := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}
			for i := 0; i < tags; i++ {
				b = append(b, 0x88, 0xa8, 0, byte(i+1))
			}
			sctp := []byte{0x0b, 0x59, 0x0b, 0x5a, 1, 2, 3, 4, 0, 0, 0, 0, 0, 3, 0, 8, 'a', 'b', 'c', 'd'}
			if v6 {
				ip := make([]byte, 40)
				ip[0], ip[6], ip[7] = 0x60, 132, 64
				binary.BigEndian.PutUint16(ip[4:], uint16(len(sctp)))
				b = append(append(b, 0x86, 0xdd), ip...)
			} else {
				ip := make([]byte, 20)
				ip[0], ip[8], ip[9] = 0x45, 64, 132
				binary.BigEndian.PutUint16(ip[2:], uint16(20+len(sctp)))
				b = append(append(b, 0x08, 0x00), ip...)
			}
			l4 := len(b)
			b = append(b, sctp...)
			b = append(b, 0xee, 0xee, 0xee) // padding
			completeChecksum(b)
			want := crc32.Checksum(sctp, crc32.MakeTable(crc32.Castagnoli))
			if got := binary.LittleEndian.Uint32(b[l4+8:]); got != want {
				t.Errorf("v6=%v tags=%d: crc %#08x, want %#08x", v6, tags, got, want)
			}
			completeChecksum(b[:l4+11]) // truncated: must not panic
		}
	}
}
