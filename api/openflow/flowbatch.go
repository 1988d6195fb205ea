package openflow

import (
	"bufio"
	"context"
	"fmt"
	"runtime/debug"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// maxFlowModBatch bounds the flow mods applied as one batch.
const maxFlowModBatch = 4096

// isFlowMod reports whether msg is an OpenFlow 1.3 FLOW_MOD.
func isFlowMod(msg []byte) bool {
	return len(msg) >= ofwire.HeaderLen && msg[0] == ofwire.Version && of.Type(msg[1]) == of.TypeFlowMod
}

// readFlowModBatch returns first and the FLOW_MODs that follow it whole in
// r's buffer, without waiting for more: what a controller sent back to
// back (ovs-ofctl add-flows writes its rules so) goes to the datapath as
// one batch, installed once. The batch ends at the first other message
// (a BARRIER_REQUEST, say), which is answered after it, so every order
// OpenFlow promises holds.
func readFlowModBatch(r *bufio.Reader, first []byte) [][]byte {
	batch := [][]byte{first}
	for len(batch) < maxFlowModBatch && r.Buffered() >= ofwire.HeaderLen {
		hdr, err := r.Peek(ofwire.HeaderLen) // buffered: does not wait
		if err != nil || !isFlowMod(hdr) {
			break
		}
		n := int(hdr[2])<<8 | int(hdr[3])
		if n < ofwire.HeaderLen || r.Buffered() < n {
			break // framing errors and partial messages go the usual way
		}
		msg, err := readMessage(r)
		if err != nil {
			break
		}
		batch = append(batch, msg)
	}
	return batch
}

// handleFlowMods applies a batch of FLOW_MODs and answers each that
// failed with its own OFPT_ERROR, in order.
func (c *conn) handleFlowMods(ctx context.Context, msgs [][]byte) {
	defer func() {
		if r := recover(); r != nil {
			c.s.malformed.Add(1)
			c.log.Error("panic while handling flow mods", zap.Any(logKeyPanic, r), zap.Int("messages", len(msgs)),
				zap.ByteString(logKeyStack, debug.Stack()))
			c.sendError(msgs[0], pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadLen, "internal error"))
		}
	}()
	for i, err := range c.flowMods(ctx, msgs) {
		c.answer(msgs[i], err)
	}
}

// flowMods checks and decodes FLOW_MOD messages and applies the good ones
// in one batch; errs[i] is msgs[i]'s error.
func (c *conn) flowMods(ctx context.Context, msgs [][]byte) (errs []error) {
	errs = make([]error, len(msgs))
	fms := make([]*pipeline.FlowMod, 0, len(msgs))
	at := make([]int, 0, len(msgs))
	slave := c.getRole() == ofwire.RoleSlave
	for i, msg := range msgs {
		switch {
		case slave:
			errs[i] = pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestIsSlave, "flow mod from a slave")
		default:
			fm, err := ofwire.DecodeFlowMod(msg[ofwire.HeaderLen:])
			if err != nil {
				errs[i] = err
				continue
			}
			fms, at = append(fms, fm), append(at, i)
		}
	}
	if len(fms) == 0 {
		return errs
	}
	for j, err := range c.s.cfg.Datapath.FlowMods(ctx, fms) {
		fm := fms[j]
		switch {
		case err != nil:
			errs[at[j]] = fmt.Errorf("flow_mod: %w", err)
		default:
			errs[at[j]] = flowModBufferErr(fm)
		}
	}
	return errs
}

// flowModBufferErr is the error of an add or modify that names a buffered
// packet to run through the new entry (nil: it names none).
func flowModBufferErr(fm *pipeline.FlowMod) error {
	switch fm.Command {
	case pipeline.FlowAdd, pipeline.FlowModify, pipeline.FlowModifyStrict:
		return bufferErr(fm.BufferID)
	}
	return nil
}

// bufferErr is the error of a message naming a buffered packet: nicflow
// buffers none (nil for NoBuffer).
func bufferErr(id uint32) error {
	if id == ofwire.NoBuffer {
		return nil
	}
	return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBufferUnknown, "buffer %#x: nicflow buffers no packets", id)
}
