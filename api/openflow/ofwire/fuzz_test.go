package ofwire

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzDecode feeds arbitrary bytes to every decoder: none may panic, and a
// FLOW_MOD that decodes must encode to a body that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(AppendFlowMod(nil, sampleFlowMod()))
	f.Add(rawMatch(oxmIPv4, oxmTCP, oxm(14, false, 0, 80)))
	f.Add(AppendActions(nil, everyAction()))
	f.Add([]byte{0, 1, 0, 4, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		DecodeMatch(b)
		DecodeActions(b)
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
		fm, err := DecodeFlowMod(b)
		if err != nil {
			return
		}
		enc := AppendFlowMod(nil, fm)
		again, err := DecodeFlowMod(enc)
		if err != nil {
			t.Fatalf("re-decoding %x: %v", enc, err)
		}
		if diff := cmp.Diff(fm, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("flow_mod changed through encode (-first +second):\n%s", diff)
		}
		if !bytes.Equal(AppendFlowMod(nil, again), enc) {
			t.Fatalf("encoding is not stable")
		}
	})
}
