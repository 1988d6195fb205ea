package openflow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/test/waitfor"
)

func dialClient(t *testing.T, addr string) *ofclient.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := ofclient.Dial(ctx, "tcp:"+addr)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestHandshakeAndConnectedCount(t *testing.T) {
	dp := newFakeDatapath()
	s, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	if f := c.Features(); f.DatapathID != 0xabc || f.NTables != 4 {
		t.Errorf("features = %+v", f)
	}
	c2 := dialClient(t, addr)
	waitfor.True(t, 5*time.Second, "two channels", func() bool { return s.Stats().Connections == 2 })
	c.Close()
	c2.Close()
	waitfor.True(t, 5*time.Second, "no channels", func() bool { return s.Stats().Connections == 0 })
	// Connections on a passive listener are service connections: they
	// never count as controllers for the fail mode.
	for _, n := range dp.Connected() {
		if n != 0 {
			t.Errorf("SetConnected calls %v for passive connections, want only 0", dp.Connected())
			break
		}
	}
}

func TestActiveControllerCountsForFailMode(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dp := newFakeDatapath()
	startSwitch(t, dp, func(c *Config) {
		c.Targets = append(c.Targets, "tcp:"+ln.Addr().String())
	})
	nc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctl, err := ofclient.NewClient(ctx, nc)
	if err != nil {
		t.Fatal(err)
	}
	last := func() int {
		got := dp.Connected()
		if len(got) == 0 {
			return -1
		}
		return got[len(got)-1]
	}
	waitfor.True(t, 5*time.Second, "SetConnected(1)", func() bool { return last() == 1 })
	ctl.Close()
	waitfor.True(t, 5*time.Second, "SetConnected(0)", func() bool { return last() == 0 })
}

func TestVersionNegotiation(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	tests := []struct {
		name  string
		hello []byte
		ok    bool
	}{
		{"1.0 only", []byte{1, 0, 0, 8, 0, 0, 0, 1}, false},
		{"1.2 only", []byte{3, 0, 0, 8, 0, 0, 0, 1}, false},
		{"bitmap without 1.3", []byte{6, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x62}, false},
		{"1.3", ofwire.AppendHello(nil, 1), true},
		{"1.5 without bitmap", []byte{6, 0, 0, 8, 0, 0, 0, 1}, true},
		{"1.0 and 1.3 by bitmap, header 1.5", []byte{6, 0, 0, 16, 0, 0, 0, 1, 0, 1, 0, 8, 0, 0, 0, 0x52}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			rc := &rawConn{t: t, nc: nc, r: newReader(nc)}
			if h, _ := rc.read(); h.Type != of.TypeHello {
				t.Fatalf("first message type %d", h.Type)
			}
			rc.send(tt.hello)
			if tt.ok {
				rc.echo(5)
				return
			}
			h, body := rc.read()
			e, err := ofwire.DecodeError(body)
			if h.Type != of.TypeError || err != nil || e.Type != pipeline.ErrHelloFailed || e.Code != ofwire.HelloFailedIncompatible {
				t.Fatalf("got type %d body %x, want HELLO_FAILED/INCOMPATIBLE", h.Type, body)
			}
			if !strings.Contains(string(e.Data), "1.3") {
				t.Errorf("HELLO_FAILED text %q does not explain", e.Data)
			}
			if _, _, err := rc.tryRead(2 * time.Second); err == nil || os.IsTimeout(err) {
				t.Errorf("channel still open after HELLO_FAILED (%v)", err)
			}
		})
	}
	t.Run("no hello first", func(t *testing.T) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		rc := &rawConn{t: t, nc: nc, r: newReader(nc)}
		rc.read()
		rc.send(ofwire.Marshal(of.TypeFeaturesRequest, 3))
		h, body := rc.read()
		if e, err := ofwire.DecodeError(body); h.Type != of.TypeError || err != nil || e.Type != pipeline.ErrHelloFailed || e.Code != ofwire.HelloFailedEperm {
			t.Errorf("got type %d body %x, want HELLO_FAILED/EPERM", h.Type, body)
		}
	})
}

