//go:build linux

// Package afpacket is a softpath.PacketIO over a Linux AF_PACKET socket: a
// TPACKET_V2 memory-mapped receive ring (frames are handed to the datapath
// in place, without copies) and sendmmsg for batched transmission.
//
// The socket is bound to one interface, in promiscuous mode, and does not
// see the frames it sends itself (PACKET_IGNORE_OUTGOING, or a filter on
// the packet type on older kernels). Frames whose checksum the kernel left
// to offload (veth and other virtual devices hand over CHECKSUM_PARTIAL
// packets) get their TCP/UDP checksum or SCTP CRC32c completed in software
// (the kernel's SCTP stack leaves the CRC zero on veth, which offers
// NETIF_F_SCTP_CRC); VLAN tags the kernel stripped (VLAN acceleration) are
// put back into the frame.
//
// The ring's frame size follows the interface MTU. Larger frames (GRO or
// GSO aggregates, e.g. TCP from a veth peer with TSO on) do not fit: they
// are dropped and counted in RxDropped. Turn off GRO on the port and
// TSO/GSO on the senders behind it (test/netns does for its veths).
//
// TPACKET_V2 rather than V3: V3 hands over whole blocks, retired when full or
// after a timeout of at least a jiffy, which adds milliseconds of latency at
// low rates; V2 wakes the reader per frame and is as fast under load for
// MTU-sized frames.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline and
// github.com/nicflow/nicflow/softpath/..., go.uber.org/zap.
package afpacket

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Options tune a socket. The zero value is good.
type Options struct {
	// Frames is the number of receive ring slots (default 4096).
	Frames int
	// FrameSize is a ring slot's size, a power of two; default: the
	// smallest that holds an MTU-sized frame with two VLAN tags and room to
	// push more.
	FrameSize int
	// NoPromisc leaves the interface out of promiscuous mode.
	NoPromisc bool
	// QdiscBypass sends straight to the driver, skipping the interface's
	// qdisc (and tc egress rules): faster, but invisible to tc.
	QdiscBypass bool
	// NoReceive opens a send-only socket: it is bound to no protocol, so
	// the kernel hands it no frame, and ReadBatch only waits for Close.
	// For ports whose received frames reach the fast path another way
	// (the tc tier's miss device).
	NoReceive bool
}

// Socket is an AF_PACKET socket bound to one interface. ReadBatch must be
// called from one goroutine at a time; WriteBatch and Close may be called
// from any goroutine, concurrently with ReadBatch.
type Socket struct {
	name      string
	ifindex   int
	mtu       int
	fd        int
	efd       int // eventfd that wakes a blocked ReadBatch on Close
	ring      []byte
	frameSize int
	frames    int

	// Receive state, owned by the reader.
	next     int   // next ring slot to look at
	held     []int // slots handed out in the last batch
	pollfds  [2]unix.PollFd
	ignoreOu bool // kernel ignores our outgoing frames (else filter by pkttype)
	noRx     bool // send-only (Options.NoReceive)

	mu       sync.Mutex // guards the fields below
	closed   bool
	reading  bool // a ReadBatch is running or its frames are held
	released bool // fd, eventfd and ring are gone

	txMu   sync.Mutex // guards tx and serializes sendmmsg
	txMsgs []unix.Mmsghdr
	txIovs []unix.Iovec

	oversized atomic.Uint64 // frames larger than a ring slot, dropped
	ringDrops atomic.Uint64 // from PACKET_STATISTICS, accumulated
}

// Default sizes.
const (
	defaultFrames = 4096
	ringHdrLen    = 80         // TPACKET_ALIGN(tpacket2_hdr + sockaddr_ll) + 16-byte MAC slack
	slack         = 8 + 8 + 14 // two VLAN tags, room to push, Ethernet header
)

// Open opens an AF_PACKET socket on interface ifname.
func Open(ifname string, opts Options) (*Socket, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("afpacket open %s: %w", ifname, err)
	}
	s := &Socket{name: ifname, ifindex: ifi.Index, mtu: ifi.MTU, fd: -1, efd: -1}
	if err := s.open(opts); err != nil {
		s.release()
		return nil, fmt.Errorf("afpacket open %s: %w", ifname, err)
	}
	return s, nil
}

