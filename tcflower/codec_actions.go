package tcflower

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// errUnsupported marks kernel content that Filter cannot express (another
// helper's or a human's filter in a nicflow block).
var errUnsupported = errors.New("not expressible as a tcflower.Filter")

// tcGen appends the tc_gen fields every action's parameters open with:
// index, capab, action (the control verdict), refcnt, bindcnt.
func tcGen(b []byte, index uint32, verdict int32) []byte {
	b = binary.NativeEndian.AppendUint32(b, index)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = binary.NativeEndian.AppendUint32(b, uint32(verdict))
	b = binary.NativeEndian.AppendUint32(b, 0)
	return binary.NativeEndian.AppendUint32(b, 0)
}

func appendU32(b []byte, v uint32) []byte { return binary.NativeEndian.AppendUint32(b, v) }

// encodeActions writes TCA_FLOWER_ACT: one nest per action, numbered from 1
// (the order the kernel runs them), each with its kind, the cookie and the
// kind's options.
func encodeActions(e *nl.Encoder, lk links, acts []Action, cookie []byte) error {
	if len(acts) > nl.TCA_ACT_MAX_PRIO {
		return fmt.Errorf("%d actions, the kernel takes at most %d", len(acts), nl.TCA_ACT_MAX_PRIO)
	}
	if len(cookie) > nl.TC_COOKIE_MAX_SIZE {
		return fmt.Errorf("action cookie of %d bytes, the kernel keeps at most %d", len(cookie), nl.TC_COOKIE_MAX_SIZE)
	}
	if len(cookie) > 0 && len(acts) == 0 {
		return errors.New("a cookie needs at least one action to ride on")
	}
	if len(acts) == 0 {
		return nil
	}
	list := e.Nest(nl.TCA_FLOWER_ACT)
	for i := range acts {
		a := &acts[i]
		n := e.Nest(uint16(i + 1))
		e.String(nl.TCA_ACT_KIND, a.Kind.String())
		if len(cookie) > 0 {
			e.Put(nl.TCA_ACT_COOKIE, cookie)
		}
		o := e.Nest(nl.TCA_ACT_OPTIONS)
		if err := encodeAction(e, lk, a); err != nil {
			return fmt.Errorf("action %d (%s): %w", i+1, a.Kind, err)
		}
		e.End(o)
		e.End(n)
	}
	e.End(list)
	return nil
}

func encodeAction(e *nl.Encoder, lk links, a *Action) error {
	switch {
	case a.Kind == KindGact && a.Gact != nil:
		v := int32(a.Gact.Verdict)
		if a.Gact.Verdict == VerdictGotoChain {
			if a.Gact.Chain > nl.TC_ACT_EXT_VAL_MASK {
				return fmt.Errorf("goto chain %d out of range", a.Gact.Chain)
			}
			v |= int32(a.Gact.Chain)
		}
		e.Put(nl.TCA_GACT_PARMS, tcGen(nil, 0, v))
	case a.Kind == KindMirred && a.Mirred != nil:
		idx, err := lk.linkIndex(a.Mirred.Dev)
		if err != nil {
			return err
		}
		verdict, eaction := int32(nl.TC_ACT_PIPE), uint32(nl.TCA_EGRESS_MIRROR)
		if a.Mirred.Redirect {
			verdict, eaction = nl.TC_ACT_STOLEN, nl.TCA_EGRESS_REDIR
		}
		e.Put(nl.TCA_MIRRED_PARMS, appendU32(appendU32(tcGen(nil, 0, verdict), eaction), idx))
	case a.Kind == KindVlan && a.Vlan != nil:
		v := a.Vlan
		if v.Op < VlanPop || v.Op > VlanModify {
			return fmt.Errorf("unknown vlan op %d", v.Op)
		}
		e.Put(nl.TCA_VLAN_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), uint32(v.Op)))
		if v.Op != VlanPop {
			e.U16(nl.TCA_VLAN_PUSH_VLAN_ID, v.ID)
			if v.Proto != 0 {
				e.BE16(nl.TCA_VLAN_PUSH_VLAN_PROTOCOL, v.Proto)
			}
			if v.HasPrio {
				e.U8(nl.TCA_VLAN_PUSH_VLAN_PRIORITY, v.Prio)
			}
		}
	case a.Kind == KindPedit && a.Pedit != nil:
		return encodePedit(e, a.Pedit)
	case a.Kind == KindCsum && a.Csum != nil:
		e.Put(nl.TCA_CSUM_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), uint32(a.Csum.Flags)))
	case a.Kind == KindTunnelKey && a.TunnelKey != nil:
		return encodeTunnelKey(e, a.TunnelKey)
	case a.Kind == KindPolice && a.Police != nil:
		return encodePolice(e, a.Police)
	default:
		return fmt.Errorf("action kind %d without its parameters", a.Kind)
	}
	return nil
}