func TestEchoAndRequests(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	ctx := ctxT(t)
	if err := c.Echo(ctx, []byte("hello there")); err != nil {
		t.Fatalf("Echo: %v", err)
	}
	desc, err := c.Desc(ctx)
	if err != nil || desc.Manufacturer != "nicflow" {
		t.Errorf("Desc = %+v, %v", desc, err)
	}
	ports, err := c.PortDesc(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []ofwire.Port{
		{PortNo: 1, HWAddr: [6]byte{2, 0, 0, 0, 0, 1}, Name: "vf0", State: PortStateLinkDown,
			Curr: pf10GBFD | pfCopper, CurrSpeed: 10_000_000, MaxSpeed: 10_000_000},
		{PortNo: 2, HWAddr: [6]byte{2, 0, 0, 0, 0, 2}, Name: "vf1", State: PortStateLive, Curr: pf10GBFD | pfCopper},
	}
	if diff := cmp.Diff(want, ports); diff != "" {
		t.Errorf("PortDesc (-want +got):\n%s", diff)
	}
	ps, err := c.PortStats(ctx, 2)
	if err != nil || len(ps) != 1 || ps[0].PortNo != 2 || ps[0].TxBytes != 400 {
		t.Errorf("PortStats(2) = %+v, %v", ps, err)
	}
	ts, err := c.TableStats(ctx)
	if err != nil || len(ts) != 4 {
		t.Errorf("TableStats = %+v, %v", ts, err)
	}
	tf, err := c.TableFeatures(ctx)
	if err != nil || len(tf) != 4 || tf[3].Name != "table3" || len(tf[3].NextTables) != 0 || len(tf[0].NextTables) != 3 {
		t.Errorf("TableFeatures = %d tables, %v", len(tf), err)
	}
	m, err := c.Request(ctx, of.TypeGetConfigRequest, nil)
	if err != nil || binary.BigEndian.Uint16(m.Body[2:]) != 128 {
		t.Errorf("GET_CONFIG = %x, %v; want miss_send_len 128", m.Body, err)
	}
	m, err = c.Request(ctx, of.TypeGetAsyncRequest, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := ofwire.DecodeAsyncConfig(m.Body); a != ofwire.DefaultAsyncConfig() {
		t.Errorf("GET_ASYNC = %+v, want defaults", a)
	}
}

func TestFlowsAndBarrier(t *testing.T) {
	dp := newFakeDatapath()
	dp.barrierDelay = 50 * time.Millisecond
	_, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	ctx := ctxT(t)
	fm := &pipeline.FlowMod{Table: 0, Priority: 100, Cookie: 7,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}}}
	fm.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	if err := c.AddFlow(ctx, fm); err != nil {
		t.Fatalf("AddFlow: %v", err)
	}
	// The barrier reply came only after the datapath's Barrier, which came
	// after the flow_mod.
	if diff := cmp.Diff([]string{"flow_mod", "barrier"}, dp.Calls()); diff != "" {
		t.Errorf("datapath calls (-want +got):\n%s", diff)
	}
	flows, err := c.FlowStats(ctx, nil)
	if err != nil || len(flows) != 1 {
		t.Fatalf("FlowStats = %v, %v", flows, err)
	}
	var sb strings.Builder
	ofclient.FormatFlows(&sb, flows)
	if want := " cookie=0x7, duration=1.234s, table=0, n_packets=5, n_bytes=490, priority=100,in_port=1 actions=output:2\n"; sb.String() != want {
		t.Errorf("FormatFlows =\n%q\nwant\n%q", sb.String(), want)
	}
	agg, err := c.Aggregate(ctx, nil)
	if err != nil || agg.Flows != 1 || agg.Packets != 5 {
		t.Errorf("Aggregate = %+v, %v", agg, err)
	}
	if err := c.DelFlows(ctx, pipeline.TableAll, nil); err != nil {
		t.Fatalf("DelFlows: %v", err)
	}
	if flows, _ := c.FlowStats(ctx, nil); len(flows) != 0 {
		t.Errorf("%d flows left after DelFlows", len(flows))
	}

	// A datapath error is sent as OFPT_ERROR with the mod's xid.
	dp.mu.Lock()
	dp.flowErr = pipeline.Errorf(pipeline.ErrFlowModFailed, pipeline.FlowModTableFull, "full")
	dp.mu.Unlock()
	err = c.AddFlow(ctx, fm)
	var em *ofwire.ErrorMsg
	if !errors.As(err, &em) || em.Type != pipeline.ErrFlowModFailed || em.Code != pipeline.FlowModTableFull {
		t.Errorf("AddFlow with a full table: %v, want FLOW_MOD_FAILED/TABLE_FULL", err)
	}
	dp.mu.Lock()
	dp.flowErr = errors.New("disk on fire")
	dp.mu.Unlock()
	err = c.AddFlow(ctx, fm)
	if !errors.As(err, &em) || em.Type != pipeline.ErrFlowModFailed || em.Code != pipeline.FlowModUnknown {
		t.Errorf("AddFlow with a plain error: %v, want FLOW_MOD_FAILED/UNKNOWN", err)
	}
	dp.mu.Lock()
	dp.flowErr = nil
	dp.mu.Unlock()
	// A flow_mod naming a buffer is applied, then answered BUFFER_UNKNOWN.
	fm.BufferID = 5
	err = c.AddFlow(ctx, fm)
	if !errors.As(err, &em) || em.Type != pipeline.ErrBadRequest || em.Code != ofwire.BadRequestBufferUnknown {
		t.Errorf("AddFlow with a buffer: %v, want BAD_REQUEST/BUFFER_UNKNOWN", err)
	}
}

