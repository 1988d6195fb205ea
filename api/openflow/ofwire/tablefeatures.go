package ofwire

import (
	"github.com/nicflow/nicflow/offload/pipeline"
)

// Table feature property types (OFPTFPT_*).
const (
	TFPInstructions       = 0
	TFPInstructionsMiss   = 1
	TFPNextTables         = 2
	TFPNextTablesMiss     = 3
	TFPWriteActions       = 4
	TFPWriteActionsMiss   = 5
	TFPApplyActions       = 6
	TFPApplyActionsMiss   = 7
	TFPMatch              = 8
	TFPWildcards          = 10
	TFPWriteSetfield      = 12
	TFPWriteSetfieldMiss  = 13
	TFPApplySetfield      = 14
	TFPApplySetfieldMiss  = 15
	TFPExperimenter       = 0xfffe
	TFPExperimenterMiss   = 0xffff
	tableFeaturesFixedLen = 64
	tableNameLen          = 32
)

// TableFeatures is one ofp_table_features entry. The table-miss properties
// are the same as the regular ones.
type TableFeatures struct {
	TableID       uint8
	Name          string
	MetadataMatch uint64
	MetadataWrite uint64
	Config        uint32
	MaxEntries    uint32

	Instructions  []pipeline.InstructionType
	NextTables    []uint8
	WriteActions  []pipeline.ActionType
	ApplyActions  []pipeline.ActionType
	Match         []uint32 // OXM headers; has-mask set for maskable fields
	Wildcards     []uint32
	WriteSetfield []uint32
	ApplySetfield []uint32
}

// AppendTableFeatures appends one ofp_table_features entry.
func AppendTableFeatures(b []byte, t *TableFeatures) []byte {
	start := len(b)
	b = put16(b, 0)
	b = append(b, t.TableID)
	b = appendZeros(b, 5)
	name := make([]byte, tableNameLen)
	copy(name[:tableNameLen-1], t.Name)
	b = append(b, name...)
	b = put64(b, t.MetadataMatch)
	b = put64(b, t.MetadataWrite)
	b = put32(b, t.Config)
	b = put32(b, t.MaxEntries)

	for _, typ := range []uint16{TFPInstructions, TFPInstructionsMiss} {
		b = appendProp(b, typ, func(b []byte) []byte {
			for _, it := range t.Instructions {
				b = put16(b, uint16(it))
				b = put16(b, 4)
			}
			return b
		})
	}
	for _, typ := range []uint16{TFPNextTables, TFPNextTablesMiss} {
		b = appendProp(b, typ, func(b []byte) []byte { return append(b, t.NextTables...) })
	}
	actions := func(typ uint16, acts []pipeline.ActionType) {
		b = appendProp(b, typ, func(b []byte) []byte {
			for _, a := range acts {
				b = put16(b, uint16(a))
				b = put16(b, 4)
			}
			return b
		})
	}
	actions(TFPWriteActions, t.WriteActions)
	actions(TFPWriteActionsMiss, t.WriteActions)
	actions(TFPApplyActions, t.ApplyActions)
	actions(TFPApplyActionsMiss, t.ApplyActions)
	oxms := func(typ uint16, hs []uint32) {
		b = appendProp(b, typ, func(b []byte) []byte {
			for _, h := range hs {
				b = put32(b, h)
			}
			return b
		})
	}
	oxms(TFPMatch, t.Match)
	oxms(TFPWildcards, t.Wildcards)
	oxms(TFPWriteSetfield, t.WriteSetfield)
	oxms(TFPWriteSetfieldMiss, t.WriteSetfield)
	oxms(TFPApplySetfield, t.ApplySetfield)
	oxms(TFPApplySetfieldMiss, t.ApplySetfield)

	n := len(b) - start
	b[start], b[start+1] = byte(n>>8), byte(n)
	return b
}

func appendProp(b []byte, typ uint16, body func([]byte) []byte) []byte {
	start := len(b)
	b = put16(b, typ)
	b = put16(b, 0)
	b = body(b)
	n := len(b) - start
	b[start+2], b[start+3] = byte(n>>8), byte(n)
	return appendZeros(b, pad8(n))
}

// DecodeTableFeatures decodes the entries of an OFPMP_TABLE_FEATURES body.
// Table-miss and experimenter properties are skipped.
func DecodeTableFeatures(body []byte) ([]TableFeatures, error) {
	tfErr := func(code uint16, format string, args ...any) error {
		return errf(pipeline.ErrTableFeaturesFailed, code, format, args...)
	}
	var out []TableFeatures
	for len(body) > 0 {
		if len(body) < tableFeaturesFixedLen {
			return nil, tfErr(TableFeaturesBadLen, "table features entry truncated: %d bytes", len(body))
		}
		n := int(be16(body))
		if n < tableFeaturesFixedLen || n > len(body) {
			return nil, tfErr(TableFeaturesBadLen, "table features length %d (%d bytes left)", n, len(body))
		}
		e := body[:n]
		t := TableFeatures{
			TableID: e[2], Name: cstring(e[8:40]), MetadataMatch: be64(e[40:]), MetadataWrite: be64(e[48:]),
			Config: be32(e[56:]), MaxEntries: be32(e[60:]),
		}
		props := e[tableFeaturesFixedLen:]
		for len(props) > 0 {
			if len(props) < 4 {
				return nil, tfErr(TableFeaturesBadLen, "property header truncated")
			}
			typ, plen := be16(props), int(be16(props[2:]))
			if plen < 4 || plen > len(props) {
				return nil, tfErr(TableFeaturesBadLen, "property %d length %d", typ, plen)
			}
			p := props[4:plen]
			switch typ {
			case TFPInstructions:
				for ; len(p) >= 4; p = p[4:] {
					t.Instructions = append(t.Instructions, pipeline.InstructionType(be16(p)))
				}
			case TFPNextTables:
				t.NextTables = append([]uint8{}, p...)
			case TFPWriteActions, TFPApplyActions:
				var acts []pipeline.ActionType
				for ; len(p) >= 4; p = p[4:] {
					acts = append(acts, pipeline.ActionType(be16(p)))
				}
				if typ == TFPWriteActions {
					t.WriteActions = acts
				} else {
					t.ApplyActions = acts
				}
			case TFPMatch, TFPWildcards, TFPWriteSetfield, TFPApplySetfield:
				var hs []uint32
				for ; len(p) >= 4; p = p[4:] {
					hs = append(hs, be32(p))
				}
				switch typ {
				case TFPMatch:
					t.Match = hs
				case TFPWildcards:
					t.Wildcards = hs
				case TFPWriteSetfield:
					t.WriteSetfield = hs
				default:
					t.ApplySetfield = hs
				}
			}
			skip := plen + pad8(plen)
			if skip > len(props) {
				skip = len(props)
			}
			props = props[skip:]
		}
		out = append(out, t)
		body = body[n:]
	}
	return out, nil
}
