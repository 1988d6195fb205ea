package ofwire

import (
	"bytes"
	"fmt"
	"io"
	"net"

	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// appendWT appends what w writes. The ofp structs nicflow uses here have
// fixed layouts of integers and byte arrays, so writing them cannot fail;
// a failure is a programming error.
func appendWT(b []byte, w io.WriterTo) []byte {
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		panic(fmt.Sprintf("ofwire: encode %T: %v", w, err))
	}
	return append(b, buf.Bytes()...)
}

// HelloElemVersionBitmap is OFPHET_VERSIONBITMAP.
const HelloElemVersionBitmap = 1

// AppendHello appends an OFPT_HELLO advertising OpenFlow 1.3 only, with a
// version bitmap element.
func AppendHello(b []byte, xid uint32) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypeHello, Xid: xid}.Append(b)
	b = put16(b, HelloElemVersionBitmap)
	b = put16(b, 8)
	b = put32(b, 1<<Version)
	return finishAt(b, start)
}

// HelloSupports13 reports whether a peer's HELLO admits OpenFlow 1.3: its
// version bitmap has bit 4, or, without a bitmap, its header version is at
// least 4 (the negotiated version is then the smaller one, 1.3).
func HelloSupports13(h Header, body []byte) bool {
	for len(body) >= 4 {
		t, n := be16(body), int(be16(body[2:]))
		if n < 4 || n > len(body) {
			break
		}
		if t == HelloElemVersionBitmap {
			bm := body[4:n]
			if len(bm) >= 4 {
				return be32(bm)&(1<<Version) != 0
			}
			return false
		}
		n += pad8(n)
		if n > len(body) {
			break
		}
		body = body[n:]
	}
	return h.Version >= Version
}

// SwitchFeatures is the body of OFPT_FEATURES_REPLY.
type SwitchFeatures struct {
	DatapathID   uint64
	NBuffers     uint32
	NTables      uint8
	AuxiliaryID  uint8
	Capabilities uint32
}

// AppendFeatures appends the body of OFPT_FEATURES_REPLY.
func AppendFeatures(b []byte, f *SwitchFeatures) []byte {
	return appendWT(b, &ofp.SwitchFeatures{
		DatapathID: f.DatapathID, NumBuffers: f.NBuffers, NumTables: f.NTables,
		AuxiliaryID: f.AuxiliaryID, Capabilities: ofp.Capability(f.Capabilities),
	})
}

// DecodeFeatures decodes the body of OFPT_FEATURES_REPLY.
func DecodeFeatures(body []byte) (*SwitchFeatures, error) {
	if len(body) != 24 {
		return nil, badLen("features reply body of %d bytes, want 24", len(body))
	}
	return &SwitchFeatures{
		DatapathID: be64(body), NBuffers: be32(body[8:]), NTables: body[12],
		AuxiliaryID: body[13], Capabilities: be32(body[16:]),
	}, nil
}

// SwitchConfig is the body of OFPT_GET_CONFIG_REPLY and OFPT_SET_CONFIG.
type SwitchConfig struct {
	Flags       uint16
	MissSendLen uint16
}

// Config flags (OFPC_*).
const (
	ConfigFragNormal = 0
	ConfigFragDrop   = 1
	ConfigFragReasm  = 2
	ConfigFragMask   = 3
	// ConfigInvalidTTLToController is OFPC_INVALID_TTL_TO_CONTROLLER of
	// OpenFlow 1.1 and 1.2, which 1.3 deprecates for the asynchronous
	// configuration; nicflow still honours it (issue 12), where Open
	// vSwitch refuses it on a 1.3 channel.
	ConfigInvalidTTLToController = 1 << 2
)

// DecodeSwitchConfig decodes the body of OFPT_SET_CONFIG. Flags outside
// OFPC_FRAG_MASK and OFPC_INVALID_TTL_TO_CONTROLLER, and the fragment
// handling 3 (no such mode), are BAD_FLAGS; whether the switch supports the
// mode asked for is the datapath's to say.
func DecodeSwitchConfig(body []byte) (SwitchConfig, error) {
	if len(body) != 4 {
		return SwitchConfig{}, badLen("set_config body of %d bytes, want 4", len(body))
	}
	c := SwitchConfig{Flags: be16(body), MissSendLen: be16(body[2:])}
	if c.Flags&^(ConfigFragMask|ConfigInvalidTTLToController) != 0 || c.Flags&ConfigFragMask == ConfigFragMask {
		return c, errf(pipeline.ErrSwitchConfigFailed, SwitchConfigBadFlags, "config flags %#x", c.Flags)
	}
	return c, nil
}

