package tcflower

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
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
func encodeActions(ae *netlink.AttributeEncoder, lk links, acts []Action, cookie []byte) error {
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
	rtnetlink.Nest(ae, nl.TCA_FLOWER_ACT, func(ae *netlink.AttributeEncoder) error {
		for i := range acts {
			a := &acts[i]
			rtnetlink.Nest(ae, uint16(i+1), func(ae *netlink.AttributeEncoder) error {
				ae.String(nl.TCA_ACT_KIND, a.Kind.String())
				if len(cookie) > 0 {
					ae.Bytes(nl.TCA_ACT_COOKIE, cookie)
				}
				rtnetlink.Nest(ae, nl.TCA_ACT_OPTIONS, func(ae *netlink.AttributeEncoder) error {
					if err := encodeAction(ae, lk, a); err != nil {
						return fmt.Errorf("action %d (%s): %w", i+1, a.Kind, err)
					}
					return nil
				})
				return nil
			})
		}
		return nil
	})
	return nil
}

func encodeAction(ae *netlink.AttributeEncoder, lk links, a *Action) error {
	switch {
	case a.Kind == KindGact && a.Gact != nil:
		v := int32(a.Gact.Verdict)
		if a.Gact.Verdict == VerdictGotoChain {
			if a.Gact.Chain > nl.TC_ACT_EXT_VAL_MASK {
				return fmt.Errorf("goto chain %d out of range", a.Gact.Chain)
			}
			v |= int32(a.Gact.Chain)
		}
		ae.Bytes(nl.TCA_GACT_PARMS, tcGen(nil, 0, v))
	case a.Kind == KindMirred && a.Mirred != nil:
		idx, err := lk.linkIndex(a.Mirred.Dev)
		if err != nil {
			return err
		}
		verdict, eaction := int32(nl.TC_ACT_PIPE), uint32(nl.TCA_EGRESS_MIRROR)
		if a.Mirred.Redirect {
			verdict, eaction = nl.TC_ACT_STOLEN, nl.TCA_EGRESS_REDIR
		}
		ae.Bytes(nl.TCA_MIRRED_PARMS, appendU32(appendU32(tcGen(nil, 0, verdict), eaction), idx))
	case a.Kind == KindVlan && a.Vlan != nil:
		v := a.Vlan
		if v.Op < VlanPop || v.Op > VlanModify {
			return fmt.Errorf("unknown vlan op %d", v.Op)
		}
		ae.Bytes(nl.TCA_VLAN_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), uint32(v.Op)))
		if v.Op != VlanPop {
			ae.Uint16(nl.TCA_VLAN_PUSH_VLAN_ID, v.ID)
			if v.Proto != 0 {
				ae.Bytes(nl.TCA_VLAN_PUSH_VLAN_PROTOCOL, be16(v.Proto))
			}
			if v.HasPrio {
				ae.Uint8(nl.TCA_VLAN_PUSH_VLAN_PRIORITY, v.Prio)
			}
		}
	case a.Kind == KindPedit && a.Pedit != nil:
		return encodePedit(ae, a.Pedit)
	case a.Kind == KindCsum && a.Csum != nil:
		ae.Bytes(nl.TCA_CSUM_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), uint32(a.Csum.Flags)))
	case a.Kind == KindTunnelKey && a.TunnelKey != nil:
		return encodeTunnelKey(ae, a.TunnelKey)
	case a.Kind == KindPolice && a.Police != nil:
		return encodePolice(ae, a.Police)
	default:
		return fmt.Errorf("action kind %d without its parameters", a.Kind)
	}
	return nil
}

func encodePedit(ae *netlink.AttributeEncoder, p *Pedit) error {
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
	ae.Bytes(nl.TCA_PEDIT_PARMS_EX, sel)
	rtnetlink.Nest(ae, nl.TCA_PEDIT_KEYS_EX, func(ae *netlink.AttributeEncoder) error {
		for _, k := range p.Keys {
			rtnetlink.Nest(ae, nl.TCA_PEDIT_KEY_EX, func(ae *netlink.AttributeEncoder) error {
				ae.Uint16(nl.TCA_PEDIT_KEY_EX_HTYPE, uint16(k.Header))
				ae.Uint16(nl.TCA_PEDIT_KEY_EX_CMD, nl.TCA_PEDIT_KEY_EX_CMD_SET)
				return nil
			})
		}
		return nil
	})
	return nil
}

