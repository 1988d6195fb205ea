//go:build linux

package afpacket_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/afpacket"
	"github.com/nicflow/nicflow/test/netns"
)

// topo is two hosts, a (10.77.0.1) and b (10.77.0.2), each in its own
// namespace, wired to ports 1 and 2 of a datapath whose AF_PACKET sockets
// live in a third namespace.
type topo struct {
	a, b, sw *netns.NS
	d        *softpath.Datapath
	socks    map[uint32]*afpacket.Socket
}

func newTopo(t testing.TB) *topo {
	t.Helper()
	tp := &topo{a: netns.New(t, "hp2a"), b: netns.New(t, "hp2b"), sw: netns.New(t, "hp2s")}
	for _, n := range []*netns.NS{tp.a, tp.b, tp.sw} {
		n.Sysctl(t, "net.ipv6.conf.all.disable_ipv6", "1")
		n.Sysctl(t, "net.ipv6.conf.default.disable_ipv6", "1")
	}
	netns.Veth(t, "a0", tp.a, "sa", tp.sw)
	netns.Veth(t, "b0", tp.b, "sb", tp.sw)
	tp.a.NoSegmentation(t, "a0")
	tp.b.NoSegmentation(t, "b0")
	tp.sw.NoSegmentation(t, "sa")
	tp.sw.NoSegmentation(t, "sb")
	tp.a.Addr(t, "a0", "10.77.0.1/24")
	tp.b.Addr(t, "b0", "10.77.0.2/24")

	tp.d = softpath.New(softpath.Config{})
	tp.socks = make(map[uint32]*afpacket.Socket)
	for no, dev := range map[uint32]string{1: "sa", 2: "sb"} {
		var s *afpacket.Socket
		if err := tp.sw.Do(func() (err error) {
			s, err = afpacket.Open(dev, afpacket.Options{Frames: 512})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if err := tp.d.AddPort(no, dev, s); err != nil {
			t.Fatal(err)
		}
		tp.socks[no] = s
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tp.d.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("datapath Run: %v", err)
		}
	})
	return tp
}

func (tp *topo) ping(count int) error {
	_, err := tp.a.Run("ping", "-c", itoa(count), "-i", "0.2", "-W", "1", "10.77.0.2")
	return err
}

func itoa(n int) string { return strconv.Itoa(n) }

type flows struct {
	tables [pipeline.NumTables][]*pipeline.Flow
	id     uint64
}

// snapshot returns the flows added so far as a snapshot.
func (f *flows) snapshot() *pipeline.Snapshot {
	return pipeline.SnapshotOf([pipeline.NumTables][]*pipeline.Flow{0: slices.Clone(f.tables[0])}, nil, nil)
}

func (f *flows) add(prio uint16, inPort uint32, proto uint8, in pipeline.Instructions, extra ...func(*pipeline.Match)) *pipeline.Flow {
	var m pipeline.Match
	m.Set(pipeline.FieldInPort, binary.BigEndian.AppendUint32(nil, inPort), nil)
	if proto != 0 {
		m.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
		m.Set(pipeline.FieldIPProto, []byte{proto}, nil)
	}
	for _, e := range extra {
		e(&m)
	}
	f.id++
	fl := &pipeline.Flow{ID: f.id, Priority: prio, Match: m, Instr: &in, Counters: &pipeline.Counters{}}
	f.tables[0] = append(f.tables[0], fl)
	sort.SliceStable(f.tables[0], func(i, j int) bool { return f.tables[0][i].Priority > f.tables[0][j].Priority })
	return fl
}

func out(port uint32, pre ...pipeline.Action) pipeline.Instructions {
	return pipeline.Instructions{Apply: append(pre, pipeline.Output(port)), HasApply: true}
}

func TestPingLearningSwitch(t *testing.T) {
	tp := newTopo(t)
	if err := tp.ping(1); err == nil {
		t.Fatal("ping succeeded with miss policy drop and no flows")
	}
	tp.d.SetMissPolicy(softpath.MissNormal)
	if err := tp.ping(3); err != nil {
		t.Fatalf("ping through the learning switch: %v", err)
	}
}

func TestFlowsCountersAndDrop(t *testing.T) {
	tp := newTopo(t)
	f := &flows{}
	ab := f.add(10, 1, pipeline.ProtoICMP, out(2))
	ba := f.add(10, 2, pipeline.ProtoICMP, out(1))
	f.add(5, 1, 0, out(2))
	f.add(5, 2, 0, out(1))
	tp.d.Install(f.snapshot())
	if err := tp.ping(5); err != nil {
		t.Fatalf("ping with output flows: %v", err)
	}
	if a, b := ab.Counters.Packets.Load(), ba.Counters.Packets.Load(); a != 5 || b != 5 {
		t.Errorf("icmp flow packets a->b %d, b->a %d; want 5 each", a, b)
	}
	if st := tp.d.PortStats(1); st.RxPackets < 5 || st.TxPackets < 5 {
		t.Errorf("port 1 stats %+v, want at least 5 packets each way", st)
	}

	drop := f.add(20, 1, pipeline.ProtoICMP, pipeline.Instructions{})
	tp.d.Install(f.snapshot())
	if err := tp.ping(2); err == nil {
		t.Error("ping succeeded through a drop flow")
	}
	if n := drop.Counters.Packets.Load(); n != 2 {
		t.Errorf("drop flow packets %d, want 2", n)
	}
}

