package tcflower

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
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
				opts := func(ae *netlink.AttributeEncoder) error {
					if err := encodeAction(ae, lk, a); err != nil {
						return fmt.Errorf("action %d (%s): %w", i+1, a.Kind, err)
					}
					return nil
				}
				if a.Kind == KindMPLS {
					// act_mpls parses its options strictly
					// (nla_parse_nested): they need NLA_F_NESTED, which
					// iproute2's m_mpls sets.
					ae.Nested(nl.TCA_ACT_OPTIONS, opts)
				} else {
					rtnetlink.Nest(ae, nl.TCA_ACT_OPTIONS, opts)
				}
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
	case a.Kind == KindMPLS && a.MPLS != nil:
		return encodeMPLS(ae, a.MPLS)
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
				cmd := uint16(nl.TCA_PEDIT_KEY_EX_CMD_SET)
				if k.Add {
					cmd = nl.TCA_PEDIT_KEY_EX_CMD_ADD
				}
				ae.Uint16(nl.TCA_PEDIT_KEY_EX_HTYPE, uint16(k.Header))
				ae.Uint16(nl.TCA_PEDIT_KEY_EX_CMD, cmd)
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
	case p.PktRate != 0 && p.Rate == 0:
		if p.PktBurst == 0 {
			return errors.New("police packet rate needs a packet burst")
		}
	default:
		return fmt.Errorf("police needs exactly one of rate (%d B/s) and packet rate (%d pkt/s)", p.Rate, p.PktRate)
	}
	ticks, err := p.burstTicks()
	if err != nil {
		return err
	}
	if p.Rate != 0 {
		burst = uint32(ticks)
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
		ae.Uint64(nl.TCA_POLICE_PKTBURST64, ticks)
	}
	return nil
}

// burstTicks returns the burst of p (of its byte rate or its packet rate)
// as the kernel keeps it: the time it takes at the rate, in 64 ns ticks. A
// burst that passes in less than one tick, which the kernel would keep as
// none, is an error.
func (p *Police) burstTicks() (uint64, error) {
	if p.Rate != 0 {
		if t := nl.XmitTicks(p.Rate, uint64(p.Burst)); t > 0 {
			return uint64(t), nil
		}
		return 0, fmt.Errorf("police burst of %d bytes passes in less than a 64 ns tick at %d B/s", p.Burst, p.Rate)
	}
	if t := nl.XmitTicks(p.PktRate, p.PktBurst); t > 0 {
		return uint64(t), nil
	}
	return 0, fmt.Errorf("police burst of %d packets passes in less than a 64 ns tick at %d pkt/s", p.PktBurst, p.PktRate)
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
	if len(list) > nl.TCA_ACT_MAX_PRIO {
		return fmt.Errorf("%d actions, more than the %d a filter takes: %w", len(list), nl.TCA_ACT_MAX_PRIO, errUnsupported)
	}
	sort.SliceStable(list, func(i, j int) bool { return list[i].prio < list[j].prio })
	if len(list) > 0 && len(list[0].cookie) > nl.TC_COOKIE_MAX_SIZE {
		return fmt.Errorf("action cookie of %d bytes, more than the kernel keeps (%d): %w", len(list[0].cookie), nl.TC_COOKIE_MAX_SIZE, errUnsupported)
	}
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
	"mpls":       decodeMPLS,
}

// tcGenVerdict reads the control verdict of a tc_gen header.
func tcGenVerdict(b []byte) int32 { return int32(binary.NativeEndian.Uint32(b[8:])) }

