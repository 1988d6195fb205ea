package softpath_test

import (
	"encoding/binary"
	"maps"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
)

var (
	macA  = [6]byte{2, 0, 0, 0, 0, 0xa}
	macB  = [6]byte{2, 0, 0, 0, 0, 0xb}
	bcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
)

// udp4 builds an Ethernet/IPv4/UDP frame with valid checksums.
func udp4(src, dst [6]byte, sip, dip uint32, sport, dport uint16, payload int) []byte {
	b := make([]byte, 14+20+8+payload)
	copy(b[0:6], dst[:])
	copy(b[6:12], src[:])
	binary.BigEndian.PutUint16(b[12:], pipeline.EthTypeIPv4)
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, pipeline.ProtoUDP
	binary.BigEndian.PutUint16(ip[2:], uint16(20+8+payload))
	binary.BigEndian.PutUint32(ip[12:], sip)
	binary.BigEndian.PutUint32(ip[16:], dip)
	binary.BigEndian.PutUint16(ip[10:], csum(ip[:20], 0))
	u := ip[20:]
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(8+payload))
	for i := 0; i < payload; i++ {
		u[8+i] = byte(i)
	}
	binary.BigEndian.PutUint16(u[6:], csum(u, pseudo(ip, len(u))))
	return b
}

func pseudo(ip []byte, n int) uint32 {
	var s uint32
	for i := 12; i < 20; i += 2 {
		s += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	return s + uint32(ip[9]) + uint32(n)
}

func csum(b []byte, s uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// checksumsOK verifies the IPv4 header and UDP checksums of a udp4 frame.
func checksumsOK(b []byte) bool {
	ip := b[14:]
	u := ip[20:]
	return csum(ip[:20], 0) == 0 && csum(u, pseudo(ip, len(u))) == 0
}

// testbed is a datapath with in-memory ports 1..n (not running: tests drive
// it synchronously through Execute with output:TABLE).
type testbed struct {
	d     *softpath.Datapath
	ports map[uint32]*memio.Port
	ups   []softpath.PacketIn
	now   int64
	id    uint64
	// tables are the flows added so far; snap is them as a snapshot, with
	// the groups and meters tests put in its maps.
	tables [pipeline.NumTables][]*pipeline.Flow
	snap   *pipeline.Snapshot
}

func newTestbed(t *testing.T, n int, cfg softpath.Config) *testbed {
	t.Helper()
	tb := &testbed{ports: map[uint32]*memio.Port{}, now: 1e18, snap: &pipeline.Snapshot{
		Groups: map[uint32]*pipeline.Group{}, Meters: map[uint32]*pipeline.Meter{}}}
	cfg.Now = tb.time
	if cfg.Upcall == nil {
		cfg.Upcall = func(p softpath.PacketIn) { tb.ups = append(tb.ups, p) }
	}
	tb.d = softpath.New(cfg)
	for i := uint32(1); i <= uint32(n); i++ {
		tb.ports[i] = memio.New()
		if err := tb.d.AddPort(i, "p", tb.ports[i]); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

func (tb *testbed) time() timeT { return unixTime(tb.now) }

// flow adds a flow to table t (call install after).
func (tb *testbed) flow(t uint8, prio uint16, m pipeline.Match, in pipeline.Instructions) *pipeline.Flow {
	tb.id++
	m.Normalize()
	f := &pipeline.Flow{ID: tb.id, Table: t, Priority: prio, Match: m, Instr: &in, Counters: &pipeline.Counters{}}
	fs := append(slices.Clone(tb.tables[t]), f)
	sort.SliceStable(fs, func(a, b int) bool { return fs[a].Priority > fs[b].Priority })
	tb.setTable(t, fs)
	return f
}

// setTable makes fs table t of the testbed's snapshot.
func (tb *testbed) setTable(t uint8, fs []*pipeline.Flow) {
	tb.tables[t] = fs
	tb.snap = pipeline.SnapshotOf(tb.tables, tb.snap.Groups, tb.snap.Meters)
}

// install hands the datapath a copy of the snapshot built so far: the
// testbed keeps changing its own, and installed snapshots must not change.
func (tb *testbed) install() {
	tb.d.Install(pipeline.SnapshotOf(tb.tables, maps.Clone(tb.snap.Groups), maps.Clone(tb.snap.Meters)))
}

// send runs frame through the pipeline as received on inPort.
func (tb *testbed) send(t *testing.T, inPort uint32, frame []byte) {
	t.Helper()
	if err := tb.d.Execute(inPort, frame, []pipeline.Action{pipeline.Output(pipeline.PortTable)}); err != nil {
		t.Fatal(err)
	}
}

// sent returns how many frames each port got since the last call.
func (tb *testbed) sent() map[uint32]int {
	m := map[uint32]int{}
	for no, p := range tb.ports {
		if n := len(p.Sent()); n > 0 {
			m[no] = n
		}
	}
	return m
}

func apply(acts ...pipeline.Action) pipeline.Instructions {
	return pipeline.Instructions{Apply: acts, HasApply: true}
}

func matchInPort(no uint32) pipeline.Match {
	var m pipeline.Match
	m.Set(pipeline.FieldInPort, binary.BigEndian.AppendUint32(nil, no), nil)
	return m
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

type timeT = time.Time

func unixTime(ns int64) time.Time { return time.Unix(0, ns) }

func fixIPv4Checksum(b []byte) {
	ip := b[14:34]
	ip[10], ip[11] = 0, 0
	binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
}
