package tcflower

import (
	"math/rand/v2"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

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
	p.TCPFlags &= 0x0fff
	p.InPort = []uint32{1, 2, 10, 11, p.InPort}[r.IntN(5)]
	if p.EthType == pipeline.EthTypeMPLS || p.EthType == pipeline.EthTypeMPLSMcast {
		p.MPLSDepth = uint8(1 + r.IntN(pipeline.MPLSStackMax))
		if r.IntN(2) == 0 {
			p.MPLS[0] ^= uint32(r.IntN(2)) << (8 + uint(r.IntN(24)))
		}
	} else {
		p.MPLS, p.MPLSDepth = [pipeline.MPLSStackMax]uint32{}, 0
	}
	return p
}

// TestMatchModel checks that every match Translate accepts selects the
// same packets in flower (as modelled by Keys.Matches) as in OpenFlow: a
// match of a VLAN tag with its two halves (802.1Q and 802.1ad, see
// Filter.Twin), of which at most one takes a packet.
func TestMatchModel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	env := goldenEnv()
	rules, hits, adHits, mplsRules := 0, 0, 0, 0
	for i := 0; i < 5000; i++ {
		f := randomFlow(r)
		if pipeline.ValidateMatch(&f.Match) != nil {
			continue // the switch refuses it before any tier sees it
		}
		keys, st, err := translateMatch(&f.Match, env, 0)
		if err != nil {
			continue
		}
		halves := []Keys{keys}
		if st.vlan.tagged == tagYes && keys.EthType == EthType8021Q {
			ad := keys // as translate makes the Twin
			ad.EthType = EthType8021AD
			halves = append(halves, ad)
		}
		rules++
		if keys.HasMPLSLabel || keys.HasMPLSTC || keys.HasMPLSBOS {
			mplsRules++
		}
		for j := 0; j < 20; j++ {
			p := packetNear(r, &f.Match)
			want := f.Match.Matches(&p)
			in, _ := env.Port(p.InPort)
			pkt := &Packet{Key: p, In: in, TPID: []uint16{0, EthType8021Q, EthType8021AD}[r.IntN(3)]}
			n := 0
			for _, h := range halves {
				if h.Matches(pkt) {
					n++
				}
			}
			if got := n > 0; got != want || n > 1 {
				t.Fatalf("match %+v\nkeys %+v\npacket %+v\nflower %v (%d of %d halves), OpenFlow %v", f.Match, halves, pkt, got, n, len(halves), want)
			}
			if want {
				hits++
				if pkt.TPID == EthType8021AD && len(halves) == 2 {
					adHits++
				}
			}
		}
	}
	if rules < 500 || hits < 1000 || adHits < 20 || mplsRules < 20 {
		t.Errorf("weak test: %d rules translated (%d with MPLS keys), %d packet hits (%d by an 802.1ad half)", rules, mplsRules, hits, adHits)
	}
}