func encodeTunnelKey(ae *netlink.AttributeEncoder, k *TunnelKey) error {
	switch k.Op {
	case TunnelKeyUnset:
		ae.Bytes(nl.TCA_TUNNEL_KEY_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), nl.TCA_TUNNEL_KEY_ACT_RELEASE))
		return nil
	case TunnelKeySet:
	default:
		return fmt.Errorf("unknown tunnel_key op %d", k.Op)
	}
	ae.Bytes(nl.TCA_TUNNEL_KEY_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), nl.TCA_TUNNEL_KEY_ACT_SET))
	switch {
	case k.Src.Is4() && k.Dst.Is4():
		s, d := k.Src.As4(), k.Dst.As4()
		ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_IPV4_SRC, s[:])
		ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_IPV4_DST, d[:])
	case k.Src.Is6() && k.Dst.Is6() && !k.Src.Is4In6() && !k.Dst.Is4In6():
		s, d := k.Src.As16(), k.Dst.As16()
		ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_IPV6_SRC, s[:])
		ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_IPV6_DST, d[:])
	default:
		return fmt.Errorf("tunnel_key set needs IPv4 or IPv6 source and destination, have %v and %v", k.Src, k.Dst)
	}
	ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_KEY_ID, be32(k.KeyID))
	if k.DstPort != 0 {
		ae.Bytes(nl.TCA_TUNNEL_KEY_ENC_DST_PORT, be16(k.DstPort))
	}
	return nil
}

// encodePolice writes a policer that drops what exceeds the rate
// (tc_police.action TC_ACT_SHOT) and passes the rest on to the next action
// (TCA_POLICE_RESULT TC_ACT_PIPE).
func encodePolice(ae *netlink.AttributeEncoder, p *Police) error {
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
	ae.Bytes(nl.TCA_POLICE_TBF, tbf)
	if rtab != nil {
		ae.Bytes(nl.TCA_POLICE_RATE, rtab)
		if p.Rate > 0xFFFFFFFF {
			ae.Uint64(nl.TCA_POLICE_RATE64, p.Rate)
		}
	}
	ae.Uint32(nl.TCA_POLICE_RESULT, nl.TC_ACT_PIPE)
	if p.PktRate != 0 {
		ae.Uint64(nl.TCA_POLICE_PKTRATE64, p.PktRate)
		ae.Uint64(nl.TCA_POLICE_PKTBURST64, uint64(nl.XmitTicks(p.PktRate, p.PktBurst)))
	}
	return nil
}

// decodeActions decodes TCA_FLOWER_ACT into d's actions, cookie and stats.
// The list is ordered by its attribute types (the actions' priorities);
// the cookie is the first action's.
func decodeActions(lk links, b []byte, d *Dumped) error {
	type decoded struct {
		prio   uint16
		a      Action
		st     Stats
		cookie []byte
	}
	var list []decoded
	err := rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
		it := decoded{prio: ad.Type()}
		ad.Do(func(b []byte) error {
			var err error
			it.a, it.st, it.cookie, err = decodeAction(lk, b)
			if err != nil {
				return fmt.Errorf("action %d: %w", it.prio, err)
			}
			list = append(list, it)
			return nil
		})
	})
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].prio < list[j].prio })
	for i, it := range list {
		if i == 0 && len(it.cookie) > 0 {
			d.Filter.Cookie = it.cookie
		}
		d.Filter.Actions = append(d.Filter.Actions, it.a)
		d.ActionStats = append(d.ActionStats, it.st)
	}
	d.Stats = aggregateStats(d.ActionStats)
	return nil
}

