package main

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sender is an AF_PACKET socket bound to one interface.
type sender struct{ fd int }

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

func openSender(ifindex int) (*sender, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	// Transmit only: protocol 0 receives nothing. Bypassing the qdisc is an
	// optimisation; older kernels may refuse it.
	_ = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1)
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifindex}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind AF_PACKET socket to ifindex %d: %w", ifindex, err)
	}
	return &sender{fd: fd}, nil
}

func (s *sender) close() { unix.Close(s.fd) }

// blast sends frames round-robin, batch at a time (paced by p), until the
// deadline, and returns how many the kernel accepted. A full queue
// (ENOBUFS, EAGAIN) is not an error: the sender just tries again.
func (s *sender) blast(frames [][]byte, batch int, p *pacer, deadline time.Time) (uint64, error) {
	iovs := make([]unix.Iovec, batch)
	msgs := make([]mmsghdr, batch)
	next := 0
	var sent uint64
	for n := 0; ; n++ {
		if (p != nil || n%64 == 0) && time.Now().After(deadline) {
			return sent, nil
		}
		count := batch
		if p != nil {
			if count = p.wait(sent, batch); count == 0 {
				continue
			}
		}
		msgs := msgs[:count]
		for i := range msgs {
			f := frames[next]
			next = (next + 1) % len(frames)
			iovs[i].Base = &f[0]
			iovs[i].SetLen(len(f))
			msgs[i].hdr = unix.Msghdr{Iov: &iovs[i], Iovlen: 1}
		}
		r, _, errno := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(s.fd),
			uintptr(unsafe.Pointer(&msgs[0])), uintptr(len(msgs)), 0, 0, 0)
		if errno != 0 {
			if errors.Is(errno, unix.ENOBUFS) || errors.Is(errno, unix.EAGAIN) || errors.Is(errno, unix.EINTR) {
				continue
			}
			return sent, fmt.Errorf("sendmmsg: %w", errno)
		}
		sent += uint64(r)
	}
}
