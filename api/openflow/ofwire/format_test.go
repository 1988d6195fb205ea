package ofwire

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// TestFormatActionOvsOfctl checks the text of the MPLS, PBB and TTL actions
// and of set_field on the new fields: Open vSwitch's forms (lib/ofp-actions.c
// format_*) where it has the action.
func TestFormatActionOvsOfctl(t *testing.T) {
	tests := []struct {
		a    pipeline.Action
		want string
	}{
		{pipeline.Action{Type: pipeline.ActionPushMPLS, EtherType: 0x8847}, "push_mpls:0x8847"},
		{pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: 0x0800}, "pop_mpls:0x0800"},
		{pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: 9}, "set_mpls_ttl(9)"},
		{pipeline.Action{Type: pipeline.ActionDecMPLSTTL}, "dec_mpls_ttl"},
		{pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: 64}, "mod_nw_ttl:64"},
		{pipeline.Action{Type: pipeline.ActionDecNwTTL}, "dec_ttl"},
		{pipeline.Action{Type: pipeline.ActionCopyTTLOut}, "copy_ttl_out"},
		{pipeline.Action{Type: pipeline.ActionCopyTTLIn}, "copy_ttl_in"},
		{pipeline.Action{Type: pipeline.ActionPushPBB, EtherType: 0x88e7}, "push_pbb:0x88e7"},
		{pipeline.Action{Type: pipeline.ActionPopPBB}, "pop_pbb"},
		{pipeline.SetField(pipeline.FieldMPLSLabel, []byte{0, 1, 0x86, 0xa0}), "set_field:100000->mpls_label"},
		{pipeline.SetField(pipeline.FieldMPLSTC, []byte{5}), "set_field:5->mpls_tc"},
		{pipeline.SetField(pipeline.FieldPBBISID, []byte{0xab, 0xcd, 0xef}), "set_field:0xabcdef->pbb_isid"},
		{pipeline.SetField(pipeline.FieldEthType, []byte{0x88, 0x48}), "set_field:0x8848->eth_type"},
	}
	for _, tt := range tests {
		if got := FormatAction(&tt.a); got != tt.want {
			t.Errorf("FormatAction(%+v) = %q, want %q", tt.a, got, tt.want)
		}
	}
}

// TestFormatParsesBack checks that flowtext parses what FormatAction and
// FormatMatch print, for every action and every field.
func TestFormatParsesBack(t *testing.T) {
	for _, a := range everyAction() {
		s := FormatAction(&a)
		got, err := flowtext.Actions(s)
		if err != nil {
			t.Errorf("flowtext.Actions(%q): %v", s, err)
			continue
		}
		if a.Type == pipeline.ActionOutput && a.Port != pipeline.PortController {
			a.MaxLen = pipeline.ControllerMaxLenNoBuffer // max_len means something for CONTROLLER only
		}
		if diff := cmp.Diff([]pipeline.Action{a}, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", s, diff)
		}
	}
	for _, f := range pipeline.Fields() {
		d := f.Desc()
		masks := [][]byte{nil}
		if d.Maskable {
			m := d.Ones()
			m[0] &= 0xf0
			masks = append(masks, m)
		}
		for _, mask := range masks {
			want := withPrereqs(f)
			v := sampleValue(f)
			if mask != nil {
				for i := range v {
					v[i] &= mask[i]
				}
			}
			want.Set(f, v, mask)
			s := FormatMatch(&want)
			got, err := flowtext.Flow(s + ",actions=drop")
			if err != nil {
				t.Errorf("flowtext.Flow(%q): %v", s, err)
				continue
			}
			if diff := cmp.Diff(want, got.Match); diff != "" {
				t.Errorf("%q (-want +got):\n%s", s, diff)
			}
		}
	}
}
