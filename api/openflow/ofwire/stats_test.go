package ofwire

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func TestSplitMultipartReply(t *testing.T) {
	entries := make([][]byte, 100)
	for i := range entries {
		entries[i] = bytes.Repeat([]byte{byte(i)}, 1000)
	}
	msgs := SplitMultipartReply(5, ofp.MultipartTypeFlow, entries, 0)
	if len(msgs) < 2 {
		t.Fatalf("got %d messages, want several", len(msgs))
	}
	var body []byte
	for i, m := range msgs {
		h := ParseHeader(m)
		if int(h.Length) != len(m) || len(m) > MaxMessageLen || h.Xid != 5 {
			t.Errorf("message %d: header %+v, %d bytes", i, h, len(m))
		}
		mp, err := DecodeMultipart(m[HeaderLen:])
		if err != nil {
			t.Fatal(err)
		}
		more := mp.Flags&MultipartReplyMore != 0
		if more != (i < len(msgs)-1) {
			t.Errorf("message %d of %d: REPLY_MORE = %v", i, len(msgs), more)
		}
		if len(mp.Body)%1000 != 0 {
			t.Errorf("message %d splits an entry: body of %d bytes", i, len(mp.Body))
		}
		body = append(body, mp.Body...)
	}
	if !bytes.Equal(body, bytes.Join(entries, nil)) {
		t.Errorf("reassembled bodies differ from the entries")
	}
	empty := SplitMultipartReply(1, ofp.MultipartTypeTable, nil, 0)
	if want := []byte{4, 19, 0, 16, 0, 0, 0, 1, 0, 3, 0, 0, 0, 0, 0, 0}; len(empty) != 1 || !bytes.Equal(empty[0], want) {
		t.Errorf("empty reply = %x, want %x", empty, want)
	}
}

func TestFlowStatsRoundTrip(t *testing.T) {
	fs := []FlowStats{{
		TableID: 1, Duration: 1234567890 * time.Nanosecond, Priority: 100, IdleTimeout: 5, HardTimeout: 6,
		Flags: 1, Cookie: 0xfeed, Packets: 5, Bytes: 490,
		Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(2)}, Goto: true, GotoTable: 2},
	}, {TableID: 0, Priority: 0}}
	fs[0].Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 1}, nil)
	var body []byte
	for i := range fs {
		body = AppendFlowStats(body, &fs[i])
	}
	if n := binary.BigEndian.Uint16(body); int(n) != 48+16+24+8 {
		t.Errorf("first entry length %d, want 96", n)
	}
	got, err := DecodeFlowStats(body)
	if err != nil {
		t.Fatalf("DecodeFlowStats: %v", err)
	}
	if diff := cmp.Diff(fs, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	req := &pipeline.FlowFilter{Table: 3, OutPort: 2, OutGroup: pipeline.GroupAny, Cookie: 1, CookieMask: 1}
	gotReq, err := DecodeFlowStatsRequest(AppendFlowStatsRequest(nil, req))
	if err != nil {
		t.Fatalf("DecodeFlowStatsRequest: %v", err)
	}
	if diff := cmp.Diff(req, gotReq); diff != "" {
		t.Errorf("request round trip (-want +got):\n%s", diff)
	}
	bad := AppendFlowStatsRequest(nil, &pipeline.FlowFilter{Table: 77})
	_, err = DecodeFlowStatsRequest(bad)
	checkPErr(t, err, pipeline.ErrBadRequest, BadRequestBadTableID)
}

