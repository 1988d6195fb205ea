//go:build linux

package afpacket

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/softpath"
)

// WriteBatch implements softpath.PacketIO with sendmmsg. Frames that the
// kernel refuses (larger than the MTU, interface down) are skipped; the
// error then reports how many were lost.
func (s *Socket) WriteBatch(frames [][]byte) error {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.mu.Lock()
	closed := s.closed || s.released
	s.mu.Unlock()
	if closed {
		return fmt.Errorf("afpacket write %s: %w", s.name, softpath.ErrClosed)
	}
	if cap(s.txMsgs) < len(frames) {
		s.txMsgs = make([]unix.Mmsghdr, len(frames))
		s.txIovs = make([]unix.Iovec, len(frames))
	}
	msgs, iovs := s.txMsgs[:0], s.txIovs[:len(frames)]
	for i, f := range frames {
		if len(f) == 0 {
			continue
		}
		iovs[i].Base = &f[0]
		iovs[i].SetLen(len(f))
		msgs = append(msgs, unix.Mmsghdr{Hdr: unix.Msghdr{Iov: &iovs[i], Iovlen: 1}})
	}
	var lost int
	var lastErr error
	for sent := 0; sent < len(msgs); {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&msgs[sent])), uintptr(len(msgs)-sent), 0, 0, 0)
		switch {
		case e == 0:
			sent += int(r)
		case errors.Is(e, unix.EINTR):
		default:
			// The message at sent failed: skip it.
			lost++
			lastErr = e
			sent++
		}
	}
	for i := range iovs {
		iovs[i].Base = nil
	}
	if lost > 0 {
		return fmt.Errorf("afpacket write %s: %d of %d frames lost: %w", s.name, lost, len(frames), lastErr)
	}
	return nil
}
