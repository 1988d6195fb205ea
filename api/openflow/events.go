package openflow

import (
	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// onEvent sends a datapath event to every channel whose role and
// asynchronous configuration want it. It never blocks: each channel has a
// bounded queue.
func (s *Switch) onEvent(e offload.Event) {
	switch e := e.(type) {
	case *offload.PacketIn:
		s.sendPacketIn(e)
	case *offload.FlowRemoved:
		if e.Flow == nil || e.Flow.Flags&pipeline.FlagSendFlowRem == 0 {
			return
		}
		var msg []byte
		for _, c := range s.snapshotConns() {
			if !c.wants(asyncFlowRemoved, uint8(e.Reason)) {
				continue
			}
			if msg == nil {
				msg = ofwire.AppendFlowRemoved(nil, 0, flowRemovedWire(e))
			}
			c.enqueue(msg, false)
		}
	case *offload.PortStatus:
		var msg []byte
		for _, c := range s.snapshotConns() {
			if !c.wants(asyncPortStatus, e.Reason) {
				continue
			}
			if msg == nil {
				p := portWire(e.Port)
				msg = ofwire.AppendPortStatus(nil, 0, e.Reason, &p)
			}
			c.enqueue(msg, false)
		}
	}
}

// maxPacketInData keeps a packet-in within 64 KiB (header, fixed part and
// a match of in_port, metadata and tunnel_id).
const maxPacketInData = ofwire.MaxMessageLen - 128

func (s *Switch) sendPacketIn(e *offload.PacketIn) {
	byLen := map[int][]byte{} // encoded message per data length
	var match *pipeline.Match // built for the first channel that wants e
	now := s.cfg.Clock.Now()
	for _, c := range s.snapshotConns() {
		if !c.wants(asyncPacketIn, e.Reason) || !c.admitPacketIn(e.Reason, now) {
			continue
		}
		n := len(e.Data)
		if e.Reason == ReasonNoMatch {
			c.stmu.Lock()
			msl := c.missSendLen
			c.stmu.Unlock()
			if msl != pipeline.ControllerMaxLenNoBuffer && int(msl) < n {
				n = int(msl)
			}
		}
		n = min(n, maxPacketInData)
		msg, ok := byLen[n]
		if !ok {
			if match == nil {
				m := packetInMatch(e)
				match = &m
			}
			total := uint16(e.TotalLen)
			if total == 0 {
				total = uint16(min(len(e.Data), 0xffff))
			}
			msg = ofwire.AppendPacketIn(nil, 0, &ofwire.PacketIn{
				BufferID: ofwire.NoBuffer, TotalLen: total, Reason: e.Reason, TableID: e.Table,
				Cookie: e.Cookie, Match: *match, Data: e.Data[:n],
			})
			byLen[n] = msg
		}
		c.enqueue(msg, true)
	}
}

// asyncKind names one of the three asynchronous masks.
type asyncKind int

const (
	asyncPacketIn asyncKind = iota
	asyncPortStatus
	asyncFlowRemoved
)

// wants reports whether the channel's asynchronous configuration enables
// reason for messages of kind, under its current role: mask element 0
// applies to master and equal, element 1 to slave.
func (c *conn) wants(kind asyncKind, reason uint8) bool {
	c.stmu.Lock()
	defer c.stmu.Unlock()
	i := 0
	if c.role == ofwire.RoleSlave {
		i = 1
	}
	var mask uint32
	switch kind {
	case asyncPacketIn:
		mask = c.async.PacketIn[i]
	case asyncPortStatus:
		mask = c.async.PortStatus[i]
	case asyncFlowRemoved:
		mask = c.async.FlowRemoved[i]
	}
	return reason < 32 && mask&(1<<reason) != 0
}
