package ofwire

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// fuzzSeeds are FLOW_MOD bodies, matches and action lists that use every
// field (exact and masked, with its prerequisites) and every action type.
func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		AppendFlowMod(nil, sampleFlowMod()),
		rawMatch(oxmIPv4, oxmTCP, oxm(14, false, 0, 80)),
		AppendActions(nil, everyAction()),
		{0, 1, 0, 4, 0, 0, 0, 0},
		rawMatch(oxmInPort1, oxm(1, false, 0, 0, 0, 1)),
	}
	for _, f := range pipeline.Fields() {
		d := f.Desc()
		masks := [][]byte{nil}
		if d.Maskable {
			m := d.Ones()
			m[len(m)-1] &= 0xf0
			masks = append(masks, m)
		}
		for _, mask := range masks {
			fm := sampleFlowMod()
			fm.Match = withPrereqs(f)
			v := sampleValue(f)
			if mask != nil {
				for i := range v {
					v[i] &= mask[i]
				}
			}
			fm.Match.Set(f, v, mask)
			seeds = append(seeds, AppendFlowMod(nil, fm), AppendMatch(nil, &fm.Match))
		}
	}
	for _, a := range everyAction() {
		fm := sampleFlowMod()
		fm.Instr = pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{a},
			HasWrite: true, Write: []pipeline.Action{a}}
		seeds = append(seeds, AppendFlowMod(nil, fm), AppendAction(nil, &a))
	}
	return seeds
}

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and a
// FLOW_MOD, a match or an action list that decodes must encode to bytes
// that decode the same and encode again identically.
func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeInstructions(b)
		DecodeGroupMod(b)
		DecodeMeterMod(b)
		DecodePacketOut(b)
		DecodePortMod(b)
		DecodeTableMod(b)
		DecodeMultipart(b)
		DecodeFlowStatsRequest(b)
		DecodeFlowStats(b)
		DecodeTableFeatures(b)
		DecodePacketIn(b)
		HelloSupports13(Header{Version: 4}, b)
		if m, _, err := DecodeMatch(b); err == nil {
			roundTrip(t, "match", m, func(m pipeline.Match) []byte { return AppendMatch(nil, &m) },
				func(b []byte) (pipeline.Match, error) {
					m, k, err := DecodeMatch(b)
					if err == nil && k != len(b) {
						t.Fatalf("match of %d bytes decoded from %d", k, len(b))
					}
					return m, err
				})
		}
		if acts, err := DecodeActions(b); err == nil {
			roundTrip(t, "actions", acts, func(a []pipeline.Action) []byte { return AppendActions(nil, a) }, DecodeActions)
		}
		if fm, err := DecodeFlowMod(b); err == nil {
			roundTrip(t, "flow_mod", fm, func(fm *pipeline.FlowMod) []byte { return AppendFlowMod(nil, fm) }, DecodeFlowMod)
		}
	})
}

// roundTrip encodes v, decodes the result, compares it with v and checks
// that encoding the copy gives the same bytes.
func roundTrip[T any](t *testing.T, what string, v T, enc func(T) []byte, dec func([]byte) (T, error)) {
	t.Helper()
	b := enc(v)
	again, err := dec(b)
	if err != nil {
		t.Fatalf("re-decoding %s %x: %v", what, b, err)
	}
	if diff := cmp.Diff(v, again, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s changed through encode (-first +second):\n%s", what, diff)
	}
	if !bytes.Equal(enc(again), b) {
		t.Fatalf("%s encoding is not stable", what)
	}
}

// TestFuzzSeedsDecode checks that the seeds are valid, so the fuzzer starts
// from every field and action rather than from errors.
func TestFuzzSeedsDecode(t *testing.T) {
	ok := 0
	for _, s := range fuzzSeeds() {
		_, err1 := DecodeFlowMod(s)
		_, _, err2 := DecodeMatch(s)
		_, err3 := DecodeActions(s)
		if err1 == nil || err2 == nil || err3 == nil {
			ok++
		} else {
			t.Errorf("seed %x decodes as nothing: %v / %v / %v", s, err1, err2, err3)
		}
	}
	if ok < 2*len(pipeline.Fields()) {
		t.Errorf("only %d seeds", ok)
	}
}