// actionOpts decodes the options (TCA_ACT_OPTIONS) of an action of kind:
// its parameters, a C struct of at least n bytes in attribute parmsType, go
// to parms (without them the action is not one Filter expresses); its
// struct tcf_t, attribute tmType, to st's times; any other attribute to
// other, when not nil.
func actionOpts(kind string, o []byte, parmsType, tmType uint16, n int, st *Stats, parms func(p []byte) error, other func(ad *netlink.AttributeDecoder)) error {
	seen := false
	err := rtnetlink.DecodeAttributes(o, nil, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case parmsType:
			seen = true
			structAttr(ad, n, parms)
		case tmType:
			structAttr(ad, nl.TcfTLen, func(b []byte) error {
				st.setTimes(b)
				return nil
			})
		default:
			if other != nil {
				other(ad)
			}
		}
	})
	if err == nil && !seen {
		err = fmt.Errorf("%s without parameters: %w", kind, errUnsupported)
	}
	return err
}

func decodeGact(_ links, o []byte, st *Stats) (Action, error) {
	g := &Gact{}
	prob := false
	err := actionOpts("gact", o, nl.TCA_GACT_PARMS, nl.TCA_GACT_TM, nl.TcGenLen, st, func(p []byte) error {
		v := tcGenVerdict(p)
		g.Verdict, g.Chain = Verdict(v), 0
		if uint32(v)&^nl.TC_ACT_EXT_VAL_MASK == nl.TC_ACT_GOTO_CHAIN {
			g.Verdict, g.Chain = VerdictGotoChain, uint32(v)&nl.TC_ACT_EXT_VAL_MASK
		}
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		prob = prob || ad.Type() == nl.TCA_GACT_PROB
	})
	if err == nil && prob {
		err = fmt.Errorf("gact with a probability: %w", errUnsupported)
	}
	return Action{Kind: KindGact, Gact: g}, err
}

func decodeMirred(lk links, o []byte, st *Stats) (Action, error) {
	m := &Mirred{}
	err := actionOpts("mirred", o, nl.TCA_MIRRED_PARMS, nl.TCA_MIRRED_TM, nl.TcGenLen+8, st, func(p []byte) error {
		*m = Mirred{}
		switch eaction := binary.NativeEndian.Uint32(p[nl.TcGenLen:]); eaction {
		case nl.TCA_EGRESS_REDIR:
			m.Redirect = true
		case nl.TCA_EGRESS_MIRROR:
		default:
			return fmt.Errorf("mirred direction %d: %w", eaction, errUnsupported)
		}
		var err error
		if idx := binary.NativeEndian.Uint32(p[nl.TcGenLen+4:]); idx != 0 {
			// A device that is gone reads back as "" (the kernel reports
			// ifindex 0 once the device is unregistered).
			m.Dev, err = lk.linkName(idx)
		}
		return err
	}, nil)
	return Action{Kind: KindMirred, Mirred: m}, err
}

func decodeVlan(_ links, o []byte, st *Stats) (Action, error) {
	var v Vlan
	var op uint32 // v_action
	err := actionOpts("vlan", o, nl.TCA_VLAN_PARMS, nl.TCA_VLAN_TM, nl.TcGenLen+4, st, func(p []byte) error {
		op = binary.NativeEndian.Uint32(p[nl.TcGenLen:])
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_VLAN_PUSH_VLAN_ID:
			v.ID = ad.Uint16()
		case nl.TCA_VLAN_PUSH_VLAN_PROTOCOL:
			v.Proto = beUint16(ad)
		case nl.TCA_VLAN_PUSH_VLAN_PRIORITY:
			v.Prio, v.HasPrio = ad.Uint8(), true
		}
	})
	switch {
	case err != nil:
	case op < uint32(VlanPop) || op > uint32(VlanModify):
		err = fmt.Errorf("vlan op %d: %w", op, errUnsupported)
	case VlanOp(op) == VlanPop:
		v = Vlan{} // the kernel reads no push attributes for a pop
	}
	v.Op = VlanOp(op)
	return Action{Kind: KindVlan, Vlan: &v}, err
}

