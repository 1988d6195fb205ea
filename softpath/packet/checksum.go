package packet

import (
	"encoding/binary"
	"hash/crc32"
)

// castagnoli is the CRC32c table of SCTP (hardware accelerated on amd64 and
// arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sum adds b to the one's-complement running sum s as big-endian 16-bit
// words (an odd trailing byte is padded with zero). The result is unfolded.
func sum(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v >> 48
		s += v >> 32 & 0xffff
		s += v >> 16 & 0xffff
		s += v & 0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(be16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

// fold folds a running sum to 16 bits.
func fold(s uint64) uint16 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return uint16(s)
}

// checksum returns the Internet checksum (RFC 1071) of b with the running
// sum initial (for a pseudo header): the complement of the folded sum.
func checksum(b []byte, initial uint64) uint16 {
	return ^fold(sum(b, initial))
}

// pseudoSum returns the running sum of the TCP/UDP/ICMPv6 pseudo header for
// addresses src and dst (4 or 16 bytes each), protocol proto and L4 length n.
func pseudoSum(src, dst []byte, proto uint8, n int) uint64 {
	return sum(dst, sum(src, uint64(proto)+uint64(n)))
}

// update16 returns checksum c after one 16-bit word of the covered data
// changed from old to new (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')).
func update16(c, old, new uint16) uint16 {
	return ^fold(uint64(^c) + uint64(^old) + uint64(new))
}

// updateBytes is update16 for old replaced by new (same even length, at an
// even offset of the covered data).
func updateBytes(c uint16, old, new []byte) uint16 {
	s := uint64(^c)
	for i := 0; i+1 < len(old) && i+1 < len(new); i += 2 {
		s += uint64(^be16(old[i:])) + uint64(be16(new[i:]))
	}
	return ^fold(s)
}

// sctpCRC returns the CRC32c of an SCTP packet whose checksum field (bytes
// 8..11) is zero; SCTP stores it little endian.
func sctpCRC(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }
