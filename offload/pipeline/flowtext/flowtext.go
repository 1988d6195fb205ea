// Package flowtext parses flow rules written in an ovs-ofctl-like syntax,
// for tests, golden files and benchmarks:
//
//	table=0,priority=100,in_port=1,tcp,tcp_dst=80,actions=meter:1,output:2
//
// Match fields use pipeline's OXM names (eth_dst, ipv4_src, vlan_vid,
// mpls_label, pbb_isid, ipv6_exthdr, ...) with value/mask, plus the
// shorthands ip, ipv6, arp, tcp, udp, sctp, icmp, icmp6, tcp6, udp6,
// sctp6, mpls, mplsm (as ovs-ofctl). vlan_vid takes none, present, a VID,
// or raw 0xVALUE/0xMASK. Actions, in ovs-ofctl's spellings (what
// ofwire.FormatAction prints): output:P (P a number or IN_PORT,
// CONTROLLER, ...), CONTROLLER:MAXLEN, group:G, push_vlan:TPID, pop_vlan,
// push_mpls:E, pop_mpls:E, set_mpls_ttl:N or set_mpls_ttl(N),
// dec_mpls_ttl, mod_nw_ttl:N (or set_nw_ttl:N), dec_ttl, set_field:V->FIELD,
// set_queue:N, drop, and the actions Open vSwitch lacks: copy_ttl_out,
// copy_ttl_in, push_pbb:E, pop_pbb. Instructions: meter:M, clear_actions,
// write_actions(...), write_metadata:V/M, goto_table:T.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/... but
// github.com/nicflow/nicflow/offload/pipeline.
package flowtext

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/offload/pipeline"
)

var shorthands = map[string][]string{
	"ip":    {"eth_type=0x0800"},
	"ipv6":  {"eth_type=0x86dd"},
	"arp":   {"eth_type=0x0806"},
	"tcp":   {"eth_type=0x0800", "ip_proto=6"},
	"udp":   {"eth_type=0x0800", "ip_proto=17"},
	"sctp":  {"eth_type=0x0800", "ip_proto=132"},
	"icmp":  {"eth_type=0x0800", "ip_proto=1"},
	"tcp6":  {"eth_type=0x86dd", "ip_proto=6"},
	"udp6":  {"eth_type=0x86dd", "ip_proto=17"},
	"sctp6": {"eth_type=0x86dd", "ip_proto=132"},
	"icmp6": {"eth_type=0x86dd", "ip_proto=58"},
	"mpls":  {"eth_type=0x8847"},
	"mplsm": {"eth_type=0x8848"},
}

var reservedPorts = map[string]uint32{
	"IN_PORT": pipeline.PortInPort, "TABLE": pipeline.PortTable, "NORMAL": pipeline.PortNormal,
	"FLOOD": pipeline.PortFlood, "ALL": pipeline.PortAll, "CONTROLLER": pipeline.PortController,
	"LOCAL": pipeline.PortLocal,
}

func fieldByName(name string) (pipeline.Field, bool) {
	for _, f := range pipeline.Fields() {
		if f.Desc().Name == name {
			return f, true
		}
	}
	return 0, false
}

func isAddrField(f pipeline.Field) bool {
	switch f {
	case pipeline.FieldIPv4Src, pipeline.FieldIPv4Dst, pipeline.FieldArpSPA, pipeline.FieldArpTPA,
		pipeline.FieldIPv6Src, pipeline.FieldIPv6Dst, pipeline.FieldIPv6NDTarget:
		return true
	}
	return false
}

// splitTop splits s on commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// parseRule parses one rule line into a flow with ID 7.
// Flow parses one rule into a flow entry of ID 7 (priority 32768 unless
// the rule says otherwise).
func Flow(line string) (*pipeline.Flow, error) {
	f := &pipeline.Flow{ID: 7, Priority: 0x8000}
	matchPart, actPart, ok := strings.Cut(line, "actions=")
	if !ok {
		return nil, fmt.Errorf("rule %q: no actions=", line)
	}
	var items []string
	for _, it := range splitTop(matchPart) {
		if it = strings.TrimSpace(it); it == "" {
			continue
		}
		if sh, ok := shorthands[it]; ok {
			items = append(items, sh...)
			continue
		}
		items = append(items, it)
	}
	for _, it := range items {
		name, val, _ := strings.Cut(it, "=")
		switch name {
		case "table":
			n, err := strconv.ParseUint(val, 0, 8)
			if err != nil {
				return nil, fmt.Errorf("table: %w", err)
			}
			f.Table = uint8(n)
			continue
		case "priority":
			n, err := strconv.ParseUint(val, 0, 16)
			if err != nil {
				return nil, fmt.Errorf("priority: %w", err)
			}
			f.Priority = uint16(n)
			continue
		}
		fl, ok := fieldByName(name)
		if !ok {
			return nil, fmt.Errorf("unknown match field %q", name)
		}
		v, m, err := parseValue(fl, val, true)
		if err != nil {
			return nil, fmt.Errorf("match %s: %w", name, err)
		}
		f.Match.Set(fl, v, m)
	}
	instr, err := parseInstructions(strings.TrimSpace(actPart))
	if err != nil {
		return nil, err
	}
	f.Instr = &instr
	return f, nil
}

