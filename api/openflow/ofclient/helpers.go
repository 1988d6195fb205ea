package ofclient

import (
	"context"
	"fmt"

	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// Multipart sends a multipart request and returns the concatenated bodies
// of every reply message (after the multipart headers), following
// OFPMPF_REPLY_MORE.
func (c *Client) Multipart(ctx context.Context, t ofp.MultipartType, body []byte) ([]byte, error) {
	xid := c.nextXid()
	ch, err := c.register(xid)
	if err != nil {
		return nil, err
	}
	defer c.unregister(xid)
	if err := c.write(ofwire.AppendMultipartRequest(nil, xid, t, 0, body)); err != nil {
		return nil, fmt.Errorf("send multipart request: %w", err)
	}
	var out []byte
	for {
		m, err := c.wait(ctx, ch)
		if err != nil {
			return nil, err
		}
		if m.Header.Type == of.TypeError {
			return nil, asError(m)
		}
		if m.Header.Type != of.TypeMultipartReply {
			return nil, fmt.Errorf("multipart request: got message type %d", m.Header.Type)
		}
		mp, err := ofwire.DecodeMultipart(m.Body)
		if err != nil {
			return nil, err
		}
		if mp.Type != t {
			return nil, fmt.Errorf("multipart request type %d: reply of type %d", t, mp.Type)
		}
		out = append(out, mp.Body...)
		if mp.Flags&ofwire.MultipartReplyMore == 0 {
			return out, nil
		}
	}
}

// Barrier sends BARRIER_REQUEST and waits for the reply.
func (c *Client) Barrier(ctx context.Context) error {
	_, err := c.Request(ctx, of.TypeBarrierRequest, nil)
	return err
}

// Echo sends ECHO_REQUEST with data and checks the reply echoes it.
func (c *Client) Echo(ctx context.Context, data []byte) error {
	m, err := c.Request(ctx, of.TypeEchoRequest, data)
	if err != nil {
		return err
	}
	if string(m.Body) != string(data) {
		return fmt.Errorf("echo reply carries %q, want %q", m.Body, data)
	}
	return nil
}

// Apply sends a message that has no reply on success (FLOW_MOD,
// GROUP_MOD, ...) followed by a barrier, and returns the error the switch
// answered it with, if any.
func (c *Client) Apply(ctx context.Context, t of.Type, body []byte) error {
	xid := c.nextXid()
	ch, err := c.register(xid)
	if err != nil {
		return err
	}
	defer c.unregister(xid)
	if err := c.write(ofwire.Marshal(t, xid, body)); err != nil {
		return fmt.Errorf("send openflow message: %w", err)
	}
	if err := c.Barrier(ctx); err != nil {
		return err
	}
	// The switch handles messages in order: an error for xid came before
	// the barrier reply.
	select {
	case m := <-ch:
		if m.Header.Type == of.TypeError {
			return asError(m)
		}
		return fmt.Errorf("unexpected reply of type %d", m.Header.Type)
	default:
		return nil
	}
}

// FlowMod sends a FLOW_MOD and waits for it to take effect.
func (c *Client) FlowMod(ctx context.Context, fm *pipeline.FlowMod) error {
	if fm.BufferID == 0 {
		fm.BufferID = ofwire.NoBuffer
	}
	return c.Apply(ctx, of.TypeFlowMod, ofwire.AppendFlowMod(nil, fm))
}

// AddFlow adds a flow entry (fm.Command is set to add).
func (c *Client) AddFlow(ctx context.Context, fm *pipeline.FlowMod) error {
	fm.Command = pipeline.FlowAdd
	return c.FlowMod(ctx, fm)
}

// DelFlows deletes the flows of table (pipeline.TableAll: every table)
// that match covers (nil: all).
func (c *Client) DelFlows(ctx context.Context, table uint8, match *pipeline.Match) error {
	fm := &pipeline.FlowMod{Command: pipeline.FlowDelete, Table: table, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
	if match != nil {
		fm.Match = *match
	}
	return c.FlowMod(ctx, fm)
}

// GroupMod sends a GROUP_MOD and waits for it to take effect.
func (c *Client) GroupMod(ctx context.Context, gm *pipeline.GroupMod) error {
	return c.Apply(ctx, of.TypeGroupMod, ofwire.AppendGroupMod(nil, gm))
}

// MeterMod sends a METER_MOD and waits for it to take effect.
func (c *Client) MeterMod(ctx context.Context, mm *pipeline.MeterMod) error {
	return c.Apply(ctx, of.TypeMeterMod, ofwire.AppendMeterMod(nil, mm))
}

// AllFlows is the filter that selects every flow.
func AllFlows() *pipeline.FlowFilter {
	return &pipeline.FlowFilter{Table: pipeline.TableAll, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
}

// FlowStats returns the flows f selects (nil: all).
func (c *Client) FlowStats(ctx context.Context, f *pipeline.FlowFilter) ([]ofwire.FlowStats, error) {
	if f == nil {
		f = AllFlows()
	}
	body, err := c.Multipart(ctx, ofp.MultipartTypeFlow, ofwire.AppendFlowStatsRequest(nil, f))
	if err != nil {
		return nil, fmt.Errorf("flow stats: %w", err)
	}
	return ofwire.DecodeFlowStats(body)
}

// Aggregate returns the summed counters of the flows f selects (nil: all).
func (c *Client) Aggregate(ctx context.Context, f *pipeline.FlowFilter) (*ofwire.AggregateStats, error) {
	if f == nil {
		f = AllFlows()
	}
	body, err := c.Multipart(ctx, ofp.MultipartTypeAggregate, ofwire.AppendFlowStatsRequest(nil, f))
	if err != nil {
		return nil, fmt.Errorf("aggregate stats: %w", err)
	}
	return ofwire.DecodeAggregateStats(body)
}

// PortStats returns the counters of port (pipeline.PortAny: every port).
func (c *Client) PortStats(ctx context.Context, port uint32) ([]ofwire.PortStats, error) {
	body, err := c.Multipart(ctx, ofp.MultipartTypePortStats, ofwire.AppendIDRequest(nil, port))
	if err != nil {
		return nil, fmt.Errorf("port stats: %w", err)
	}
	return ofwire.DecodePortStats(body)
}

// PortDesc returns the switch's ports.
func (c *Client) PortDesc(ctx context.Context) ([]ofwire.Port, error) {
	body, err := c.Multipart(ctx, ofp.MultipartTypePortDescription, nil)
	if err != nil {
		return nil, fmt.Errorf("port desc: %w", err)
	}
	return ofwire.DecodePorts(body)
}

// TableStats returns the tables' counters.
func (c *Client) TableStats(ctx context.Context) ([]ofwire.TableStats, error) {
	body, err := c.Multipart(ctx, ofp.MultipartTypeTable, nil)
	if err != nil {
		return nil, fmt.Errorf("table stats: %w", err)
	}
	return ofwire.DecodeTableStats(body)
}

// TableFeatures returns the tables' features.
func (c *Client) TableFeatures(ctx context.Context) ([]ofwire.TableFeatures, error) {
	body, err := c.Multipart(ctx, ofp.MultipartTypeTableFeatures, nil)
	if err != nil {
		return nil, fmt.Errorf("table features: %w", err)
	}
	return ofwire.DecodeTableFeatures(body)
}

// Desc returns the switch description.
func (c *Client) Desc(ctx context.Context) (*ofwire.Desc, error) {
	body, err := c.Multipart(ctx, ofp.MultipartTypeDescription, nil)
	if err != nil {
		return nil, fmt.Errorf("desc: %w", err)
	}
	return ofwire.DecodeDesc(body)
}

// SetRole sends ROLE_REQUEST and returns the switch's ROLE_REPLY.
func (c *Client) SetRole(ctx context.Context, role uint32, generationID uint64) (ofwire.RoleRequest, error) {
	m, err := c.Request(ctx, of.TypeRoleRequest, ofwire.AppendRole(nil, ofwire.RoleRequest{Role: role, GenerationID: generationID}))
	if err != nil {
		return ofwire.RoleRequest{}, err
	}
	if len(m.Body) != 16 {
		return ofwire.RoleRequest{}, fmt.Errorf("role reply of %d bytes", len(m.Body))
	}
	return ofwire.RoleRequest{Role: uint32(m.Body[0])<<24 | uint32(m.Body[1])<<16 | uint32(m.Body[2])<<8 | uint32(m.Body[3]),
		GenerationID: beUint64(m.Body[8:])}, nil
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, c := range b[:8] {
		v = v<<8 | uint64(c)
	}
	return v
}
