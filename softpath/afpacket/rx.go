//go:build linux

package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/softpath"
)

// Offsets in a TPACKET_V2 ring slot: the tpacket2_hdr, then sockaddr_ll.
const (
	sllOffset     = 32 // TPACKET_ALIGN(sizeof(tpacket2_hdr))
	pkttypeOffset = sllOffset + 10
	sllEnd        = sllOffset + 20
)

// ReadBatch implements softpath.PacketIO. The frames point into the ring
// and stay valid until the next ReadBatch; each has the rest of its ring
// slot as spare capacity.
func (s *Socket) ReadBatch(frames []softpath.Frame) (int, error) {
	s.mu.Lock()
	if s.closed {
		s.reading = false
		s.mu.Unlock()
		s.release()
		return 0, fmt.Errorf("afpacket read %s: %w", s.name, softpath.ErrClosed)
	}
	s.reading = true
	s.mu.Unlock()

	s.returnHeld()
	fds := s.pollfds[:]
	if s.noRx {
		fds = s.pollfds[1:] // only the wake-up on Close
	}
	for {
		if n := s.collect(frames); n > 0 {
			return n, nil
		}
		s.returnHeld() // slots of frames we skipped
		s.pollfds[0].Revents, s.pollfds[1].Revents = 0, 0
		_, err := unix.Poll(fds, -1)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("afpacket read %s: poll: %w", s.name, err)
		}
		if s.pollfds[1].Revents != 0 {
			s.mu.Lock()
			s.reading = false
			s.mu.Unlock()
			s.release()
			return 0, fmt.Errorf("afpacket read %s: %w", s.name, softpath.ErrClosed)
		}
		if s.pollfds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			// POLLERR: a pending socket error (e.g. the device went down);
			// reading it clears it.
			_, serr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			return 0, fmt.Errorf("afpacket read %s: socket error: %w", s.name, serr)
		}
	}
}

// status returns a pointer to the tp_status word of ring slot i.
func (s *Socket) status(i int) *uint32 {
	return (*uint32)(unsafe.Pointer(&s.ring[i*s.frameSize]))
}

// returnHeld hands the slots of the last batch back to the kernel.
func (s *Socket) returnHeld() {
	for _, i := range s.held {
		atomic.StoreUint32(s.status(i), unix.TP_STATUS_KERNEL)
	}
	s.held = s.held[:0]
}

// collect takes the frames the kernel filled, up to len(frames).
func (s *Socket) collect(frames []softpath.Frame) int {
	n := 0
	if s.noRx {
		return 0
	}
	for n < len(frames) {
		st := atomic.LoadUint32(s.status(s.next))
		if st&unix.TP_STATUS_USER == 0 {
			break
		}
		slot := s.ring[s.next*s.frameSize : (s.next+1)*s.frameSize : (s.next+1)*s.frameSize]
		s.held = append(s.held, s.next)
		if s.next++; s.next == s.frames {
			s.next = 0
		}
		if f := s.frame(slot, st); f != nil {
			h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&slot[0]))
			frames[n].Buf = f
			frames[n].Len = len(f)
			// The kernel's receive timestamp (CLOCK_REALTIME): meters
			// measure by it.
			frames[n].Time = int64(h.Sec)*1e9 + int64(h.Nsec)
			n++
		}
	}
	return n
}

// frame returns the frame in a ring slot, with its VLAN tag restored and
// its checksum completed, or nil to skip it.
func (s *Socket) frame(slot []byte, st uint32) []byte {
	h := (*unix.Tpacket2Hdr)(unsafe.Pointer(&slot[0]))
	if !s.ignoreOu && slot[pkttypeOffset] == unix.PACKET_OUTGOING {
		return nil
	}
	mac, n := int(h.Mac), int(h.Snaplen)
	if n < int(h.Len) || mac+n > len(slot) {
		s.oversized.Add(1) // larger than a slot: truncated
		return nil
	}
	if st&unix.TP_STATUS_VLAN_VALID != 0 && mac-4 >= sllEnd && n >= 12 {
		tpid := uint16(0x8100)
		if st&unix.TP_STATUS_VLAN_TPID_VALID != 0 && h.Vlan_tpid != 0 {
			tpid = h.Vlan_tpid
		}
		copy(slot[mac-4:mac+8], slot[mac:mac+12])
		binary.BigEndian.PutUint16(slot[mac+8:], tpid)
		binary.BigEndian.PutUint16(slot[mac+10:], h.Vlan_tci)
		mac -= 4
		n += 4
	}
	f := slot[mac : mac+n]
	if st&unix.TP_STATUS_CSUMNOTREADY != 0 {
		completeChecksum(f)
	}
	return f
}
