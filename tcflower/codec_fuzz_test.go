package tcflower

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// fuzzLinks names every ifindex, and back: ifindex N is "ifN", and 0 (what
// the kernel reports for a mirred whose device is gone) is "". With it a
// round trip tests the codec's part, the ifindex, whatever the index.
type fuzzLinks struct{}

func (fuzzLinks) linkName(idx uint32) (string, error) {
	if idx == 0 {
		return "", nil
	}
	return fmt.Sprintf("if%d", idx), nil
}

func (fuzzLinks) linkIndex(name string) (uint32, error) {
	if name == "" {
		return 0, nil
	}
	idx, err := strconv.ParseUint(strings.TrimPrefix(name, "if"), 10, 32)
	if err != nil || !strings.HasPrefix(name, "if") {
		return 0, &Error{Op: "look up device " + name, Errno: unix.ENODEV}
	}
	return uint32(idx), nil
}

// FuzzDecodeFilterMsg feeds arbitrary kernel messages to the decoder. It
// must return an error or a filter, never panic; and a filter it decodes
// without complaint (no error, no DecodeErr) must round-trip: it encodes,
// the encoding decodes to the same Filter (compared with cmp.Diff), and
// that encodes to the same bytes again.
func FuzzDecodeFilterMsg(f *testing.F) {
	for _, tc := range codecCases {
		b, err := encodeFilterMsg(testLinks, 7, &tc.f)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Filters as a kernel dumps them: stats, times, in_hw_count, the
	// chain head.
	f.Add(kernelFilterMsg("flower", 7, 0, 10, 1, vlanMirredFilter))
	f.Add(kernelFilterMsg("flower", 7, 1, 20, 2, policeFilter))
	f.Add(kernelFilterMsg("flower", 7, 3, 5, 0, nil))
	f.Add(kernelFilterMsg("flower", 7, 0, 5, 1, kernelMPLSFilter(1)))
	f.Fuzz(checkRoundTrip)
}

// checkRoundTrip decodes the kernel message b and, when it holds a filter
// Filter expresses, checks that the filter encodes, decodes back the same
// and encodes to the same bytes again.
func checkRoundTrip(t *testing.T, b []byte) {
	t.Helper()
	d, err := decodeFilterMsg(fuzzLinks{}, b)
	if err != nil || d.DecodeErr != nil {
		return
	}
	enc, err := encodeFilterMsg(fuzzLinks{}, 7, &d.Filter)
	if err != nil {
		t.Fatalf("a decoded filter does not encode: %v\nfilter: %+v", err, d.Filter)
	}
	again, err := decodeFilterMsg(fuzzLinks{}, enc)
	if err == nil {
		err = again.DecodeErr
	}
	if err != nil {
		t.Fatalf("re-decoding %x: %v", enc, err)
	}
	if diff := cmp.Diff(d.Filter, again.Filter, cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Fatalf("filter changed through encode (-first +second):\n%s", diff)
	}
	if enc2, err := encodeFilterMsg(fuzzLinks{}, 7, &again.Filter); err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("encoding is not stable: %x, then %x (%v)", enc, enc2, err)
	}
}

// kernelPoliceMsg is a filter with one policer as the kernel dumps it: a
// byte rate with its burst in ticks (rate 0: none), and a packet rate with
// its burst in ticks (pktRate 0: none).
func kernelPoliceMsg(rate uint64, burstTicks uint32, pktRate, pktBurstTicks uint64) []byte {
	return kernelFilterMsg("flower", 7, 0, 1, 1, func(o *netlink.AttributeEncoder) {
		o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
			tbf := le32(0, uint32(nl.TC_ACT_SHOT), 0, burstTicks, 0)
			tbf = nl.RateSpec{Rate: uint32(min(rate, math.MaxUint32))}.Append(tbf)
			tbf = append(tbf, make([]byte, 12+12)...) // peakrate, refcnt, bindcnt, capab
			l.Do(1, nested(encodeKernelAction(kernelAction{kind: "police", parms: tbf, extra: func(o *netlink.AttributeEncoder) {
				if rate > math.MaxUint32 {
					o.Uint64(nl.TCA_POLICE_RATE64, rate)
				}
				if pktRate != 0 {
					o.Uint64(nl.TCA_POLICE_PKTRATE64, pktRate)
					o.Uint64(nl.TCA_POLICE_PKTBURST64, pktBurstTicks)
				}
				o.Uint32(nl.TCA_POLICE_RESULT, nl.TC_ACT_PIPE)
			}})))
		}))
	})
}

// TestPoliceRoundTrip reads policers back at rates below and above one
// byte per 64 ns tick, with bursts of every few ticks, and installs them
// again: the burst must survive (the kernel keeps it in ticks, Police in
// bytes or packets).
func TestPoliceRoundTrip(t *testing.T) {
	rates := []uint64{1, 7, 1000, 1_000_000, 15_625_000, 20_000_000, 125_000_000, 724_847_174, 5_000_000_000}
	ticks := []uint64{1, 2, 3, 4, 5, 7, 8, 11, 12, 100, 1_562_500, 1 << 20, math.MaxUint32 - 1, math.MaxUint32}
	for _, rate := range rates {
		for _, tk := range ticks {
			t.Run(fmt.Sprintf("rate %d ticks %d", rate, tk), func(t *testing.T) {
				checkRoundTrip(t, kernelPoliceMsg(rate, uint32(tk), 0, 0))
				checkRoundTrip(t, kernelPoliceMsg(0, 0, rate, tk))
			})
		}
	}
}
