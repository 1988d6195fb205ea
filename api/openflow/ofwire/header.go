package ofwire

import (
	"encoding/binary"

	of "github.com/netrack/openflow"
)

// Version is the OpenFlow protocol version nicflow speaks (1.3).
const Version = 4

// HeaderLen is the size of ofp_header.
const HeaderLen = 8

// MaxMessageLen is the largest OpenFlow message (the length field is 16 bits).
const MaxMessageLen = 0xffff

// NoBuffer is OFP_NO_BUFFER.
const NoBuffer uint32 = 0xffffffff

// Header is ofp_header.
type Header struct {
	Version uint8
	Type    of.Type
	Length  uint16
	Xid     uint32
}

// ParseHeader decodes the first HeaderLen bytes of b; b must hold them.
func ParseHeader(b []byte) Header {
	return Header{
		Version: b[0],
		Type:    of.Type(b[1]),
		Length:  binary.BigEndian.Uint16(b[2:4]),
		Xid:     binary.BigEndian.Uint32(b[4:8]),
	}
}

// Append appends the header to b.
func (h Header) Append(b []byte) []byte {
	b = append(b, h.Version, uint8(h.Type))
	b = binary.BigEndian.AppendUint16(b, h.Length)
	return binary.BigEndian.AppendUint32(b, h.Xid)
}

// Marshal returns a complete OpenFlow 1.3 message of type t with the given
// xid and the concatenation of body as its body. The caller keeps the total
// under MaxMessageLen.
func Marshal(t of.Type, xid uint32, body ...[]byte) []byte {
	n := HeaderLen
	for _, p := range body {
		n += len(p)
	}
	b := make([]byte, 0, n)
	b = Header{Version: Version, Type: t, Length: uint16(n), Xid: xid}.Append(b)
	for _, p := range body {
		b = append(b, p...)
	}
	return b
}

// Begin starts a message of type t in a new buffer; append the body and call
// Finish to fill in the length.
func Begin(t of.Type, xid uint32) []byte {
	return Header{Version: Version, Type: t, Xid: xid}.Append(make([]byte, 0, 64))
}

// Finish sets the length field of the message in b and returns b.
func Finish(b []byte) []byte {
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	return b
}

// pad8 returns the number of padding bytes that align n to 8.
func pad8(n int) int { return (8 - n%8) % 8 }

func appendZeros(b []byte, n int) []byte {
	for i := 0; i < n; i++ {
		b = append(b, 0)
	}
	return b
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func put16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func put32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func put64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
