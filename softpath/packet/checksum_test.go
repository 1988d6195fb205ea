package packet

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

func TestChecksumMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 200; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		init := r.Uint32() & 0xfffff
		if got, want := checksum(b, uint64(init)), naiveChecksum(fold32(init), b); !sameChecksum(got, want) {
			t.Fatalf("%d bytes: checksum %#04x, naive %#04x", n, got, want)
		}
	}
}

func fold32(s uint32) uint32 {
	for s > 0xffff {
		s = s>>16 + s&0xffff
	}
	return s
}

// TestIncrementalUpdate changes random words of random buffers and compares
// the RFC 1624 update with a checksum computed from scratch.
func TestIncrementalUpdate(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 10000; i++ {
		b := make([]byte, 2+2*r.IntN(40))
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if i%7 == 0 {
			clear(b) // all-zero data: sums of 0 and 0xffff
		}
		c := naiveChecksum(0, b)
		at := 2 * r.IntN(len(b)/2)
		n := min(len(b)-at, 2*(1+r.IntN(8)))
		old := append([]byte(nil), b[at:at+n]...)
		for j := at; j < at+n; j++ {
			b[j] = byte(r.Uint32())
		}
		var got uint16
		if n == 2 {
			got = update16(c, binary.BigEndian.Uint16(old), binary.BigEndian.Uint16(b[at:]))
		} else {
			got = updateBytes(c, old, b[at:at+n])
		}
		if want := naiveChecksum(0, b); !sameChecksum(got, want) {
			t.Fatalf("case %d: updated checksum %#04x, from scratch %#04x", i, got, want)
		}
	}
}

// TestCRC32c checks the SCTP CRC against the CRC-32C check value and the
// iSCSI test vector of RFC 3720 (B.4: 32 zero bytes give the bytes
// aa 36 91 8a on the wire, the little-endian order SCTP uses too).
func TestCRC32c(t *testing.T) {
	if got := sctpCRC([]byte("123456789")); got != 0xe3069283 {
		t.Errorf("sctpCRC(123456789) = %#08x, want 0xe3069283", got)
	}
	zero := make([]byte, 32)
	var wire [4]byte
	binary.LittleEndian.PutUint32(wire[:], sctpCRC(zero))
	if wire != [4]byte{0xaa, 0x36, 0x91, 0x8a} {
		t.Errorf("crc of 32 zero bytes on the wire = % x, want aa 36 91 8a", wire)
	}
	if got := crc32cBitwise(zero); got != sctpCRC(zero) {
		t.Errorf("bitwise crc32c %#08x != %#08x", got, sctpCRC(zero))
	}
}