// decodeAction decodes one action: its kind and options, its counters and
// times, and its cookie.
func decodeAction(lk links, b []byte) (a Action, st Stats, cookie []byte, err error) {
	var kind string
	var stats, opts []byte
	err = rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_ACT_KIND:
			kind = ad.String()
		case nl.TCA_ACT_COOKIE:
			cookie = ad.Bytes()
		case nl.TCA_ACT_STATS:
			stats = ad.Bytes()
		case nl.TCA_ACT_OPTIONS:
			opts = ad.Bytes()
		}
	})
	if err != nil {
		return a, st, nil, err
	}
	if st, err = decodeActionStats(stats); err != nil {
		return a, st, nil, fmt.Errorf("stats: %w", err)
	}
	decode, ok := actionDecoders[kind]
	if !ok {
		return a, st, nil, fmt.Errorf("action kind %q: %w", kind, errUnsupported)
	}
	if a, err = decode(lk, opts, &st); err != nil {
		if !errors.Is(err, errUnsupported) {
			err = fmt.Errorf("%s options: %w", kind, err)
		}
		return a, st, nil, err
	}
	return a, st, cookie, nil
}

// actionDecoders decode the options (TCA_ACT_OPTIONS) of each action kind
// Filter expresses; the struct tcf_t of times goes to st.
var actionDecoders = map[string]func(lk links, o []byte, st *Stats) (Action, error){
	"gact":       decodeGact,
	"mirred":     decodeMirred,
	"vlan":       decodeVlan,
	"pedit":      decodePedit,
	"csum":       decodeCsum,
	"tunnel_key": decodeTunnelKey,
	"police":     decodePolice,
}

// tcGenVerdict reads the control verdict of a tc_gen header.
func tcGenVerdict(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b[8:])) }

// times decodes the struct tcf_t ad is on into st.
func (st *Stats) times(ad *netlink.AttributeDecoder) {
	structAttr(ad, nl.TcfTLen, func(b []byte) error {
		st.setTimes(b)
		return nil
	})
}

func decodeGact(_ links, o []byte, st *Stats) (Action, error) {
	var g *Gact
	prob := false
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_GACT_PARMS:
			structAttr(ad, nl.TcGenLen, func(p []byte) error {
				v := tcGenVerdict(p)
				g = &Gact{Verdict: Verdict(v)}
				if uint32(v)&^nl.TC_ACT_EXT_VAL_MASK == nl.TC_ACT_GOTO_CHAIN {
					g.Verdict, g.Chain = VerdictGotoChain, uint32(v)&nl.TC_ACT_EXT_VAL_MASK
				}
				return nil
			})
		case nl.TCA_GACT_PROB:
			prob = true
		case nl.TCA_GACT_TM:
			st.times(ad)
		}
	})
	if err == nil && (g == nil || prob) {
		err = fmt.Errorf("gact without parameters or with a probability: %w", errUnsupported)
	}
	return Action{Kind: KindGact, Gact: g}, err
}

func decodeMirred(lk links, o []byte, st *Stats) (Action, error) {
	var m *Mirred
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_MIRRED_PARMS:
			structAttr(ad, nl.TcGenLen+8, func(p []byte) error {
				m = &Mirred{}
				switch eaction := binary.NativeEndian.Uint32(p[nl.TcGenLen:]); eaction {
				case nl.TCA_EGRESS_REDIR:
					m.Redirect = true
				case nl.TCA_EGRESS_MIRROR:
				default:
					return fmt.Errorf("mirred direction %d: %w", eaction, errUnsupported)
				}
				var err error
				if idx := binary.NativeEndian.Uint32(p[nl.TcGenLen+4:]); idx != 0 {
					// A device that is gone reads back as "" (the kernel
					// reports ifindex 0 once the device is unregistered).
					m.Dev, err = lk.linkName(idx)
				}
				return err
			})
		case nl.TCA_MIRRED_TM:
			st.times(ad)
		}
	})
	if err == nil && m == nil {
		err = fmt.Errorf("mirred without parameters: %w", errUnsupported)
	}
	return Action{Kind: KindMirred, Mirred: m}, err
}

