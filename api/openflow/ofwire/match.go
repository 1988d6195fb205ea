package ofwire

import (
	"bytes"
	"math/bits"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Match types and OXM classes.
const (
	MatchTypeStandard = 0 // OFPMT_STANDARD (OpenFlow 1.1), refused
	MatchTypeOXM      = 1 // OFPMT_OXM

	OXMClassBasic        = 0x8000 // OFPXMC_OPENFLOW_BASIC
	OXMClassExperimenter = 0xffff

	// ONFExperimenter is the ONF's experimenter id. OpenFlow 1.3
	// controllers (Open vSwitch's ovs-ofctl, os-ken) send tcp_flags as
	// the ONF extension EXT-109: an experimenter-class OXM of field 42
	// whose payload starts with this id.
	ONFExperimenter = 0x4f4e4600
)

// OXMHeader returns the 32-bit OXM header of a basic-class field.
func OXMHeader(f pipeline.Field, hasMask bool, length int) uint32 {
	h := uint32(OXMClassBasic)<<16 | uint32(f)<<9 | uint32(length)
	if hasMask {
		h |= 1 << 8
	}
	return h
}

// DecodeMatch decodes the ofp_match at the start of b. It returns the match
// and the number of bytes the match takes, padding included. Errors are
// *pipeline.Error of type OFPET_BAD_MATCH.
func DecodeMatch(b []byte) (pipeline.Match, int, error) {
	if len(b) < 4 {
		return pipeline.Match{}, 0, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "match header truncated: %d bytes", len(b))
	}
	typ, length := be16(b), int(be16(b[2:]))
	if typ != MatchTypeOXM {
		return pipeline.Match{}, 0, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadType, "match type %d is not OXM", typ)
	}
	if length < 4 {
		return pipeline.Match{}, 0, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "match length %d < 4", length)
	}
	padded := length + pad8(length)
	if padded > len(b) {
		return pipeline.Match{}, 0, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "match length %d (padded %d) exceeds the %d bytes left", length, padded, len(b))
	}
	m, err := DecodeOXMs(b[4:length])
	if err != nil {
		return pipeline.Match{}, 0, err
	}
	return m, padded, nil
}

// DecodeOXMs decodes a sequence of OXM TLVs (the body of an ofp_match) and
// checks lengths, masks, values, duplicates and prerequisites.
func DecodeOXMs(b []byte) (pipeline.Match, error) {
	var m pipeline.Match
	var present fieldSet
	var inPort, inPhyPort uint32
	for len(b) > 0 {
		if len(b) < 4 {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "OXM header truncated: %d bytes", len(b))
		}
		h := be32(b)
		class, field, hasMask, n := h>>16, pipeline.Field(h>>9&0x7f), h&0x100 != 0, int(h&0xff)
		if 4+n > len(b) {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "OXM %#08x length %d exceeds the %d bytes left", h, n, len(b)-4)
		}
		payload := b[4 : 4+n]
		b = b[4+n:]
		if class == OXMClassExperimenter && field == pipeline.FieldTCPFlags && n >= 4 && be32(payload) == ONFExperimenter {
			// EXT-109 tcp_flags: the basic field after the experimenter id.
			class, payload, n = OXMClassBasic, payload[4:], n-4
		}
		if class != OXMClassBasic {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadField, "OXM class %#04x not supported", class)
		}
		d := field.Desc()
		if d == nil {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadField, "OXM field %d not supported", field)
		}
		want := d.Len
		if hasMask {
			want *= 2
		}
		if n != want {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadLen, "%s: OXM length %d, want %d", d.Name, n, want)
		}
		if hasMask && !d.Maskable {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadMask, "%s may not be masked", d.Name)
		}
		if present.has(field) {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchDupField, "%s appears twice", d.Name)
		}
		present.add(field)
		value := payload[:d.Len]
		var mask []byte
		if hasMask {
			mask = payload[d.Len:]
		}
		if err := checkValue(d, value, mask); err != nil {
			return m, err
		}
		switch field {
		case pipeline.FieldInPort:
			inPort = be32(value)
		case pipeline.FieldInPhyPort:
			inPhyPort = be32(value)
		}
		m.Set(field, value, mask)
	}
	// in_phy_port shares in_port's storage (nicflow has no logical ports:
	// a packet's physical ingress port is its in_port). Its prerequisite is
	// in_port on the wire; a different value could never match.
	if present.has(pipeline.FieldInPhyPort) {
		if !present.has(pipeline.FieldInPort) {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadPrereq, "in_phy_port without in_port")
		}
		if inPort != inPhyPort {
			return m, errf(pipeline.ErrBadMatch, pipeline.BadMatchBadValue, "in_phy_port %d differs from in_port %d: every port of nicflow is physical, a packet's in_phy_port is its in_port", inPhyPort, inPort)
		}
	}
	if err := pipeline.ValidateMatch(&m); err != nil {
		return m, err
	}
	// pipeline.ValidateMatch sees storage, not fields: tcp_src under
	// ip_proto=17 looks like udp_src to it. Check each field that was on
	// the wire, and the ICMPv6 type the ND fields need.
	if err := checkPrereqs(&m, present); err != nil {
		return m, err
	}
	return m, nil
}

