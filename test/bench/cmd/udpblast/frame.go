package main

import (
	"encoding/binary"
	"net"
)

// frameSpec describes one UDP/IPv4 test frame.
type frameSpec struct {
	dstMAC, srcMAC   net.HardwareAddr
	srcIP, dstIP     [4]byte
	srcPort, dstPort uint16
	// size is the frame length without the FCS (0: minFrameLen); dscp the
	// IPv4 DSCP.
	size int
	dscp uint8
}

// minFrameLen is the smallest frame length without the FCS: 64 bytes on
// the wire.
const minFrameLen = 60

// maxFrameLen is the largest: a 1500-byte IP packet.
const maxFrameLen = 1514

// udpFrame builds an Ethernet/IPv4/UDP frame of s.size bytes (60, 64 with
// the FCS the device adds, by default) with a valid IPv4 header checksum and
// a zero (absent) UDP checksum.
func udpFrame(s frameSpec) []byte {
	n := max(s.size, minFrameLen)
	b := make([]byte, n)
	copy(b[0:6], s.dstMAC)
	copy(b[6:12], s.srcMAC)
	binary.BigEndian.PutUint16(b[12:14], 0x0800)
	ip := b[14:34]
	ip[0] = 0x45                                      // version 4, IHL 5
	ip[1] = s.dscp << 2                               // DSCP, ECN 0
	binary.BigEndian.PutUint16(ip[2:4], uint16(n-14)) // total length
	ip[8] = 64                                        // TTL
	ip[9] = 17                                        // UDP
	copy(ip[12:16], s.srcIP[:])
	copy(ip[16:20], s.dstIP[:])
	binary.BigEndian.PutUint16(ip[10:12], ipChecksum(ip))
	udp := b[34:]
	binary.BigEndian.PutUint16(udp[0:2], s.srcPort)
	binary.BigEndian.PutUint16(udp[2:4], s.dstPort)
	binary.BigEndian.PutUint16(udp[4:6], uint16(len(udp)))
	return b
}

// ipChecksum is the Internet checksum of an IPv4 header whose checksum
// field is zero.
func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}