func decodeVlan(_ links, o []byte, st *Stats) (Action, error) {
	var v Vlan
	parms := false
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_VLAN_PARMS:
			structAttr(ad, nl.TcGenLen+4, func(p []byte) error {
				v.Op, parms = VlanOp(binary.NativeEndian.Uint32(p[nl.TcGenLen:])), true
				return nil
			})
		case nl.TCA_VLAN_PUSH_VLAN_ID:
			v.ID = ad.Uint16()
		case nl.TCA_VLAN_PUSH_VLAN_PROTOCOL:
			v.Proto = beUint16(ad)
		case nl.TCA_VLAN_PUSH_VLAN_PRIORITY:
			v.Prio, v.HasPrio = ad.Uint8(), true
		case nl.TCA_VLAN_TM:
			st.times(ad)
		}
	})
	switch {
	case err != nil:
	case !parms:
		err = fmt.Errorf("vlan without parameters: %w", errUnsupported)
	case v.Op < VlanPop || v.Op > VlanModify:
		err = fmt.Errorf("vlan op %d: %w", v.Op, errUnsupported)
	}
	return Action{Kind: KindVlan, Vlan: &v}, err
}

func decodePedit(_ links, o []byte, st *Stats) (Action, error) {
	var sel []byte // nil: no TCA_PEDIT_PARMS_EX
	type keyEx struct{ htype, cmd uint16 }
	var exs []keyEx
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_PEDIT_PARMS_EX:
			sel = ad.Bytes()
		case nl.TCA_PEDIT_KEYS_EX:
			exs = exs[:0]
			ad.Do(func(b []byte) error {
				return rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
					var ex keyEx
					ad.Do(func(b []byte) error {
						return rtnetlink.DecodeAttributes(b, nil, func(ad *netlink.AttributeDecoder) {
							switch ad.Type() {
							case nl.TCA_PEDIT_KEY_EX_HTYPE:
								ex.htype = ad.Uint16()
							case nl.TCA_PEDIT_KEY_EX_CMD:
								ex.cmd = ad.Uint16()
							}
						})
					})
					exs = append(exs, ex)
				})
			})
		case nl.TCA_PEDIT_TM:
			st.times(ad)
		}
	})
	if err != nil {
		return Action{}, err
	}
	if sel == nil {
		return Action{}, fmt.Errorf("pedit without extended keys: %w", errUnsupported)
	}
	if len(sel) < nl.PeditSelLen {
		return Action{}, fmt.Errorf("pedit parameters of %d bytes, want at least %d", len(sel), nl.PeditSelLen)
	}
	n := int(sel[nl.TcGenLen])
	if len(sel) < nl.PeditSelLen+n*nl.PeditKeyLen {
		return Action{}, fmt.Errorf("pedit with %d keys in %d bytes", n, len(sel))
	}
	if len(exs) != n {
		return Action{}, fmt.Errorf("pedit with %d keys and %d extended keys: %w", n, len(exs), errUnsupported)
	}
	p := &Pedit{Keys: make([]PeditKey, n)}
	for i, ex := range exs {
		k := sel[nl.PeditSelLen+i*nl.PeditKeyLen:]
		if ex.cmd != nl.TCA_PEDIT_KEY_EX_CMD_SET {
			return Action{}, fmt.Errorf("pedit command %d: %w", ex.cmd, errUnsupported)
		}
		if !isZero(k[12:24]) {
			return Action{}, fmt.Errorf("pedit key with at/offmask/shift: %w", errUnsupported)
		}
		p.Keys[i] = PeditKey{
			Header: PeditHeader(ex.htype),
			Mask:   binary.BigEndian.Uint32(k),
			Val:    binary.BigEndian.Uint32(k[4:]),
			Offset: binary.NativeEndian.Uint32(k[8:]),
		}
	}
	return Action{Kind: KindPedit, Pedit: p}, nil
}

func decodeCsum(_ links, o []byte, st *Stats) (Action, error) {
	var c *Csum
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_CSUM_PARMS:
			structAttr(ad, nl.TcGenLen+4, func(p []byte) error {
				c = &Csum{Flags: CsumFlags(binary.NativeEndian.Uint32(p[nl.TcGenLen:]))}
				return nil
			})
		case nl.TCA_CSUM_TM:
			st.times(ad)
		}
	})
	if err == nil && c == nil {
		err = fmt.Errorf("csum without parameters: %w", errUnsupported)
	}
	return Action{Kind: KindCsum, Csum: c}, err
}