func decodePedit(_ links, o []byte, st *Stats) (Action, error) {
	var sel []byte // struct tc_pedit_sel and its keys
	type keyEx struct{ htype, cmd uint16 }
	var exs []keyEx
	err := actionOpts("pedit (extended)", o, nl.TCA_PEDIT_PARMS_EX, nl.TCA_PEDIT_TM, nl.PeditSelLen, st, func(p []byte) error {
		sel = bytes.Clone(p)
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		if ad.Type() != nl.TCA_PEDIT_KEYS_EX {
			return
		}
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
	})
	if err != nil {
		return Action{}, err
	}
	n := int(sel[nl.TcGenLen])
	if n == 0 {
		return Action{}, fmt.Errorf("pedit without keys: %w", errUnsupported)
	}
	if len(sel) < nl.PeditSelLen+n*nl.PeditKeyLen {
		return Action{}, fmt.Errorf("pedit with %d keys in %d bytes", n, len(sel))
	}
	if len(exs) != n {
		return Action{}, fmt.Errorf("pedit with %d keys and %d extended keys: %w", n, len(exs), errUnsupported)
	}
	p := &Pedit{Keys: make([]PeditKey, n)}
	for i, ex := range exs {
		k := sel[nl.PeditSelLen+i*nl.PeditKeyLen:]
		if ex.cmd != nl.TCA_PEDIT_KEY_EX_CMD_SET && ex.cmd != nl.TCA_PEDIT_KEY_EX_CMD_ADD {
			return Action{}, fmt.Errorf("pedit command %d: %w", ex.cmd, errUnsupported)
		}
		if !isZero(k[12:24]) {
			return Action{}, fmt.Errorf("pedit key with at/offmask/shift: %w", errUnsupported)
		}
		if off := binary.NativeEndian.Uint32(k[8:]); off%4 != 0 {
			return Action{}, fmt.Errorf("pedit offset %d not 4-byte aligned: %w", off, errUnsupported)
		}
		p.Keys[i] = PeditKey{
			Header: PeditHeader(ex.htype),
			Mask:   binary.BigEndian.Uint32(k),
			Val:    binary.BigEndian.Uint32(k[4:]),
			Offset: binary.NativeEndian.Uint32(k[8:]),
			Add:    ex.cmd == nl.TCA_PEDIT_KEY_EX_CMD_ADD,
		}
	}
	return Action{Kind: KindPedit, Pedit: p}, nil
}

func decodeCsum(_ links, o []byte, st *Stats) (Action, error) {
	c := &Csum{}
	err := actionOpts("csum", o, nl.TCA_CSUM_PARMS, nl.TCA_CSUM_TM, nl.TcGenLen+4, st, func(p []byte) error {
		c.Flags = CsumFlags(binary.NativeEndian.Uint32(p[nl.TcGenLen:]))
		return nil
	}, nil)
	return Action{Kind: KindCsum, Csum: c}, err
}

func decodeTunnelKey(_ links, o []byte, st *Stats) (Action, error) {
	var k TunnelKey
	var op uint32 // t_action
	var src4, dst4 [4]byte
	var src6, dst6 [16]byte
	var has4, has6 [2]bool // src, dst
	err := actionOpts("tunnel_key", o, nl.TCA_TUNNEL_KEY_PARMS, nl.TCA_TUNNEL_KEY_TM, nl.TcGenLen+4, st, func(p []byte) error {
		op = binary.NativeEndian.Uint32(p[nl.TcGenLen:])
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
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
		}
	})
	a := Action{Kind: KindTunnelKey, TunnelKey: &k}
	switch {
	case err != nil:
		return a, err
	case op == nl.TCA_TUNNEL_KEY_ACT_RELEASE:
		return Action{Kind: KindTunnelKey, TunnelKey: &TunnelKey{Op: TunnelKeyUnset}}, nil
	case op != nl.TCA_TUNNEL_KEY_ACT_SET:
		return a, fmt.Errorf("tunnel_key op %d: %w", op, errUnsupported)
	}
	k.Op = TunnelKeySet
	switch {
	case has4 == [2]bool{true, true}:
		k.Src, k.Dst = netip.AddrFrom4(src4), netip.AddrFrom4(dst4)
	case has6 == [2]bool{true, true}:
		k.Src, k.Dst = netip.AddrFrom16(src6), netip.AddrFrom16(dst6)
		if k.Src.Is4In6() || k.Dst.Is4In6() {
			return a, fmt.Errorf("tunnel_key set to IPv4-mapped IPv6 addresses %v and %v: %w", k.Src, k.Dst, errUnsupported)
		}
	default:
		return a, fmt.Errorf("tunnel_key set without an IPv4 or IPv6 source and destination: %w", errUnsupported)
	}
	return a, nil
}