func TestFixedStatsRoundTrip(t *testing.T) {
	ports := []Port{
		{PortNo: 1, HWAddr: [6]byte{2, 0, 0, 0, 0, 1}, Name: "pf0vf0", Config: 1, State: 4, Curr: 0x800, CurrSpeed: 10000000, MaxSpeed: 25000000},
		{PortNo: pipeline.PortLocal, Name: "a-name-longer-than-fifteen"},
	}
	var pb []byte
	for i := range ports {
		pb = AppendPort(pb, &ports[i])
	}
	if len(pb) != 2*PortLen {
		t.Fatalf("ports encode to %d bytes", len(pb))
	}
	gotPorts, err := DecodePorts(pb)
	if err != nil {
		t.Fatal(err)
	}
	ports[1].Name = ports[1].Name[:15]
	if diff := cmp.Diff(ports, gotPorts); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	ps := PortStats{PortNo: 1, RxPackets: 1, TxPackets: 2, RxBytes: 3, TxBytes: 4, RxDropped: 5, TxDropped: 6, RxErrors: 7,
		TxErrors: 8, RxFrameErr: 9, RxOverErr: 10, RxCRCErr: 11, Collisions: 12, Duration: 3*time.Second + 5}
	psb := AppendPortStats(nil, &ps)
	if len(psb) != PortStatsLen {
		t.Fatalf("port stats encode to %d bytes", len(psb))
	}
	gotPS, err := DecodePortStats(psb)
	if err != nil || len(gotPS) != 1 {
		t.Fatalf("DecodePortStats: %v, %d entries", err, len(gotPS))
	}
	if diff := cmp.Diff(ps, gotPS[0]); diff != "" {
		t.Errorf("port stats (-want +got):\n%s", diff)
	}

	ts := TableStats{TableID: 3, Active: 4, Lookups: 5, Matched: 6}
	tsb := AppendTableStats(nil, &ts)
	if want := []byte{3, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6}; !bytes.Equal(tsb, want) {
		t.Errorf("table stats = %x, want %x", tsb, want)
	}
	if got, err := DecodeTableStats(tsb); err != nil || len(got) != 1 || got[0] != ts {
		t.Errorf("DecodeTableStats = %+v, %v", got, err)
	}

	d := Desc{Manufacturer: "nicflow", Hardware: "hw", Software: "sw", SerialNum: "sn", Datapath: "dp"}
	if got, err := DecodeDesc(AppendDesc(nil, &d)); err != nil || *got != d {
		t.Errorf("desc round trip = %+v, %v", got, err)
	}
	a := AggregateStats{Packets: 1, Bytes: 2, Flows: 3}
	if got, err := DecodeAggregateStats(AppendAggregateStats(nil, &a)); err != nil || *got != a {
		t.Errorf("aggregate round trip = %+v, %v", got, err)
	}
}

func TestGroupAndMeterEntries(t *testing.T) {
	gs := AppendGroupStats(nil, &GroupStats{GroupID: 1, RefCount: 2, Packets: 3, Bytes: 4, Duration: time.Second,
		Buckets: []BucketStats{{5, 6}}})
	want := cat([]byte{0, 56, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0},
		[]byte{0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0},
		[]byte{0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 6})
	if !bytes.Equal(gs, want) {
		t.Errorf("group stats = %x, want %x", gs, want)
	}
	gd := AppendGroupDesc(nil, &pipeline.Group{ID: 9, Type: pipeline.GroupTypeIndirect, Buckets: []pipeline.Bucket{{Actions: []pipeline.Action{pipeline.Output(1)}}}})
	if n := binary.BigEndian.Uint16(gd); int(n) != len(gd) || len(gd) != 8+16+16 || gd[2] != 2 {
		t.Errorf("group desc = %x", gd)
	}
	ms := AppendMeterStats(nil, &MeterStats{MeterID: 1, FlowCount: 2, PacketsIn: 3, BytesIn: 4, Bands: []BucketStats{{5, 6}}})
	if n := binary.BigEndian.Uint16(ms[4:]); int(n) != len(ms) || len(ms) != 56 {
		t.Errorf("meter stats length field %d, %d bytes", n, len(ms))
	}
	mc := AppendMeterConfig(nil, &pipeline.Meter{ID: 1, Flags: 1, Bands: []pipeline.Band{{Type: pipeline.BandDrop, Rate: 10}}})
	if want := cat([]byte{0, 24, 0, 1, 0, 0, 0, 1}, []byte{0, 1, 0, 16, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0}); !bytes.Equal(mc, want) {
		t.Errorf("meter config = %x, want %x", mc, want)
	}
}

