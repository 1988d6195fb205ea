package openflow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// Bundles (OpenFlow 1.4 section 6.8) over OpenFlow 1.3, as the ONF
// extension EXT-230 carries them and Open vSwitch answers them:
//
//   - A bundle belongs to its channel: its id names it on that channel
//     only, and a channel that closes drops its open bundles.
//   - OPEN creates it (an id in use: BAD_ID, and that bundle is dropped);
//     ADD_MESSAGE to an id not in use creates it too, with the message's
//     flags.
//   - ADD_MESSAGE checks the inner message as the switch would decode it
//     (a malformed one gets its own error, and is not added) and stores
//     it: FLOW_MOD, GROUP_MOD, METER_MOD and PORT_MOD; any other message
//     is MSG_UNSUP.
//   - CLOSE takes no more messages; COMMIT applies the flow, group and
//     meter mods in order, all or none (Datapath.Bundle): the failing
//     message's own error goes out with its xid, then MSG_FAILED for the
//     commit. The bundle is gone after a COMMIT, whatever its outcome.
//     COMMIT_REPLY goes out once the change is in force in every tier,
//     as a BARRIER_REPLY would. PORT_MODs cannot be undone (a netdev set
//     down): in an atomic bundle they are MSG_FAILED at commit, as in
//     Open vSwitch; in a bundle without the atomic flag they are applied
//     after the rest.
//   - DISCARD drops it. A bundle idle for bundleIdleTimeout is dropped
//     with a TIMEOUT error, checked (at most once a second) when the
//     channel's next bundle message arrives.
//
// Every bundle error is an OFPBFC_* code, sent as an ONF experimenter
// error. The read loop alone touches a channel's bundles.

// Limits of a channel's bundles.
const (
	// bundleIdleTimeout is Open vSwitch's default bundle idle timeout.
	bundleIdleTimeout = 10 * time.Second
	// maxBundles bounds a channel's open bundles (OUT_OF_BUNDLES).
	maxBundles = 256
	// maxBundledMessages bounds the messages of all of a channel's
	// bundles together (MSG_TOO_MANY).
	maxBundledMessages = 1 << 20
)

// bundleSet is a channel's open bundles by id.
type bundleSet struct {
	byID map[uint32]*bundle
	msgs int // messages in all of them
	// nextExpiry is when expireBundles looks at the bundles next: once a
	// second, as Open vSwitch does, not for every message.
	nextExpiry time.Time
}

// bundle is one open (or closed, not yet committed) bundle.
type bundle struct {
	id     uint32
	flags  uint16
	closed bool
	first  []byte    // the message that created it, answered by a TIMEOUT
	used   time.Time // last OPEN, ADD_MESSAGE or CLOSE
	msgs   []bundleMsg
}

// bundleMsg is a checked message of a bundle.
type bundleMsg struct {
	add  []byte // the ADD_MESSAGE, answered by the message's error
	mod  offload.BundleMod
	port *ofwire.PortMod // or a PORT_MOD
}

func (bs *bundleSet) get(id uint32) *bundle { return bs.byID[id] }

func (bs *bundleSet) put(b *bundle) {
	if bs.byID == nil {
		bs.byID = make(map[uint32]*bundle)
	}
	bs.byID[b.id] = b
}

func (bs *bundleSet) drop(b *bundle) {
	delete(bs.byID, b.id)
	bs.msgs -= len(b.msgs)
}

// experimenter answers an OFPT_EXPERIMENTER: the ONF bundle messages;
// anything else is BAD_EXPERIMENTER or BAD_EXP_TYPE.
func (c *conn) experimenter(ctx context.Context, h ofwire.Header, msg []byte) error {
	e, err := ofwire.DecodeExperimenter(msg[ofwire.HeaderLen:])
	if err != nil {
		return err
	}
	if e.Experimenter != ofwire.ONFExperimenter {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadExperimenter, "experimenter %#x not supported", e.Experimenter)
	}
	if e.ExpType != ofwire.ONFBundleControl && e.ExpType != ofwire.ONFBundleAddMessage {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestBadExpType, "ONF experimenter message type %d not supported", e.ExpType)
	}
	if c.getRole() == ofwire.RoleSlave {
		return pipeline.Errorf(pipeline.ErrBadRequest, ofwire.BadRequestIsSlave, "bundle message from a slave")
	}
	now := c.s.cfg.Clock.Now()
	c.expireBundles(now)
	if e.ExpType == ofwire.ONFBundleControl {
		err = c.bundleControl(ctx, h, msg, e.Data, now)
	} else {
		err = c.bundleAdd(h, msg, e.Data, now)
	}
	var be *ofwire.BundleError
	if errors.As(err, &be) {
		c.sendBundleError(msg, be)
		return nil
	}
	return err
}