func TestUDPSetFieldChecksum(t *testing.T) {
	tp := newTopo(t)
	tp.d.SetMissPolicy(softpath.MissNormal)
	// a sends to 10.77.0.99 (b's MAC); the flow rewrites it to b's address.
	tp.a.IP(t, "neigh", "add", "10.77.0.99", "lladdr", tp.b.MAC(t, "b0"), "dev", "a0")
	f := &flows{}
	rw := f.add(30, 1, pipeline.ProtoUDP, out(2, pipeline.SetField(pipeline.FieldIPv4Dst, []byte{10, 77, 0, 2})),
		func(m *pipeline.Match) { m.Set(pipeline.FieldIPv4Dst, []byte{10, 77, 0, 99}, nil) })
	tp.d.Install(f.snapshot())

	// Capture on b0 with a raw socket of our own.
	var capt *afpacket.Socket
	if err := tp.b.Do(func() (err error) {
		capt, err = afpacket.Open("b0", afpacket.Options{Frames: 64, NoPromisc: true})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	go func() {
		frames := make([]softpath.Frame, 8)
		for {
			n, err := capt.ReadBatch(frames)
			if err != nil {
				return
			}
			for _, fr := range frames[:n] {
				b := fr.Buf[:fr.Len]
				if len(b) >= 42 && b[23] == pipeline.ProtoUDP && binary.BigEndian.Uint16(b[36:]) == 9999 {
					got <- append([]byte(nil), b...)
				}
			}
		}
	}()
	t.Cleanup(func() { capt.Close() })

	// b listens, to see the kernel accepts it too.
	var ln net.PacketConn
	if err := tp.b.Do(func() (err error) {
		ln, err = net.ListenPacket("udp4", "10.77.0.2:9999")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conn net.Conn
	if err := tp.a.Do(func() (err error) {
		conn, err = net.Dial("udp4", "10.77.0.99:9999")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	payload := []byte("hello through nicflow")
	if _, err := conn.Write(payload); err != nil {
		t.Fatal(err)
	}

	select {
	case b := <-got:
		if dst := net.IP(b[30:34]).String(); dst != "10.77.0.2" {
			t.Errorf("ipv4_dst on the wire %s, want 10.77.0.2", dst)
		}
		if !checksumsOK(b) {
			t.Errorf("bad IPv4 or UDP checksum in % x", b)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no rewritten UDP frame reached b0")
	}
	buf := make([]byte, 100)
	_ = ln.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := ln.ReadFrom(buf)
	if err != nil || !bytes.Equal(buf[:n], payload) {
		t.Errorf("b's UDP socket read %q, %v; want %q", buf[:n], err, payload)
	}
	if n := rw.Counters.Packets.Load(); n != 1 {
		t.Errorf("rewrite flow packets %d, want 1", n)
	}
}

// checksumsOK verifies the IPv4 header and UDP checksums of an untagged
// Ethernet/IPv4/UDP frame.
func checksumsOK(b []byte) bool {
	ip := b[14:]
	ihl := int(ip[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(ip[2:]))
	u := ip[ihl:total]
	var ps uint32
	for i := 12; i < 20; i += 2 {
		ps += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	ps += uint32(ip[9]) + uint32(len(u))
	return sum16(ip[:ihl], 0) == 0xffff && sum16(u, ps) == 0xffff
}

func sum16(b []byte, s uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}

func TestTCPAcross(t *testing.T) {
	tp := newTopo(t)
	tp.d.SetMissPolicy(softpath.MissNormal)
	var ln net.Listener
	if err := tp.b.Do(func() (err error) {
		ln, err = net.Listen("tcp4", "10.77.0.2:7777")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c) // echo
	}()
	var conn net.Conn
	if err := tp.a.Do(func() (err error) {
		conn, err = net.DialTimeout("tcp4", "10.77.0.2:7777", 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	data := make([]byte, 4<<20)
	_, _ = rand.Read(data)
	errc := make(chan error, 1)
	go func() {
		_, err := conn.Write(data)
		errc <- err
	}()
	back := make([]byte, len(data))
	if _, err := io.ReadFull(conn, back); err != nil {
		t.Fatalf("read echo: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("write: %v", err)
	}
	if !bytes.Equal(data, back) {
		t.Fatal("echoed data differs")
	}
	st := tp.d.PortStats(1)
	t.Logf("4 MiB echoed over TCP; port 1 stats %+v", st)
	// Ring overflows may happen on a loaded machine (TCP recovers); frames
	// too large for a slot mean segmentation offload leaked through.
	for no, s := range tp.socks {
		if n := s.Oversized(); n != 0 {
			t.Errorf("port %d dropped %d oversized frames", no, n)
		}
	}
}
