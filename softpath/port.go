package softpath

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// PortStats are a port's counters as the fast path saw them.
type PortStats struct {
	RxPackets, TxPackets uint64
	RxBytes, TxBytes     uint64
	RxDropped, TxDropped uint64 // lost before the pipeline (ring full); outputs to a down port
	RxErrors, TxErrors   uint64 // failed reads; frames WriteBatch failed to send
}

// port is one port of the datapath.
type port struct {
	no   uint32
	name string
	io   PacketIO
	live atomic.Bool
	cfg  atomic.Uint32 // PortConfig bits (portNoRecv, ...)
	done chan struct{} // closed when the reader stopped

	closeOnce sync.Once
	closeErr  error

	rxPackets, rxBytes, rxErrors atomic.Uint64
	txPackets, txBytes           atomic.Uint64
	txDropped, txErrors          atomic.Uint64
}

func (p *port) close() error {
	p.closeOnce.Do(func() { p.closeErr = p.io.Close() })
	return p.closeErr
}

// AddPort adds port number no, live, reading and writing through io. If the
// datapath runs, its reader starts at once. The datapath owns io from now on
// and closes it when the port is removed or Run ends.
func (d *Datapath) AddPort(no uint32, name string, io PacketIO) error {
	if no == 0 || no > pipeline.PortMax && no != pipeline.PortLocal {
		return fmt.Errorf("add port %d (%s): invalid port number", no, name)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stopped {
		return fmt.Errorf("add port %d (%s): datapath stopped", no, name)
	}
	t := d.pt.Load()
	if _, ok := t.byNo[no]; ok {
		return fmt.Errorf("add port %d (%s): port exists", no, name)
	}
	p := &port{no: no, name: name, io: io, done: make(chan struct{})}
	p.live.Store(true)
	d.pt.Store(t.with(p))
	if d.running {
		d.startReader(p)
	}
	return nil
}

// RemovePort removes port no, closes its PacketIO and waits for its reader
// to stop.
func (d *Datapath) RemovePort(no uint32) error {
	d.mu.Lock()
	t := d.pt.Load()
	p, ok := t.byNo[no]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("remove port %d: no such port", no)
	}
	d.pt.Store(t.without(no))
	running := d.running
	d.mu.Unlock()
	p.live.Store(false)
	err := p.close()
	if running {
		<-p.done
	}
	if err != nil {
		return fmt.Errorf("remove port %d (%s): %w", no, p.name, err)
	}
	return nil
}

// SetPortLive marks a port up or down. Down ports get no output (FLOOD, ALL,
// NORMAL skip them) and fail fast-failover watches.
func (d *Datapath) SetPortLive(no uint32, up bool) {
	if p, ok := d.pt.Load().byNo[no]; ok {
		p.live.Store(up)
	}
}

// PortConfig is what OpenFlow's port config bits (OFPPC_*, OFPT_PORT_MOD)
// ask of the fast path for one port; OFPPC_PORT_DOWN is SetPortLive's.
type PortConfig struct {
	// NoRecv drops every packet received on the port.
	NoRecv bool
	// NoFwd drops every packet forwarded to the port (counted as
	// transmit drops, like outputs to a port that is down).
	NoFwd bool
	// NoPacketIn sends no packet-in for a packet received on the port.
	NoPacketIn bool
}

// The bits of port.cfg.
const (
	portNoRecv uint32 = 1 << iota
	portNoFwd
	portNoPacketIn
)

// SetPortConfig sets port no's config, in force for every packet processed
// after it returns.
func (d *Datapath) SetPortConfig(no uint32, c PortConfig) {
	p, ok := d.pt.Load().byNo[no]
	if !ok {
		return
	}
	var bits uint32
	if c.NoRecv {
		bits |= portNoRecv
	}
	if c.NoFwd {
		bits |= portNoFwd
	}
	if c.NoPacketIn {
		bits |= portNoPacketIn
	}
	p.cfg.Store(bits)
}

// PortConfig returns port no's config (zero for an unknown port).
func (d *Datapath) PortConfig(no uint32) PortConfig {
	p, ok := d.pt.Load().byNo[no]
	if !ok {
		return PortConfig{}
	}
	bits := p.cfg.Load()
	return PortConfig{NoRecv: bits&portNoRecv != 0, NoFwd: bits&portNoFwd != 0, NoPacketIn: bits&portNoPacketIn != 0}
}

// PortLive reports whether port no exists and is live.
func (d *Datapath) PortLive(no uint32) bool {
	p, ok := d.pt.Load().byNo[no]
	return ok && p.live.Load()
}

// PortStats returns the counters of port no (zero for an unknown port).
func (d *Datapath) PortStats(no uint32) PortStats {
	p, ok := d.pt.Load().byNo[no]
	if !ok {
		return PortStats{}
	}
	s := PortStats{
		RxPackets: p.rxPackets.Load(), RxBytes: p.rxBytes.Load(), RxErrors: p.rxErrors.Load(),
		TxPackets: p.txPackets.Load(), TxBytes: p.txBytes.Load(),
		TxDropped: p.txDropped.Load(), TxErrors: p.txErrors.Load(),
	}
	if dc, ok := p.io.(DropCounter); ok {
		s.RxDropped = dc.RxDropped()
	}
	return s
}

// readErrorBackoff is the pause after a failed read, so a port whose reads
// keep failing (interface down) does not spin.
const readErrorBackoff = 10 * time.Millisecond

// readLoop reads p until its PacketIO is closed.
func (w *worker) readLoop(p *port) {
	frames := make([]Frame, w.d.cfg.BatchSize)
	for i := range frames {
		frames[i].Buf = make([]byte, defaultBufSize)
	}
	for {
		n, err := p.io.ReadBatch(frames)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return
			}
			p.rxErrors.Add(1)
			if n == 0 {
				time.Sleep(readErrorBackoff)
				continue
			}
		}
		w.begin()
		noRecv := p.cfg.Load()&portNoRecv != 0
		var bytes uint64
		for i := 0; i < n; i++ {
			f := &frames[i]
			if f.Len > len(f.Buf) {
				f.Len = len(f.Buf)
			}
			bytes += uint64(f.Len)
			if !noRecv {
				w.receive(p.no, f.Buf[:f.Len], f.Time)
			}
		}
		p.rxPackets.Add(uint64(n))
		p.rxBytes.Add(bytes)
		w.flush()
	}
}