func TestTableFeaturesRoundTrip(t *testing.T) {
	tf := TableFeatures{
		TableID: 2, Name: "table2", MetadataMatch: ^uint64(0), MetadataWrite: 0xff, MaxEntries: 1000,
		Instructions:  []pipeline.InstructionType{pipeline.InstrGotoTable, pipeline.InstrApplyActions},
		NextTables:    []uint8{3, 4, 5},
		WriteActions:  []pipeline.ActionType{pipeline.ActionOutput},
		ApplyActions:  []pipeline.ActionType{pipeline.ActionOutput, pipeline.ActionSetField},
		Match:         []uint32{OXMHeader(pipeline.FieldInPort, false, 4), OXMHeader(pipeline.FieldEthDst, true, 12)},
		Wildcards:     []uint32{OXMHeader(pipeline.FieldInPort, false, 4)},
		WriteSetfield: []uint32{OXMHeader(pipeline.FieldEthDst, false, 6)},
		ApplySetfield: []uint32{OXMHeader(pipeline.FieldEthSrc, false, 6)},
	}
	b := AppendTableFeatures(nil, &tf)
	if n := binary.BigEndian.Uint16(b); int(n) != len(b) || len(b)%8 != 0 {
		t.Fatalf("table features length %d, %d bytes", n, len(b))
	}
	got, err := DecodeTableFeatures(b)
	if err != nil || len(got) != 1 {
		t.Fatalf("DecodeTableFeatures: %v, %d entries", err, len(got))
	}
	if diff := cmp.Diff(tf, got[0]); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestAsyncMessages(t *testing.T) {
	pi := &PacketIn{BufferID: NoBuffer, TotalLen: 60, Reason: ReasonAction, TableID: 1, Cookie: 7, Data: []byte{1, 2, 3}}
	pi.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, 3}, nil)
	msg := AppendPacketIn(nil, 0, pi)
	want := cat([]byte{4, 10, 0, 45, 0, 0, 0, 0},
		[]byte{0xff, 0xff, 0xff, 0xff, 0, 60, 1, 1, 0, 0, 0, 0, 0, 0, 0, 7},
		[]byte{0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0, 0},
		[]byte{0, 0, 1, 2, 3})
	if !bytes.Equal(msg, want) {
		t.Errorf("packet_in = %x, want %x", msg, want)
	}
	got, err := DecodePacketIn(msg[HeaderLen:])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pi, got); diff != "" {
		t.Errorf("packet_in round trip (-want +got):\n%s", diff)
	}
	fr := AppendFlowRemoved(nil, 3, &FlowRemoved{Cookie: 1, Priority: 2, Reason: 2, TableID: 3, Duration: 1500 * time.Millisecond, Packets: 4, Bytes: 5})
	if h := ParseHeader(fr); int(h.Length) != len(fr) || len(fr) != 8+40+8 {
		t.Errorf("flow_removed header %+v, %d bytes", h, len(fr))
	}
	ps := AppendPortStatus(nil, 4, PortModified, &Port{PortNo: 1})
	if h := ParseHeader(ps); int(h.Length) != len(ps) || len(ps) != 80 || ps[8] != PortModified {
		t.Errorf("port_status = %x", ps)
	}
}

func TestFormat(t *testing.T) {
	in := pipeline.Instructions{
		Meter: 2, HasApply: true, Apply: []pipeline.Action{
			{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: 128},
			pipeline.SetField(pipeline.FieldIPv4Dst, []byte{10, 0, 0, 9}),
			{Type: pipeline.ActionPushVLAN, EtherType: 0x8100},
			pipeline.Output(pipeline.PortFlood),
		},
		Clear: true, HasWrite: true, Write: []pipeline.Action{{Type: pipeline.ActionGroup, Group: 4}},
		WriteMetadata: true, Metadata: 1, MetadataMask: 0xff, Goto: true, GotoTable: 3,
	}
	want := "meter:2,CONTROLLER:128,set_field:10.0.0.9->ipv4_dst,push_vlan:0x8100,output:FLOOD,clear_actions,write_actions(group:4),write_metadata:0x1/0xff,goto_table:3"
	if got := FormatInstructions(&in); got != want {
		t.Errorf("FormatInstructions =\n%s\nwant\n%s", got, want)
	}
	if got := FormatInstructions(&pipeline.Instructions{}); got != "drop" {
		t.Errorf("FormatInstructions(empty) = %q, want drop", got)
	}
}