// decodePolice reads a policer back (see Police.AsInstalled for what
// changes on the way).
func decodePolice(_ links, o []byte, st *Stats) (Action, error) {
	var tbf []byte // struct tc_police
	var rate64, pktRate64, pktBurst64 uint64
	var hasRate64, hasPktRate bool
	var conform int32
	err := actionOpts("police", o, nl.TCA_POLICE_TBF, nl.TCA_POLICE_TM, nl.TcPoliceLen, st, func(b []byte) error {
		tbf = bytes.Clone(b)
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_POLICE_RATE64:
			rate64, hasRate64 = ad.Uint64(), true
		case nl.TCA_POLICE_RESULT:
			conform = ad.Int32()
		case nl.TCA_POLICE_PKTRATE64:
			pktRate64, hasPktRate = ad.Uint64(), true
		case nl.TCA_POLICE_PKTBURST64:
			pktBurst64 = ad.Uint64()
		}
	})
	if err != nil {
		return Action{}, err
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
		b, ok := nl.TicksToSize(p.Rate, uint64(burst))
		if !ok || b == 0 || b > math.MaxUint32 {
			return Action{}, fmt.Errorf("police burst of %d ticks at %d B/s: %w", burst, p.Rate, errUnsupported)
		}
		p.Burst = uint32(b)
	}
	if hasPktRate {
		p.PktRate = pktRate64
		b, ok := nl.TicksToSize(p.PktRate, pktBurst64)
		if !ok || b == 0 {
			return Action{}, fmt.Errorf("police packet burst of %d ticks at %d pkt/s: %w", pktBurst64, p.PktRate, errUnsupported)
		}
		p.PktBurst = b
	}
	if (p.Rate == 0) == (p.PktRate == 0) {
		return Action{}, fmt.Errorf("police with byte rate %d and packet rate %d, not exactly one: %w", p.Rate, p.PktRate, errUnsupported)
	}
	return Action{Kind: KindPolice, Police: p}, nil
}

// AsInstalled returns p as a dump reads it back from the kernel. The kernel
// keeps a burst as the time it takes at the rate, in psched ticks of 64 ns,
// so Burst and PktBurst come back as the smallest size that takes as many
// whole ticks: rounded down by up to one tick's worth (rate x 64 ns: 64
// bytes at 1 GB/s). Compare a dumped policer with the AsInstalled form of
// the wanted one. A zero Index comes back as the index the kernel picked
// and is left alone here.
func (p Police) AsInstalled() Police {
	if p.Rate != 0 {
		b, _ := nl.TicksToSize(p.Rate, uint64(nl.XmitTicks(p.Rate, uint64(p.Burst))))
		p.Burst = uint32(b) // at most p.Burst
	}
	if p.PktRate != 0 {
		p.PktBurst, _ = nl.TicksToSize(p.PktRate, uint64(nl.XmitTicks(p.PktRate, p.PktBurst)))
	}
	return p
}

