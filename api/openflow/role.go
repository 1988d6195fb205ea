package openflow

import (
	of "github.com/netrack/openflow"
	"go.uber.org/zap"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload/pipeline"
)

func (c *conn) getRole() uint32 {
	c.stmu.Lock()
	defer c.stmu.Unlock()
	return c.role
}

// roleRequest implements OpenFlow 1.3.5 section 6.3.5: a MASTER or SLAVE
// request carries a generation id that must not be older than the last one
// seen (compared as a wrapping 64-bit difference), else STALE; a new master
// turns every other master into a slave; NOCHANGE only queries.
func (c *conn) roleRequest(h ofwire.Header, body []byte) error {
	req, err := ofwire.DecodeRoleRequest(body)
	if err != nil {
		return err
	}
	s := c.s
	s.mu.Lock()
	if req.Role == ofwire.RoleMaster || req.Role == ofwire.RoleSlave {
		if s.genIDSet && int64(req.GenerationID-s.genID) < 0 {
			cached := s.genID
			s.mu.Unlock()
			return pipeline.Errorf(pipeline.ErrRoleRequestFailed, ofwire.RoleRequestStale,
				"generation id %d is older than %d", req.GenerationID, cached)
		}
		s.genID, s.genIDSet = req.GenerationID, true
	}
	if req.Role == ofwire.RoleMaster {
		for other := range s.conns {
			if other == c {
				continue
			}
			other.stmu.Lock()
			if other.role == ofwire.RoleMaster {
				other.role = ofwire.RoleSlave
				other.log.Info("controller demoted to slave by a new master")
			}
			other.stmu.Unlock()
		}
	}
	c.stmu.Lock()
	if req.Role != ofwire.RoleNoChange {
		if c.role != req.Role {
			c.log.Info("controller role changed", zap.Uint32(logKeyRole, req.Role))
		}
		c.role = req.Role
	}
	reply := ofwire.RoleRequest{Role: c.role, GenerationID: s.genID}
	c.stmu.Unlock()
	s.mu.Unlock()
	return c.send(ofwire.Marshal(of.TypeRoleReply, h.Xid, ofwire.AppendRole(nil, reply)))
}