// parseValue parses a field value (and mask if allowed) in network order;
// a nil mask means exact.
func parseValue(f pipeline.Field, s string, allowMask bool) (v, m []byte, err error) {
	d := f.Desc()
	if f == pipeline.FieldVlanVID {
		switch s {
		case "none":
			return []byte{0, 0}, nil, nil
		case "present":
			return []byte{0x10, 0}, []byte{0x10, 0}, nil
		}
		if !strings.Contains(s, "/") && !strings.HasPrefix(s, "0x") {
			n, err := strconv.ParseUint(s, 10, 13)
			if err != nil {
				return nil, nil, err
			}
			return binary.BigEndian.AppendUint16(nil, uint16(n)|pipeline.VIDPresent), nil, nil // a VID, or VID|PRESENT
		}
	}
	vs, ms, hasMask := strings.Cut(s, "/")
	if hasMask && !allowMask {
		return nil, nil, fmt.Errorf("%q: no mask allowed", s)
	}
	switch {
	case d.Len == 6:
		hw, err := net.ParseMAC(vs)
		if err != nil {
			return nil, nil, err
		}
		v = hw
		if hasMask {
			if m, err = net.ParseMAC(ms); err != nil {
				return nil, nil, err
			}
		}
		return v, m, nil
	case isAddrField(f):
		a, err := netip.ParseAddr(vs)
		if err != nil {
			return nil, nil, err
		}
		v = a.AsSlice()
		if !hasMask {
			return v, nil, nil
		}
		if n, err := strconv.Atoi(ms); err == nil {
			p := netip.PrefixFrom(a, n)
			m = make([]byte, len(v))
			for i := 0; i < p.Bits(); i++ {
				m[i/8] |= 0x80 >> (i % 8)
			}
			return v, m, nil
		}
		ma, err := netip.ParseAddr(ms)
		if err != nil {
			return nil, nil, err
		}
		return v, ma.AsSlice(), nil
	}
	enc := func(x string) ([]byte, error) {
		n, err := strconv.ParseUint(x, 0, 64)
		if err != nil {
			return nil, err
		}
		b := binary.BigEndian.AppendUint64(nil, n)
		if d.Len > 8 {
			return nil, fmt.Errorf("field %s: too wide for a number", d.Name)
		}
		return b[8-d.Len:], nil
	}
	if v, err = enc(vs); err != nil {
		return nil, nil, err
	}
	if hasMask {
		if m, err = enc(ms); err != nil {
			return nil, nil, err
		}
	}
	return v, m, nil
}

func parseInstructions(s string) (pipeline.Instructions, error) {
	var in pipeline.Instructions
	for _, it := range splitTop(s) {
		it = strings.TrimSpace(it)
		name, arg, _ := strings.Cut(it, ":")
		switch {
		case it == "" || it == "drop":
		case it == "clear_actions":
			in.Clear = true
		case strings.HasPrefix(it, "write_actions(") && strings.HasSuffix(it, ")"):
			acts, err := parseActions(it[len("write_actions(") : len(it)-1])
			if err != nil {
				return in, err
			}
			in.Write, in.HasWrite = acts, true
		case name == "meter":
			n, err := strconv.ParseUint(arg, 0, 32)
			if err != nil {
				return in, fmt.Errorf("meter: %w", err)
			}
			in.Meter = uint32(n)
		case name == "goto_table":
			n, err := strconv.ParseUint(arg, 0, 8)
			if err != nil {
				return in, fmt.Errorf("goto_table: %w", err)
			}
			in.Goto, in.GotoTable = true, uint8(n)
		case name == "write_metadata":
			vs, ms, _ := strings.Cut(arg, "/")
			v, err := strconv.ParseUint(vs, 0, 64)
			if err != nil {
				return in, fmt.Errorf("write_metadata: %w", err)
			}
			m := ^uint64(0)
			if ms != "" {
				if m, err = strconv.ParseUint(ms, 0, 64); err != nil {
					return in, fmt.Errorf("write_metadata mask: %w", err)
				}
			}
			in.WriteMetadata, in.Metadata, in.MetadataMask = true, v, m
		default:
			acts, err := parseActions(it)
			if err != nil {
				return in, err
			}
			in.Apply = append(in.Apply, acts...)
			in.HasApply = true
		}
	}
	return in, nil
}