// check reports what the kernel's act_mpls (tcf_mpls_init) would refuse,
// or would fill in itself so that the action reads back otherwise: push
// without its protocol, label or TTL; pop without a protocol, or with
// fields; a protocol on modify or dec_ttl; fields out of range.
func (m *MPLS) check() error {
	switch {
	case m.HasLabel && (m.Label > 0xfffff || m.Label == nl.MPLS_LABEL_IMPLNULL):
		return fmt.Errorf("mpls label %d out of range (20 bits, not 3)", m.Label)
	case m.HasTC && m.TC > 7:
		return fmt.Errorf("mpls tc %d out of range", m.TC)
	case m.HasBOS && m.BOS > 1:
		return fmt.Errorf("mpls bos %d is not 0 or 1", m.BOS)
	}
	fields := m.HasLabel || m.HasTC || m.TTL != 0 || m.HasBOS
	switch m.Op {
	case MPLSPop:
		if m.Proto < 0x0600 || fields {
			return fmt.Errorf("mpls pop needs the next protocol (have %#04x) and no label, tc, ttl or bos", m.Proto)
		}
	case MPLSPush:
		if !isMPLS(m.Proto) || !m.HasLabel || m.TTL == 0 {
			return fmt.Errorf("mpls push needs an MPLS protocol (have %#04x), a label and a TTL", m.Proto)
		}
	case MPLSModify:
		if m.Proto != 0 {
			return errors.New("mpls modify takes no protocol")
		}
	case MPLSDecTTL:
		if m.Proto != 0 || fields {
			return errors.New("mpls dec_ttl takes no protocol, label, tc, ttl or bos")
		}
	default:
		return fmt.Errorf("unknown mpls op %d", m.Op)
	}
	return nil
}

// encodeMPLS writes act_mpls's struct tc_mpls and the fields of m.
func encodeMPLS(ae *netlink.AttributeEncoder, m *MPLS) error {
	if err := m.check(); err != nil {
		return err
	}
	ae.Bytes(nl.TCA_MPLS_PARMS, appendU32(tcGen(nil, 0, nl.TC_ACT_PIPE), uint32(m.Op)))
	if m.Proto != 0 {
		ae.Bytes(nl.TCA_MPLS_PROTO, be16(m.Proto))
	}
	if m.HasLabel {
		ae.Uint32(nl.TCA_MPLS_LABEL, m.Label)
	}
	if m.HasTC {
		ae.Uint8(nl.TCA_MPLS_TC, m.TC)
	}
	if m.TTL != 0 {
		ae.Uint8(nl.TCA_MPLS_TTL, m.TTL)
	}
	if m.HasBOS {
		ae.Uint8(nl.TCA_MPLS_BOS, m.BOS)
	}
	return nil
}

// decodeMPLS reads act_mpls back. The kernel dumps the protocol of every
// operation (0x8847 where none was given): it is kept for push and pop
// only.
func decodeMPLS(_ links, o []byte, st *Stats) (Action, error) {
	m := &MPLS{}
	var op uint32
	err := actionOpts("mpls", o, nl.TCA_MPLS_PARMS, nl.TCA_MPLS_TM, nl.TcMPLSLen, st, func(p []byte) error {
		op = binary.NativeEndian.Uint32(p[nl.TcGenLen:])
		return nil
	}, func(ad *netlink.AttributeDecoder) {
		switch ad.Type() {
		case nl.TCA_MPLS_PROTO:
			m.Proto = beUint16(ad)
		case nl.TCA_MPLS_LABEL:
			m.Label, m.HasLabel = ad.Uint32(), true
		case nl.TCA_MPLS_TC:
			m.TC, m.HasTC = ad.Uint8(), true
		case nl.TCA_MPLS_TTL:
			m.TTL = ad.Uint8()
		case nl.TCA_MPLS_BOS:
			m.BOS, m.HasBOS = ad.Uint8(), true
		}
	})
	if err != nil {
		return Action{}, err
	}
	m.Op = MPLSOp(op)
	if m.Op == MPLSModify || m.Op == MPLSDecTTL {
		m.Proto = 0
	}
	if err := m.check(); err != nil {
		return Action{}, fmt.Errorf("%w: %w", err, errUnsupported)
	}
	return Action{Kind: KindMPLS, MPLS: m}, nil
}
