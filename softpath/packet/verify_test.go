package packet

import (
	"encoding/binary"
	"fmt"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// This file holds an independent checksum verifier for the tests: naive
// word-by-word sums and a bitwise CRC32c, sharing no code with checksum.go.

// naiveSum adds b as big-endian 16-bit words to s, one word at a time.
func naiveSum(s uint32, b []byte) uint32 {
	for i := 0; i < len(b); i += 2 {
		w := uint32(b[i]) << 8
		if i+1 < len(b) {
			w |= uint32(b[i+1])
		}
		s += w
		if s > 0xffff {
			s = s&0xffff + 1
		}
	}
	return s
}

// naiveChecksum computes the Internet checksum of b (with its checksum
// field already zeroed) from scratch.
func naiveChecksum(pseudo uint32, b []byte) uint16 { return ^uint16(naiveSum(pseudo, b)) }

// crc32cBitwise is CRC32c computed bit by bit (reflected polynomial).
func crc32cBitwise(b []byte) uint32 {
	c := ^uint32(0)
	for _, x := range b {
		c ^= uint32(x)
		for range 8 {
			if c&1 != 0 {
				c = c>>1 ^ 0x82f63b78
			} else {
				c >>= 1
			}
		}
	}
	return ^c
}

// sameChecksum reports whether two checksums are the same one's-complement
// value (0x0000 and 0xffff both stand for zero).
func sameChecksum(a, b uint16) bool {
	return a == b || (a == 0 || a == 0xffff) && (b == 0 || b == 0xffff)
}

// checkSums recomputes every checksum of frame from scratch and returns the
// ones that differ from the stored values (nil: all correct). Offsets come
// from Parse. The L4 checksum is not checked after an IPv6 routing header
// with segments left (its pseudo header uses another address).
func checkSums(frame []byte) []string {
	var k pipeline.Key
	l := Parse(frame, 0, &k)
	return checkSumsAs(frame, &k, &l, k.IPProto, k.IPProto)
}

// checkSumsAfterProto is checkSums for a frame parsed as k0, l0 before a
// set_field ip_proto: the IP header as Parse reads the frame now, the
// transport header where l0 has it, as protocol k0.IPProto, under the
// protocol now at l0.Proto.
func checkSumsAfterProto(frame []byte, k0 *pipeline.Key, l0 *Layout) []string {
	if l0.Proto == 0 {
		return checkSums(frame)
	}
	var k pipeline.Key
	l := Parse(frame, 0, &k)
	return append(checkSumsAs(frame, &k, &l, 0, 0), checkSumsAs(frame, k0, l0, k0.IPProto, frame[l0.Proto])...)
}

// checkSumsAs is checkSums on the headers that k and l describe, with the
// transport header at l.L4 read as protocol transport and its pseudo
// header (if it has one) carrying protocol pseudo: after set_field
// ip_proto the old header stays under the new protocol.
func checkSumsAs(frame []byte, k *pipeline.Key, l *Layout, transport, pseudo8 uint8) []string {
	var bad []string
	if l.L3 == 0 {
		return nil
	}
	var pseudo uint32
	l3 := frame[l.L3:]
	switch l3Type(k, l) {
	case pipeline.EthTypeIPv4:
		h := append([]byte(nil), l3[:int(l3[0]&0xf)*4]...)
		stored := binary.BigEndian.Uint16(h[10:])
		h[10], h[11] = 0, 0
		if want := naiveChecksum(0, h); !sameChecksum(want, stored) {
			bad = append(bad, fmt.Sprintf("ipv4 header checksum %#04x, want %#04x", stored, want))
		}
		pseudo = naiveSum(naiveSum(0, l3[12:20]), []byte{0, pseudo8})
	case pipeline.EthTypeIPv6:
		if l.Routed {
			return bad
		}
		pseudo = naiveSum(naiveSum(0, l3[8:40]), []byte{0, pseudo8})
	default:
		return nil
	}
	if l.L4 == 0 {
		return bad
	}
	seg := append([]byte(nil), frame[l.L4:l.End]...)
	pseudo = naiveSum(pseudo, []byte{byte(len(seg) >> 8), byte(len(seg))})
	var at int
	switch transport {
	case pipeline.ProtoTCP:
		at = 16
	case pipeline.ProtoUDP:
		at = 6
		if seg[6] == 0 && seg[7] == 0 {
			return bad // no checksum
		}
	case pipeline.ProtoICMP:
		at, pseudo = 2, 0
	case pipeline.ProtoICMPv6:
		at = 2
	case pipeline.ProtoSCTP:
		stored := binary.LittleEndian.Uint32(seg[8:])
		clear(seg[8:12])
		if want := crc32cBitwise(seg); want != stored {
			bad = append(bad, fmt.Sprintf("sctp crc32c %#08x, want %#08x", stored, want))
		}
		return bad
	default:
		return bad
	}
	stored := binary.BigEndian.Uint16(seg[at:])
	seg[at], seg[at+1] = 0, 0
	want := naiveChecksum(pseudo, seg)
	if transport == pipeline.ProtoUDP && want == 0 {
		want = 0xffff
	}
	if !sameChecksum(want, stored) {
		bad = append(bad, fmt.Sprintf("ip_proto %d checksum %#04x (pseudo header protocol %d), want %#04x", transport, stored, pseudo8, want))
	}
	return bad
}

// l3Type returns the ethertype of the header at l.L3 (the IP packet behind
// an MPLS stack or inside a PBB frame too), 0 without one.
func l3Type(k *pipeline.Key, l *Layout) uint16 {
	switch {
	case l.L3 == 0:
		return 0
	case k.Parsed&pipeline.ParsedMPLSIPv4 != 0:
		return pipeline.EthTypeIPv4
	case k.Parsed&pipeline.ParsedMPLSIPv6 != 0:
		return pipeline.EthTypeIPv6
	case l.PBB != 0:
		return k.PBBInnerType
	}
	return k.EthType
}
