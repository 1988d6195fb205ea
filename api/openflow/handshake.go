package openflow

import (
	"bufio"
	"fmt"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// handshake reads the peer's HELLO and checks that it admits OpenFlow 1.3.
// A peer that does not is sent HELLO_FAILED/INCOMPATIBLE; one that starts
// with anything but HELLO gets HELLO_FAILED/EPERM. It reports whether the
// channel may go on.
func (c *conn) handshake(r *bufio.Reader) bool {
	msg, err := readMessage(r)
	if err != nil {
		c.readFailed(msg, err)
		return false
	}
	c.received()
	h := ofwire.ParseHeader(msg)
	if h.Type != of.TypeHello {
		c.s.malformed.Add(1)
		text := fmt.Sprintf("expected OFPT_HELLO, got message type %d", h.Type)
		c.log.Warn("handshake failed", zap.String(logKeyReason, text))
		c.send(ofwire.ErrorData(nil, h.Xid, pipeline.ErrHelloFailed, ofwire.HelloFailedEperm, []byte(text)))
		c.lingerClose()
		return false
	}
	if !ofwire.HelloSupports13(h, msg[ofwire.HeaderLen:]) {
		text := fmt.Sprintf("nicflow supports OpenFlow 1.3 (version 0x04) only; peer offered version %#02x", h.Version)
		c.log.Warn("handshake failed", zap.String(logKeyReason, text))
		c.send(ofwire.ErrorData(nil, h.Xid, pipeline.ErrHelloFailed, ofwire.HelloFailedIncompatible, []byte(text)))
		c.lingerClose()
		return false
	}
	return true
}
