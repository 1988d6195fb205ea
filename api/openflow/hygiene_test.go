package openflow

import (
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/test/waitfor"
)

// fakeClock is a Clock that moves only when the test advances it.
type fakeClock struct {
	mu      sync.Mutex // guards the fields below
	now     time.Time
	tickers map[*fakeTicker]bool
}

type fakeTicker struct {
	c       chan time.Time // unbuffered: a send returns when the ticker's goroutine took it
	stopped chan struct{}
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Unix(1_000_000, 0), tickers: map[*fakeTicker]bool{}}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTicker(time.Duration) (<-chan time.Time, func()) {
	t := &fakeTicker{c: make(chan time.Time), stopped: make(chan struct{})}
	f.mu.Lock()
	f.tickers[t] = true
	f.mu.Unlock()
	var once sync.Once
	return t.c, func() {
		once.Do(func() {
			f.mu.Lock()
			delete(f.tickers, t)
			f.mu.Unlock()
			close(t.stopped)
		})
	}
}

func (f *fakeClock) numTickers() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.tickers)
}

// Advance moves the clock by d and has every ticker's goroutine handle a
// tick at the new time. Each ticker gets two ticks: its goroutine takes
// the second only after it handled the first, so when Advance returns
// every tick was handled (or the ticker stopped).
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	now := f.now
	var ts []*fakeTicker
	for t := range f.tickers {
		ts = append(ts, t)
	}
	f.mu.Unlock()
	for _, t := range ts {
		for range 2 {
			select {
			case t.c <- now:
			case <-t.stopped:
			}
		}
	}
}

// barrier sends BARRIER_REQUEST and reads up to its reply (every
// asynchronous message queued before it comes first), returning the
// types read before the reply.
func (rc *rawConn) barrier(xid uint32) []of.Type {
	rc.t.Helper()
	rc.send(ofwire.Marshal(of.TypeBarrierRequest, xid))
	var before []of.Type
	for {
		h, _ := rc.read()
		if h.Type == of.TypeBarrierReply && h.Xid == xid {
			return before
		}
		before = append(before, h.Type)
	}
}

// count counts typ among types.
func count(types []of.Type, typ of.Type) int {
	n := 0
	for _, t := range types {
		if t == typ {
			n++
		}
	}
	return n
}

// channelUp starts a switch on clk with mod, connects a raw controller and
// waits for its channel's probe timer.
func channelUp(t *testing.T, clk *fakeClock, mod func(*Config)) (*Switch, *fakeDatapath, *rawConn) {
	t.Helper()
	dp := newFakeDatapath()
	s, addr := startSwitch(t, dp, func(c *Config) {
		c.Clock = clk
		mod(c)
	})
	rc := dialRaw(t, addr)
	rc.echo(1) // past the handshake
	waitfor.True(t, 5*time.Second, "the channel's timer", func() bool { return clk.numTickers() == 1 })
	settled(t, s)
	return s, dp, rc
}

// settled waits until the channel of s has finished handling the
// messages it got (their answers read, or their receipt seen in
// lastRecv): a tick after it sees the channel idle since the last one.
func settled(t *testing.T, s *Switch) {
	t.Helper()
	waitfor.True(t, 5*time.Second, "the channel's requests handled", func() bool { return !s.snapshotConns()[0].busy.Load() })
}

