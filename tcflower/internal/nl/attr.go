package nl

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Attribute header layout (struct nlattr).
const (
	attrHeaderLen = 4
	// TypeMask clears NLA_F_NESTED and NLA_F_NET_BYTEORDER from a type.
	TypeMask = 0x3fff
	// FlagNested is NLA_F_NESTED.
	FlagNested = 0x8000
)

// Align rounds n up to the 4-byte netlink alignment.
func Align(n int) int { return (n + 3) &^ 3 }

// Encoder appends netlink attributes to a buffer. Integers are written in
// host (little-endian on every platform nicflow supports, checked by the
// tests) order unless the method name says big endian (BE). The zero value
// is ready to use.
type Encoder struct {
	b []byte
}

// NewEncoder returns an Encoder appending to buf (which may be nil).
func NewEncoder(buf []byte) *Encoder { return &Encoder{b: buf} }

// Bytes returns the encoded buffer.
func (e *Encoder) Bytes() []byte { return e.b }

// Len returns the number of bytes written so far.
func (e *Encoder) Len() int { return len(e.b) }

// Put appends an attribute of type typ holding data, padded to alignment.
func (e *Encoder) Put(typ uint16, data []byte) {
	n := attrHeaderLen + len(data)
	e.b = binary.NativeEndian.AppendUint16(e.b, uint16(n))
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	e.b = append(e.b, data...)
	e.pad()
}

