//go:build linux

package afpacket_test

import (
	"encoding/binary"
	"errors"
	"os"
	"strconv"
	"strings"
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
	sent := time.Now().UnixNano()
	if err := x.WriteBatch(batch); err != nil {
		t.Fatalf("WriteBatch: %v", err)
	}
	if got := recv(); got != n {
		t.Fatalf("received %d frames, want %d", got, n)
	}
	// Each frame carries the kernel's receive time (meters measure by it):
	// after it was sent, before it was read.
	read := time.Now().UnixNano()
	if at := frames[0].Time; at < sent || at > read {
		t.Errorf("frame time %d, want between the send (%d) and the read (%d)", at, sent, read)
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
	// witness is an ordinary socket on s0 beside the send-only s.
	var s, r, witness *afpacket.Socket
	if err := ns.Do(func() (err error) {
		if witness, err = afpacket.Open("s0", afpacket.Options{}); err != nil {
			return err
		}
		if s, err = afpacket.Open("s0", afpacket.Options{NoReceive: true}); err != nil {
			return err
		}
		r, err = afpacket.Open("r0", afpacket.Options{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer witness.Close()
	// s0 sends to r0, and r0 sends back: r0 gets the first, the witness
	// on s0 the second.
	if err := s.WriteBatch([][]byte{udpFrame(1)}); err != nil {
		t.Fatalf("send-only WriteBatch: %v", err)
	}
	frames := make([]softpath.Frame, 8)
	if n, err := r.ReadBatch(frames); err != nil || n != 1 || binary.BigEndian.Uint16(frames[0].Buf[34:]) != 1 {
		t.Fatalf("receiver got %d frames (%v), want the one sent", n, err)
	}
	got := make(chan int, 1)
	errc := make(chan error, 1)
	go func() {
		n, err := s.ReadBatch(make([]softpath.Frame, 8))
		got <- n
		errc <- err
	}()
	if err := r.WriteBatch([][]byte{udpFrame(2)}); err != nil {
		t.Fatal(err)
	}
	if n, err := witness.ReadBatch(frames); err != nil || n != 1 || binary.BigEndian.Uint16(frames[0].Buf[34:]) != 2 {
		t.Fatalf("witness on s0 got %d frames (%v), want the one r0 sent", n, err)
	}
	// The frame reached s0's packet sockets; the kernel hands frames only
	// to those with a receive hook, and of the two on s0 only the witness
	// has one.
	if running := runningPacketSockets(t, ns, ns.Link(t, "s0").Attrs().Index); running != 1 {
		t.Errorf("%d packet sockets on s0 receive frames, want 1 (the witness, not the send-only socket)", running)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if err := <-errc; n != 0 || !errors.Is(err, softpath.ErrClosed) {
			t.Errorf("send-only ReadBatch returned %d frames (%v), want none and ErrClosed", n, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not unblock the send-only ReadBatch")
	}
}

// runningPacketSockets counts the packet sockets bound to ifindex in ns
// that the kernel hands received frames (column R of /proc/net/packet:
// a protocol hook is registered).
func runningPacketSockets(t *testing.T, ns *netns.NS, ifindex int) int {
	t.Helper()
	var table []byte
	if err := ns.Do(func() (err error) {
		// thread-self: /proc/net is the main thread's namespace.
		table, err = os.ReadFile("/proc/thread-self/net/packet")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// sk RefCnt Type Proto Iface R Rmem User Inode
	n := 0
	for _, line := range strings.Split(string(table), "\n")[1:] {
		if f := strings.Fields(line); len(f) >= 6 && f[4] == strconv.Itoa(ifindex) && f[5] == "1" {
			n++
		}
	}
	return n
}
