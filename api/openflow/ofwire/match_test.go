package ofwire

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// withPrereqs returns a match that states the prerequisites of f.
func withPrereqs(f pipeline.Field) pipeline.Match {
	var m pipeline.Match
	d := f.Desc()
	if len(d.Prereq.EthTypes) > 0 {
		m.Set(pipeline.FieldEthType, binary.BigEndian.AppendUint16(nil, d.Prereq.EthTypes[len(d.Prereq.EthTypes)-1]), nil)
	}
	if d.Prereq.IPProto != 0 {
		m.Set(pipeline.FieldIPProto, []byte{d.Prereq.IPProto}, nil)
	}
	if d.Prereq.VlanTag {
		m.Set(pipeline.FieldVlanVID, []byte{0x10, 0x05}, nil)
	}
	switch f {
	case pipeline.FieldIPv6NDTarget, pipeline.FieldIPv6NDSLL:
		m.Set(pipeline.FieldICMPv6Type, []byte{135}, nil)
	case pipeline.FieldIPv6NDTLL:
		m.Set(pipeline.FieldICMPv6Type, []byte{136}, nil)
	}
	return m
}

// sampleValue returns a non-zero value for f within its width.
func sampleValue(f pipeline.Field) []byte {
	d := f.Desc()
	if f == pipeline.FieldVlanVID {
		return []byte{0x10, 0x2a}
	}
	ones := d.Ones()
	v := make([]byte, d.Len)
	for i := range v {
		v[i] = byte(0x5a+i*17) & ones[i]
	}
	if bytes.Equal(v, make([]byte, d.Len)) {
		v[d.Len-1] = 1 & ones[d.Len-1]
	}
	return v
}

func TestMatchRoundTripEveryField(t *testing.T) {
	for _, f := range pipeline.Fields() {
		d := f.Desc()
		masks := [][]byte{nil}
		if d.Maskable {
			m := d.Ones()
			m[0] &= 0xf0
			masks = append(masks, m)
		}
		for _, mask := range masks {
			name := d.Name
			if mask != nil {
				name += "/masked"
			}
			t.Run(name, func(t *testing.T) {
				want := withPrereqs(f)
				v := sampleValue(f)
				if mask != nil {
					for i := range v {
						v[i] &= mask[i]
					}
				}
				want.Set(f, v, mask)
				b := AppendMatch(nil, &want)
				if len(b)%8 != 0 {
					t.Fatalf("encoded match is %d bytes, not a multiple of 8", len(b))
				}
				got, n, err := DecodeMatch(b)
				if err != nil {
					t.Fatalf("DecodeMatch(%x): %v", b, err)
				}
				if n != len(b) {
					t.Errorf("DecodeMatch consumed %d bytes, want %d", n, len(b))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("round trip (-want +got):\n%s", diff)
				}
				if !bytes.Equal(AppendMatch(nil, &got), b) {
					t.Errorf("re-encoding differs")
				}
			})
		}
	}
}

