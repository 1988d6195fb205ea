package ofclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// fakeSwitch is the switch end of a net.Pipe, driven by the test.
type fakeSwitch struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func (f *fakeSwitch) read() Message {
	f.t.Helper()
	f.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
	m, err := readMessage(f.r)
	if err != nil {
		f.t.Fatalf("fake switch read: %v", err)
	}
	return m
}

func (f *fakeSwitch) write(b []byte) {
	f.t.Helper()
	if _, err := f.nc.Write(b); err != nil {
		f.t.Errorf("fake switch write: %v", err)
	}
}

// connect returns a client handshaken with a fake switch.
func connect(t *testing.T) (*Client, *fakeSwitch) {
	t.Helper()
	cn, sn := net.Pipe()
	t.Cleanup(func() { cn.Close(); sn.Close() })
	fs := &fakeSwitch{t: t, nc: sn, r: bufio.NewReader(sn)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if m := fs.read(); m.Header.Type != of.TypeHello {
			t.Errorf("client sent type %d first", m.Header.Type)
		}
		fs.write(ofwire.AppendHello(nil, 100))
		m := fs.read()
		if m.Header.Type != of.TypeFeaturesRequest {
			t.Errorf("client sent type %d, want FEATURES_REQUEST", m.Header.Type)
		}
		fs.write(ofwire.Marshal(of.TypeFeaturesReply, m.Header.Xid, ofwire.AppendFeatures(nil, &ofwire.SwitchFeatures{DatapathID: 42, NTables: 8})))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := NewClient(ctx, cn)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	<-done
	t.Cleanup(func() { c.Close() })
	if c.Features().DatapathID != 42 {
		t.Errorf("features %+v", c.Features())
	}
	return c, fs
}

func TestMultipartReassemblyAndInterleaving(t *testing.T) {
	c, fs := connect(t)
	want := []ofwire.FlowStats{{Priority: 1}, {Priority: 2}, {Priority: 3}}
	go func() {
		m := fs.read()
		mp, _ := ofwire.DecodeMultipart(m.Body)
		if mp.Type != ofp.MultipartTypeFlow {
			t.Errorf("multipart type %d", mp.Type)
		}
		var entries [][]byte
		for i := range want {
			entries = append(entries, ofwire.AppendFlowStats(nil, &want[i]))
		}
		// One entry per message; an echo request and a packet-in in between.
		msgs := ofwire.SplitMultipartReply(m.Header.Xid, ofp.MultipartTypeFlow, entries, 16+len(entries[0]))
		if len(msgs) != 3 {
			t.Errorf("split into %d messages", len(msgs))
		}
		fs.write(msgs[0])
		fs.write(ofwire.Marshal(of.TypeEchoRequest, 900, []byte("hi")))
		if r := fs.read(); r.Header.Type != of.TypeEchoReply || r.Header.Xid != 900 || string(r.Body) != "hi" {
			t.Errorf("echo reply %+v %q", r.Header, r.Body)
		}
		fs.write(msgs[1])
		pi := &ofwire.PacketIn{BufferID: ofwire.NoBuffer, Data: []byte("x")}
		fs.write(ofwire.AppendPacketIn(nil, 0, pi))
		fs.write(msgs[2])
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	got, err := c.FlowStats(ctx, nil)
	if err != nil {
		t.Fatalf("FlowStats: %v", err)
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("FlowStats (-want +got):\n%s", diff)
	}
	select {
	case m := <-c.Async():
		if m.Header.Type != of.TypePacketIn {
			t.Errorf("async type %d", m.Header.Type)
		}
	case <-time.After(time.Second):
		t.Errorf("packet-in not delivered on Async")
	}
}

func TestApplyReportsError(t *testing.T) {
	c, fs := connect(t)
	go func() {
		fm := fs.read()
		if fm.Header.Type != of.TypeFlowMod {
			t.Errorf("got type %d, want FLOW_MOD", fm.Header.Type)
		}
		if _, err := ofwire.DecodeFlowMod(fm.Body); err != nil {
			t.Errorf("client sent an invalid flow_mod: %v", err)
		}
		b := fs.read()
		fs.write(ofwire.AppendError(nil, fm.Header.Xid, pipeline.ErrFlowModFailed, pipeline.FlowModOverlap, ofwire.Marshal(fm.Header.Type, fm.Header.Xid, fm.Body)))
		fs.write(ofwire.Marshal(of.TypeBarrierReply, b.Header.Xid))
		// A barrier alone succeeds.
		b = fs.read()
		fs.write(ofwire.Marshal(of.TypeBarrierReply, b.Header.Xid))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	err := c.AddFlow(ctx, &pipeline.FlowMod{Priority: 5, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny})
	var em *ofwire.ErrorMsg
	if !errors.As(err, &em) || em.Type != pipeline.ErrFlowModFailed || em.Code != pipeline.FlowModOverlap {
		t.Errorf("AddFlow = %v, want FLOW_MOD_FAILED/OVERLAP", err)
	}
	if err := c.Barrier(ctx); err != nil {
		t.Errorf("Barrier: %v", err)
	}
}

func TestHandshakeRefused(t *testing.T) {
	cn, sn := net.Pipe()
	defer cn.Close()
	defer sn.Close()
	fs := &fakeSwitch{t: t, nc: sn, r: bufio.NewReader(sn)}
	go func() {
		fs.read()
		fs.write(ofwire.ErrorData(nil, 1, pipeline.ErrHelloFailed, ofwire.HelloFailedIncompatible, []byte("no")))
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := NewClient(ctx, cn)
	var em *ofwire.ErrorMsg
	if !errors.As(err, &em) || em.Type != pipeline.ErrHelloFailed {
		t.Errorf("NewClient = %v, want HELLO_FAILED", err)
	}
}

func TestClosedClientFailsPending(t *testing.T) {
	c, fs := connect(t)
	go func() {
		fs.read()
		fs.nc.Close()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.TableStats(ctx); err == nil || ctx.Err() != nil {
		t.Errorf("TableStats on a dropped connection = %v (ctx %v), want a prompt error", err, ctx.Err())
	}
}

func TestFormatFlows(t *testing.T) {
	f := ofwire.FlowStats{TableID: 1, Duration: 2500 * time.Millisecond, Priority: 100, IdleTimeout: 10, Cookie: 0x1f, Packets: 5, Bytes: 490,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}}}
	f.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	f.Match.Set(pipeline.FieldEthType, []byte{8, 0}, nil)
	f.Match.Set(pipeline.FieldIPv4Src, []byte{10, 1, 0, 0}, []byte{255, 255, 0, 0})
	drop := ofwire.FlowStats{Priority: 0}
	var b strings.Builder
	if err := FormatFlows(&b, []ofwire.FlowStats{f, drop}); err != nil {
		t.Fatal(err)
	}
	want := " cookie=0x1f, duration=2.500s, table=1, n_packets=5, n_bytes=490, idle_timeout=10, priority=100,in_port=1,eth_type=0x0800,ipv4_src=10.1.0.0/16 actions=output:2\n" +
		" cookie=0x0, duration=0.000s, table=0, n_packets=0, n_bytes=0, priority=0 actions=drop\n"
	if b.String() != want {
		t.Errorf("FormatFlows =\n%s\nwant\n%s", b.String(), want)
	}
}