// Actions parses an action list ("output:2,pop_vlan").
func Actions(s string) ([]pipeline.Action, error) {
	return parseActions(s)
}

func parseActions(s string) ([]pipeline.Action, error) {
	var out []pipeline.Action
	for _, it := range splitTop(s) {
		it = strings.TrimSpace(it)
		if it == "" {
			continue
		}
		a, err := parseAction(it)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}

// simpleActions are the actions without an argument.
var simpleActions = map[string]pipeline.ActionType{
	"pop_vlan": pipeline.ActionPopVLAN, "pop_pbb": pipeline.ActionPopPBB,
	"dec_ttl": pipeline.ActionDecNwTTL, "dec_mpls_ttl": pipeline.ActionDecMPLSTTL,
	"copy_ttl_out": pipeline.ActionCopyTTLOut, "copy_ttl_in": pipeline.ActionCopyTTLIn,
}

// parseAction parses one action (see the package documentation).
func parseAction(it string) (pipeline.Action, error) {
	// set_mpls_ttl(9) is ovs-ofctl's output form of set_mpls_ttl:9.
	if open := strings.IndexByte(it, '('); open > 0 && strings.HasSuffix(it, ")") && !strings.Contains(it, ":") {
		it = it[:open] + ":" + it[open+1:len(it)-1]
	}
	name, arg, _ := strings.Cut(it, ":")
	num := func(bits int) (uint64, error) {
		n, err := strconv.ParseUint(arg, 0, bits)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", name, err)
		}
		return n, nil
	}
	if t, ok := simpleActions[name]; ok && arg == "" {
		return pipeline.Action{Type: t}, nil
	}
	switch name {
	case "output":
		if p, ok := reservedPorts[arg]; ok {
			return pipeline.Output(p), nil
		}
		n, err := num(32)
		return pipeline.Output(uint32(n)), err
	case "CONTROLLER":
		n, err := num(16)
		return pipeline.Action{Type: pipeline.ActionOutput, Port: pipeline.PortController, MaxLen: uint16(n)}, err
	case "group":
		n, err := num(32)
		return pipeline.Action{Type: pipeline.ActionGroup, Group: uint32(n)}, err
	case "set_queue":
		n, err := num(32)
		return pipeline.Action{Type: pipeline.ActionSetQueue, Queue: uint32(n)}, err
	case "push_vlan", "push_mpls", "pop_mpls", "push_pbb":
		t := map[string]pipeline.ActionType{
			"push_vlan": pipeline.ActionPushVLAN, "push_mpls": pipeline.ActionPushMPLS,
			"pop_mpls": pipeline.ActionPopMPLS, "push_pbb": pipeline.ActionPushPBB,
		}[name]
		n, err := num(16)
		return pipeline.Action{Type: t, EtherType: uint16(n)}, err
	case "set_nw_ttl", "mod_nw_ttl":
		n, err := num(8)
		return pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: uint8(n)}, err
	case "set_mpls_ttl":
		n, err := num(8)
		return pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: uint8(n)}, err
	case "set_field":
		vs, fname, ok := strings.Cut(arg, "->")
		if !ok {
			return pipeline.Action{}, fmt.Errorf("set_field %q: want VALUE->FIELD", arg)
		}
		f, ok := fieldByName(fname)
		if !ok {
			return pipeline.Action{}, fmt.Errorf("set_field: unknown field %q", fname)
		}
		v, _, err := parseValue(f, vs, false)
		if err != nil {
			return pipeline.Action{}, fmt.Errorf("set_field %s: %w", fname, err)
		}
		return pipeline.SetField(f, v), nil
	}
	return pipeline.Action{}, fmt.Errorf("unknown action %q", it)
}

// FlowMod parses one rule into an OFPFC_ADD flow mod.
func FlowMod(line string) (*pipeline.FlowMod, error) {
	f, err := Flow(line)
	if err != nil {
		return nil, err
	}
	return &pipeline.FlowMod{
		Command: pipeline.FlowAdd, Table: f.Table, Priority: f.Priority, Match: f.Match, Instr: *f.Instr,
		OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny, BufferID: 0xffffffff,
	}, nil
}

// MustFlowMod is FlowMod for rules known to be valid; it panics otherwise.
func MustFlowMod(line string) *pipeline.FlowMod {
	fm, err := FlowMod(line)
	if err != nil {
		panic(err)
	}
	return fm
}
