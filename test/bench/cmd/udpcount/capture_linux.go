package main

import (
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capture counts the IPv4 frames with one DSCP that an interface receives
// during a window.
type capture struct {
	fd    int
	done  chan struct{}
	pkts  uint64
	bytes uint64
	err   error
}

// ethPIP is ETH_P_IP in network byte order, as AF_PACKET wants it.
const ethPIP = 0x0008

func openCapture(ifname string, dscp uint8) (*capture, error) {
	ifc, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("look up interface: %w", err)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, ethPIP) // frames without the Ethernet header
	if err != nil {
		return nil, fmt.Errorf("open AF_PACKET socket: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 32<<20)
	// Only the frames of the DSCP reach the socket: the kernel filters
	// (offsets from the IP header on a SOCK_DGRAM socket).
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, K: 1},
		{Code: unix.BPF_ALU | unix.BPF_AND | unix.BPF_K, K: 0xfc},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(dscp) << 2},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0xffff},
		{Code: unix.BPF_RET | unix.BPF_K, K: 0},
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("attach the DSCP filter: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("ask for receive timestamps: %w", err)
	}
	tv := unix.NsecToTimeval(int64(100 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("set receive timeout: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: ethPIP, Ifindex: ifc.Index}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind AF_PACKET socket to %s: %w", ifname, err)
	}
	return &capture{fd: fd, done: make(chan struct{})}, nil
}

// start counts the frames that arrive from begin to end, by the kernel's
// receive timestamp: a receiver that runs late (the machine is busy)
// still counts what arrived in the window and nothing else.
func (c *capture) start(begin, end time.Time) {
	buf := make([]byte, 2048)
	oob := make([]byte, 64)
	b, e := begin.UnixNano(), end.UnixNano()
	go func() {
		defer close(c.done)
		for {
			n, oobn, _, from, err := unix.Recvmsg(c.fd, buf, oob, 0)
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				if time.Now().After(end.Add(time.Second)) {
					return // nothing more arrived after the window
				}
				continue
			}
			if err != nil {
				c.err = err
				return
			}
			if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
				continue
			}
			at, ok := rxTime(oob[:oobn])
			if !ok {
				c.err = errors.New("a frame without its receive timestamp")
				return
			}
			if at >= e {
				return
			}
			if at >= b {
				c.pkts++
				c.bytes += uint64(n) + 14 // the IP packet; count its Ethernet header too
			}
		}
	}()
}

// rxTime returns the SO_TIMESTAMPNS time in a message's control data.
func rxTime(oob []byte) (int64, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			ts := *(*unix.Timespec)(unsafe.Pointer(&m.Data[0]))
			return ts.Nano(), true
		}
	}
	return 0, false
}

// wait returns the frames and bytes counted once the window is over. A
// capture that lost frames (its socket queue overflowed) is an error: its
// count would be too low.
func (c *capture) wait() (pkts, bytes uint64, err error) {
	<-c.done
	if c.err != nil {
		return 0, 0, fmt.Errorf("capture: %w", c.err)
	}
	st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0, fmt.Errorf("capture statistics: %w", err)
	}
	if st.Drops > 0 {
		return 0, 0, fmt.Errorf("capture lost %d frames: the count would be low", st.Drops)
	}
	return c.pkts, c.bytes, nil
}

func (c *capture) close() { unix.Close(c.fd) }
