// Package memio is an in-memory softpath.PacketIO for tests and benchmarks:
// frames injected with Inject (or InjectAt, with arrival times) are read by
// the datapath, frames the datapath writes are recorded and can be waited
// for.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/offload/pipeline and
// github.com/nicflow/nicflow/softpath/..., go.uber.org/zap.
package memio

import (
	"fmt"
	"sync"
	"time"

	"github.com/nicflow/nicflow/softpath"
)

// Port is an in-memory port. Safe for concurrent use.
type Port struct {
	mu     sync.Mutex // guards the fields below
	cond   *sync.Cond
	rx     [][]byte
	rxAt   []int64 // arrival time of each frame in rx (0: none)
	sent   [][]byte
	closed bool
}

// New returns an open port with nothing to read.
func New() *Port {
	p := &Port{}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// Inject queues frames for the datapath to read (copies them).
func (p *Port) Inject(frames ...[]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range frames {
		p.rx = append(p.rx, append([]byte(nil), f...))
		p.rxAt = append(p.rxAt, 0)
	}
	p.cond.Broadcast()
}

// InjectAt queues frames that arrived at the given times (unix ns, the
// datapath's clock), as a port with kernel timestamps reports them
// (softpath.Frame.Time). len(at) must be len(frames).
func (p *Port) InjectAt(at []int64, frames ...[]byte) {
	if len(at) != len(frames) {
		panic("memio: InjectAt needs one time per frame")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, f := range frames {
		p.rx = append(p.rx, append([]byte(nil), f...))
		p.rxAt = append(p.rxAt, at[i])
	}
	p.cond.Broadcast()
}

// ReadBatch implements softpath.PacketIO.
func (p *Port) ReadBatch(frames []softpath.Frame) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.rx) == 0 && !p.closed {
		p.cond.Wait()
	}
	if p.closed {
		return 0, fmt.Errorf("memio read: %w", softpath.ErrClosed)
	}
	n := 0
	for ; n < len(frames) && n < len(p.rx); n++ {
		f := p.rx[n]
		if cap(frames[n].Buf) < len(f)+64 {
			frames[n].Buf = make([]byte, len(f)+64)
		}
		frames[n].Buf = frames[n].Buf[:cap(frames[n].Buf)]
		frames[n].Len = copy(frames[n].Buf, f)
		frames[n].Time = p.rxAt[n]
	}
	p.rx = p.rx[n:]
	p.rxAt = p.rxAt[n:]
	return n, nil
}

// WriteBatch implements softpath.PacketIO: it records copies of frames.
func (p *Port) WriteBatch(frames [][]byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return fmt.Errorf("memio write: %w", softpath.ErrClosed)
	}
	for _, f := range frames {
		p.sent = append(p.sent, append([]byte(nil), f...))
	}
	p.cond.Broadcast()
	return nil
}

// Close implements softpath.PacketIO.
func (p *Port) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	p.cond.Broadcast()
	return nil
}

// Sent returns the frames written so far and forgets them.
func (p *Port) Sent() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.sent
	p.sent = nil
	return s
}

// WaitSent waits until at least n frames were written or timeout passed,
// then returns the frames written so far and forgets them.
func (p *Port) WaitSent(n int, timeout time.Duration) [][]byte {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() {
		p.mu.Lock()
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer t.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.sent) < n && time.Now().Before(deadline) && !p.closed {
		p.cond.Wait()
	}
	s := p.sent
	p.sent = nil
	return s
}