func (s *Socket) open(opts Options) error {
	s.frames = opts.Frames
	if s.frames <= 0 {
		s.frames = defaultFrames
	}
	s.frameSize = opts.FrameSize
	if s.frameSize <= 0 {
		s.frameSize = 2048
		for s.frameSize < ringHdrLen+s.mtu+slack {
			s.frameSize *= 2
		}
	}
	if s.frameSize&(s.frameSize-1) != 0 || s.frameSize < 256 {
		return fmt.Errorf("frame size %d is not a power of two >= 256", s.frameSize)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket: %w", err)
	}
	s.fd = fd
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V2); err != nil {
		return fmt.Errorf("set TPACKET_V2: %w", err)
	}
	s.ignoreOu = unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1) == nil
	if opts.QdiscBypass {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_QDISC_BYPASS, 1); err != nil {
			return fmt.Errorf("set PACKET_QDISC_BYPASS: %w", err)
		}
	}
	s.noRx = opts.NoReceive
	if s.noRx {
		return s.openSendOnly(opts)
	}
	// Blocks of at least 128 KiB (a multiple of the page and frame sizes).
	block := max(s.frameSize, 128<<10)
	perBlock := block / s.frameSize
	nblocks := (s.frames + perBlock - 1) / perBlock
	s.frames = nblocks * perBlock
	req := unix.TpacketReq{Block_size: uint32(block), Block_nr: uint32(nblocks), Frame_size: uint32(s.frameSize), Frame_nr: uint32(s.frames)}
	if err := unix.SetsockoptTpacketReq(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fmt.Errorf("set PACKET_RX_RING %+v: %w", req, err)
	}
	s.ring, err = unix.Mmap(fd, 0, block*nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED|unix.MAP_POPULATE)
	if err != nil {
		s.ring, err = unix.Mmap(fd, 0, block*nblocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		return fmt.Errorf("mmap ring: %w", err)
	}
	sa := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return s.finishOpen(opts)
}

// openSendOnly binds the socket to protocol 0 (no frame is delivered to
// it) and to the interface, for sending.
func (s *Socket) openSendOnly(opts Options) error {
	if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: 0, Ifindex: s.ifindex}); err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	return s.finishOpen(opts)
}

// finishOpen sets promiscuous mode (so the device accepts every frame for
// the switch, whoever reads it) and the eventfd that wakes ReadBatch.
func (s *Socket) finishOpen(opts Options) error {
	if !opts.NoPromisc {
		mr := unix.PacketMreq{Ifindex: int32(s.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mr); err != nil {
			return fmt.Errorf("set promiscuous: %w", err)
		}
	}
	var err error
	s.efd, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return fmt.Errorf("eventfd: %w", err)
	}
	s.pollfds = [2]unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(s.efd), Events: unix.POLLIN}}
	s.held = make([]int, 0, 256)
	return nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Name returns the interface name.
func (s *Socket) Name() string { return s.name }

// MTU returns the interface MTU seen at Open.
func (s *Socket) MTU() int { return s.mtu }

// Close wakes a blocked ReadBatch and makes it and WriteBatch fail with
// net.ErrClosed. The ring is unmapped once no batch is held: at once if the
// reader is idle, else by the reader's next ReadBatch.
func (s *Socket) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	reading := s.reading
	s.mu.Unlock()
	if reading {
		var one = [8]byte{1}
		if _, err := unix.Write(s.efd, one[:]); err != nil {
			return fmt.Errorf("afpacket close %s: wake reader: %w", s.name, err)
		}
		return nil
	}
	s.release()
	return nil
}

// release frees the socket's kernel resources (once).
func (s *Socket) release() {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.released {
		return
	}
	s.released = true
	if s.ring != nil {
		_ = unix.Munmap(s.ring)
		s.ring = nil
	}
	if s.fd >= 0 {
		_ = unix.Close(s.fd)
	}
	if s.efd >= 0 {
		_ = unix.Close(s.efd)
	}
}

// RxDropped returns the frames lost before ReadBatch: ring overflows and
// frames too large for a ring slot.
func (s *Socket) RxDropped() uint64 {
	s.mu.Lock()
	if !s.released {
		if st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			s.ringDrops.Add(uint64(st.Drops))
		}
	}
	s.mu.Unlock()
	return s.oversized.Load() + s.ringDrops.Load()
}

// Oversized returns how many frames were dropped because they did not fit
// a ring slot (GRO/GSO aggregates, frames above the MTU): unlike ring
// overflows, these are lost to every retransmission too.
func (s *Socket) Oversized() uint64 { return s.oversized.Load() }