func (e *Encoder) pad() {
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// U8 appends a one-byte attribute.
func (e *Encoder) U8(typ uint16, v uint8) { e.Put(typ, []byte{v}) }

// U16 appends a host-order 16-bit attribute.
func (e *Encoder) U16(typ uint16, v uint16) {
	e.Put(typ, binary.NativeEndian.AppendUint16(nil, v))
}

// BE16 appends a big-endian (network order) 16-bit attribute.
func (e *Encoder) BE16(typ uint16, v uint16) {
	e.Put(typ, binary.BigEndian.AppendUint16(nil, v))
}

// U32 appends a host-order 32-bit attribute.
func (e *Encoder) U32(typ uint16, v uint32) {
	e.Put(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// BE32 appends a big-endian 32-bit attribute.
func (e *Encoder) BE32(typ uint16, v uint32) {
	e.Put(typ, binary.BigEndian.AppendUint32(nil, v))
}

// U64 appends a host-order 64-bit attribute. x86-64 and arm64 kernels need no
// pad attribute before 64-bit values, and nicflow writes none.
func (e *Encoder) U64(typ uint16, v uint64) {
	e.Put(typ, binary.NativeEndian.AppendUint64(nil, v))
}

// String appends a NUL-terminated string attribute.
func (e *Encoder) String(typ uint16, s string) {
	b := make([]byte, len(s)+1)
	copy(b, s)
	e.Put(typ, b)
}

// Nest starts a nested attribute of type typ and returns its offset, to be
// passed to End. The NLA_F_NESTED flag is not set, as iproute2 and the
// kernel's own tc dumps do.
func (e *Encoder) Nest(typ uint16) int {
	off := len(e.b)
	e.b = binary.NativeEndian.AppendUint16(e.b, 0)
	e.b = binary.NativeEndian.AppendUint16(e.b, typ)
	return off
}

// End closes the nested attribute started at off.
func (e *Encoder) End(off int) {
	binary.NativeEndian.PutUint16(e.b[off:], uint16(len(e.b)-off))
}

// Attr is one decoded attribute: its type with the flag bits cleared, and its
// payload without padding.
type Attr struct {
	Type uint16
	Data []byte
}

// ErrTruncated reports an attribute whose header or length runs past the
// buffer.
var ErrTruncated = errors.New("netlink attribute truncated")

// Split decodes the attributes of b, in order.
func Split(b []byte) ([]Attr, error) {
	var out []Attr
	for len(b) > 0 {
		if len(b) < attrHeaderLen {
			return out, ErrTruncated
		}
		n := int(binary.NativeEndian.Uint16(b))
		typ := binary.NativeEndian.Uint16(b[2:]) & TypeMask
		if n < attrHeaderLen || n > len(b) {
			return out, fmt.Errorf("attribute type %d length %d of %d bytes: %w", typ, n, len(b), ErrTruncated)
		}
		out = append(out, Attr{Type: typ, Data: b[attrHeaderLen:n:n]})
		if a := Align(n); a < len(b) {
			b = b[a:]
		} else {
			b = nil
		}
	}
	return out, nil
}

// Table is a set of attributes indexed by type, as the kernel's nla_parse
// builds it: a later attribute of the same type wins. Getters check the
// payload length and record the first mismatch, returned by Err.
type Table struct {
	attrs map[uint16][]byte
	err   error
}

// Parse builds a Table from the attributes in b.
func Parse(b []byte) (*Table, error) {
	as, err := Split(b)
	if err != nil {
		return nil, err
	}
	t := &Table{attrs: make(map[uint16][]byte, len(as))}
	for _, a := range as {
		t.attrs[a.Type] = a.Data
	}
	return t, nil
}

// Types returns the attribute types present, in increasing order.
func (t *Table) Types() []uint16 {
	out := make([]uint16, 0, len(t.attrs))
	for typ := range t.attrs {
		out = append(out, typ)
	}
	slices.Sort(out) // deterministic: errors name the lowest unknown attribute
	return out
}

// Err returns the first length mismatch a getter met.
func (t *Table) Err() error { return t.err }

// Has reports whether an attribute of type typ is present.
func (t *Table) Has(typ uint16) bool {
	_, ok := t.attrs[typ]
	return ok
}

// Bytes returns the payload of typ, or nil.
func (t *Table) Bytes(typ uint16) []byte { return t.attrs[typ] }

func (t *Table) fixed(typ uint16, n int) []byte {
	b, ok := t.attrs[typ]
	if !ok {
		return nil
	}
	if len(b) < n {
		if t.err == nil {
			t.err = fmt.Errorf("attribute type %d: %d bytes, want %d: %w", typ, len(b), n, ErrTruncated)
		}
		return nil
	}
	return b[:n]
}

// Fixed returns the first n bytes of typ's payload, or nil when absent or
// short (recording the error).
func (t *Table) Fixed(typ uint16, n int) []byte { return t.fixed(typ, n) }

// U8 returns typ as a byte.
func (t *Table) U8(typ uint16) uint8 {
	if b := t.fixed(typ, 1); b != nil {
		return b[0]
	}
	return 0
}

// U16 returns typ as a host-order 16-bit value.
func (t *Table) U16(typ uint16) uint16 {
	if b := t.fixed(typ, 2); b != nil {
		return binary.NativeEndian.Uint16(b)
	}
	return 0
}

// BE16 returns typ as a big-endian 16-bit value.
func (t *Table) BE16(typ uint16) uint16 {
	if b := t.fixed(typ, 2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// U32 returns typ as a host-order 32-bit value.
func (t *Table) U32(typ uint16) uint32 {
	if b := t.fixed(typ, 4); b != nil {
		return binary.NativeEndian.Uint32(b)
	}
	return 0
}

// BE32 returns typ as a big-endian 32-bit value.
func (t *Table) BE32(typ uint16) uint32 {
	if b := t.fixed(typ, 4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// U64 returns typ as a host-order 64-bit value.
func (t *Table) U64(typ uint16) uint64 {
	if b := t.fixed(typ, 8); b != nil {
		return binary.NativeEndian.Uint64(b)
	}
	return 0
}

// String returns typ as a string, without its NUL terminator.
func (t *Table) String(typ uint16) string {
	b := t.attrs[typ]
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// Nested parses typ's payload as attributes. It returns an empty table when
// typ is absent.
func (t *Table) Nested(typ uint16) (*Table, error) {
	return Parse(t.attrs[typ])
}
