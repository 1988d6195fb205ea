package ofwire

import (
	"bytes"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// FormatMatch renders m in the style of ovs-ofctl, with OXM field names:
// "in_port=1,eth_type=0x0800,ipv4_dst=10.0.0.0/24". An empty match
// renders as "".
func FormatMatch(m *pipeline.Match) string {
	var parts []string
	for _, f := range MatchFields(m) {
		d := f.Desc()
		value, mask := m.Get(f)
		exact := bytes.Equal(mask, d.Ones())
		parts = append(parts, d.Name+"="+formatField(f, value, mask, exact))
	}
	return strings.Join(parts, ",")
}

func formatField(f pipeline.Field, value, mask []byte, exact bool) string {
	switch f {
	case pipeline.FieldEthSrc, pipeline.FieldEthDst, pipeline.FieldArpSHA, pipeline.FieldArpTHA,
		pipeline.FieldIPv6NDSLL, pipeline.FieldIPv6NDTLL:
		if exact {
			return net.HardwareAddr(value).String()
		}
		return net.HardwareAddr(value).String() + "/" + net.HardwareAddr(mask).String()
	case pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst, pipeline.FieldArpSPA, pipeline.FieldArpTPA,
		pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst, pipeline.FieldIPv6NDTarget:
		addr, _ := netip.AddrFromSlice(value)
		if exact {
			return addr.String()
		}
		if n, ok := prefixLen(mask); ok {
			return netip.PrefixFrom(addr, n).String()
		}
		m, _ := netip.AddrFromSlice(mask)
		return addr.String() + "/" + m.String()
	case pipeline.FieldEthType, pipeline.FieldMetadata, pipeline.FieldTunnelID, pipeline.FieldVlanVID,
		pipeline.FieldTCPFlags, pipeline.FieldIPv6Flabel, pipeline.FieldPBBISID, pipeline.FieldIPv6Exthdr:
		w := 2 * len(value)
		if f == pipeline.FieldEthType {
			w = 4
		}
		if exact {
			return fmt.Sprintf("%#0*x", w, beUint(value))
		}
		return fmt.Sprintf("%#x/%#x", beUint(value), beUint(mask))
	}
	if exact {
		return strconv.FormatUint(beUint(value), 10)
	}
	return fmt.Sprintf("%d/%#x", beUint(value), beUint(mask))
}

func beUint(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// prefixLen reports whether mask is a CIDR mask and its length.
func prefixLen(mask []byte) (int, bool) {
	n, seenZero := 0, false
	for _, c := range mask {
		if seenZero && c != 0 {
			return 0, false
		}
		ones := bits.LeadingZeros8(^c)
		if c != 0xff && byte(0xff<<(8-ones)) != c {
			return 0, false
		}
		n += ones
		if c != 0xff {
			seenZero = true
		}
	}
	return n, true
}

var portNames = map[uint32]string{
	pipeline.PortInPort:     "IN_PORT",
	pipeline.PortTable:      "TABLE",
	pipeline.PortNormal:     "NORMAL",
	pipeline.PortFlood:      "FLOOD",
	pipeline.PortAll:        "ALL",
	pipeline.PortController: "CONTROLLER",
	pipeline.PortLocal:      "LOCAL",
	pipeline.PortAny:        "ANY",
}

// FormatPort renders a port number, with names for reserved ports.
func FormatPort(p uint32) string {
	if s, ok := portNames[p]; ok {
		return s
	}
	return strconv.FormatUint(uint64(p), 10)
}

// FormatAction renders one action as ovs-ofctl (Open vSwitch 3.x) prints it
// in dump-flows: mod_nw_ttl:N, dec_ttl, set_mpls_ttl(N), dec_mpls_ttl,
// push_mpls:0x8847, pop_mpls:0x0800, set_field:V->FIELD. Actions Open
// vSwitch does not implement print as copy_ttl_out, copy_ttl_in,
// push_pbb:0x88e7 and pop_pbb. flowtext parses every form back.
func FormatAction(a *pipeline.Action) string {
	switch a.Type {
	case pipeline.ActionOutput:
		if a.Port == pipeline.PortController {
			return fmt.Sprintf("CONTROLLER:%d", a.MaxLen)
		}
		return "output:" + FormatPort(a.Port)
	case pipeline.ActionGroup:
		return fmt.Sprintf("group:%d", a.Group)
	case pipeline.ActionSetQueue:
		return fmt.Sprintf("set_queue:%d", a.Queue)
	case pipeline.ActionPushVLAN:
		return fmt.Sprintf("push_vlan:%#04x", a.EtherType)
	case pipeline.ActionPopVLAN:
		return "pop_vlan"
	case pipeline.ActionPushMPLS:
		return fmt.Sprintf("push_mpls:0x%04x", a.EtherType)
	case pipeline.ActionPopMPLS:
		return fmt.Sprintf("pop_mpls:0x%04x", a.EtherType)
	case pipeline.ActionPushPBB:
		return fmt.Sprintf("push_pbb:0x%04x", a.EtherType)
	case pipeline.ActionPopPBB:
		return "pop_pbb"
	case pipeline.ActionSetNwTTL:
		return fmt.Sprintf("mod_nw_ttl:%d", a.TTL)
	case pipeline.ActionDecNwTTL:
		return "dec_ttl"
	case pipeline.ActionSetMPLSTTL:
		return fmt.Sprintf("set_mpls_ttl(%d)", a.TTL)
	case pipeline.ActionDecMPLSTTL:
		return "dec_mpls_ttl"
	case pipeline.ActionCopyTTLOut:
		return "copy_ttl_out"
	case pipeline.ActionCopyTTLIn:
		return "copy_ttl_in"
	case pipeline.ActionSetField:
		d := a.Field.Desc()
		if d == nil {
			return fmt.Sprintf("set_field:%s", a.Field)
		}
		return "set_field:" + formatField(a.Field, a.Value[:d.Len], nil, true) + "->" + d.Name
	}
	return fmt.Sprintf("action_%d", a.Type)
}

// FormatActions renders an action list separated by commas; an empty list
// renders as "drop".
func FormatActions(acts []pipeline.Action) string {
	if len(acts) == 0 {
		return "drop"
	}
	parts := make([]string, len(acts))
	for i := range acts {
		parts[i] = FormatAction(&acts[i])
	}
	return strings.Join(parts, ",")
}

// FormatInstructions renders an instruction set the way ovs-ofctl prints
// a flow's actions: apply-actions inline, the others by name. No
// instructions render as "drop".
func FormatInstructions(in *pipeline.Instructions) string {
	var parts []string
	if in.Meter != 0 {
		parts = append(parts, fmt.Sprintf("meter:%d", in.Meter))
	}
	if in.HasApply && len(in.Apply) > 0 {
		parts = append(parts, FormatActions(in.Apply))
	}
	if in.Clear {
		parts = append(parts, "clear_actions")
	}
	if in.HasWrite {
		parts = append(parts, "write_actions("+FormatActions(in.Write)+")")
	}
	if in.WriteMetadata {
		parts = append(parts, fmt.Sprintf("write_metadata:%#x/%#x", in.Metadata, in.MetadataMask))
	}
	if in.Goto {
		parts = append(parts, fmt.Sprintf("goto_table:%d", in.GotoTable))
	}
	if len(parts) == 0 {
		return "drop"
	}
	return strings.Join(parts, ",")
}
