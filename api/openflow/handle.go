package openflow

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// handle answers one message. A panic while handling it is recovered,
// logged and answered with BAD_REQUEST, so no input can take the channel
// (or the process) down.
func (c *conn) handle(ctx context.Context, msg []byte) {
	h := ofwire.ParseHeader(msg)
	defer func() {
		if r := recover(); r != nil {
			c.s.malformed.Add(1)
			c.log.Error("panic while handling a message", zap.Any(logKeyPanic, r),
				zap.Uint8(logKeyType, uint8(h.Type)), zap.Uint32(logKeyXid, h.Xid), zap.ByteString(logKeyStack, debug.Stack()))
			c.sendError(msg, pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadLen, "internal error"))
		}
	}()
	c.answer(msg, c.dispatch(ctx, h, msg))
}

// answer sends the OFPT_ERROR of a message that failed with err (nil:
// nothing to send).
func (c *conn) answer(msg []byte, err error) {
	if err == nil || errors.Is(err, errWrite) {
		return // done, or the channel is closed and the read loop ends next
	}
	h := ofwire.ParseHeader(msg)
	var perr *pipeline.Error
	if !errors.As(err, &perr) {
		c.log.Warn("request failed", zap.Uint8(logKeyType, uint8(h.Type)), zap.Uint32(logKeyXid, h.Xid), zap.Error(err))
		perr = genericError(h.Type, err)
	} else if isMalformed(perr) {
		c.s.malformed.Add(1)
	}
	c.sendError(msg, perr)
}

// isMalformed tells errors about the message's form from refusals.
func isMalformed(e *pipeline.Error) bool {
	switch e.Type {
	case pipeline.ErrBadRequest, pipeline.ErrBadMatch, pipeline.ErrBadAction, pipeline.ErrBadInstruction:
		return true
	}
	return false
}

// genericError is the error sent when the datapath fails with an error
// that is not a *pipeline.Error.
func genericError(t of.Type, err error) *pipeline.Error {
	switch t {
	case of.TypeFlowMod:
		return pipeline.Errorf(pipeline.ErrFlowModFailed, pipeline.FlowModUnknown, "%v", err)
	case of.TypeGroupMod:
		return pipeline.Errorf(pipeline.ErrGroupModFailed, pipeline.GroupModEperm, "%v", err)
	case of.TypeMeterMod:
		return pipeline.Errorf(pipeline.ErrMeterModFailed, pipeline.MeterModUnknown, "%v", err)
	case of.TypePortMod:
		return pipeline.Errorf(pipeline.ErrPortModFailed, ofwire.PortModEperm, "%v", err)
	case of.TypeSetConfig:
		return pipeline.Errorf(pipeline.ErrSwitchConfigFailed, ofwire.SwitchConfigEperm, "%v", err)
	}
	return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestEperm, "%v", err)
}

// stateChanging lists the messages a slave may not send.
func stateChanging(t of.Type) bool {
	switch t {
	case of.TypePacketOut, of.TypeFlowMod, of.TypeGroupMod, of.TypePortMod, of.TypeTableMod, of.TypeMeterMod:
		return true
	}
	return false
}

func bodyless(body []byte, what string) error {
	if len(body) != 0 {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadLen, "%s with a %d-byte body", what, len(body))
	}
	return nil
}