// TestInactivityProbe: a channel that receives nothing for the probe
// interval N is sent ECHO_REQUEST; answered, it stays and is probed again
// after N more; unanswered, it is dropped 2N after the last message, not
// before.
func TestInactivityProbe(t *testing.T) {
	const n = 5 * time.Second
	clk := newFakeClock()
	s, _, rc := channelUp(t, clk, func(c *Config) { c.InactivityProbe = n })
	lastRecv := func() int64 { return s.snapshotConns()[0].lastRecv.Load() }

	clk.Advance(n - time.Millisecond)
	if got := rc.barrier(2); count(got, of.TypeEchoRequest) != 0 {
		t.Fatalf("idle for N-1ms: got %v, want no ECHO_REQUEST", got)
	} // the barrier request is the last message received: idle from here
	settled(t, s)

	clk.Advance(n)
	h, body := rc.read()
	if h.Type != of.TypeEchoRequest {
		t.Fatalf("idle for N: got message type %d, want ECHO_REQUEST", h.Type)
	}
	clk.Advance(n - time.Millisecond)
	if s.Stats().Connections != 1 {
		t.Fatal("dropped after 2N-1ms of silence, want after 2N")
	}

	// The answer keeps the channel: idle again from the reply.
	rc.send(ofwire.Marshal(of.TypeEchoReply, h.Xid, body))
	replied := clk.Now().UnixNano()
	waitfor.True(t, 5*time.Second, "the echo reply handled", func() bool {
		return lastRecv() == replied && !s.snapshotConns()[0].busy.Load()
	})
	clk.Advance(n)
	if s.Stats().Connections != 1 {
		t.Fatal("dropped although the probe was answered")
	}
	if h, _ := rc.read(); h.Type != of.TypeEchoRequest {
		t.Fatalf("idle for N after the reply: got message type %d, want ECHO_REQUEST", h.Type)
	}

	// Unanswered: dropped at 2N after the reply, not before.
	clk.Advance(n - time.Millisecond)
	if s.Stats().Connections != 1 {
		t.Fatal("dropped 2N-1ms after the reply, want after 2N")
	}
	clk.Advance(time.Millisecond)
	if s.Stats().Connections != 0 {
		t.Fatal("not dropped after 2N without an answer")
	}
	if _, _, err := rc.tryRead(5 * time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("read after the drop: %v, want EOF", err)
	}
}

// TestInactivityProbeDisabled: with the probe off a silent channel is
// never probed nor dropped.
func TestInactivityProbeDisabled(t *testing.T) {
	clk := newFakeClock()
	s, _, rc := channelUp(t, clk, func(c *Config) { c.InactivityProbe = NoInactivityProbe })
	for range 3 {
		clk.Advance(time.Hour)
	}
	if s.Stats().Connections != 1 {
		t.Fatal("a silent channel was dropped with the probe off")
	}
	if got := rc.barrier(2); count(got, of.TypeEchoRequest) != 0 {
		t.Fatalf("got %v, want no ECHO_REQUEST with the probe off", got)
	}
}

// TestPacketInRateLimit: with controller_rate_limit R and burst B a
// channel flooded with packet-ins gets exactly B + R*t of them over t
// seconds; the rest are dropped and counted for its target. Misses and
// the other reasons have a bucket each, and a long silence fills a bucket
// only up to B.
func TestPacketInRateLimit(t *testing.T) {
	const rate, burst = 100, 25
	clk := newFakeClock()
	s, dp, rc := channelUp(t, clk, func(c *Config) {
		c.InactivityProbe = NoInactivityProbe // the clock jumps by an hour below
		c.PacketInRate, c.PacketInBurst = rate, burst
		c.PacketInQueue = 1000
	})
	miss := &offload.PacketIn{Reason: ReasonNoMatch, InPort: 1, Data: make([]byte, 60)}
	action := &offload.PacketIn{Reason: ReasonAction, InPort: 1, Data: make([]byte, 60)}
	emit := func(pi *offload.PacketIn, n int) {
		for range n {
			dp.emit(pi)
		}
	}
	target := s.Channels()[0].Target

	// A flood over one second, in steps of 10 ms (one token each).
	emit(miss, 4*burst)
	for range 100 {
		clk.Advance(10 * time.Millisecond)
		emit(miss, 3)
	}
	if got, want := count(rc.barrier(2), of.TypePacketIn), burst+rate*1; got != want {
		t.Errorf("misses delivered over 1 s: %d, want burst + rate*1s = %d", got, want)
	}
	sent := 4*burst + 3*100
	if got, want := s.RateLimitDrops(), map[string]uint64{target: uint64(sent - (burst + rate))}; !cmp.Equal(got, want) {
		t.Errorf("RateLimitDrops = %v, want %v", got, want)
	}

	// The other reasons have their own bucket, full.
	emit(action, burst+5)
	if got := count(rc.barrier(3), of.TypePacketIn); got != burst {
		t.Errorf("action packet-ins delivered: %d, want the burst %d", got, burst)
	}

	// An hour of silence fills the bucket to the burst, no more.
	clk.Advance(time.Hour)
	emit(miss, 10*burst)
	if got := count(rc.barrier(4), of.TypePacketIn); got != burst {
		t.Errorf("misses delivered after an hour: %d, want the burst %d", got, burst)
	}
	wantDrops := uint64(sent-(burst+rate)) + 5 + 9*burst
	if got := s.Stats().RateLimitDrops; got != wantDrops {
		t.Errorf("Stats().RateLimitDrops = %d, want %d", got, wantDrops)
	}
	if got := s.Stats().PacketInDrops; got != 0 {
		t.Errorf("PacketInDrops (queue full) = %d, want 0", got)
	}
}

