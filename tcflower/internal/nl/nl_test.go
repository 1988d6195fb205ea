package nl

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mdlayher/netlink"
)

func TestEncoderMatchesMdlayher(t *testing.T) {
	// The same attributes encoded by mdlayher/netlink, an independent
	// encoder, must give the same bytes.
	e := NewEncoder(nil)
	e.U8(1, 0xab)
	e.U16(2, 0x1234)
	e.BE16(3, 0x0800)
	e.U32(4, 0xdeadbeef)
	e.BE32(5, 0x0a000001)
	e.U64(6, 1<<40)
	e.String(7, "flower")
	n := e.Nest(8)
	e.Put(1, []byte{1, 2, 3, 4, 5, 6})
	e.End(n)

	ae := netlink.NewAttributeEncoder()
	ae.Uint8(1, 0xab)
	ae.Uint16(2, 0x1234)
	ae.Bytes(3, []byte{0x08, 0x00})
	ae.Uint32(4, 0xdeadbeef)
	ae.Bytes(5, []byte{10, 0, 0, 1})
	ae.Uint64(6, 1<<40)
	ae.String(7, "flower")
	ae.Do(8, func() ([]byte, error) {
		inner := netlink.NewAttributeEncoder()
		inner.Bytes(1, []byte{1, 2, 3, 4, 5, 6})
		return inner.Encode()
	})
	want, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hex.EncodeToString(want), hex.EncodeToString(e.Bytes())); diff != "" {
		t.Errorf("encoded attributes (-want +got):\n%s", diff)
	}
}

func TestParseTable(t *testing.T) {
	e := NewEncoder(nil)
	e.BE16(8, 0x8100)
	e.U32(22, 9)
	e.BE16(8, 0x0800) // a later attribute of the same type wins
	e.String(2, "veth0")
	e.Put(9, []byte{1}) // too short for a u32
	n := e.Nest(3 | FlagNested)
	e.U8(1, 7)
	e.End(n)
	tb, err := Parse(e.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if got := tb.BE16(8); got != 0x0800 {
		t.Errorf("BE16(8) = %#x, want 0x0800", got)
	}
	if got := tb.U32(22); got != 9 {
		t.Errorf("U32(22) = %d, want 9", got)
	}
	if got := tb.String(2); got != "veth0" {
		t.Errorf("String(2) = %q", got)
	}
	if tb.Has(4) || !tb.Has(3) {
		t.Errorf("Has(4) = %v, Has(3) = %v; want false, true (flag bits cleared)", tb.Has(4), tb.Has(3))
	}
	inner, err := tb.Nested(3)
	if err != nil || inner.U8(1) != 7 {
		t.Errorf("nested U8 = %d, %v; want 7", inner.U8(1), err)
	}
	if tb.Err() != nil {
		t.Fatalf("Err before a bad read = %v", tb.Err())
	}
	if got := tb.U32(9); got != 0 || !errors.Is(tb.Err(), ErrTruncated) {
		t.Errorf("U32 of a 1-byte attribute = %d, Err %v; want 0, ErrTruncated", got, tb.Err())
	}
}

func TestSplitTruncated(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":     {8, 0},
		"length too big":   {12, 0, 1, 0, 0, 0, 0, 0},
		"length too small": {2, 0, 1, 0},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Split(b); !errors.Is(err, ErrTruncated) {
				t.Errorf("Split = %v, want ErrTruncated", err)
			}
		})
	}
}

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
		if got := TicksToSize(c.rate, uint64(ticks)); got != c.size {
			t.Errorf("rate %d size %d: %d ticks back to %d", c.rate, c.size, ticks, got)
		}
	}
}