func TestGroupsMetersPacketOut(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	ctx := ctxT(t)
	gm := &pipeline.GroupMod{Command: pipeline.GroupAdd, Type: pipeline.GroupTypeAll, ID: 1,
		Buckets: []pipeline.Bucket{{WatchPort: pipeline.PortAny, WatchGroup: pipeline.GroupAny, Actions: []pipeline.Action{pipeline.Output(1)}}}}
	if err := c.GroupMod(ctx, gm); err != nil {
		t.Fatalf("GroupMod: %v", err)
	}
	mm := &pipeline.MeterMod{Command: pipeline.MeterAdd, Flags: pipeline.MeterKbps, ID: 1, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 100}}}
	if err := c.MeterMod(ctx, mm); err != nil {
		t.Fatalf("MeterMod: %v", err)
	}
	for _, mt := range []uint16{6, 7, 9, 10} { // group, group desc, meter, meter config
		var body []byte
		switch mt {
		case 6:
			body = ofwire.AppendIDRequest(nil, pipeline.GroupAll)
		case 9, 10:
			body = ofwire.AppendIDRequest(nil, pipeline.MeterAll)
		}
		b, err := c.Multipart(ctx, ofpType(mt), body)
		if err != nil || len(b) == 0 {
			t.Errorf("multipart %d: %d bytes, %v", mt, len(b), err)
		}
	}
	po := ofwire.AppendPacketOut(nil, &ofwire.PacketOut{BufferID: ofwire.NoBuffer, InPort: pipeline.PortController,
		Actions: []pipeline.Action{pipeline.Output(pipeline.PortTable)}, Data: []byte("frame")})
	if err := c.Apply(ctx, of.TypePacketOut, po); err != nil {
		t.Fatalf("packet_out: %v", err)
	}
	dp.mu.Lock()
	got := dp.packetOut
	dp.mu.Unlock()
	if diff := cmp.Diff([]pipeline.Action{pipeline.Output(pipeline.PortTable)}, got); diff != "" {
		t.Errorf("packet_out actions (-want +got):\n%s", diff)
	}
}