// AppendSwitchConfig appends the body of OFPT_GET_CONFIG_REPLY.
func AppendSwitchConfig(b []byte, c SwitchConfig) []byte {
	return appendWT(b, &ofp.SwitchConfig{Flags: ofp.ConfigFlag(c.Flags), MissSendLength: c.MissSendLen})
}

// Controller roles (OFPCR_ROLE_*).
const (
	RoleNoChange uint32 = 0
	RoleEqual    uint32 = 1
	RoleMaster   uint32 = 2
	RoleSlave    uint32 = 3
)

// RoleRequest is the body of OFPT_ROLE_REQUEST and OFPT_ROLE_REPLY.
type RoleRequest struct {
	Role         uint32
	GenerationID uint64
}

// DecodeRoleRequest decodes the body of OFPT_ROLE_REQUEST.
func DecodeRoleRequest(body []byte) (RoleRequest, error) {
	if len(body) != 16 {
		return RoleRequest{}, badLen("role request body of %d bytes, want 16", len(body))
	}
	r := RoleRequest{Role: be32(body), GenerationID: be64(body[8:])}
	if r.Role > RoleSlave {
		return r, errf(pipeline.ErrRoleRequestFailed, RoleRequestBadRole, "role %d", r.Role)
	}
	return r, nil
}

// AppendRole appends the body of OFPT_ROLE_REQUEST or OFPT_ROLE_REPLY.
func AppendRole(b []byte, r RoleRequest) []byte {
	return appendWT(b, &ofp.RoleRequest{Role: ofp.ControllerRole(r.Role), GenerationID: r.GenerationID})
}

// AsyncConfig is the body of OFPT_SET_ASYNC and OFPT_GET_ASYNC_REPLY:
// element 0 applies while the channel is master or equal, element 1 while
// it is slave. Bit n of a mask enables reason n.
type AsyncConfig struct {
	PacketIn    [2]uint32
	PortStatus  [2]uint32
	FlowRemoved [2]uint32
}

// DefaultAsyncConfig returns the configuration a new channel starts with:
// master and equal get every packet-in, port-status and flow-removed
// reason; a slave gets port-status only.
func DefaultAsyncConfig() AsyncConfig {
	return AsyncConfig{
		PacketIn:    [2]uint32{1<<ReasonNoMatch | 1<<ReasonAction | 1<<ReasonInvalidTTL, 0},
		PortStatus:  [2]uint32{1<<PortAdded | 1<<PortDeleted | 1<<PortModified, 1<<PortAdded | 1<<PortDeleted | 1<<PortModified},
		FlowRemoved: [2]uint32{0xf, 0}, // idle, hard, delete, group delete
	}
}

// DecodeAsyncConfig decodes the body of OFPT_SET_ASYNC.
func DecodeAsyncConfig(body []byte) (AsyncConfig, error) {
	if len(body) != 24 {
		return AsyncConfig{}, badLen("async config body of %d bytes, want 24", len(body))
	}
	var a AsyncConfig
	for i := 0; i < 2; i++ {
		a.PacketIn[i] = be32(body[4*i:])
		a.PortStatus[i] = be32(body[8+4*i:])
		a.FlowRemoved[i] = be32(body[16+4*i:])
	}
	return a, nil
}

// AppendAsyncConfig appends the body of OFPT_GET_ASYNC_REPLY or SET_ASYNC.
func AppendAsyncConfig(b []byte, a AsyncConfig) []byte {
	return appendWT(b, &ofp.AsyncConfig{PacketInMask: a.PacketIn, PortStatusMask: a.PortStatus, FlowRemovedMask: a.FlowRemoved})
}