func checkValue(d *pipeline.FieldDesc, value, mask []byte) error {
	ones := d.Ones()
	for i := range value {
		if mask != nil {
			if mask[i]&^ones[i] != 0 {
				return errf(pipeline.ErrBadMatch, pipeline.BadMatchBadMask, "%s: mask %x has bits outside the field", d.Name, mask)
			}
			if value[i]&^mask[i] != 0 {
				return errf(pipeline.ErrBadMatch, pipeline.BadMatchBadWildcards, "%s: value %x has bits outside mask %x", d.Name, value, mask)
			}
		}
		if value[i]&^ones[i] != 0 {
			return errf(pipeline.ErrBadMatch, pipeline.BadMatchBadValue, "%s: value %x out of range", d.Name, value)
		}
	}
	if d.Field == pipeline.FieldVlanVID {
		v := be16(value)
		vmask := uint16(0x1fff)
		if mask != nil {
			vmask = be16(mask)
		}
		// A VID without OFPVID_PRESENT, where the mask covers the
		// present bit, can never match a packet.
		if vmask&pipeline.VIDPresent != 0 && v&pipeline.VIDPresent == 0 && v&0x0fff != 0 {
			return errf(pipeline.ErrBadMatch, pipeline.BadMatchBadValue, "vlan_vid %#x lacks OFPVID_PRESENT", v)
		}
	}
	return nil
}

// fieldSet is a set of OXM basic fields (numbers below 64).
type fieldSet uint64

func (s fieldSet) has(f pipeline.Field) bool { return s&(1<<f) != 0 }
func (s *fieldSet) add(f pipeline.Field)     { *s |= 1 << f }

// checkPrereqs checks the prerequisites of every field present in the
// decoded match.
func checkPrereqs(m *pipeline.Match, present fieldSet) error {
	for f := pipeline.Field(0); f < 64; f++ {
		if !present.has(f) {
			continue
		}
		if !prereqOK(m, f) {
			return errf(pipeline.ErrBadMatch, pipeline.BadMatchBadPrereq, "%s: prerequisite not met", f)
		}
	}
	return nil
}

// prereqOK reports whether m states the prerequisites of field f
// (pipeline's FieldDesc.Prereq: eth_type, ip_proto, a VLAN tag, the ICMPv6
// type of the ND fields, in_port).
func prereqOK(m *pipeline.Match, f pipeline.Field) bool {
	d := f.Desc()
	return d != nil && d.PrereqMet(m)
}

func exact(m *pipeline.Match, f pipeline.Field) bool {
	_, mask := m.Get(f)
	return bytes.Equal(mask, f.Desc().Ones())
}

// sharedGroups lists fields that share storage in pipeline.Key; only the
// one whose prerequisites the match states is encoded.
var sharedGroups = [][]pipeline.Field{
	{pipeline.FieldInPort, pipeline.FieldInPhyPort},
	{pipeline.FieldIPv4Src, pipeline.FieldArpSPA, pipeline.FieldIPv6Src},
	{pipeline.FieldIPv4Dst, pipeline.FieldArpTPA, pipeline.FieldIPv6Dst},
	{pipeline.FieldTCPSrc, pipeline.FieldUDPSrc, pipeline.FieldSCTPSrc},
	{pipeline.FieldTCPDst, pipeline.FieldUDPDst, pipeline.FieldSCTPDst},
	{pipeline.FieldICMPv4Type, pipeline.FieldICMPv6Type},
	{pipeline.FieldICMPv4Code, pipeline.FieldICMPv6Code},
	{pipeline.FieldArpSHA, pipeline.FieldIPv6NDSLL},
	{pipeline.FieldArpTHA, pipeline.FieldIPv6NDTLL},
}

// MatchFields returns the fields of m in wire order, resolving fields that
// share storage by their prerequisites (a match without them gets the first
// field of its group).
func MatchFields(m *pipeline.Match) []pipeline.Field {
	var out []pipeline.Field
	set := matchFieldSet(m)
	for _, f := range basicFields {
		if set.has(f) {
			out = append(out, f)
		}
	}
	return out
}

// AppendOXMs appends the OXM TLVs of m (no ofp_match header), the fields
// of MatchFields in its order.
func AppendOXMs(b []byte, m *pipeline.Match) []byte {
	set := matchFieldSet(m)
	var vb, mb [16]byte
	for ; set != 0; set &= set - 1 {
		f := pipeline.Field(bits.TrailingZeros64(uint64(set))) // ascending: wire order
		d := f.Desc()
		value, mask := fieldValue(&vb, f, &m.Key), fieldValue(&mb, f, &m.Mask)
		if !d.Maskable || bytes.Equal(mask, fieldOnes[f]) {
			b = put32(b, OXMHeader(f, false, d.Len))
			b = append(b, value...)
			continue
		}
		b = put32(b, OXMHeader(f, true, 2*d.Len))
		b = append(b, value...)
		b = append(b, mask...)
	}
	return b
}

// AppendMatch appends m as an OXM ofp_match, padded to 8 bytes.
func AppendMatch(b []byte, m *pipeline.Match) []byte {
	start := len(b)
	b = put16(b, MatchTypeOXM)
	b = put16(b, 0)
	b = AppendOXMs(b, m)
	n := len(b) - start
	b[start+2], b[start+3] = byte(n>>8), byte(n)
	return appendZeros(b, pad8(n))
}