func TestMatchGolden(t *testing.T) {
	var m pipeline.Match
	m.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	m.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
	m.Set(pipeline.FieldIPv4Dst, []byte{10, 0, 0, 0}, []byte{255, 255, 255, 0})
	// Built by hand from the spec: OFPMT_OXM, length 4+8+6+12 = 30, OXM
	// in_port (0x80000004), eth_type (0x80000a02), ipv4_dst with mask
	// (0x8000190 8), then 2 bytes of padding.
	want := []byte{
		0x00, 0x01, 0x00, 0x1e,
		0x80, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01,
		0x80, 0x00, 0x0a, 0x02, 0x08, 0x00,
		0x80, 0x00, 0x19, 0x08, 10, 0, 0, 0, 255, 255, 255, 0,
		0x00, 0x00,
	}
	if got := AppendMatch(nil, &m); !bytes.Equal(got, want) {
		t.Errorf("AppendMatch = %x, want %x", got, want)
	}
	got, _, err := DecodeMatch(want)
	if err != nil {
		t.Fatalf("DecodeMatch: %v", err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("DecodeMatch (-want +got):\n%s", diff)
	}
}

// oxm builds one OXM TLV.
func oxm(field uint8, hasMask bool, payload ...byte) []byte {
	return appendOXM(nil, OXMClassBasic, field, hasMask, len(payload), payload)
}

func appendOXM(b []byte, class uint16, field uint8, hasMask bool, n int, payload []byte) []byte {
	h := uint32(class)<<16 | uint32(field)<<9 | uint32(n)
	if hasMask {
		h |= 0x100
	}
	b = binary.BigEndian.AppendUint32(b, h)
	return append(b, payload...)
}

// rawMatch wraps OXM TLVs in an OXM ofp_match with padding.
func rawMatch(oxms ...[]byte) []byte {
	var body []byte
	for _, o := range oxms {
		body = append(body, o...)
	}
	b := binary.BigEndian.AppendUint16(nil, MatchTypeOXM)
	b = binary.BigEndian.AppendUint16(b, uint16(4+len(body)))
	b = append(b, body...)
	return append(b, make([]byte, pad8(len(b)))...)
}

var (
	oxmIPv4       = oxm(5, false, 0x08, 0x00)
	oxmIPv6       = oxm(5, false, 0x86, 0xdd)
	oxmTCP        = oxm(10, false, 6)
	oxmInPort1    = oxm(0, false, 0, 0, 0, 1)
	oxmIPv4Dst    = oxm(12, false, 10, 0, 0, 1)
	oxmICMP6Type  = oxm(29, false, 135)
	oxmVlanTagged = oxm(6, false, 0x10, 0x05)
)

func checkPErr(t *testing.T, err error, typ pipeline.ErrorType, code uint16) {
	t.Helper()
	var pe *pipeline.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v, want *pipeline.Error %s", err, ErrorName(typ, code))
	}
	if pe.Type != typ || pe.Code != code {
		t.Errorf("error = %s (%s), want %s", ErrorName(pe.Type, pe.Code), pe.Msg, ErrorName(typ, code))
	}
}

func TestDecodeMatchErrors(t *testing.T) {
	bm := pipeline.ErrBadMatch
	tests := []struct {
		name string
		in   []byte
		code uint16
	}{
		{"truncated header", []byte{0, 1}, pipeline.BadMatchBadLen},
		{"standard match type", []byte{0, 0, 0, 88, 0, 0, 0, 0}, pipeline.BadMatchBadType},
		{"length below 4", []byte{0, 1, 0, 2, 0, 0, 0, 0}, pipeline.BadMatchBadLen},
		{"length beyond data", []byte{0, 1, 0, 40, 0, 0, 0, 0}, pipeline.BadMatchBadLen},
		{"padding missing", []byte{0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 1}, pipeline.BadMatchBadLen},
		{"OXM header truncated", rawMatch([]byte{0x80, 0}), pipeline.BadMatchBadLen},
		{"OXM length beyond match", rawMatch([]byte{0x80, 0, 0, 8, 0, 0, 0, 1}), pipeline.BadMatchBadLen},
		{"OXM length wrong for field", rawMatch(oxm(0, false, 0, 0, 1)), pipeline.BadMatchBadLen},
		{"masked OXM length wrong", rawMatch(oxm(3, true, 1, 2, 3, 4, 5, 6)), pipeline.BadMatchBadLen},
		{"unknown field", rawMatch(oxm(41, false, 0, 0)), pipeline.BadMatchBadField},
		{"mpls_label without its eth_type", rawMatch(oxm(34, false, 0, 0, 0, 1)), pipeline.BadMatchBadPrereq},
		{"unsupported field in_phy_port", rawMatch(oxmInPort1, oxm(1, false, 0, 0, 0, 1)), pipeline.BadMatchBadField},
		{"experimenter class", rawMatch(appendOXM(nil, 0xffff, 1, false, 4, []byte{0, 0, 0x23, 0x20})), pipeline.BadMatchBadField},
		{"nicira class", rawMatch(appendOXM(nil, 0x0001, 0, false, 4, []byte{0, 0, 0, 1})), pipeline.BadMatchBadField},
		{"mask on in_port", rawMatch(oxm(0, true, 0, 0, 0, 1, 0, 0, 0, 0xff)), pipeline.BadMatchBadMask},
		{"mask on eth_type", rawMatch(oxm(5, true, 8, 0, 0xff, 0xff)), pipeline.BadMatchBadMask},
		{"duplicate in_port", rawMatch(oxmInPort1, oxmInPort1), pipeline.BadMatchDupField},
		{"duplicate eth_type", rawMatch(oxmIPv4, oxmIPv6), pipeline.BadMatchDupField},
		{"vlan_pcp out of range", rawMatch(oxmVlanTagged, oxm(7, false, 8)), pipeline.BadMatchBadValue},
		{"ip_dscp out of range", rawMatch(oxmIPv4, oxm(8, false, 64)), pipeline.BadMatchBadValue},
		{"vlan_vid without present bit", rawMatch(oxm(6, false, 0x00, 0x05)), pipeline.BadMatchBadValue},
		{"vlan_vid mask too wide", rawMatch(oxm(6, true, 0x10, 0x00, 0xff, 0xff)), pipeline.BadMatchBadMask},
		{"value outside mask", rawMatch(oxm(3, true, 1, 2, 3, 4, 5, 6, 0xff, 0, 0, 0, 0, 0)), pipeline.BadMatchBadWildcards},
		{"ipv4_dst without eth_type", rawMatch(oxmIPv4Dst), pipeline.BadMatchBadPrereq},
		{"ipv4_dst with eth_type ipv6", rawMatch(oxmIPv6, oxmIPv4Dst), pipeline.BadMatchBadPrereq},
		{"tcp_dst without ip_proto", rawMatch(oxmIPv4, oxm(14, false, 0, 80)), pipeline.BadMatchBadPrereq},
		{"tcp_dst with udp", rawMatch(oxmIPv4, oxm(10, false, 17), oxm(14, false, 0, 80)), pipeline.BadMatchBadPrereq},
		{"ip_proto without eth_type", rawMatch(oxmTCP), pipeline.BadMatchBadPrereq},
		{"vlan_pcp without tag", rawMatch(oxm(7, false, 3)), pipeline.BadMatchBadPrereq},
		{"nd_tll with NS", rawMatch(oxmIPv6, oxm(10, false, 58), oxmICMP6Type, oxm(33, false, 1, 2, 3, 4, 5, 6)), pipeline.BadMatchBadPrereq},
		{"tcp_src and udp_src", rawMatch(oxmIPv4, oxmTCP, oxm(13, false, 0, 1), oxm(15, false, 0, 1)), pipeline.BadMatchBadPrereq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := DecodeMatch(tt.in)
			checkPErr(t, err, bm, tt.code)
		})
	}
}

