package rtnl

import (
	"encoding/binary"
	"fmt"
)

// IfInfoMsg is struct ifinfomsg, the fixed header of every link message.
type IfInfoMsg struct {
	Family uint8
	Type   uint16 // ARPHRD_*
	Index  int32
	Flags  uint32 // IFF_*
	Change uint32
}

// append appends the 16-byte wire form (host byte order).
func (m IfInfoMsg) append(b []byte) []byte {
	b = append(b, m.Family, 0)
	b = binary.NativeEndian.AppendUint16(b, m.Type)
	b = binary.NativeEndian.AppendUint32(b, uint32(m.Index))
	b = binary.NativeEndian.AppendUint32(b, m.Flags)
	return binary.NativeEndian.AppendUint32(b, m.Change)
}

func parseIfInfoMsg(b []byte) (IfInfoMsg, error) {
	if len(b) < IfInfoMsgLen {
		return IfInfoMsg{}, fmt.Errorf("ifinfomsg: %d bytes, want %d", len(b), IfInfoMsgLen)
	}
	return IfInfoMsg{
		Family: b[0],
		Type:   binary.NativeEndian.Uint16(b[2:4]),
		Index:  int32(binary.NativeEndian.Uint32(b[4:8])),
		Flags:  binary.NativeEndian.Uint32(b[8:12]),
		Change: binary.NativeEndian.Uint32(b[12:16]),
	}, nil
}

// align rounds n up to the 4-byte netlink attribute alignment.
func align(n int) int { return (n + 3) &^ 3 }

// appendAttr appends one attribute (struct nlattr and its padded payload).
func appendAttr(b []byte, typ uint16, data []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func u8(v uint8) []byte   { return []byte{v} }
func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func nest(attrs ...[]byte) []byte {
	var b []byte
	for _, a := range attrs {
		b = append(b, a...)
	}
	return b
}

// attr is one decoded attribute; Type has the flag bits cleared.
type attr struct {
	Type uint16
	Data []byte
}

// parseAttrs splits b into attributes. It fails on a length that runs past
// the buffer, so a truncated message is an error, not a silent cut.
func parseAttrs(b []byte) ([]attr, error) {
	var out []attr
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("attribute header: %d trailing bytes", len(b))
		}
		n := int(binary.NativeEndian.Uint16(b[0:2]))
		typ := binary.NativeEndian.Uint16(b[2:4]) & typeMask
		if n < 4 || n > len(b) {
			return nil, fmt.Errorf("attribute type %d: length %d out of range (%d bytes left)", typ, n, len(b))
		}
		out = append(out, attr{Type: typ, Data: b[4:n]})
		if a := align(n); a < len(b) {
			b = b[a:]
		} else {
			b = nil
		}
	}
	return out, nil
}

func getU8(a attr) (uint8, error) {
	if len(a.Data) < 1 {
		return 0, fmt.Errorf("attribute type %d: %d bytes, want 1", a.Type, len(a.Data))
	}
	return a.Data[0], nil
}

func getU16(a attr) (uint16, error) {
	if len(a.Data) < 2 {
		return 0, fmt.Errorf("attribute type %d: %d bytes, want 2", a.Type, len(a.Data))
	}
	return binary.NativeEndian.Uint16(a.Data), nil
}

func getU32(a attr) (uint32, error) {
	if len(a.Data) < 4 {
		return 0, fmt.Errorf("attribute type %d: %d bytes, want 4", a.Type, len(a.Data))
	}
	return binary.NativeEndian.Uint32(a.Data), nil
}

// getString returns a NUL-terminated string attribute without its NUL.
func getString(a attr) string {
	d := a.Data
	for i, c := range d {
		if c == 0 {
			return string(d[:i])
		}
	}
	return string(d)
}
