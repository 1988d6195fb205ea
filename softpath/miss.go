package softpath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// MissTPID is the TPID of the tag that carries a frame's OpenFlow in_port
// on a miss source: the tc tier's miss filters push an 802.1ad tag whose
// VID is the port number, then redirect the frame to the miss device.
const MissTPID = 0x88a8

// MaxMissPort is the highest port number a miss tag can carry (a VID).
const MaxMissPort = 0xfff

// missSource is a PacketIO whose frames arrive tagged with their in_port.
type missSource struct {
	name string
	io   PacketIO
	done chan struct{}

	bad atomic.Uint64 // frames without a valid miss tag or port
}

// MissDropped returns how many frames of miss sources were dropped for
// lack of a valid miss tag or of the port it names.
func (d *Datapath) MissDropped() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	var n uint64
	for _, m := range d.missSources {
		n += m.bad.Load()
	}
	return n
}

// AddMissSource adds a source of frames that belong to the datapath's
// ports: the tc tier's miss device. Every frame carries its OpenFlow
// in_port as the VID of an outer 802.1ad tag (MissTPID); the reader strips
// the tag and runs the pipeline from table 0 as if the frame had arrived on
// that port, whose receive counters it also counts. Frames without such a
// tag, or for a port the datapath does not have, are dropped. While a miss
// source carries a port's frames, the port's own PacketIO must not deliver
// them too (open it send-only). The datapath owns io and closes it when Run
// ends. Add miss sources before Run.
func (d *Datapath) AddMissSource(name string, io PacketIO) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.running || d.stopped {
		return fmt.Errorf("add miss source %s: the datapath already runs", name)
	}
	d.missSources = append(d.missSources, &missSource{name: name, io: io, done: make(chan struct{})})
	return nil
}

// startMissReader starts the reader of m. d.mu is held.
func (d *Datapath) startMissReader(m *missSource) {
	d.readers.Add(1)
	go func() {
		defer d.readers.Done()
		defer close(m.done)
		newWorker(d).missLoop(m)
	}()
}

// missLoop reads m until its PacketIO is closed.
func (w *worker) missLoop(m *missSource) {
	frames := make([]Frame, w.d.cfg.BatchSize)
	for i := range frames {
		frames[i].Buf = make([]byte, defaultBufSize)
	}
	for {
		n, err := m.io.ReadBatch(frames)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			if n == 0 {
				time.Sleep(readErrorBackoff)
				continue
			}
		}
		w.begin()
		for i := 0; i < n; i++ {
			f := &frames[i]
			frame := f.Buf[:min(f.Len, len(f.Buf))]
			no, inner, ok := untagMiss(frame)
			p := w.ports.byNo[no]
			if !ok || p == nil {
				m.bad.Add(1)
				continue
			}
			p.rxPackets.Add(1)
			p.rxBytes.Add(uint64(len(inner)))
			if p.cfg.Load()&portNoRecv == 0 {
				w.receive(no, inner, f.Time)
			}
		}
		w.flush()
	}
}

// untagMiss strips the outer miss tag of frame in place and returns the
// port number it carried and the frame without it.
func untagMiss(frame []byte) (port uint32, inner []byte, ok bool) {
	if len(frame) < 18 || binary.BigEndian.Uint16(frame[12:]) != MissTPID {
		return 0, nil, false
	}
	port = uint32(binary.BigEndian.Uint16(frame[14:]) & 0xfff)
	copy(frame[4:16], frame[0:12])
	return port, frame[4:], true
}