func decodeTunnelKey(_ links, o []byte, st *Stats) (Action, error) {
	var k TunnelKey
	parms := false
	var src4, dst4 [4]byte
	var src6, dst6 [16]byte
	var has4, has6 [2]bool // src, dst
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_TUNNEL_KEY_PARMS:
			structAttr(ad, nl.TcGenLen+4, func(p []byte) error {
				k.Op, parms = TunnelKeyOp(binary.NativeEndian.Uint32(p[nl.TcGenLen:])), true
				return nil
			})
		case nl.TCA_TUNNEL_KEY_ENC_IPV4_SRC:
			fixed(ad, src4[:])
			has4[0] = true
		case nl.TCA_TUNNEL_KEY_ENC_IPV4_DST:
			fixed(ad, dst4[:])
			has4[1] = true
		case nl.TCA_TUNNEL_KEY_ENC_IPV6_SRC:
			fixed(ad, src6[:])
			has6[0] = true
		case nl.TCA_TUNNEL_KEY_ENC_IPV6_DST:
			fixed(ad, dst6[:])
			has6[1] = true
		case nl.TCA_TUNNEL_KEY_ENC_KEY_ID:
			k.KeyID = beUint32(ad)
		case nl.TCA_TUNNEL_KEY_ENC_DST_PORT:
			k.DstPort = beUint16(ad)
		case nl.TCA_TUNNEL_KEY_TM:
			st.times(ad)
		}
	})
	a := Action{Kind: KindTunnelKey, TunnelKey: &k}
	switch {
	case err != nil:
		return a, err
	case !parms:
		return a, fmt.Errorf("tunnel_key without parameters: %w", errUnsupported)
	case k.Op == TunnelKeyUnset:
		return Action{Kind: KindTunnelKey, TunnelKey: &TunnelKey{Op: TunnelKeyUnset}}, nil
	case k.Op != TunnelKeySet:
		return a, fmt.Errorf("tunnel_key op %d: %w", k.Op, errUnsupported)
	}
	if has4 == [2]bool{true, true} {
		k.Src, k.Dst = netip.AddrFrom4(src4), netip.AddrFrom4(dst4)
	} else if has6 == [2]bool{true, true} {
		k.Src, k.Dst = netip.AddrFrom16(src6), netip.AddrFrom16(dst6)
	}
	return a, nil
}

// decodePolice reads a policer back (see Police.AsInstalled for what
// changes on the way).
func decodePolice(_ links, o []byte, st *Stats) (Action, error) {
	var tbf []byte // struct tc_police; nil when absent
	var rate64, pktRate64, pktBurst64 uint64
	var hasRate64, hasPktRate bool
	var conform int32
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_POLICE_TBF:
			structAttr(ad, nl.TcPoliceLen, func(b []byte) error {
				tbf = bytes.Clone(b)
				return nil
			})
		case nl.TCA_POLICE_RATE64:
			rate64, hasRate64 = ad.Uint64(), true
		case nl.TCA_POLICE_RESULT:
			conform = ad.Int32()
		case nl.TCA_POLICE_PKTRATE64:
			pktRate64, hasPktRate = ad.Uint64(), true
		case nl.TCA_POLICE_PKTBURST64:
			pktBurst64 = ad.Uint64()
		case nl.TCA_POLICE_TM:
			st.times(ad)
		}
	})
	if err != nil {
		return Action{}, err
	}
	if tbf == nil {
		return Action{}, fmt.Errorf("police without parameters: %w", errUnsupported)
	}
	if exceed := int32(binary.NativeEndian.Uint32(tbf[4:])); exceed != nl.TC_ACT_SHOT || conform != nl.TC_ACT_PIPE {
		return Action{}, fmt.Errorf("police with conform/exceed %d/%d, not pipe/drop: %w", conform, exceed, errUnsupported)
	}
	p := &Police{Index: binary.NativeEndian.Uint32(tbf)}
	burst := binary.NativeEndian.Uint32(tbf[12:])
	if rate := nl.ParseRateSpec(tbf[20:32]); rate.Rate != 0 {
		p.Rate = uint64(rate.Rate)
		if hasRate64 {
			p.Rate = rate64
		}
		p.Burst = uint32(nl.TicksToSize(p.Rate, uint64(burst)))
	}
	if hasPktRate {
		p.PktRate = pktRate64
		p.PktBurst = nl.TicksToSize(p.PktRate, pktBurst64)
	}
	return Action{Kind: KindPolice, Police: p}, nil
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
