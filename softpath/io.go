package softpath

import "net"

// Frame is one received frame: Buf[:Len] holds its bytes.
type Frame struct {
	Buf []byte
	Len int
	// Time is when the frame arrived, in unix ns of the datapath's clock
	// (Config.Now); 0: not known, the time the batch is processed stands
	// in. Meters measure rates by it, so a reader that falls behind (the
	// frames wait in its ring) does not see them bunched. An implementation
	// that knows the arrival time (a kernel timestamp) sets it on every
	// frame.
	Time int64
}

// PacketIO is one port's packet I/O (AF_PACKET now, AF_XDP later).
//
// ReadBatch blocks until at least one frame arrived or the PacketIO is
// closed, then fills frames[:n]. An implementation either copies a frame into
// frames[i].Buf (when it is large enough) or points Buf at memory of its own
// (a ring); either way the bytes stay valid, and may be modified in place,
// until the next ReadBatch call. Spare capacity after Buf[:Len] is used to
// grow frames (push_vlan); the datapath copies a frame that has too little.
// After Close, ReadBatch returns an error wrapping net.ErrClosed.
//
// WriteBatch sends frames; it does not keep them after it returns. It must be
// safe to call from several goroutines at once and concurrently with
// ReadBatch (every port's reader may output to every port).
type PacketIO interface {
	ReadBatch(frames []Frame) (int, error)
	WriteBatch(frames [][]byte) error
	Close() error
}

// DropCounter is implemented by a PacketIO that knows how many frames it
// lost before the datapath read them (a full ring); PortStats reports them
// as receive drops.
type DropCounter interface {
	RxDropped() uint64
}

// ErrClosed is the error ReadBatch wraps after Close.
var ErrClosed = net.ErrClosed