// TestMultipartSplit: 3000 flows do not fit one 64 KiB reply; the switch
// splits them with REPLY_MORE and the client reassembles all.
func TestMultipartSplit(t *testing.T) {
	dp := newFakeDatapath()
	for i := 0; i < 3000; i++ {
		f := &pipeline.Flow{ID: uint64(i + 1), Priority: uint16(i), Cookie: uint64(i),
			Instr: &pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}}}
		f.Match.Set(pipeline.FieldInPort, binary.BigEndian.AppendUint32(nil, uint32(i+1)), nil)
		f.Match.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
		f.Match.Set(pipeline.FieldIPv4Dst, []byte{10, 0, byte(i >> 8), byte(i)}, nil)
		dp.flows = append(dp.flows, f)
	}
	_, addr := startSwitch(t, dp, nil)

	rc := dialRaw(t, addr)
	rc.send(multipartMsg(77, 1, ofwire.AppendFlowStatsRequest(nil, &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})))
	var msgs, entries int
	for {
		h, body := rc.readType(of.TypeMultipartReply)
		if h.Xid != 77 {
			t.Fatalf("reply xid %d, want 77", h.Xid)
		}
		msgs++
		mp, _ := ofwire.DecodeMultipart(body)
		fs, err := ofwire.DecodeFlowStats(mp.Body)
		if err != nil {
			t.Fatalf("reply %d: %v", msgs, err)
		}
		entries += len(fs)
		if mp.Flags&ofwire.MultipartReplyMore == 0 {
			break
		}
	}
	if msgs < 2 || entries != 3000 {
		t.Errorf("got %d entries in %d messages, want 3000 in several", entries, msgs)
	}

	c := dialClient(t, addr)
	flows, err := c.FlowStats(ctxT(t), nil)
	if err != nil || len(flows) != 3000 {
		t.Fatalf("FlowStats = %d flows, %v", len(flows), err)
	}
	for i, f := range flows {
		if f.Cookie != uint64(i) {
			t.Fatalf("flow %d has cookie %d: order lost", i, f.Cookie)
		}
	}
}

func TestRoles(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	a, b := dialClient(t, addr), dialClient(t, addr)
	ctx := ctxT(t)
	isErr := func(err error, typ pipeline.ErrorType, code uint16) bool {
		var em *ofwire.ErrorMsg
		return errors.As(err, &em) && em.Type == typ && em.Code == code
	}
	if r, err := a.SetRole(ctx, ofwire.RoleNoChange, 0); err != nil || r.Role != ofwire.RoleEqual {
		t.Errorf("initial role = %+v, %v; want EQUAL", r, err)
	}
	if r, err := a.SetRole(ctx, ofwire.RoleMaster, 10); err != nil || r.Role != ofwire.RoleMaster || r.GenerationID != 10 {
		t.Errorf("a MASTER = %+v, %v", r, err)
	}
	if r, err := b.SetRole(ctx, ofwire.RoleMaster, 11); err != nil || r.Role != ofwire.RoleMaster {
		t.Errorf("b MASTER = %+v, %v", r, err)
	}
	if r, err := a.SetRole(ctx, ofwire.RoleNoChange, 0); err != nil || r.Role != ofwire.RoleSlave || r.GenerationID != 11 {
		t.Errorf("a after b became master = %+v, %v; want SLAVE gen 11", r, err)
	}
	if _, err := a.SetRole(ctx, ofwire.RoleMaster, 10); !isErr(err, pipeline.ErrRoleRequestFailed, ofwire.RoleRequestStale) {
		t.Errorf("stale MASTER request: %v, want ROLE_REQUEST_FAILED/STALE", err)
	}
	// Generation ids compare as a wrapping difference: 2^63+12 is newer
	// than 11 only within half the space; 5 is older.
	if _, err := a.SetRole(ctx, ofwire.RoleSlave, 5); !isErr(err, pipeline.ErrRoleRequestFailed, ofwire.RoleRequestStale) {
		t.Errorf("stale SLAVE request: %v, want STALE", err)
	}
	// EQUAL ignores the generation id.
	if r, err := a.SetRole(ctx, ofwire.RoleEqual, 1); err != nil || r.Role != ofwire.RoleEqual {
		t.Errorf("EQUAL = %+v, %v", r, err)
	}
	if _, err := a.SetRole(ctx, ofwire.RoleSlave, 11); err != nil {
		t.Fatalf("SLAVE: %v", err)
	}
	fm := &pipeline.FlowMod{Priority: 1}
	if err := a.AddFlow(ctx, fm); !isErr(err, pipeline.ErrBadRequest, ofwire.BadRequestIsSlave) {
		t.Errorf("flow_mod from slave: %v, want BAD_REQUEST/IS_SLAVE", err)
	}
	if err := b.AddFlow(ctx, fm); err != nil {
		t.Errorf("flow_mod from master: %v", err)
	}
	if _, err := a.FlowStats(ctx, nil); err != nil {
		t.Errorf("flow stats from slave: %v", err)
	}

	// Packet-ins go to the master, not to the slave (default async config).
	pi := &offload.PacketIn{Reason: ReasonAction, InPort: 1, Data: []byte("pkt"), TotalLen: 3}
	dp.emit(pi)
	m := recvAsync(t, b, of.TypePacketIn)
	got, err := ofwire.DecodePacketIn(m.Body)
	if err != nil || string(got.Data) != "pkt" || got.Match.Key.InPort != 1 || got.BufferID != ofwire.NoBuffer {
		t.Errorf("master packet_in = %+v, %v", got, err)
	}
	noAsync(t, a)

	// A slave that asks for packet-ins gets them.
	cfg := ofwire.DefaultAsyncConfig()
	cfg.PacketIn[1] = 1 << ReasonAction
	if err := a.Apply(ctx, of.TypeSetAsync, ofwire.AppendAsyncConfig(nil, cfg)); err != nil {
		t.Fatal(err)
	}
	dp.emit(pi)
	recvAsync(t, a, of.TypePacketIn)
	recvAsync(t, b, of.TypePacketIn)
}