func encodePedit(e *nl.Encoder, p *Pedit) error {
	if len(p.Keys) == 0 || len(p.Keys) > 255 {
		return fmt.Errorf("pedit with %d keys (1 to 255)", len(p.Keys))
	}
	sel := tcGen(make([]byte, 0, nl.PeditSelLen+nl.PeditKeyLen*len(p.Keys)), 0, nl.TC_ACT_PIPE)
	sel = append(sel, uint8(len(p.Keys)), 0, 0, 0) // nkeys, flags, padding
	for _, k := range p.Keys {
		if k.Offset%4 != 0 {
			return fmt.Errorf("pedit offset %d not 4-byte aligned", k.Offset)
		}
		sel = binary.BigEndian.AppendUint32(sel, k.Mask)
		sel = binary.BigEndian.AppendUint32(sel, k.Val)
		sel = appendU32(sel, k.Offset)
		sel = append(sel, make([]byte, 12)...) // at, offmask, shift
	}
	e.Put(nl.TCA_PEDIT_PARMS_EX, sel)
	keys := e.Nest(nl.TCA_PEDIT_KEYS_EX)
	for _, k := range p.Keys {
		n := e.Nest(nl.TCA_PEDIT_KEY_EX)
		e.U16(nl.TCA_PEDIT_KEY_EX_HTYPE, uint16(k.Header))
		e.U16(nl.TCA_PEDIT_KEY_EX_CMD, nl.TCA_PEDIT_KEY_EX_CMD_SET)
		e.End(n)
	}
	e.End(keys)
	return nil
}

func encodeTunnelKey(e *nl.Encoder, k *TunnelKey) error {
	switch k.Op {
	case TunnelKeyUnset:
		e.Put(nl.TCA_TUNNEL_KEY_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), nl.TCA_TUNNEL_KEY_ACT_RELEASE))
		return nil
	case TunnelKeySet:
	default:
		return fmt.Errorf("unknown tunnel_key op %d", k.Op)
	}
	e.Put(nl.TCA_TUNNEL_KEY_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), nl.TCA_TUNNEL_KEY_ACT_SET))
	switch {
	case k.Src.Is4() && k.Dst.Is4():
		s, d := k.Src.As4(), k.Dst.As4()
		e.Put(nl.TCA_TUNNEL_KEY_ENC_IPV4_SRC, s[:])
		e.Put(nl.TCA_TUNNEL_KEY_ENC_IPV4_DST, d[:])
	case k.Src.Is6() && k.Dst.Is6() && !k.Src.Is4In6() && !k.Dst.Is4In6():
		s, d := k.Src.As16(), k.Dst.As16()
		e.Put(nl.TCA_TUNNEL_KEY_ENC_IPV6_SRC, s[:])
		e.Put(nl.TCA_TUNNEL_KEY_ENC_IPV6_DST, d[:])
	default:
		return fmt.Errorf("tunnel_key set needs IPv4 or IPv6 source and destination, have %v and %v", k.Src, k.Dst)
	}
	e.BE32(nl.TCA_TUNNEL_KEY_ENC_KEY_ID, k.KeyID)
	if k.DstPort != 0 {
		e.BE16(nl.TCA_TUNNEL_KEY_ENC_DST_PORT, k.DstPort)
	}
	return nil
}

