package ofwire

import (
	"time"

	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// Packet-in reasons (OFPR_*).
const (
	ReasonNoMatch    uint8 = 0
	ReasonAction     uint8 = 1
	ReasonInvalidTTL uint8 = 2
)

// Port-status reasons (OFPPR_*).
const (
	PortAdded    uint8 = 0
	PortDeleted  uint8 = 1
	PortModified uint8 = 2
)

// PacketIn is an OFPT_PACKET_IN.
type PacketIn struct {
	BufferID uint32
	TotalLen uint16
	Reason   uint8
	TableID  uint8
	Cookie   uint64
	Match    pipeline.Match
	Data     []byte
}

// AppendPacketIn appends a whole OFPT_PACKET_IN message. The caller keeps
// Data small enough for the message to fit 64 KiB.
func AppendPacketIn(b []byte, xid uint32, p *PacketIn) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypePacketIn, Xid: xid}.Append(b)
	b = put32(b, p.BufferID)
	b = put16(b, p.TotalLen)
	b = append(b, p.Reason, p.TableID)
	b = put64(b, p.Cookie)
	b = AppendMatch(b, &p.Match)
	b = appendZeros(b, 2)
	b = append(b, p.Data...)
	return finishAt(b, start)
}

// DecodePacketIn decodes the body of OFPT_PACKET_IN.
func DecodePacketIn(body []byte) (*PacketIn, error) {
	if len(body) < 16+8 {
		return nil, badLen("packet_in body of %d bytes", len(body))
	}
	p := &PacketIn{BufferID: be32(body), TotalLen: be16(body[4:]), Reason: body[6], TableID: body[7], Cookie: be64(body[8:])}
	m, n, err := DecodeMatch(body[16:])
	if err != nil {
		return nil, err
	}
	p.Match = m
	rest := body[16+n:]
	if len(rest) < 2 {
		return nil, badLen("packet_in without padding after the match")
	}
	p.Data = rest[2:]
	return p, nil
}

// FlowRemoved is an OFPT_FLOW_REMOVED.
type FlowRemoved struct {
	Cookie      uint64
	Priority    uint16
	Reason      uint8
	TableID     uint8
	Duration    time.Duration
	IdleTimeout uint16
	HardTimeout uint16
	Packets     uint64
	Bytes       uint64
	Match       pipeline.Match
}

// AppendFlowRemoved appends a whole OFPT_FLOW_REMOVED message.
func AppendFlowRemoved(b []byte, xid uint32, f *FlowRemoved) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypeFlowRemoved, Xid: xid}.Append(b)
	b = put64(b, f.Cookie)
	b = put16(b, f.Priority)
	b = append(b, f.Reason, f.TableID)
	sec, nsec := splitDuration(f.Duration)
	b = put32(b, sec)
	b = put32(b, nsec)
	b = put16(b, f.IdleTimeout)
	b = put16(b, f.HardTimeout)
	b = put64(b, f.Packets)
	b = put64(b, f.Bytes)
	b = AppendMatch(b, &f.Match)
	return finishAt(b, start)
}

// AppendPortStatus appends a whole OFPT_PORT_STATUS message.
func AppendPortStatus(b []byte, xid uint32, reason uint8, p *Port) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypePortStatus, Xid: xid}.Append(b)
	b = append(b, reason)
	b = appendZeros(b, 7)
	b = AppendPort(b, p)
	return finishAt(b, start)
}
