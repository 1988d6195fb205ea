//go:build linux

package afpacket_test

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/test/netns"
)

// pair opens sockets on both ends of a veth pair inside one namespace.
func pair(tb testing.TB, frames int) (x, y *afpacket.Socket) {
	tb.Helper()
	ns := netns.New(tb, "hp2p")
	ns.Sysctl(tb, "net.ipv6.conf.all.disable_ipv6", "1")
	ns.Sysctl(tb, "net.ipv6.conf.default.disable_ipv6", "1")
	netns.Veth(tb, "x0", ns, "y0", ns)
	ns.NoSegmentation(tb, "x0")
	ns.NoSegmentation(tb, "y0")
	if err := ns.Do(func() (err error) {
		if x, err = afpacket.Open("x0", afpacket.Options{Frames: frames}); err != nil {
			return err
		}
		y, err = afpacket.Open("y0", afpacket.Options{Frames: frames})
		return err
	}); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { x.Close(); y.Close() })
	return x, y
}

func udpFrame(seq int) []byte {
	b := make([]byte, 60)
	copy(b, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00, 0x45})
	b[22], b[23] = 64, 17
	binary.BigEndian.PutUint16(b[16:], 46)
	copy(b[26:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(b[34:], uint16(seq))
	binary.BigEndian.PutUint16(b[36:], 9)
	binary.BigEndian.PutUint16(b[38:], 26)
	return b
}

func TestSocketBatchesAndClose(t *testing.T) {
	x, y := pair(t, 256)
	const n = 32
	batch := make([][]byte, n)
	for i := range batch {
		batch[i] = udpFrame(i)
	}
	frames := make([]softpath.Frame, 64)
	recv := func() int {
		got := 0
		for got < n {
			k, err := y.ReadBatch(frames)
			if err != nil {
				t.Fatalf("ReadBatch: %v", err)
			}
			for _, f := range frames[:k] {
				if f.Len == 60 && binary.BigEndian.Uint16(f.Buf[36:]) == 9 {
					got++
				}
			}
		}
		return got
	}
	if err := x.WriteBatch(batch); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	if got := recv(); got != n {
		t.Fatalf("received %d frames, want %d", got, n)
	}
	if cap(frames[0].Buf)-frames[0].Len < 8 {
		t.Errorf("frame has %d bytes of spare capacity, want >= 8", cap(frames[0].Buf)-frames[0].Len)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := x.WriteBatch(batch); err != nil {
			t.Fatalf("WriteBatch: %v", err)
		}
		recv()
	})
	if allocs != 0 {
		t.Errorf("a write and read of %d frames allocates %v times", n, allocs)
	}

	// Close unblocks a blocked reader.
	errc := make(chan error, 1)
	go func() {
		_, err := y.ReadBatch(frames)
		errc <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := y.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, softpath.ErrClosed) {
			t.Errorf("ReadBatch after Close: %v, want ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock ReadBatch")
	}
	if err := y.WriteBatch(batch); !errors.Is(err, softpath.ErrClosed) {
		t.Errorf("WriteBatch after Close: %v, want ErrClosed", err)
	}
}

// TestSendOnlySocketSendsAndReceivesNothing checks Options.NoReceive: the
// socket sends, is handed no frame (the tc tier's miss device delivers
// the port's frames instead), and Close still ends a blocked ReadBatch.
func TestSendOnlySocketSendsAndReceivesNothing(t *testing.T) {
	ns := netns.New(t, "hsend")
	ns.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
	ns.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
	netns.Veth(t, "s0", ns, "r0", ns)
	var s, r *afpacket.Socket
	if err := ns.Do(func() (err error) {
		if s, err = afpacket.Open("s0", afpacket.Options{NoReceive: true}); err != nil {
			return err
		}
		r, err = afpacket.Open("r0", afpacket.Options{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// s0 sends to r0, and r0 sends back: r0 gets the first, s0 reads nothing.
	if err := s.WriteBatch([][]byte{udpFrame(1)}); err != nil {
		t.Fatalf("send-only WriteBatch: %v", err)
	}
	frames := make([]softpath.Frame, 8)
	if n, err := r.ReadBatch(frames); err != nil || n != 1 || binary.BigEndian.Uint16(frames[0].Buf[34:]) != 1 {
		t.Fatalf("receiver got %d frames (%v), want the one sent", n, err)
	}
	if err := r.WriteBatch([][]byte{udpFrame(2)}); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		n, _ := s.ReadBatch(frames)
		got <- n
	}()
	select {
	case n := <-got:
		t.Fatalf("send-only socket read %d frames", n)
	case <-time.After(200 * time.Millisecond):
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 0 {
			t.Errorf("ReadBatch after Close returned %d frames", n)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not unblock the send-only ReadBatch")
	}
}
