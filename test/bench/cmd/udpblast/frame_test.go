package main

import (
	"encoding/binary"
	"net"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUDPFrame(t *testing.T) {
	dst, _ := net.ParseMAC("02:00:00:00:00:02")
	src, _ := net.ParseMAC("02:00:00:00:00:01")
	b := udpFrame(frameSpec{
		dstMAC: dst, srcMAC: src,
		srcIP: [4]byte{10, 0, 0, 1}, dstIP: [4]byte{10, 0, 0, 99},
		srcPort: 1024, dstPort: 9,
	})
	type fields struct {
		Len                int
		Dst, Src           string
		EthType            uint16
		IPLen, UDPLen      uint16
		Proto              byte
		SrcPort, DstPort   uint16
		HeaderChecksumGood bool
	}
	got := fields{
		Len:                len(b),
		Dst:                net.HardwareAddr(b[0:6]).String(),
		Src:                net.HardwareAddr(b[6:12]).String(),
		EthType:            binary.BigEndian.Uint16(b[12:]),
		IPLen:              binary.BigEndian.Uint16(b[16:]),
		Proto:              b[23],
		SrcPort:            binary.BigEndian.Uint16(b[34:]),
		DstPort:            binary.BigEndian.Uint16(b[36:]),
		UDPLen:             binary.BigEndian.Uint16(b[38:]),
		HeaderChecksumGood: ipChecksum(b[14:34]) == 0, // sums to 0xffff with the checksum in
	}
	want := fields{
		Len: 60, Dst: "02:00:00:00:00:02", Src: "02:00:00:00:00:01",
		EthType: 0x0800, IPLen: 46, UDPLen: 26, Proto: 17,
		SrcPort: 1024, DstPort: 9, HeaderChecksumGood: true,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("udpFrame (-want +got):\n%s", diff)
	}
}

func TestIPChecksum(t *testing.T) {
	// The IPv4 header example of RFC 1071 practice: checksum 0xb861.
	h := []byte{0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
		0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7}
	if got, want := ipChecksum(h), uint16(0xb861); got != want {
		t.Errorf("ipChecksum = %#04x, want %#04x", got, want)
	}
}