func recvAsync(t *testing.T, c *ofclient.Client, typ of.Type) ofclient.Message {
	t.Helper()
	select {
	case m := <-c.Async():
		if m.Header.Type != typ {
			t.Fatalf("async message type %d, want %d", m.Header.Type, typ)
		}
		return m
	case <-time.After(2 * time.Second):
		t.Fatalf("no async message of type %d", typ)
	}
	return ofclient.Message{}
}

// noAsync checks that nothing asynchronous reached c: the barrier reply
// comes after everything queued for the channel before it (and the
// client hands out asynchronous messages in the order they arrived), so
// after Barrier returns there is nothing to wait for.
func noAsync(t *testing.T, c *ofclient.Client) {
	t.Helper()
	if err := c.Barrier(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-c.Async():
		t.Errorf("unexpected async message type %d", m.Header.Type)
	default:
	}
}

// TestBarrierReplyFollowsQueuedAsync: every asynchronous message queued
// before a barrier request reaches the controller ahead of its reply.
func TestBarrierReplyFollowsQueuedAsync(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	const n = 200 // within Config.PacketInQueue's default
	pi := &offload.PacketIn{Reason: ReasonAction, InPort: 1, Data: make([]byte, 1000)}
	for i := 0; i < n; i++ {
		dp.emit(pi)
	}
	if err := c.Barrier(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	got := 0
	for more := true; more; {
		select {
		case m := <-c.Async():
			if m.Header.Type == of.TypePacketIn {
				got++
			}
		default:
			more = false
		}
	}
	if got != n {
		t.Errorf("%d packet-ins before the barrier reply, want %d", got, n)
	}
}

func TestAsyncEvents(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	c := dialClient(t, addr)
	ctx := ctxT(t)
	data := make([]byte, 300)
	for i := range data {
		data[i] = byte(i)
	}
	miss := &offload.PacketIn{Reason: ReasonNoMatch, Table: 2, Cookie: 9, InPort: 4, TunnelID: 42, Data: data, TotalLen: 300}

	// Table misses are cut to miss_send_len (default 128).
	dp.emit(miss)
	pi, _ := ofwire.DecodePacketIn(recvAsync(t, c, of.TypePacketIn).Body)
	if len(pi.Data) != 128 || pi.TotalLen != 300 || pi.TableID != 2 || pi.Cookie != 9 || pi.Match.Key.TunnelID != 42 ||
		pi.Match.Key.InPort != 4 || pi.Reason != ReasonNoMatch || pi.BufferID != ofwire.NoBuffer {
		t.Errorf("packet_in: %d bytes, total %d, table %d, cookie %d, tunnel %d, in_port %d, reason %d, buffer %#x",
			len(pi.Data), pi.TotalLen, pi.TableID, pi.Cookie, pi.Match.Key.TunnelID, pi.Match.Key.InPort, pi.Reason, pi.BufferID)
	}
	if err := c.Apply(ctx, of.TypeSetConfig, []byte{0, 0, 0xff, 0xff}); err != nil {
		t.Fatal(err)
	}
	dp.emit(miss)
	pi, _ = ofwire.DecodePacketIn(recvAsync(t, c, of.TypePacketIn).Body)
	if len(pi.Data) != 300 {
		t.Errorf("with miss_send_len NO_BUFFER: %d bytes, want 300", len(pi.Data))
	}

	// Flow-removed only for flows with SEND_FLOW_REM.
	flow := &pipeline.Flow{Table: 1, Priority: 5, Cookie: 3, Flags: pipeline.FlagSendFlowRem}
	dp.emit(&offload.FlowRemoved{Flow: &pipeline.Flow{Priority: 1}, Reason: pipeline.RemovedDelete})
	dp.emit(&offload.FlowRemoved{Flow: flow, Reason: pipeline.RemovedIdleTimeout, Packets: 8, Bytes: 800, Duration: 2 * time.Second})
	m := recvAsync(t, c, of.TypeFlowRemoved)
	if cookie, reason := binary.BigEndian.Uint64(m.Body), m.Body[10]; cookie != 3 || reason != 0 {
		t.Errorf("flow_removed cookie %d reason %d", cookie, reason)
	}
	dp.emit(&offload.PortStatus{Reason: offload.PortModified, Port: dp.ports[1]})
	m = recvAsync(t, c, of.TypePortStatus)
	if p := ofwire.DecodePort(m.Body[8:]); m.Body[0] != offload.PortModified || p.Name != "vf1" {
		t.Errorf("port_status reason %d port %+v", m.Body[0], p)
	}

	// Turning packet-ins off for the master role silences them.
	cfg := ofwire.DefaultAsyncConfig()
	cfg.PacketIn[0] = 0
	if err := c.Apply(ctx, of.TypeSetAsync, ofwire.AppendAsyncConfig(nil, cfg)); err != nil {
		t.Fatal(err)
	}
	dp.emit(miss)
	noAsync(t, c)
}

// TestSlowController: a controller that never reads must not block the
// datapath; packet-ins beyond the queue are dropped and counted.
func TestSlowController(t *testing.T) {
	dp := newFakeDatapath()
	s, _ := startSwitch(t, dp, func(c *Config) { c.PacketInQueue = 8; c.Targets = nil })
	server, client := net.Pipe()
	served := make(chan struct{})
	go func() {
		defer close(served)
		s.ServeConn(context.Background(), server) //nolint:errcheck // ends when the client closes
	}()
	// The channel logs as it goes down: wait for it before the test ends.
	t.Cleanup(func() { _ = client.Close(); <-served })
	rc := &rawConn{t: t, nc: client, r: newReader(client)}
	rc.read()
	rc.send(ofwire.AppendHello(nil, 1))
	waitfor.True(t, 5*time.Second, "channel up", func() bool { return s.Stats().Connections == 1 })

	pi := &offload.PacketIn{Reason: ReasonAction, InPort: 1, Data: make([]byte, 100)}
	done := make(chan struct{})
	go func() {
		for i := 0; i < 1000; i++ {
			dp.emit(pi)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("emitting packet-ins blocked on a controller that does not read")
	}
	if d := s.Stats().PacketInDrops; d < 900 {
		t.Errorf("PacketInDrops = %d, want most of 1000", d)
	}
	// The channel still works once the controller reads again; what it
	// gets first is the bounded queue of packet-ins.
	rc.send(ofwire.Marshal(of.TypeEchoRequest, 9, nil))
	pins := 0
	for {
		h, _ := rc.read()
		if h.Type == of.TypeEchoReply {
			break
		}
		if h.Type != of.TypePacketIn {
			t.Fatalf("got type %d", h.Type)
		}
		pins++
	}
	if pins > 8+2 {
		t.Errorf("got %d packet-ins, want at most the queue of 8 and the ones in flight", pins)
	}
}

// TestActiveTarget: the switch dials the controller, and dials again after
// the controller drops it.
func TestActiveTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	dp := newFakeDatapath()
	startSwitch(t, dp, func(c *Config) {
		c.Targets = []string{"tcp:" + l.Addr().String()}
		c.BackoffMin = 10 * time.Millisecond
		c.BackoffMax = 40 * time.Millisecond
	})
	for i := 0; i < 2; i++ {
		l.(*net.TCPListener).SetDeadline(time.Now().Add(3 * time.Second))
		nc, err := l.Accept()
		if err != nil {
			t.Fatalf("accept %d: %v", i, err)
		}
		c, err := ofclient.NewClient(ctxT(t), nc)
		if err != nil {
			t.Fatalf("handshake %d: %v", i, err)
		}
		if c.Features().DatapathID != 0xabc {
			t.Errorf("features = %+v", c.Features())
		}
		c.Close()
	}
}

func TestPunix(t *testing.T) {
	path := t.TempDir() + "/of.sock"
	dp := newFakeDatapath()
	startSwitch(t, dp, func(c *Config) { c.Targets = []string{"punix:" + path, "ptcp:0:127.0.0.1"} })
	c, err := ofclient.Dial(ctxT(t), "unix:"+path)
	if err != nil {
		t.Fatalf("Dial unix: %v", err)
	}
	defer c.Close()
	if err := c.Barrier(ctxT(t)); err != nil {
		t.Errorf("Barrier: %v", err)
	}
}

// TestConcurrentChannels: many channels at once, each with its own
// requests, while events flow; run with -race.
func TestConcurrentChannels(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			c, err := ofclient.Dial(ctx, "tcp:"+addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			for j := 0; j < 20; j++ {
				if err := c.Echo(ctx, []byte(fmt.Sprint(j))); err != nil {
					errs <- err
					return
				}
				if _, err := c.TableStats(ctx); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	stop := make(chan struct{})
	go func() {
		pi := &offload.PacketIn{Reason: ReasonAction, Data: []byte("x")}
		for {
			select {
			case <-stop:
				return
			default:
				dp.emit(pi)
				time.Sleep(time.Millisecond)
			}
		}
	}()
	wg.Wait()
	close(stop)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestChannels: Channels lists the channels past their handshake with the
// target they came from and their role, and forgets a closed one.
func TestChannels(t *testing.T) {
	dp := newFakeDatapath()
	s, addr := startSwitch(t, dp, nil)
	if got := s.Channels(); len(got) != 0 {
		t.Fatalf("channels before any connection: %+v", got)
	}
	a, b := dialClient(t, addr), dialClient(t, addr)
	if _, err := a.SetRole(ctxT(t), ofwire.RoleMaster, 1); err != nil {
		t.Fatal(err)
	}
	roles := func() []string {
		var out []string
		for _, ch := range s.Channels() {
			if ch.Target != "ptcp:0:127.0.0.1" || ch.Controller || ch.Remote == "" {
				t.Errorf("channel %+v: want target ptcp:0:127.0.0.1, a service connection with a remote address", ch)
			}
			out = append(out, ch.Role)
		}
		sort.Strings(out)
		return out
	}
	if diff := cmp.Diff([]string{"equal", "master"}, roles()); diff != "" {
		t.Errorf("channel roles (-want +got):\n%s", diff)
	}
	b.Close()
	waitfor.True(t, 5*time.Second, "one channel", func() bool { return len(s.Channels()) == 1 })
	if diff := cmp.Diff([]string{"master"}, roles()); diff != "" {
		t.Errorf("channel roles after one closed (-want +got):\n%s", diff)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	if _, err := New(Config{Datapath: newFakeDatapath(), Targets: []string{"bogus"}}); err == nil {
		t.Errorf("New accepted a bad target")
	}
	if _, err := New(Config{}); err == nil {
		t.Errorf("New accepted no datapath")
	}
}

// The switch configuration's flags are the switch's: set on one channel
// (as `ovs-ofctl set-frags` does, then closes), GET_CONFIG on another (as
// `get-frags`) reports them; miss_send_len stays each channel's own. A
// mode the datapath does not take (FRAG_REASM) and unknown bits are
// SWITCH_CONFIG_FAILED/BAD_FLAGS with nothing changed and the channel up,
// and a slave's flags change nothing.
func TestSwitchConfigIsTheSwitchs(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	a, b := dialClient(t, addr), dialClient(t, addr)
	ctx := ctxT(t)
	isErr := func(err error, typ pipeline.ErrorType, code uint16) bool {
		var em *ofwire.ErrorMsg
		return errors.As(err, &em) && em.Type == typ && em.Code == code
	}
	getConfig := func(c *ofclient.Client) ofwire.SwitchConfig {
		t.Helper()
		m, err := c.Request(ctx, of.TypeGetConfigRequest, nil)
		if err != nil || len(m.Body) != 4 {
			t.Fatalf("GET_CONFIG = %x, %v", m.Body, err)
		}
		return ofwire.SwitchConfig{Flags: binary.BigEndian.Uint16(m.Body), MissSendLen: binary.BigEndian.Uint16(m.Body[2:])}
	}
	set := func(c *ofclient.Client, flags, missSendLen uint16) error {
		return c.Apply(ctx, of.TypeSetConfig, ofwire.AppendSwitchConfig(nil, ofwire.SwitchConfig{Flags: flags, MissSendLen: missSendLen}))
	}
	if err := set(a, ofwire.ConfigFragDrop|ofwire.ConfigInvalidTTLToController, 64); err != nil {
		t.Fatal(err)
	}
	want := ofwire.SwitchConfig{Flags: ofwire.ConfigFragDrop | ofwire.ConfigInvalidTTLToController, MissSendLen: 128}
	if got := getConfig(b); got != want {
		t.Errorf("GET_CONFIG on the other channel = %+v, want %+v", got, want)
	}
	if got := getConfig(a); got.MissSendLen != 64 {
		t.Errorf("miss_send_len of the channel that set it = %d, want 64", got.MissSendLen)
	}
	for _, flags := range []uint16{ofwire.ConfigFragReasm, 3, 1 << 3} {
		if err := set(b, flags, 128); !isErr(err, pipeline.ErrSwitchConfigFailed, ofwire.SwitchConfigBadFlags) {
			t.Errorf("SET_CONFIG flags %#x: %v, want SWITCH_CONFIG_FAILED/BAD_FLAGS", flags, err)
		}
	}
	if err := b.Echo(ctx, []byte("up")); err != nil {
		t.Errorf("channel after the refusals: %v", err)
	}
	if got := getConfig(b); got != want {
		t.Errorf("GET_CONFIG after the refusals = %+v, want %+v (unchanged)", got, want)
	}
	if _, err := b.SetRole(ctx, ofwire.RoleSlave, 1); err != nil {
		t.Fatal(err)
	}
	if err := set(b, ofwire.ConfigFragNormal, 200); err != nil {
		t.Fatalf("SET_CONFIG from a slave: %v", err)
	}
	if got := getConfig(b); got != (ofwire.SwitchConfig{Flags: want.Flags, MissSendLen: 200}) {
		t.Errorf("after a slave's SET_CONFIG: %+v, want the flags unchanged and its miss_send_len 200", got)
	}
}