// TestPacketInUnlimited: without a rate, and on a management target
// (Open vSwitch's br0.mgmt) with one, every packet-in goes.
func TestPacketInUnlimited(t *testing.T) {
	for _, tt := range []struct {
		name string
		mod  func(*Config)
	}{
		{"no rate", func(*Config) {}},
		{"management target", func(c *Config) { c.PacketInRate, c.ManagementTargets = 100, c.Targets }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			clk := newFakeClock()
			s, dp, rc := channelUp(t, clk, func(c *Config) {
				c.PacketInQueue = 1000
				tt.mod(c)
			})
			for range 500 {
				dp.emit(&offload.PacketIn{Reason: ReasonNoMatch, InPort: 1, Data: make([]byte, 60)})
			}
			if got := count(rc.barrier(2), of.TypePacketIn); got != 500 {
				t.Errorf("delivered %d of 500", got)
			}
			if d := s.RateLimitDrops(); len(d) != 0 {
				t.Errorf("RateLimitDrops = %v", d)
			}
		})
	}
}

func TestTokenBucket(t *testing.T) {
	start := time.Unix(0, 0)
	b := newTokenBucket(1000, 3, start)
	var got []bool
	for _, at := range []time.Duration{0, 0, 0, 0, time.Millisecond, time.Millisecond, 1500 * time.Microsecond, 2 * time.Millisecond, time.Second, time.Second, time.Second, time.Second} {
		got = append(got, b.take(start.Add(at)))
	}
	want := []bool{true, true, true, false, true, false, false, true, true, true, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("takes (-want +got):\n%s", diff)
	}
	if DefaultBurst(100) != 25 || DefaultBurst(3) != 1 {
		t.Errorf("DefaultBurst(100) = %d, DefaultBurst(3) = %d; want 25 and 1", DefaultBurst(100), DefaultBurst(3))
	}
}

// TestBackoff: the reconnect delay doubles up to its cap, each wait is
// jittered down by up to a quarter, and a channel that lasted longer than
// the cap starts it again from the minimum.
func TestBackoff(t *testing.T) {
	waits := func(b *backoff, n int) []time.Duration {
		var out []time.Duration
		for range n {
			out = append(out, b.wait())
		}
		return out
	}
	none := func(int64) int64 { return 0 }
	most := func(n int64) int64 { return n - 1 }
	s := time.Second
	b := newBackoff(s, 8*s, none)
	if diff := cmp.Diff([]time.Duration{s, 2 * s, 4 * s, 8 * s, 8 * s, 8 * s}, waits(b, 6)); diff != "" {
		t.Errorf("waits without jitter (-want +got):\n%s", diff)
	}
	b = newBackoff(s, 8*s, most)
	if diff := cmp.Diff([]time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * s, 6 * s, 6 * s}, waits(b, 5)); diff != "" {
		t.Errorf("waits with the most jitter (-want +got):\n%s", diff)
	}

	// With the real generator every wait lies in [3/4 d, d], and they vary.
	b = newBackoff(s, 8*s, rand.Int64N)
	seen := map[time.Duration]bool{}
	for i, w := range waits(b, 200) {
		d := min(s<<min(i, 3), 8*s)
		if w < d-d/4 || w > d {
			t.Fatalf("wait %d = %v, want within [%v, %v]", i, w, d-d/4, d)
		}
		seen[w] = true
	}
	if len(seen) < 100 {
		t.Errorf("%d distinct waits of 200: no jitter", len(seen))
	}

	// A long-lived channel starts again from the minimum, a short one
	// does not.
	b = newBackoff(s, 8*s, none)
	waits(b, 3)
	b.connected(8 * s)
	if w := b.wait(); w != 8*s {
		t.Errorf("after a channel of 8s (not longer than the cap) wait %v, want 8s", w)
	}
	b.connected(9 * s)
	if diff := cmp.Diff([]time.Duration{s, 2 * s}, waits(b, 2)); diff != "" {
		t.Errorf("after a channel of 9s (-want +got):\n%s", diff)
	}
}