// PacketOut is a decoded OFPT_PACKET_OUT.
type PacketOut struct {
	BufferID uint32
	InPort   uint32
	Actions  []pipeline.Action
	Data     []byte
}

// DecodePacketOut decodes the body of OFPT_PACKET_OUT.
func DecodePacketOut(body []byte) (*PacketOut, error) {
	if len(body) < 16 {
		return nil, badLen("packet_out body of %d bytes, want at least 16", len(body))
	}
	po := &PacketOut{BufferID: be32(body), InPort: be32(body[4:])}
	n := int(be16(body[8:]))
	if 16+n > len(body) {
		return nil, badLen("packet_out actions_len %d exceeds the %d bytes left", n, len(body)-16)
	}
	if po.InPort == 0 || po.InPort > pipeline.PortMax && po.InPort != pipeline.PortController &&
		po.InPort != pipeline.PortLocal && po.InPort != pipeline.PortAny {
		return nil, errf(pipeline.ErrBadRequest, BadRequestBadPort, "packet_out in_port %#x", po.InPort)
	}
	acts, err := DecodeActions(body[16 : 16+n])
	if err != nil {
		return nil, err
	}
	po.Actions = acts
	po.Data = body[16+n:]
	return po, nil
}

// AppendPacketOut appends the body of OFPT_PACKET_OUT.
func AppendPacketOut(b []byte, po *PacketOut) []byte {
	b = put32(b, po.BufferID)
	b = put32(b, po.InPort)
	lenAt := len(b)
	b = put16(b, 0)
	b = appendZeros(b, 6)
	b = AppendActions(b, po.Actions)
	n := len(b) - lenAt - 8
	b[lenAt], b[lenAt+1] = byte(n>>8), byte(n)
	return append(b, po.Data...)
}

// PortMod is a decoded OFPT_PORT_MOD.
type PortMod struct {
	PortNo    uint32
	HWAddr    [6]byte
	Config    uint32
	Mask      uint32
	Advertise uint32
}

// DecodePortMod decodes the body of OFPT_PORT_MOD.
func DecodePortMod(body []byte) (*PortMod, error) {
	if len(body) != 32 {
		return nil, badLen("port_mod body of %d bytes, want 32", len(body))
	}
	pm := &PortMod{PortNo: be32(body), Config: be32(body[16:]), Mask: be32(body[20:]), Advertise: be32(body[24:])}
	copy(pm.HWAddr[:], body[8:14])
	if pm.PortNo == 0 || pm.PortNo > pipeline.PortMax && pm.PortNo != pipeline.PortLocal {
		return nil, errf(pipeline.ErrPortModFailed, PortModBadPort, "port_mod port %#x", pm.PortNo)
	}
	return pm, nil
}

// AppendPortMod appends the body of OFPT_PORT_MOD.
func AppendPortMod(b []byte, pm *PortMod) []byte {
	return appendWT(b, &ofp.PortMod{
		PortNo: ofp.PortNo(pm.PortNo), HWAddr: net.HardwareAddr(pm.HWAddr[:]),
		Config: ofp.PortConfig(pm.Config), Mask: ofp.PortConfig(pm.Mask), Advertise: ofp.PortFeature(pm.Advertise),
	})
}

// TableMod is a decoded OFPT_TABLE_MOD.
type TableMod struct {
	TableID uint8
	Config  uint32
}

// DecodeTableMod decodes the body of OFPT_TABLE_MOD. OpenFlow 1.3 defines
// no table config bits, so any config other than 0 is refused.
func DecodeTableMod(body []byte) (*TableMod, error) {
	if len(body) != 8 {
		return nil, badLen("table_mod body of %d bytes, want 8", len(body))
	}
	tm := &TableMod{TableID: body[0], Config: be32(body[4:])}
	if tm.TableID != pipeline.TableAll && int(tm.TableID) >= pipeline.NumTables {
		return nil, errf(pipeline.ErrTableModFailed, TableModBadTable, "table_mod table %d", tm.TableID)
	}
	if tm.Config&^3 != 0 {
		return nil, errf(pipeline.ErrTableModFailed, TableModBadConfig, "table_mod config %#x", tm.Config)
	}
	return tm, nil
}
