package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

func badAction(code uint16, format string, args ...any) *pipeline.Error {
	return errf(pipeline.ErrBadAction, code, format, args...)
}

// fixedActionLen is the exact wire length of each fixed-size action.
var fixedActionLen = map[pipeline.ActionType]int{
	pipeline.ActionOutput:     16,
	pipeline.ActionCopyTTLOut: 8,
	pipeline.ActionCopyTTLIn:  8,
	pipeline.ActionSetMPLSTTL: 8,
	pipeline.ActionDecMPLSTTL: 8,
	pipeline.ActionPushVLAN:   8,
	pipeline.ActionPopVLAN:    8,
	pipeline.ActionPushMPLS:   8,
	pipeline.ActionPopMPLS:    8,
	pipeline.ActionSetQueue:   8,
	pipeline.ActionGroup:      8,
	pipeline.ActionSetNwTTL:   8,
	pipeline.ActionDecNwTTL:   8,
	pipeline.ActionPushPBB:    8,
	pipeline.ActionPopPBB:     8,
}

// fixedActionLens is fixedActionLen as an array, for AppendAction: a
// flow dump encodes an action per flow, and a map lookup per action was
// a tenth of its encoding.
var fixedActionLens = func() (a [32]int) {
	for t, n := range fixedActionLen {
		a[t] = n // every fixed-size action type is below 32
	}
	return a
}()

// ValidOutPort reports whether p may be the port of an output action:
// a physical port number (1..OFPP_MAX) or a reserved port other than ANY.
// TABLE is valid only in PACKET_OUT; the caller checks that.
func ValidOutPort(p uint32) bool {
	switch {
	case p == 0 || p == pipeline.PortAny:
		return false
	case p <= pipeline.PortMax:
		return true
	}
	switch p {
	case pipeline.PortInPort, pipeline.PortTable, pipeline.PortNormal, pipeline.PortFlood,
		pipeline.PortAll, pipeline.PortController, pipeline.PortLocal:
		return true
	}
	return false
}

// DecodeActions decodes an action list. Errors are *pipeline.Error of type
// OFPET_BAD_ACTION.
func DecodeActions(b []byte) ([]pipeline.Action, error) {
	var acts []pipeline.Action
	for len(b) > 0 {
		if len(b) < 8 {
			return nil, badAction(pipeline.BadActionBadLen, "action header truncated: %d bytes", len(b))
		}
		t, n := pipeline.ActionType(be16(b)), int(be16(b[2:]))
		if n < 8 || n%8 != 0 || n > len(b) {
			return nil, badAction(pipeline.BadActionBadLen, "action type %d: length %d invalid (%d bytes left)", t, n, len(b))
		}
		a, err := decodeAction(t, b[:n])
		if err != nil {
			return nil, err
		}
		acts = append(acts, a)
		b = b[n:]
	}
	return acts, nil
}

func decodeAction(t pipeline.ActionType, b []byte) (pipeline.Action, error) {
	a := pipeline.Action{Type: t}
	if t == pipeline.ActionExperimenter {
		return a, badAction(pipeline.BadActionBadExperimenter, "experimenter action %#x not supported", be32(b[4:]))
	}
	if t == pipeline.ActionSetField {
		return decodeSetField(b)
	}
	want, ok := fixedActionLen[t]
	if !ok {
		return a, badAction(pipeline.BadActionBadType, "action type %d unknown", t)
	}
	if len(b) != want {
		return a, badAction(pipeline.BadActionBadLen, "action type %d: length %d, want %d", t, len(b), want)
	}
	switch t {
	case pipeline.ActionOutput:
		a.Port, a.MaxLen = be32(b[4:]), be16(b[8:])
		if !ValidOutPort(a.Port) {
			return a, badAction(pipeline.BadActionBadOutPort, "output to port %#x", a.Port)
		}
		if a.Port == pipeline.PortController && a.MaxLen > 0xffe5 && a.MaxLen != pipeline.ControllerMaxLenNoBuffer {
			return a, badAction(pipeline.BadActionBadArgument, "controller max_len %#x", a.MaxLen)
		}
	case pipeline.ActionSetMPLSTTL, pipeline.ActionSetNwTTL:
		a.TTL = b[4]
	case pipeline.ActionPushVLAN:
		a.EtherType = be16(b[4:])
		if a.EtherType != pipeline.EthTypeVLAN && a.EtherType != pipeline.EthTypeQinQ {
			return a, badAction(pipeline.BadActionBadArgument, "push_vlan ethertype %#04x", a.EtherType)
		}
	case pipeline.ActionPushMPLS:
		a.EtherType = be16(b[4:])
		if a.EtherType != pipeline.EthTypeMPLS && a.EtherType != pipeline.EthTypeMPLSMcast {
			return a, badAction(pipeline.BadActionBadArgument, "push_mpls ethertype %#04x", a.EtherType)
		}
	case pipeline.ActionPushPBB:
		a.EtherType = be16(b[4:])
		if a.EtherType != pipeline.EthTypePBB {
			return a, badAction(pipeline.BadActionBadArgument, "push_pbb ethertype %#04x", a.EtherType)
		}
	case pipeline.ActionPopMPLS:
		a.EtherType = be16(b[4:])
	case pipeline.ActionSetQueue:
		a.Queue = be32(b[4:])
	case pipeline.ActionGroup:
		a.Group = be32(b[4:])
		if a.Group > pipeline.GroupMax {
			return a, badAction(pipeline.BadActionBadOutGroup, "group %#x", a.Group)
		}
	}
	return a, nil
}