// encodePolice writes a policer that drops what exceeds the rate
// (tc_police.action TC_ACT_SHOT) and passes the rest on to the next action
// (TCA_POLICE_RESULT TC_ACT_PIPE).
func encodePolice(e *nl.Encoder, p *Police) error {
	var rate nl.RateSpec
	var rtab []byte
	var burst uint32
	switch {
	case p.Rate != 0 && p.PktRate == 0:
		if p.Burst == 0 {
			return errors.New("police rate needs a burst")
		}
		rate, rtab = nl.RateTable(p.Rate)
		burst = nl.XmitTicks(p.Rate, uint64(p.Burst))
	case p.PktRate != 0 && p.Rate == 0:
		if p.PktBurst == 0 {
			return errors.New("police packet rate needs a packet burst")
		}
	default:
		return fmt.Errorf("police needs exactly one of rate (%d B/s) and packet rate (%d pkt/s)", p.Rate, p.PktRate)
	}
	tbf := make([]byte, 0, nl.TcPoliceLen)
	tbf = appendU32(tbf, p.Index)
	tbf = appendU32(tbf, uint32(int32(nl.TC_ACT_SHOT)))
	tbf = appendU32(tbf, 0) // limit
	tbf = appendU32(tbf, burst)
	tbf = appendU32(tbf, 0) // mtu: the kernel derives it from the rate table
	tbf = rate.Append(tbf)
	tbf = nl.RateSpec{}.Append(tbf) // peakrate
	tbf = append(tbf, make([]byte, 12)...)
	e.Put(nl.TCA_POLICE_TBF, tbf)
	if rtab != nil {
		e.Put(nl.TCA_POLICE_RATE, rtab)
		if p.Rate > 0xFFFFFFFF {
			e.U64(nl.TCA_POLICE_RATE64, p.Rate)
		}
	}
	e.U32(nl.TCA_POLICE_RESULT, nl.TC_ACT_PIPE)
	if p.PktRate != 0 {
		e.U64(nl.TCA_POLICE_PKTRATE64, p.PktRate)
		e.U64(nl.TCA_POLICE_PKTBURST64, uint64(nl.XmitTicks(p.PktRate, p.PktBurst)))
	}
	return nil
}

// decodeActions decodes TCA_FLOWER_ACT into d's actions, cookie and stats.
func decodeActions(lk links, b []byte, d *Dumped) error {
	list, err := nl.Split(b)
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].Type < list[j].Type })
	for i, item := range list {
		t, err := nl.Parse(item.Data)
		if err != nil {
			return fmt.Errorf("action %d: %w", item.Type, err)
		}
		if i == 0 {
			if c := t.Bytes(nl.TCA_ACT_COOKIE); len(c) > 0 {
				d.Filter.Cookie = append([]byte(nil), c...)
			}
		}
		st, err := decodeActionStats(t)
		if err != nil {
			return fmt.Errorf("action %d stats: %w", item.Type, err)
		}
		a, tm, err := decodeAction(lk, t)
		if err != nil {
			return fmt.Errorf("action %d: %w", item.Type, err)
		}
		st.setTimes(tm)
		d.Filter.Actions = append(d.Filter.Actions, a)
		d.ActionStats = append(d.ActionStats, st)
	}
	d.Stats = aggregateStats(d.ActionStats)
	return nil
}

// tcGenVerdict reads the control verdict of a tc_gen header.
func tcGenVerdict(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b[8:])) }

