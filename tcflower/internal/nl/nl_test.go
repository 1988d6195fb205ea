package nl

import (
	"encoding/binary"
	"encoding/hex"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTcMsg(t *testing.T) {
	m := TcMsg{Ifindex: TCMIfindexMagicBlock, Handle: 1, Parent: 7, Info: Info(10, ETH_P_ALL)}
	b := m.Append(nil)
	want := "00000000" + "ffffffff" + "01000000" + "07000000" + "0003" + "0a00"
	if got := hex.EncodeToString(b); got != want {
		t.Errorf("tcmsg = %s, want %s", got, want)
	}
	got, rest, err := ParseTcMsg(append(b, 1, 2))
	if err != nil || len(rest) != 2 {
		t.Fatalf("ParseTcMsg: %v, rest %d bytes", err, len(rest))
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("ParseTcMsg (-want +got):\n%s", diff)
	}
	if pref, proto := SplitInfo(got.Info); pref != 10 || proto != ETH_P_ALL {
		t.Errorf("SplitInfo = %d, %#x; want 10, 0x3", pref, proto)
	}
}

func TestRateTable(t *testing.T) {
	// 1 MB/s: a 2047-byte MTU gives cell_log 3; entry i is the time to send
	// (i+1)*8 bytes: 8 bytes at 1e6 B/s = 8 us = 125 ticks of 64 ns.
	r, tab := RateTable(1_000_000)
	if r.CellLog != 3 || r.Rate != 1_000_000 || r.LinkLayer != 1 || r.CellAlign != -1 {
		t.Errorf("rate spec = %+v", r)
	}
	if len(tab) != TC_RTAB_SIZE {
		t.Fatalf("table of %d bytes, want %d", len(tab), TC_RTAB_SIZE)
	}
	for i, want := range map[int]uint32{0: 125, 1: 250, 255: 32000} {
		if got := binary.NativeEndian.Uint32(tab[4*i:]); got != want {
			t.Errorf("rtab[%d] = %d, want %d", i, got, want)
		}
	}
	if r, _ := RateTable(1 << 33); r.Rate != 0xFFFFFFFF {
		t.Errorf("rate of 2^33 B/s saturates to %#x, want 0xffffffff", r.Rate)
	}
	if got := r.Append(nil); len(got) != 12 || ParseRateSpec(got) != r {
		t.Errorf("rate spec round trip: %x -> %+v", got, ParseRateSpec(got))
	}
}

func TestXmitTicksRoundTrip(t *testing.T) {
	for _, c := range []struct{ rate, size uint64 }{
		{1_000_000, 10_000}, {12_345, 1000}, {125_000_000, 64 << 10}, {1000, 10}, {7, 3},
	} {
		ticks := XmitTicks(c.rate, c.size)
		if got, ok := TicksToSize(c.rate, uint64(ticks)); !ok || got != c.size {
			t.Errorf("rate %d size %d: %d ticks back to %d (%v)", c.rate, c.size, ticks, got, ok)
		}
	}
}

// TestTicksToSizeFixedPoint checks that a size read back from ticks takes
// those ticks again (when a size takes exactly that many: at a unit per
// tick and more) and reads back the same: what a policer's burst goes
// through when it is dumped and installed again.
func TestTicksToSizeFixedPoint(t *testing.T) {
	for _, rate := range []uint64{1, 7, 1000, 1_000_000, 15_625_000, 20_000_000, 724_847_174, 5_000_000_000, 1 << 62} {
		for ticks := uint64(0); ticks < 3000; ticks++ {
			size, ok := TicksToSize(rate, ticks)
			if !ok {
				t.Fatalf("rate %d: %d ticks: no size", rate, ticks)
			}
			again := XmitTicks(rate, size)
			if rate >= 15_625_000 && uint64(again) != ticks { // 1e9/64 units per second: one per tick
				t.Errorf("rate %d: %d ticks -> size %d -> %d ticks", rate, ticks, size, again)
			}
			if back, _ := TicksToSize(rate, uint64(again)); back != size {
				t.Errorf("rate %d: %d ticks -> size %d -> %d ticks -> size %d", rate, ticks, size, again, back)
			}
			if size > 0 && XmitTicks(rate, size-1) >= uint32(ticks) {
				t.Errorf("rate %d: %d ticks -> size %d, but %d takes as long", rate, ticks, size, size-1)
			}
		}
	}
	if _, ok := TicksToSize(0, 1); ok {
		t.Error("TicksToSize(0, 1): ok, want no size at rate 0")
	}
	if _, ok := TicksToSize(1000, math.MaxUint32+1); ok {
		t.Error("TicksToSize past 2^32-1 ticks: ok, want no size")
	}
}