func decodeSetField(b []byte) (pipeline.Action, error) {
	a := pipeline.Action{Type: pipeline.ActionSetField}
	// b holds the whole action: type, len, then one OXM TLV and padding.
	h := be32(b[4:])
	class, field, hasMask, n := h>>16, pipeline.Field(h>>9&0x7f), h&0x100 != 0, int(h&0xff)
	if class != OXMClassBasic {
		return a, badAction(pipeline.BadActionBadSetType, "set_field OXM class %#04x", class)
	}
	d := field.Desc()
	if d == nil || !d.Settable {
		return a, badAction(pipeline.BadActionBadSetType, "set_field of field %d not supported", field)
	}
	if hasMask {
		return a, badAction(pipeline.BadActionBadSetArgument, "set_field %s with a mask", d.Name)
	}
	if n != d.Len || len(b) != (8+n+7)/8*8 {
		return a, badAction(pipeline.BadActionBadSetLen, "set_field %s: OXM length %d in an action of %d bytes", d.Name, n, len(b))
	}
	value := b[8 : 8+n]
	ones := d.Ones()
	for i := range value {
		if value[i]&^ones[i] != 0 {
			return a, badAction(pipeline.BadActionBadSetArgument, "set_field %s: value %x out of range", d.Name, value)
		}
	}
	a.Field = field
	copy(a.Value[:], value)
	return a, nil
}

// AppendActions appends acts in wire format.
func AppendActions(b []byte, acts []pipeline.Action) []byte {
	for i := range acts {
		b = AppendAction(b, &acts[i])
	}
	return b
}

// AppendAction appends one action in wire format.
func AppendAction(b []byte, a *pipeline.Action) []byte {
	if a.Type == pipeline.ActionSetField {
		d := a.Field.Desc()
		n := 8 + d.Len
		n += pad8(n)
		b = put16(b, uint16(a.Type))
		b = put16(b, uint16(n))
		b = put32(b, OXMHeader(a.Field, false, d.Len))
		b = append(b, a.Value[:d.Len]...)
		return appendZeros(b, n-8-d.Len)
	}
	n := 0
	if int(a.Type) < len(fixedActionLens) {
		n = fixedActionLens[a.Type]
	}
	if n == 0 {
		n = 8
	}
	b = put16(b, uint16(a.Type))
	b = put16(b, uint16(n))
	switch a.Type {
	case pipeline.ActionOutput:
		b = put32(b, a.Port)
		b = put16(b, a.MaxLen)
		return appendZeros(b, 6)
	case pipeline.ActionSetMPLSTTL, pipeline.ActionSetNwTTL:
		b = append(b, a.TTL)
		return appendZeros(b, 3)
	case pipeline.ActionPushVLAN, pipeline.ActionPushMPLS, pipeline.ActionPushPBB, pipeline.ActionPopMPLS:
		b = put16(b, a.EtherType)
		return appendZeros(b, 2)
	case pipeline.ActionSetQueue:
		return put32(b, a.Queue)
	case pipeline.ActionGroup:
		return put32(b, a.Group)
	}
	return appendZeros(b, 4)
}