// decodeAction decodes one action's kind and options; it also returns the
// raw struct tcf_t times, nil when absent.
func decodeAction(lk links, t *nl.Table) (Action, []byte, error) {
	kind := t.String(nl.TCA_ACT_KIND)
	o, err := t.Nested(nl.TCA_ACT_OPTIONS)
	if err != nil {
		return Action{}, nil, fmt.Errorf("%s options: %w", kind, err)
	}
	var a Action
	var tmAttr uint16
	switch kind {
	case "gact":
		tmAttr = nl.TCA_GACT_TM
		p := o.Fixed(nl.TCA_GACT_PARMS, nl.TcGenLen)
		if p == nil || o.Has(nl.TCA_GACT_PROB) {
			return a, nil, fmt.Errorf("gact without parameters or with a probability: %w", errUnsupported)
		}
		v := tcGenVerdict(p)
		g := &Gact{Verdict: Verdict(v)}
		if uint32(v)&^nl.TC_ACT_EXT_VAL_MASK == nl.TC_ACT_GOTO_CHAIN {
			g.Verdict, g.Chain = VerdictGotoChain, uint32(v)&nl.TC_ACT_EXT_VAL_MASK
		}
		a = Action{Kind: KindGact, Gact: g}
	case "mirred":
		tmAttr = nl.TCA_MIRRED_TM
		p := o.Fixed(nl.TCA_MIRRED_PARMS, nl.TcGenLen+8)
		if p == nil {
			return a, nil, fmt.Errorf("mirred without parameters: %w", errUnsupported)
		}
		m := &Mirred{}
		switch eaction := binary.NativeEndian.Uint32(p[nl.TcGenLen:]); eaction {
		case nl.TCA_EGRESS_REDIR:
			m.Redirect = true
		case nl.TCA_EGRESS_MIRROR:
		default:
			return a, nil, fmt.Errorf("mirred direction %d: %w", eaction, errUnsupported)
		}
		if idx := binary.NativeEndian.Uint32(p[nl.TcGenLen+4:]); idx != 0 {
			// A device that is gone reads back as "" (the kernel reports
			// ifindex 0 once the device is unregistered).
			m.Dev, err = lk.linkName(idx)
			if err != nil {
				return a, nil, err
			}
		}
		a = Action{Kind: KindMirred, Mirred: m}
	case "vlan":
		tmAttr = nl.TCA_VLAN_TM
		p := o.Fixed(nl.TCA_VLAN_PARMS, nl.TcGenLen+4)
		if p == nil {
			return a, nil, fmt.Errorf("vlan without parameters: %w", errUnsupported)
		}
		v := &Vlan{Op: VlanOp(binary.NativeEndian.Uint32(p[nl.TcGenLen:]))}
		if v.Op < VlanPop || v.Op > VlanModify {
			return a, nil, fmt.Errorf("vlan op %d: %w", v.Op, errUnsupported)
		}
		v.ID = o.U16(nl.TCA_VLAN_PUSH_VLAN_ID)
		v.Proto = o.BE16(nl.TCA_VLAN_PUSH_VLAN_PROTOCOL)
		if o.Has(nl.TCA_VLAN_PUSH_VLAN_PRIORITY) {
			v.Prio, v.HasPrio = o.U8(nl.TCA_VLAN_PUSH_VLAN_PRIORITY), true
		}
		a = Action{Kind: KindVlan, Vlan: v}
	case "pedit":
		tmAttr = nl.TCA_PEDIT_TM
		p, err := decodePedit(o)
		if err != nil {
			return a, nil, err
		}
		a = Action{Kind: KindPedit, Pedit: p}
	case "csum":
		tmAttr = nl.TCA_CSUM_TM
		p := o.Fixed(nl.TCA_CSUM_PARMS, nl.TcGenLen+4)
		if p == nil {
			return a, nil, fmt.Errorf("csum without parameters: %w", errUnsupported)
		}
		a = Action{Kind: KindCsum, Csum: &Csum{Flags: CsumFlags(binary.NativeEndian.Uint32(p[nl.TcGenLen:]))}}
	case "tunnel_key":
		tmAttr = nl.TCA_TUNNEL_KEY_TM
		k, err := decodeTunnelKey(o)
		if err != nil {
			return a, nil, err
		}
		a = Action{Kind: KindTunnelKey, TunnelKey: k}
	case "police":
		tmAttr = nl.TCA_POLICE_TM
		p, err := decodePolice(o)
		if err != nil {
			return a, nil, err
		}
		a = Action{Kind: KindPolice, Police: p}
	default:
		return a, nil, fmt.Errorf("action kind %q: %w", kind, errUnsupported)
	}
	tm := o.Fixed(tmAttr, nl.TcfTLen)
	return a, tm, o.Err()
}

