package tcflower

import (
	"math/rand/v2"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// flowerMatches is a model of what flower's classifier does with keys k on
// a packet whose OpenFlow key is p, for the packets the translation is
// exact on: untagged or with one 802.1Q tag, an 8-bit ARP opcode, a 32-bit
// tunnel id, and tunnel metadata (enc_*) that is the in_port's.
func flowerMatches(k *Keys, p *pipeline.Key, env Env) bool {
	port, portOK := env.Port(p.InPort)
	if k.Indev != "" && (!portOK || port.Name != k.Indev) {
		return false
	}
	if k.HasEncKeyID && k.EncKeyID != uint32(p.TunnelID) {
		return false
	}
	if k.EncIPv4DstMask != [4]byte{} || k.EncIPv6DstMask != [16]byte{} || k.EncDstPortMask != 0 {
		if !portOK || port.Tunnel == nil {
			return false
		}
		var enc Keys
		setEncAddr(&enc, port.Tunnel.Local, false)
		if enc.EncIPv4Dst != k.EncIPv4Dst || enc.EncIPv6Dst != k.EncIPv6Dst ||
			(k.EncDstPortMask != 0 && port.Tunnel.DstPort != k.EncDstPort) {
			return false
		}
	}
	tagged := p.VlanVID&pipeline.VIDPresent != 0
	switch {
	case isTPID(k.EthType):
		if !tagged ||
			(k.HasVlanID && p.VlanVID&0xfff != k.VlanID) ||
			(k.HasVlanPrio && p.VlanPCP != k.VlanPrio) ||
			(k.VlanEthType != 0 && p.EthType != k.VlanEthType) {
			return false
		}
	case k.EthType != 0 && p.EthType != k.EthType:
		return false
	}
	if k.HasNumVlans && tagged != (k.NumVlans > 0) {
		return false
	}
	eq := func(v, key, mask []byte) bool {
		for i := range key {
			if v[i]&mask[i] != key[i] {
				return false
			}
		}
		return true
	}
	switch {
	case !eq(p.EthDst[:], k.DstMAC[:], k.DstMACMask[:]), !eq(p.EthSrc[:], k.SrcMAC[:], k.SrcMACMask[:]):
		return false
	case k.HasIPProto && p.IPProto != k.IPProto:
		return false
	case (p.IPDSCP<<2|p.IPECN)&k.IPTOSMask != k.IPTOS:
		return false
	case !eq(p.L3Src[:4], k.IPv4Src[:], k.IPv4SrcMask[:]), !eq(p.L3Dst[:4], k.IPv4Dst[:], k.IPv4DstMask[:]):
		return false
	case !eq(p.L3Src[:], k.IPv6Src[:], k.IPv6SrcMask[:]), !eq(p.L3Dst[:], k.IPv6Dst[:], k.IPv6DstMask[:]):
		return false
	case !eq(p.L3Src[:4], k.ArpSIP[:], k.ArpSIPMask[:]), !eq(p.L3Dst[:4], k.ArpTIP[:], k.ArpTIPMask[:]):
		return false
	case !eq(p.ArpSHA[:], k.ArpSHA[:], k.ArpSHAMask[:]), !eq(p.ArpTHA[:], k.ArpTHA[:], k.ArpTHAMask[:]):
		return false
	case p.TpSrc&k.SrcPortMask != k.SrcPort, p.TpDst&k.DstPortMask != k.DstPort:
		return false
	case p.TCPFlags&k.TCPFlagsMask != k.TCPFlags:
		return false
	case p.ICMPType&k.ICMPTypeMask != k.ICMPType, p.ICMPCode&k.ICMPCodeMask != k.ICMPCode:
		return false
	case uint8(p.ArpOp)&k.ArpOpMask != k.ArpOp:
		return false
	}
	return true
}

// packetNear returns a packet key close to the rule's key m: the key with
// some fields replaced by random values, within the model's limits.
func packetNear(r *rand.Rand, m *pipeline.Match) pipeline.Key {
	p := m.Key
	fields := pipeline.Fields()
	for n := r.IntN(3); n > 0; n-- {
		d := fields[r.IntN(len(fields))].Desc()
		b := make([]byte, d.Len)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		d.Put(&p, b)
	}
	switch r.IntN(4) {
	case 0:
		p.VlanVID, p.VlanPCP = 0, 0
	case 1:
		p.VlanVID = p.VlanVID&0xfff | pipeline.VIDPresent
	}
	if p.VlanVID&pipeline.VIDPresent == 0 {
		p.VlanVID, p.VlanPCP = 0, 0
	}
	p.VlanPCP &= 7
	p.IPDSCP &= 0x3f
	p.IPECN &= 3
	p.TCPFlags &= 0xfff
	p.ArpOp &= 0xff
	p.TunnelID &= 0xffffffff
	p.IPv6Flabel &= 0xfffff
	p.InPort = []uint32{1, 2, 10, 11, p.InPort}[r.IntN(5)]
	return p
}

// TestMatchModel checks that every match Translate accepts selects the
// same packets in flower (as modelled by flowerMatches) as in OpenFlow.
func TestMatchModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	env := goldenEnv()
	rules, hits := 0, 0
	for i := 0; i < 5000; i++ {
		f := randomFlow(r)
		keys, _, err := translateMatch(&f.Match, env, 0)
		if err != nil {
			continue
		}
		rules++
		for j := 0; j < 20; j++ {
			p := packetNear(r, &f.Match)
			want := f.Match.Matches(&p)
			if got := flowerMatches(&keys, &p, env); got != want {
				t.Fatalf("match %+v\nkeys %+v\npacket %+v\nflower %v, OpenFlow %v", f.Match, keys, p, got, want)
			}
			if want {
				hits++
			}
		}
	}
	if rules < 500 || hits < 1000 {
		t.Errorf("weak test: %d rules translated, %d packet hits", rules, hits)
	}
}
