package afpacket

import (
	"encoding/binary"
	"hash/crc32"
)

// castagnoli is SCTP's CRC32c table.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// completeChecksum computes the TCP, UDP or SCTP checksum of a frame whose
// checksum was left to offload (CHECKSUM_PARTIAL: the TCP/UDP field holds
// only the pseudo-header sum; the SCTP CRC32c field holds zero, as the
// kernel's SCTP stack leaves it on a device with NETIF_F_SCTP_CRC, which
// veth has). The checksum covers the L4 packet up to the end of the IP
// packet, never Ethernet padding. Other frames are left alone.
func completeChecksum(b []byte) {
	if len(b) < 14 {
		return
	}
	off := 14
	et := binary.BigEndian.Uint16(b[12:])
	for (et == 0x8100 || et == 0x88a8) && len(b) >= off+4 {
		et = binary.BigEndian.Uint16(b[off+2:])
		off += 4
	}
	var proto uint8
	var l4, end int
	var pseudo uint64
	switch et {
	case 0x0800:
		if len(b) < off+20 {
			return
		}
		ip := b[off:]
		ihl := int(ip[0]&0xf) * 4
		if binary.BigEndian.Uint16(ip[6:])&0x3fff != 0 {
			return // a fragment: the checksum covers the whole datagram
		}
		proto, l4, end = ip[9], off+ihl, off+int(binary.BigEndian.Uint16(ip[2:]))
		pseudo = sum(ip[12:20], 0)
	case 0x86dd:
		if len(b) < off+40 {
			return
		}
		ip := b[off:]
		proto, l4, end = ip[6], off+40, off+40+int(binary.BigEndian.Uint16(ip[4:]))
		pseudo = sum(ip[8:40], 0)
	default:
		return
	}
	var field int
	switch proto {
	case 6:
		field = l4 + 16
	case 17:
		field = l4 + 6
	case 132:
		// SCTP: CRC32c over the whole SCTP packet with the field zero,
		// stored little endian (RFC 9260 appendix A).
		if end > len(b) || l4+12 > end {
			return
		}
		clear(b[l4+8 : l4+12])
		binary.LittleEndian.PutUint32(b[l4+8:], crc32.Checksum(b[l4:end], castagnoli))
		return
	default:
		return
	}
	if end > len(b) || field+2 > end {
		return
	}
	pseudo += uint64(proto) + uint64(end-l4)
	b[field], b[field+1] = 0, 0
	c := ^fold(sum(b[l4:end], pseudo))
	if c == 0 && proto == 17 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[field:], c)
}

// sum adds b as big-endian 16-bit words to s (ones' complement, unfolded).
func sum(b []byte, s uint64) uint64 {
	for len(b) >= 8 {
		v := binary.BigEndian.Uint64(b)
		s += v>>48 + v>>32&0xffff + v>>16&0xffff + v&0xffff
		b = b[8:]
	}
	for len(b) >= 2 {
		s += uint64(binary.BigEndian.Uint16(b))
		b = b[2:]
	}
	if len(b) == 1 {
		s += uint64(b[0]) << 8
	}
	return s
}

func fold(s uint64) uint16 {
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