// sendBundleError answers offending with an OFPBFC_* error.
func (c *conn) sendBundleError(offending []byte, e *ofwire.BundleError) {
	xid := ofwire.ParseHeader(offending).Xid
	c.log.Debug("answering with bundle error", zap.Uint32(logKeyXid, xid),
		zap.String(logKeyOFError, ofwire.BundleErrorName(e.Code)), zap.String(logKeyReason, e.Msg))
	c.send(ofwire.AppendBundleError(nil, xid, e.Code, offending))
}

// expireBundles drops the bundles idle for bundleIdleTimeout at now, each
// answered with TIMEOUT (Open vSwitch sends it with the xid of the
// message that opened the bundle). It looks once a second.
func (c *conn) expireBundles(now time.Time) {
	if len(c.bundles.byID) == 0 || now.Before(c.bundles.nextExpiry) {
		return
	}
	c.bundles.nextExpiry = now.Add(time.Second)
	var old []*bundle
	for _, b := range c.bundles.byID {
		if now.Sub(b.used) >= bundleIdleTimeout {
			old = append(old, b)
		}
	}
	sort.Slice(old, func(i, j int) bool { return old[i].id < old[j].id })
	for _, b := range old {
		c.bundles.drop(b)
		c.sendBundleError(b.first, ofwire.BundleErrorf(ofwire.BundleFailedTimeout, "bundle %#x idle for %v", b.id, now.Sub(b.used)))
	}
}

// newBundle opens a bundle created by msg at now.
func (c *conn) newBundle(id uint32, flags uint16, msg []byte, now time.Time) (*bundle, error) {
	if flags&^(ofwire.BundleAtomic|ofwire.BundleOrdered) != 0 {
		return nil, ofwire.BundleErrorf(ofwire.BundleFailedBadFlags, "bundle %#x: flags %#x", id, flags)
	}
	if len(c.bundles.byID) >= maxBundles {
		return nil, ofwire.BundleErrorf(ofwire.BundleFailedOutOfBundles, "bundle %#x: %d bundles open on the channel", id, len(c.bundles.byID))
	}
	b := &bundle{id: id, flags: flags, first: msg, used: now}
	c.bundles.put(b)
	return b, nil
}

func (c *conn) bundleControl(ctx context.Context, h ofwire.Header, msg, data []byte, now time.Time) error {
	bc, err := ofwire.DecodeBundleCtrl(data)
	if err != nil {
		return err
	}
	b := c.bundles.get(bc.ID)
	reply := ofwire.BundleCtrl{ID: bc.ID}
	switch bc.Type {
	case ofwire.BundleOpenRequest:
		if b != nil {
			c.bundles.drop(b) // as Open vSwitch does
			return ofwire.BundleErrorf(ofwire.BundleFailedBadID, "bundle %#x is already open", bc.ID)
		}
		if _, err := c.newBundle(bc.ID, bc.Flags, msg, now); err != nil {
			return err
		}
		reply.Type = ofwire.BundleOpenReply
	case ofwire.BundleCloseRequest:
		switch {
		case b == nil:
			return ofwire.BundleErrorf(ofwire.BundleFailedBadID, "bundle %#x is not open", bc.ID)
		case b.closed:
			c.bundles.drop(b)
			return ofwire.BundleErrorf(ofwire.BundleFailedBundleClosed, "bundle %#x is already closed", bc.ID)
		case b.flags != bc.Flags:
			c.bundles.drop(b)
			return ofwire.BundleErrorf(ofwire.BundleFailedBadFlags, "bundle %#x: flags %#x, opened with %#x", bc.ID, bc.Flags, b.flags)
		}
		b.closed = true
		b.used = now
		reply.Type = ofwire.BundleCloseReply
	case ofwire.BundleCommitRequest:
		if b == nil {
			return ofwire.BundleErrorf(ofwire.BundleFailedBadID, "bundle %#x is not open", bc.ID)
		}
		c.bundles.drop(b) // committed or failed, it is gone
		if b.flags != bc.Flags {
			return ofwire.BundleErrorf(ofwire.BundleFailedBadFlags, "bundle %#x: flags %#x, opened with %#x", bc.ID, bc.Flags, b.flags)
		}
		if err := c.commitBundle(ctx, b); err != nil {
			return err
		}
		// As a barrier: what the commit caused (FLOW_REMOVED) goes first.
		if err := c.drain(); err != nil {
			return err
		}
		reply.Type = ofwire.BundleCommitReply
	case ofwire.BundleDiscardRequest:
		if b == nil {
			return ofwire.BundleErrorf(ofwire.BundleFailedBadID, "bundle %#x is not open", bc.ID)
		}
		c.bundles.drop(b)
		reply.Type = ofwire.BundleDiscardReply
	default:
		return ofwire.BundleErrorf(ofwire.BundleFailedBadType, "bundle %#x: control type %s from a controller", bc.ID, bc.Type)
	}
	return c.send(ofwire.AppendBundleCtrl(nil, h.Xid, &reply))
}

