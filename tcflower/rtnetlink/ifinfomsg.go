package rtnetlink

import (
	"encoding/binary"
	"fmt"
)

// IfInfoMsgLen is sizeof(struct ifinfomsg).
const IfInfoMsgLen = 16

// IfInfoMsg is struct ifinfomsg, the fixed header of every link message
// (RTM_NEWLINK, RTM_GETLINK, RTM_SETLINK), in host byte order.
type IfInfoMsg struct {
	Family uint8
	Type   uint16 // ARPHRD_*
	Index  int32
	Flags  uint32 // IFF_*
	Change uint32
}

// Append appends the 16-byte wire form of m to b.
func (m IfInfoMsg) Append(b []byte) []byte {
	b = append(b, m.Family, 0)
	b = binary.NativeEndian.AppendUint16(b, m.Type)
	b = binary.NativeEndian.AppendUint32(b, uint32(m.Index))
	b = binary.NativeEndian.AppendUint32(b, m.Flags)
	return binary.NativeEndian.AppendUint32(b, m.Change)
}

// ParseIfInfoMsg decodes the header at the start of b and returns it with
// the attributes that follow.
func ParseIfInfoMsg(b []byte) (IfInfoMsg, []byte, error) {
	if len(b) < IfInfoMsgLen {
		return IfInfoMsg{}, nil, fmt.Errorf("ifinfomsg: %d bytes, want %d", len(b), IfInfoMsgLen)
	}
	return IfInfoMsg{
		Family: b[0],
		Type:   binary.NativeEndian.Uint16(b[2:4]),
		Index:  int32(binary.NativeEndian.Uint32(b[4:8])),
		Flags:  binary.NativeEndian.Uint32(b[8:12]),
		Change: binary.NativeEndian.Uint32(b[12:16]),
	}, b[IfInfoMsgLen:], nil
}
