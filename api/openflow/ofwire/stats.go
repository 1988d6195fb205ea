package ofwire

import (
	"bytes"
	"net"
	"time"

	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func splitDuration(d time.Duration) (sec, nsec uint32) {
	if d < 0 {
		d = 0
	}
	return uint32(d / time.Second), uint32(d % time.Second)
}

func joinDuration(sec, nsec uint32) time.Duration {
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

// FlowStats is one entry of an OFPMP_FLOW reply.
type FlowStats struct {
	TableID     uint8
	Duration    time.Duration
	Priority    uint16
	IdleTimeout uint16
	HardTimeout uint16
	Flags       uint16
	Cookie      uint64
	Packets     uint64
	Bytes       uint64
	Match       pipeline.Match
	Instr       pipeline.Instructions
}

// AppendFlowStats appends one ofp_flow_stats entry.
func AppendFlowStats(b []byte, fs *FlowStats) []byte {
	start := len(b)
	sec, nsec := splitDuration(fs.Duration)
	b = put16(b, 0)
	b = append(b, fs.TableID, 0)
	b = put32(b, sec)
	b = put32(b, nsec)
	b = put16(b, fs.Priority)
	b = put16(b, fs.IdleTimeout)
	b = put16(b, fs.HardTimeout)
	b = put16(b, fs.Flags)
	b = appendZeros(b, 4)
	b = put64(b, fs.Cookie)
	b = put64(b, fs.Packets)
	b = put64(b, fs.Bytes)
	b = AppendMatch(b, &fs.Match)
	b = AppendInstructions(b, &fs.Instr)
	n := len(b) - start
	b[start], b[start+1] = byte(n>>8), byte(n)
	return b
}

// DecodeFlowStats decodes the entries of an OFPMP_FLOW reply body.
func DecodeFlowStats(body []byte) ([]FlowStats, error) {
	var out []FlowStats
	for len(body) > 0 {
		if len(body) < 56 {
			return nil, badLen("flow stats entry truncated: %d bytes", len(body))
		}
		n := int(be16(body))
		if n < 56 || n > len(body) {
			return nil, badLen("flow stats entry length %d (%d bytes left)", n, len(body))
		}
		e := body[:n]
		fs := FlowStats{
			TableID:     e[2],
			Duration:    joinDuration(be32(e[4:]), be32(e[8:])),
			Priority:    be16(e[12:]),
			IdleTimeout: be16(e[14:]),
			HardTimeout: be16(e[16:]),
			Flags:       be16(e[18:]),
			Cookie:      be64(e[24:]),
			Packets:     be64(e[32:]),
			Bytes:       be64(e[40:]),
		}
		m, mlen, err := DecodeMatch(e[48:])
		if err != nil {
			return nil, err
		}
		fs.Match = m
		in, err := DecodeInstructions(e[48+mlen:])
		if err != nil {
			return nil, err
		}
		fs.Instr = in
		out = append(out, fs)
		body = body[n:]
	}
	return out, nil
}

// AggregateStats is the body of an OFPMP_AGGREGATE reply.
type AggregateStats struct {
	Packets uint64
	Bytes   uint64
	Flows   uint32
}

// AppendAggregateStats appends an OFPMP_AGGREGATE reply body.
func AppendAggregateStats(b []byte, a *AggregateStats) []byte {
	return appendWT(b, &ofp.AggregateStats{PacketCount: a.Packets, ByteCount: a.Bytes, FlowCount: a.Flows})
}

// DecodeAggregateStats decodes an OFPMP_AGGREGATE reply body.
func DecodeAggregateStats(body []byte) (*AggregateStats, error) {
	if len(body) != 24 {
		return nil, badLen("aggregate reply of %d bytes, want 24", len(body))
	}
	return &AggregateStats{Packets: be64(body), Bytes: be64(body[8:]), Flows: be32(body[16:])}, nil
}

// TableStats is one entry of an OFPMP_TABLE reply.
type TableStats struct {
	TableID uint8
	Active  uint32
	Lookups uint64
	Matched uint64
}

// AppendTableStats appends one ofp_table_stats entry.
func AppendTableStats(b []byte, t *TableStats) []byte {
	return appendWT(b, &ofp.TableStats{Table: ofp.Table(t.TableID), ActiveCount: t.Active, LookupCount: t.Lookups, MatchedCount: t.Matched})
}

// DecodeTableStats decodes an OFPMP_TABLE reply body.
func DecodeTableStats(body []byte) ([]TableStats, error) {
	if len(body)%24 != 0 {
		return nil, badLen("table stats of %d bytes, not a multiple of 24", len(body))
	}
	var out []TableStats
	for ; len(body) > 0; body = body[24:] {
		out = append(out, TableStats{TableID: body[0], Active: be32(body[4:]), Lookups: be64(body[8:]), Matched: be64(body[16:])})
	}
	return out, nil
}

// Port is ofp_port, an entry of OFPMP_PORT_DESC and OFPT_PORT_STATUS.
type Port struct {
	PortNo     uint32
	HWAddr     [6]byte
	Name       string
	Config     uint32
	State      uint32
	Curr       uint32
	Advertised uint32
	Supported  uint32
	Peer       uint32
	CurrSpeed  uint32
	MaxSpeed   uint32
}

// PortLen is the size of ofp_port.
const PortLen = 64

// AppendPort appends one ofp_port. The name is cut to 15 bytes so it stays
// NUL-terminated.
func AppendPort(b []byte, p *Port) []byte {
	name := p.Name
	if len(name) > 15 {
		name = name[:15]
	}
	return appendWT(b, &ofp.Port{
		PortNo: ofp.PortNo(p.PortNo), HWAddr: net.HardwareAddr(p.HWAddr[:]), Name: name,
		Config: ofp.PortConfig(p.Config), State: ofp.PortState(p.State),
		Curr: ofp.PortFeature(p.Curr), Advertised: ofp.PortFeature(p.Advertised),
		Supported: ofp.PortFeature(p.Supported), Peer: ofp.PortFeature(p.Peer),
		CurrSpeed: p.CurrSpeed, MaxSpeed: p.MaxSpeed,
	})
}

// DecodePort decodes one ofp_port; b must hold PortLen bytes.
func DecodePort(b []byte) Port {
	p := Port{
		PortNo: be32(b), Name: cstring(b[16:32]),
		Config: be32(b[32:]), State: be32(b[36:]), Curr: be32(b[40:]), Advertised: be32(b[44:]),
		Supported: be32(b[48:]), Peer: be32(b[52:]), CurrSpeed: be32(b[56:]), MaxSpeed: be32(b[60:]),
	}
	copy(p.HWAddr[:], b[8:14])
	return p
}

// DecodePorts decodes an OFPMP_PORT_DESC reply body.
func DecodePorts(body []byte) ([]Port, error) {
	if len(body)%PortLen != 0 {
		return nil, badLen("port descriptions of %d bytes, not a multiple of 64", len(body))
	}
	var out []Port
	for ; len(body) > 0; body = body[PortLen:] {
		out = append(out, DecodePort(body))
	}
	return out, nil
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// PortStats is one entry of an OFPMP_PORT_STATS reply.
type PortStats struct {
	PortNo     uint32
	RxPackets  uint64
	TxPackets  uint64
	RxBytes    uint64
	TxBytes    uint64
	RxDropped  uint64
	TxDropped  uint64
	RxErrors   uint64
	TxErrors   uint64
	RxFrameErr uint64
	RxOverErr  uint64
	RxCRCErr   uint64
	Collisions uint64
	Duration   time.Duration
}

// PortStatsLen is the size of ofp_port_stats.
const PortStatsLen = 112

// AppendPortStats appends one ofp_port_stats entry.
func AppendPortStats(b []byte, s *PortStats) []byte {
	sec, nsec := splitDuration(s.Duration)
	return appendWT(b, &ofp.PortStats{
		PortNo: ofp.PortNo(s.PortNo), RxPackets: s.RxPackets, TxPackets: s.TxPackets,
		RxBytes: s.RxBytes, TxBytes: s.TxBytes, RxDropped: s.RxDropped, TxDropped: s.TxDropped,
		RxErrors: s.RxErrors, TxErrors: s.TxErrors, RxFrameErr: s.RxFrameErr, RxOverErr: s.RxOverErr,
		RxCrcErr: s.RxCRCErr, Collisions: s.Collisions, DurationSec: sec, DurationNSec: nsec,
	})
}

// DecodePortStats decodes an OFPMP_PORT_STATS reply body.
func DecodePortStats(body []byte) ([]PortStats, error) {
	if len(body)%PortStatsLen != 0 {
		return nil, badLen("port stats of %d bytes, not a multiple of 112", len(body))
	}
	var out []PortStats
	for ; len(body) > 0; body = body[PortStatsLen:] {
		b := body
		c := func(i int) uint64 { return be64(b[8+8*i:]) }
		out = append(out, PortStats{
			PortNo: be32(b), RxPackets: c(0), TxPackets: c(1), RxBytes: c(2), TxBytes: c(3),
			RxDropped: c(4), TxDropped: c(5), RxErrors: c(6), TxErrors: c(7), RxFrameErr: c(8),
			RxOverErr: c(9), RxCRCErr: c(10), Collisions: c(11), Duration: joinDuration(be32(b[104:]), be32(b[108:])),
		})
	}
	return out, nil
}

// Desc is the body of an OFPMP_DESC reply.
type Desc struct {
	Manufacturer string
	Hardware     string
	Software     string
	SerialNum    string
	Datapath     string
}

// AppendDesc appends an OFPMP_DESC reply body; strings are cut to leave a
// terminating NUL.
func AppendDesc(b []byte, d *Desc) []byte {
	cut := func(s string, n int) string {
		if len(s) > n-1 {
			return s[:n-1]
		}
		return s
	}
	return appendWT(b, &ofp.Description{
		Manufacturer: cut(d.Manufacturer, 256), Hardware: cut(d.Hardware, 256), Software: cut(d.Software, 256),
		SerialNum: cut(d.SerialNum, 32), Datapath: cut(d.Datapath, 256),
	})
}

// DecodeDesc decodes an OFPMP_DESC reply body.
func DecodeDesc(body []byte) (*Desc, error) {
	if len(body) != 1056 {
		return nil, badLen("desc reply of %d bytes, want 1056", len(body))
	}
	return &Desc{
		Manufacturer: cstring(body[0:256]), Hardware: cstring(body[256:512]), Software: cstring(body[512:768]),
		SerialNum: cstring(body[768:800]), Datapath: cstring(body[800:1056]),
	}, nil
}

// BucketStats are the counters of one group bucket or meter band.
type BucketStats struct {
	Packets uint64
	Bytes   uint64
}

// GroupStats is one entry of an OFPMP_GROUP reply.
type GroupStats struct {
	GroupID  uint32
	RefCount uint32
	Packets  uint64
	Bytes    uint64
	Duration time.Duration
	Buckets  []BucketStats
}

// AppendGroupStats appends one ofp_group_stats entry.
func AppendGroupStats(b []byte, g *GroupStats) []byte {
	start := len(b)
	sec, nsec := splitDuration(g.Duration)
	b = put16(b, 0)
	b = appendZeros(b, 2)
	b = put32(b, g.GroupID)
	b = put32(b, g.RefCount)
	b = appendZeros(b, 4)
	b = put64(b, g.Packets)
	b = put64(b, g.Bytes)
	b = put32(b, sec)
	b = put32(b, nsec)
	for _, bs := range g.Buckets {
		b = put64(b, bs.Packets)
		b = put64(b, bs.Bytes)
	}
	n := len(b) - start
	b[start], b[start+1] = byte(n>>8), byte(n)
	return b
}

// AppendGroupDesc appends one ofp_group_desc entry.
func AppendGroupDesc(b []byte, g *pipeline.Group) []byte {
	start := len(b)
	b = put16(b, 0)
	b = append(b, uint8(g.Type), 0)
	b = put32(b, g.ID)
	b = AppendBuckets(b, g.Buckets)
	n := len(b) - start
	b[start], b[start+1] = byte(n>>8), byte(n)
	return b
}

// GroupFeatures is the body of an OFPMP_GROUP_FEATURES reply.
type GroupFeatures struct {
	Types        uint32
	Capabilities uint32
	MaxGroups    [4]uint32
	Actions      [4]uint32
}

// AppendGroupFeatures appends an OFPMP_GROUP_FEATURES reply body.
func AppendGroupFeatures(b []byte, g *GroupFeatures) []byte {
	return appendWT(b, &ofp.GroupFeatures{Types: g.Types, Capabilities: g.Capabilities, MaxGroups: g.MaxGroups, Actions: g.Actions})
}

// MeterStats is one entry of an OFPMP_METER reply.
type MeterStats struct {
	MeterID   uint32
	FlowCount uint32
	PacketsIn uint64
	BytesIn   uint64
	Duration  time.Duration
	Bands     []BucketStats
}

// AppendMeterStats appends one ofp_meter_stats entry.
func AppendMeterStats(b []byte, m *MeterStats) []byte {
	start := len(b)
	sec, nsec := splitDuration(m.Duration)
	b = put32(b, m.MeterID)
	b = put16(b, 0)
	b = appendZeros(b, 6)
	b = put32(b, m.FlowCount)
	b = put64(b, m.PacketsIn)
	b = put64(b, m.BytesIn)
	b = put32(b, sec)
	b = put32(b, nsec)
	for _, bs := range m.Bands {
		b = put64(b, bs.Packets)
		b = put64(b, bs.Bytes)
	}
	n := len(b) - start
	b[start+4], b[start+5] = byte(n>>8), byte(n)
	return b
}

// AppendMeterConfig appends one ofp_meter_config entry.
func AppendMeterConfig(b []byte, m *pipeline.Meter) []byte {
	start := len(b)
	b = put16(b, 0)
	b = put16(b, m.Flags)
	b = put32(b, m.ID)
	b = AppendBands(b, m.Bands)
	n := len(b) - start
	b[start], b[start+1] = byte(n>>8), byte(n)
	return b
}

// MeterFeatures is the body of an OFPMP_METER_FEATURES reply.
type MeterFeatures struct {
	MaxMeter     uint32
	BandTypes    uint32
	Capabilities uint32
	MaxBands     uint8
	MaxColor     uint8
}

// AppendMeterFeatures appends an OFPMP_METER_FEATURES reply body.
func AppendMeterFeatures(b []byte, m *MeterFeatures) []byte {
	return appendWT(b, &ofp.MeterFeatures{
		MaxMeter: m.MaxMeter, BandTypes: m.BandTypes, Capabilities: m.Capabilities,
		MaxBands: m.MaxBands, MaxColor: m.MaxColor,
	})
}
