package nl

import (
	"encoding/binary"
	"fmt"
)

// TcMsgLen is sizeof(struct tcmsg).
const TcMsgLen = 20

// TcMsg is struct tcmsg, the fixed header of every tc rtnetlink message.
// For a shared block Ifindex is TCMIfindexMagicBlock and Parent holds the
// block index (tcm_block_index aliases tcm_parent).
type TcMsg struct {
	Family  uint8
	Ifindex uint32
	Handle  uint32
	Parent  uint32
	Info    uint32
}

// Append appends the header's wire form to b.
func (m TcMsg) Append(b []byte) []byte {
	b = append(b, m.Family, 0, 0, 0)
	b = binary.NativeEndian.AppendUint32(b, m.Ifindex)
	b = binary.NativeEndian.AppendUint32(b, m.Handle)
	b = binary.NativeEndian.AppendUint32(b, m.Parent)
	return binary.NativeEndian.AppendUint32(b, m.Info)
}

// ParseTcMsg decodes the header at the start of b and returns it with the
// attributes that follow.
func ParseTcMsg(b []byte) (TcMsg, []byte, error) {
	if len(b) < TcMsgLen {
		return TcMsg{}, nil, fmt.Errorf("tcmsg: %d bytes, want %d", len(b), TcMsgLen)
	}
	m := TcMsg{
		Family:  b[0],
		Ifindex: binary.NativeEndian.Uint32(b[4:]),
		Handle:  binary.NativeEndian.Uint32(b[8:]),
		Parent:  binary.NativeEndian.Uint32(b[12:]),
		Info:    binary.NativeEndian.Uint32(b[16:]),
	}
	return m, b[TcMsgLen:], nil
}

// Info packs a filter's preference and protocol (host-order ethertype) the
// way tcm_info carries them: TC_H_MAKE(pref<<16, htons(protocol)).
func Info(pref uint16, protocol uint16) uint32 {
	return uint32(pref)<<16 | uint32(Htons(protocol))
}

// SplitInfo is the inverse of Info.
func SplitInfo(info uint32) (pref uint16, protocol uint16) {
	return uint16(info >> 16), Htons(uint16(info))
}

// Htons converts a 16-bit value between host and network order.
func Htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}
