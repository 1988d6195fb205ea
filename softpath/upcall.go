package softpath

import "github.com/nicflow/nicflow/offload/pipeline"

// Packet-in reasons (OFPR_*).
const (
	ReasonNoMatch    uint8 = 0
	ReasonAction     uint8 = 1
	ReasonInvalidTTL uint8 = 2
)

// PacketIn is a packet sent to the controller.
type PacketIn struct {
	Reason   uint8
	Table    uint8
	Cookie   uint64
	Flow     *pipeline.Flow // the flow that sent it; nil for packet-outs
	InPort   uint32
	Metadata uint64
	TunnelID uint64
	Data     []byte // a copy of the frame, truncated to the action's max_len
	TotalLen int    // the frame's full length
}

// upcall hands a copy of p to Config.Upcall.
func (w *worker) upcall(p *pkt, reason uint8, maxLen uint16) {
	up := w.d.cfg.Upcall
	if up == nil {
		return
	}
	if in, ok := w.ports.byNo[p.inPort]; ok && in.cfg.Load()&portNoPacketIn != 0 {
		return // OFPPC_NO_PACKET_IN
	}
	n := len(p.buf)
	if maxLen != pipeline.ControllerMaxLenNoBuffer && int(maxLen) < n {
		n = int(maxLen)
	}
	in := PacketIn{
		Reason:   reason,
		Table:    p.table,
		InPort:   p.inPort,
		Metadata: p.key.Metadata,
		TunnelID: p.key.TunnelID,
		Data:     append([]byte(nil), p.buf[:n]...),
		TotalLen: len(p.buf),
	}
	if p.flow != nil {
		in.Flow = p.flow
		in.Cookie = p.flow.Cookie
		in.Table = p.flow.Table
	} else {
		in.Cookie = ^uint64(0)
	}
	up(in)
}