func TestMatchFieldsSharedStorage(t *testing.T) {
	tests := []struct {
		name string
		oxms [][]byte
		want string
	}{
		{"udp", [][]byte{oxmIPv4, oxm(10, false, 17), oxm(16, false, 0, 53)}, "eth_type=0x0800,ip_proto=17,udp_dst=53"},
		{"sctp", [][]byte{oxmIPv6, oxm(10, false, 132), oxm(17, false, 0, 9)}, "eth_type=0x86dd,ip_proto=132,sctp_src=9"},
		{"arp", [][]byte{oxm(5, false, 8, 6), oxm(22, false, 10, 0, 0, 1), oxm(24, false, 1, 2, 3, 4, 5, 6)}, "eth_type=0x0806,arp_spa=10.0.0.1,arp_sha=01:02:03:04:05:06"},
		{"icmpv6 nd", [][]byte{oxmIPv6, oxm(10, false, 58), oxmICMP6Type, oxm(32, false, 1, 2, 3, 4, 5, 6)}, "eth_type=0x86dd,ip_proto=58,icmpv6_type=135,ipv6_nd_sll=01:02:03:04:05:06"},
		{"ipv6 prefix", [][]byte{oxmIPv6, oxm(27, true, append(make([]byte, 16), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0)...)}, "eth_type=0x86dd,ipv6_dst=::/64"},
		{"metadata masked", [][]byte{oxm(2, true, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xff)}, "metadata=0x1/0xff"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _, err := DecodeMatch(rawMatch(tt.oxms...))
			if err != nil {
				t.Fatalf("DecodeMatch: %v", err)
			}
			if got := FormatMatch(&m); got != tt.want {
				t.Errorf("FormatMatch = %q, want %q", got, tt.want)
			}
			b := AppendMatch(nil, &m)
			if want := rawMatch(tt.oxms...); !bytes.Equal(b, want) {
				t.Errorf("AppendMatch = %x, want %x", b, want)
			}
		})
	}
}