func (c *conn) bundleAdd(h ofwire.Header, msg, data []byte, now time.Time) error {
	ba, err := ofwire.DecodeBundleAdd(h.Xid, data)
	if err != nil {
		return err
	}
	bm, err := checkBundled(ba.Msg)
	if err != nil {
		return err
	}
	bm.add = msg
	b := c.bundles.get(ba.ID)
	switch {
	case b == nil:
		if b, err = c.newBundle(ba.ID, ba.Flags, msg, now); err != nil {
			return err
		}
	case b.closed:
		c.bundles.drop(b)
		return ofwire.BundleErrorf(ofwire.BundleFailedBundleClosed, "bundle %#x is closed", ba.ID)
	case b.flags != ba.Flags:
		c.bundles.drop(b)
		return ofwire.BundleErrorf(ofwire.BundleFailedBadFlags, "bundle %#x: flags %#x, opened with %#x", ba.ID, ba.Flags, b.flags)
	}
	if c.bundles.msgs >= maxBundledMessages {
		return ofwire.BundleErrorf(ofwire.BundleFailedMsgTooMany, "bundle %#x: %d messages in the channel's bundles", ba.ID, c.bundles.msgs)
	}
	b.msgs = append(b.msgs, bm)
	c.bundles.msgs++
	b.used = now
	return nil
}

// checkBundled decodes a message to be added to a bundle: its own error
// when it is malformed, MSG_UNSUP when it may not be bundled.
func checkBundled(inner []byte) (bundleMsg, error) {
	h := ofwire.ParseHeader(inner)
	body := inner[ofwire.HeaderLen:]
	var bm bundleMsg
	var err error
	switch h.Type {
	case of.TypeFlowMod:
		bm.mod.Flow, err = ofwire.DecodeFlowMod(body)
		if err == nil {
			err = flowModBufferErr(bm.mod.Flow)
		}
	case of.TypeGroupMod:
		bm.mod.Group, err = ofwire.DecodeGroupMod(body)
	case of.TypeMeterMod:
		bm.mod.Meter, err = ofwire.DecodeMeterMod(body)
	case of.TypePortMod:
		bm.port, err = ofwire.DecodePortMod(body)
	default:
		err = ofwire.BundleErrorf(ofwire.BundleFailedMsgUnsup, "message type %d in a bundle", h.Type)
	}
	return bm, err
}

// commitBundle applies b. When a message fails, its own error goes out
// first, then the commit's MSG_FAILED (returned).
func (c *conn) commitBundle(ctx context.Context, b *bundle) error {
	var mods []offload.BundleMod
	var at []int // b.msgs index of mods[i]
	var ports []int
	for i, m := range b.msgs {
		if m.port != nil {
			if b.flags&ofwire.BundleAtomic != 0 {
				c.sendBundleError(m.add, ofwire.BundleErrorf(ofwire.BundleFailedMsgFailed, "bundle %#x: a port mod cannot be undone, so not in an atomic bundle", b.id))
				return ofwire.BundleErrorf(ofwire.BundleFailedMsgFailed, "bundle %#x: message %d failed", b.id, i)
			}
			ports = append(ports, i)
			continue
		}
		mods, at = append(mods, m.mod), append(at, i)
	}
	if len(mods) > 0 {
		if err := c.s.cfg.Datapath.Bundle(ctx, mods); err != nil {
			var be *offload.BundleError
			if !errors.As(err, &be) || be.Index < 0 || be.Index >= len(at) {
				return fmt.Errorf("bundle %#x commit: %w", b.id, err)
			}
			i := at[be.Index]
			c.answerBundled(b.msgs[i], be.Err)
			return ofwire.BundleErrorf(ofwire.BundleFailedMsgFailed, "bundle %#x: message %d failed: %v", b.id, i, be.Err)
		}
	}
	for _, i := range ports {
		m := b.msgs[i]
		if err := c.s.cfg.Datapath.PortMod(ctx, m.port); err != nil {
			c.answerBundled(m, err)
			return ofwire.BundleErrorf(ofwire.BundleFailedMsgFailed, "bundle %#x: message %d failed: %v", b.id, i, err)
		}
	}
	return nil
}

// answerBundled sends the OFPT_ERROR of a bundled message that failed at
// commit: its xid and, as Open vSwitch sends it, the ADD_MESSAGE as data.
func (c *conn) answerBundled(m bundleMsg, err error) {
	var perr *pipeline.Error
	if !errors.As(err, &perr) {
		inner := of.TypePortMod
		switch {
		case m.mod.Flow != nil:
			inner = of.TypeFlowMod
		case m.mod.Group != nil:
			inner = of.TypeGroupMod
		case m.mod.Meter != nil:
			inner = of.TypeMeterMod
		}
		c.log.Warn("bundled request failed", zap.Uint8(logKeyType, uint8(inner)), zap.Uint32(logKeyXid, ofwire.ParseHeader(m.add).Xid), zap.Error(err))
		perr = genericError(inner, err)
	}
	c.sendError(m.add, perr)
}