func decodePedit(o *nl.Table) (*Pedit, error) {
	sel := o.Bytes(nl.TCA_PEDIT_PARMS_EX)
	if sel == nil {
		return nil, fmt.Errorf("pedit without extended keys: %w", errUnsupported)
	}
	if len(sel) < nl.PeditSelLen {
		return nil, fmt.Errorf("pedit parameters of %d bytes: %w", len(sel), nl.ErrTruncated)
	}
	n := int(sel[nl.TcGenLen])
	if len(sel) < nl.PeditSelLen+n*nl.PeditKeyLen {
		return nil, fmt.Errorf("pedit with %d keys in %d bytes: %w", n, len(sel), nl.ErrTruncated)
	}
	exs, err := nl.Split(o.Bytes(nl.TCA_PEDIT_KEYS_EX))
	if err != nil {
		return nil, fmt.Errorf("pedit extended keys: %w", err)
	}
	if len(exs) != n {
		return nil, fmt.Errorf("pedit with %d keys and %d extended keys: %w", n, len(exs), errUnsupported)
	}
	p := &Pedit{Keys: make([]PeditKey, n)}
	for i := range p.Keys {
		k := sel[nl.PeditSelLen+i*nl.PeditKeyLen:]
		ex, err := nl.Parse(exs[i].Data)
		if err != nil {
			return nil, fmt.Errorf("pedit extended key %d: %w", i, err)
		}
		if cmd := ex.U16(nl.TCA_PEDIT_KEY_EX_CMD); cmd != nl.TCA_PEDIT_KEY_EX_CMD_SET {
			return nil, fmt.Errorf("pedit command %d: %w", cmd, errUnsupported)
		}
		if !isZero(k[12:24]) {
			return nil, fmt.Errorf("pedit key with at/offmask/shift: %w", errUnsupported)
		}
		p.Keys[i] = PeditKey{
			Header: PeditHeader(ex.U16(nl.TCA_PEDIT_KEY_EX_HTYPE)),
			Mask:   binary.BigEndian.Uint32(k),
			Val:    binary.BigEndian.Uint32(k[4:]),
			Offset: binary.NativeEndian.Uint32(k[8:]),
		}
		if err := ex.Err(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func decodeTunnelKey(o *nl.Table) (*TunnelKey, error) {
	p := o.Fixed(nl.TCA_TUNNEL_KEY_PARMS, nl.TcGenLen+4)
	if p == nil {
		return nil, fmt.Errorf("tunnel_key without parameters: %w", errUnsupported)
	}
	k := &TunnelKey{Op: TunnelKeyOp(binary.NativeEndian.Uint32(p[nl.TcGenLen:]))}
	switch k.Op {
	case TunnelKeyUnset:
		return k, nil
	case TunnelKeySet:
	default:
		return nil, fmt.Errorf("tunnel_key op %d: %w", k.Op, errUnsupported)
	}
	if s, d := o.Fixed(nl.TCA_TUNNEL_KEY_ENC_IPV4_SRC, 4), o.Fixed(nl.TCA_TUNNEL_KEY_ENC_IPV4_DST, 4); s != nil && d != nil {
		k.Src, k.Dst = netip.AddrFrom4([4]byte(s)), netip.AddrFrom4([4]byte(d))
	} else if s, d := o.Fixed(nl.TCA_TUNNEL_KEY_ENC_IPV6_SRC, 16), o.Fixed(nl.TCA_TUNNEL_KEY_ENC_IPV6_DST, 16); s != nil && d != nil {
		k.Src, k.Dst = netip.AddrFrom16([16]byte(s)), netip.AddrFrom16([16]byte(d))
	}
	k.KeyID = o.BE32(nl.TCA_TUNNEL_KEY_ENC_KEY_ID)
	k.DstPort = o.BE16(nl.TCA_TUNNEL_KEY_ENC_DST_PORT)
	return k, o.Err()
}

// decodePolice reads a policer back (see Police.AsInstalled for what
// changes on the way).
func decodePolice(o *nl.Table) (*Police, error) {
	tbf := o.Fixed(nl.TCA_POLICE_TBF, nl.TcPoliceLen)
	if tbf == nil {
		return nil, fmt.Errorf("police without parameters: %w", errUnsupported)
	}
	exceed := int32(binary.NativeEndian.Uint32(tbf[4:]))
	if conform := int32(o.U32(nl.TCA_POLICE_RESULT)); exceed != nl.TC_ACT_SHOT || conform != nl.TC_ACT_PIPE {
		return nil, fmt.Errorf("police with conform/exceed %d/%d, not pipe/drop: %w", conform, exceed, errUnsupported)
	}
	p := &Police{Index: binary.NativeEndian.Uint32(tbf)}
	burst := binary.NativeEndian.Uint32(tbf[12:])
	rate := nl.ParseRateSpec(tbf[20:32])
	if rate.Rate != 0 {
		p.Rate = uint64(rate.Rate)
		if o.Has(nl.TCA_POLICE_RATE64) {
			p.Rate = o.U64(nl.TCA_POLICE_RATE64)
		}
		p.Burst = uint32(nl.TicksToSize(p.Rate, uint64(burst)))
	}
	if o.Has(nl.TCA_POLICE_PKTRATE64) {
		p.PktRate = o.U64(nl.TCA_POLICE_PKTRATE64)
		p.PktBurst = nl.TicksToSize(p.PktRate, o.U64(nl.TCA_POLICE_PKTBURST64))
	}
	return p, o.Err()
}

// AsInstalled returns p as a dump reads it back from the kernel. The kernel
// keeps a burst as the time it takes at the rate, in psched ticks of 64 ns,
// so Burst and PktBurst come back rounded to one tick's worth (rate x 64 ns:
// 64 bytes at 1 GB/s). Compare a dumped policer with the AsInstalled form of
// the wanted one. A zero Index comes back as the index the kernel picked
// and is left alone here.
func (p Police) AsInstalled() Police {
	if p.Rate != 0 {
		p.Burst = uint32(nl.TicksToSize(p.Rate, uint64(nl.XmitTicks(p.Rate, uint64(p.Burst)))))
	}
	if p.PktRate != 0 {
		p.PktBurst = nl.TicksToSize(p.PktRate, uint64(nl.XmitTicks(p.PktRate, p.PktBurst)))
	}
	return p
}