func (c *conn) dispatch(ctx context.Context, h ofwire.Header, msg []byte) error {
	body := msg[ofwire.HeaderLen:]
	if h.Version != ofwire.Version {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadVersion, "version %#x on an OpenFlow 1.3 channel", h.Version)
	}
	if stateChanging(h.Type) && c.getRole() == ofwire.RoleSlave {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestIsSlave, "message type %d from a slave", h.Type)
	}
	dp := c.s.cfg.Datapath
	// FLOW_MODs never come here: the read loop hands them to
	// handleFlowMods, a batch at a time.
	switch h.Type {
	case of.TypeHello:
		return nil // a late HELLO changes nothing
	case of.TypeError:
		if e, err := ofwire.DecodeError(body); err == nil {
			c.log.Info("controller sent an error", zap.Uint32(logKeyXid, h.Xid), zap.String(logKeyOFError, ofwire.ErrorName(e.Type, e.Code)))
		}
		return nil
	case of.TypeEchoRequest:
		return c.send(ofwire.Marshal(of.TypeEchoReply, h.Xid, body))
	case of.TypeEchoReply:
		return nil
	case of.TypeExperiment:
		return c.experimenter(ctx, h, msg) // ONF bundles (bundle.go)
	case of.TypeFeaturesRequest:
		if err := bodyless(body, "features request"); err != nil {
			return err
		}
		f := dp.Features()
		return c.send(ofwire.Marshal(of.TypeFeaturesReply, h.Xid, ofwire.AppendFeatures(nil, &ofwire.SwitchFeatures{
			DatapathID: f.DatapathID, NBuffers: f.NBuffers, NTables: f.NTables, Capabilities: f.Capabilities,
		})))
	case of.TypeGetConfigRequest:
		if err := bodyless(body, "get_config request"); err != nil {
			return err
		}
		c.stmu.Lock()
		cfg := ofwire.SwitchConfig{MissSendLen: c.missSendLen}
		c.stmu.Unlock()
		cfg.Flags = dp.SwitchConfig()
		return c.send(ofwire.Marshal(of.TypeGetConfigReply, h.Xid, ofwire.AppendSwitchConfig(nil, cfg)))
	case of.TypeSetConfig:
		cfg, err := ofwire.DecodeSwitchConfig(body)
		if err != nil {
			return err
		}
		// The flags are the switch's, for every channel (a later
		// GET_CONFIG on another channel sees them); miss_send_len is the
		// channel's own. A slave's flags change nothing, as in Open
		// vSwitch.
		if c.getRole() != ofwire.RoleSlave {
			if err := dp.SetSwitchConfig(ctx, cfg.Flags); err != nil {
				return fmt.Errorf("set_config: %w", err)
			}
		}
		c.stmu.Lock()
		c.missSendLen = cfg.MissSendLen
		c.stmu.Unlock()
		return nil
	case of.TypePacketOut:
		return c.packetOut(ctx, body)
	case of.TypeGroupMod:
		gm, err := ofwire.DecodeGroupMod(body)
		if err != nil {
			return err
		}
		if err := dp.GroupMod(ctx, gm); err != nil {
			return fmt.Errorf("group_mod: %w", err)
		}
		return nil
	case of.TypeMeterMod:
		mm, err := ofwire.DecodeMeterMod(body)
		if err != nil {
			return err
		}
		if err := dp.MeterMod(ctx, mm); err != nil {
			return fmt.Errorf("meter_mod: %w", err)
		}
		return nil
	case of.TypePortMod:
		pm, err := ofwire.DecodePortMod(body)
		if err != nil {
			return err
		}
		if err := dp.PortMod(ctx, pm); err != nil {
			return fmt.Errorf("port_mod: %w", err)
		}
		return nil
	case of.TypeTableMod:
		_, err := ofwire.DecodeTableMod(body)
		return err
	case of.TypeMultipartRequest:
		return c.multipart(h, body)
	case of.TypeBarrierRequest:
		if err := bodyless(body, "barrier request"); err != nil {
			return err
		}
		if err := dp.Barrier(ctx); err != nil {
			return fmt.Errorf("barrier: %w", err)
		}
		if err := c.drain(); err != nil {
			return err
		}
		return c.send(ofwire.Marshal(of.TypeBarrierReply, h.Xid))
	case of.TypeQueueGetConfigRequest:
		port, err := ofwire.DecodePortRequest(body)
		if err != nil {
			return err
		}
		// No queues: the reply names the port and lists nothing.
		return c.send(ofwire.Marshal(of.TypeQueueGetConfigReply, h.Xid, ofwire.AppendIDRequest(nil, port)))
	case of.TypeRoleRequest:
		return c.roleRequest(h, body)
	case of.TypeGetAsyncRequest:
		if err := bodyless(body, "get_async request"); err != nil {
			return err
		}
		c.stmu.Lock()
		a := c.async
		c.stmu.Unlock()
		return c.send(ofwire.Marshal(of.TypeGetAsyncReply, h.Xid, ofwire.AppendAsyncConfig(nil, a)))
	case of.TypeSetAsync:
		a, err := ofwire.DecodeAsyncConfig(body)
		if err != nil {
			return err
		}
		c.stmu.Lock()
		c.async = a
		c.stmu.Unlock()
		return nil
	}
	return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadType, "message type %d not accepted by a switch", h.Type)
}

func (c *conn) packetOut(ctx context.Context, body []byte) error {
	po, err := ofwire.DecodePacketOut(body)
	if err != nil {
		return err
	}
	if err := bufferErr(po.BufferID); err != nil {
		return err
	}
	if err := c.s.cfg.Datapath.PacketOut(ctx, po.InPort, po.Actions, po.Data); err != nil {
		return fmt.Errorf("packet_out: %w", err)
	}
	return nil
}
