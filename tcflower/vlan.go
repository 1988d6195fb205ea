package tcflower

import "github.com/nicflow/nicflow/offload/pipeline"

// pushVLAN starts a push: OpenFlow copies the new tag's VID and PCP from
// the outer tag (0 on an untagged frame), tc's vlan push takes them
// explicitly, so they must be known by the time the push is emitted: from
// the match, or from set_field vlan_vid/vlan_pcp right after the push.
func (b *actionBuilder) pushVLAN(tpid uint16) error {
	if err := b.flushPush(); err != nil {
		return err
	}
	if tpid != EthType8021Q && tpid != EthType8021AD {
		return notExpressible("action push_vlan:%#04x: not a VLAN TPID", tpid)
	}
	v := &Vlan{Op: VlanPush, Proto: tpid, HasPrio: true}
	if b.vlan.tagged != tagNo {
		b.innerTag = true // the tag there goes into the packet data
	}
	switch b.vlan.tagged {
	case tagNo:
		b.pushVID, b.pushPCP = true, true
	case tagYes:
		v.ID, b.pushVID = b.vlan.vid, b.vlan.vidKnown
		v.Prio, b.pushPCP = b.vlan.pcp, b.vlan.pcpKnown
	default:
		b.pushVID, b.pushPCP = false, false
	}
	b.push = v
	return nil
}

// flushPush emits a pending push_vlan.
func (b *actionBuilder) flushPush() error {
	v := b.push
	if v == nil {
		return nil
	}
	b.push = nil
	if !b.pushVID {
		return notExpressible("action push_vlan copies vlan_vid from an outer tag the match does not pin: set_field vlan_vid after push_vlan")
	}
	if !b.pushPCP {
		return notExpressible("action push_vlan copies vlan_pcp from an outer tag the match does not pin: set_field vlan_pcp after push_vlan")
	}
	b.out = append(b.out, Action{Kind: KindVlan, Vlan: v})
	b.vlan = vlanState{tagged: tagYes, tpid: v.Proto, vid: v.ID, vidKnown: true, pcp: v.Prio, pcpKnown: true}
	return nil
}

func (b *actionBuilder) popVLAN() error {
	if err := b.flushPush(); err != nil {
		return err
	}
	if b.vlan.tagged == tagNo {
		return nil // a no-op on an untagged frame, in tc as in OpenFlow
	}
	b.out = append(b.out, Action{Kind: KindVlan, Vlan: &Vlan{Op: VlanPop}})
	b.vlan = vlanState{} // an inner tag may follow
	b.innerTag = false   // the kernel keeps the next tag out of the data again
	return nil
}

// setVLAN handles set_field vlan_vid (pcp false) or vlan_pcp (pcp true).
// set_field on an untagged frame is a no-op in OpenFlow (and in tc's vlan
// modify). On a tagged frame it is a vlan modify, which needs the VID and
// the TPID (modify rewrites the tag's TPID), so the tag must be pinned by
// the match or by an earlier push.
func (b *actionBuilder) setVLAN(a *pipeline.Action, pcp bool) error {
	v := a.FieldValue()
	if b.push != nil {
		if pcp {
			b.push.Prio, b.pushPCP = v[0]&7, true
		} else {
			b.push.ID, b.pushVID = (uint16(v[0])<<8|uint16(v[1]))&0xfff, true
		}
		return nil
	}
	name := "vlan_vid"
	if pcp {
		name = "vlan_pcp"
	}
	switch b.vlan.tagged {
	case tagNo:
		return nil
	case tagUnknown:
		return notExpressible("action set_field %s: the match does not say whether the frame is tagged, or with which TPID", name)
	}
	if pcp {
		if !b.vlan.vidKnown {
			return notExpressible("action set_field vlan_pcp: tc's vlan modify needs the vlan_vid, which the match does not pin")
		}
		b.vlan.pcp, b.vlan.pcpKnown = v[0]&7, true
	} else {
		b.vlan.vid, b.vlan.vidKnown = (uint16(v[0])<<8|uint16(v[1]))&0xfff, true
	}
	m := &Vlan{Op: VlanModify, ID: b.vlan.vid, Proto: b.vlan.tpid}
	if pcp {
		m.Prio, m.HasPrio = b.vlan.pcp, true
	}
	b.out = append(b.out, Action{Kind: KindVlan, Vlan: m})
	return nil
}
