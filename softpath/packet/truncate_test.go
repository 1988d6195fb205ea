package packet

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// layer is one header of a fixture: where it ends and what Parse loses when
// the frame stops before that.
type layer struct {
	name  string
	end   int
	clear func(k *pipeline.Key)
}

// clearAfterTags keeps only the Ethernet header and outer tags of k.
func clearAfterTags(k *pipeline.Key) {
	*k = pipeline.Key{InPort: k.InPort, EthDst: k.EthDst, EthSrc: k.EthSrc, EthType: k.EthType,
		VlanVID: k.VlanVID, VlanPCP: k.VlanPCP, Vlan2VID: k.Vlan2VID, Vlan2PCP: k.Vlan2PCP,
		Parsed: k.Parsed & (pipeline.ParsedVlanSTag | pipeline.ParsedVlan2STag)}
}

// clearL3 clears the L3 and L4 fields of k and their flags, keeping the
// Ethernet, PBB and MPLS fields.
func clearL3(k *pipeline.Key) {
	keep := *k
	clearAfterTags(k)
	k.PBBISID, k.PBBInnerDst, k.PBBInnerSrc, k.PBBInnerType = keep.PBBISID, keep.PBBInnerDst, keep.PBBInnerSrc, keep.PBBInnerType
	k.PBBInnerVID, k.PBBInnerPCP = keep.PBBInnerVID, keep.PBBInnerPCP
	k.MPLS, k.MPLSDepth = keep.MPLS, keep.MPLSDepth
	k.Parsed = keep.Parsed & (pipeline.ParsedInnerQinQ | pipeline.ParsedVlanSTag | pipeline.ParsedVlan2STag | pipeline.ParsedInnerVlanSTag)
}

// noL3 is clearL3 for a header the ethertype promises.
func noL3(k *pipeline.Key) {
	clearL3(k)
	k.Parsed |= pipeline.ParsedNoL3
}

func clearL4(k *pipeline.Key) {
	k.TpSrc, k.TpDst, k.TCPFlags, k.ICMPType, k.ICMPCode = 0, 0, 0, 0, 0
	k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
	k.Parsed &^= pipeline.ParsedNoND | pipeline.ParsedNDSLL | pipeline.ParsedNDTLL
}

// noL4 is clearL4 for a transport header ip_proto promises.
func noL4(k *pipeline.Key) {
	clearL4(k)
	k.Parsed |= pipeline.ParsedNoL4
}

// layersOf lists the layers of the frame Build makes from s, derived from
// the spec alone (not from Parse).
func layersOf(s Spec) []layer {
	ls := []layer{{"ethernet", ethLen, func(k *pipeline.Key) { *k = pipeline.Key{InPort: k.InPort, Parsed: pipeline.ParsedShort} }}}
	off := ethLen
	for i, v := range s.VLANs {
		if i == 2 {
			return ls // a third tag stops the parser
		}
		tpid := v.TPID
		if tpid == 0 {
			tpid = pipeline.EthTypeVLAN
		}
		first := i == 0
		off += vlanLen
		ls = append(ls, layer{fmt.Sprintf("tag %d", i), off, func(k *pipeline.Key) {
			if first {
				k.VlanVID, k.VlanPCP = 0, 0
				k.Parsed &^= pipeline.ParsedVlanSTag
			} else {
				k.Vlan2VID, k.Vlan2PCP = 0, 0
				k.Parsed &^= pipeline.ParsedVlan2STag
			}
			k.EthType = tpid
			clearAfterTags(k)
		}})
	}
	if p := s.PBB; p != nil {
		off += itagLen + 2*macLen + 2
		ls = append(ls, layer{"i-tag", off, func(k *pipeline.Key) {
			clearAfterTags(k)
			k.Parsed |= pipeline.ParsedNoITag
		}})
		for i, v := range p.VLANs {
			if i == 2 {
				return ls
			}
			tpid := v.TPID
			if tpid == 0 {
				tpid = pipeline.EthTypeVLAN
			}
			first := i == 0
			off += vlanLen
			ls = append(ls, layer{fmt.Sprintf("customer tag %d", i), off, func(k *pipeline.Key) {
				if first {
					k.PBBInnerVID, k.PBBInnerPCP = 0, 0
					k.Parsed &^= pipeline.ParsedInnerVlanSTag
				}
				k.PBBInnerType = tpid
				clearL3(k)
				k.MPLS, k.MPLSDepth = [pipeline.MPLSStackMax]uint32{}, 0
				k.Parsed &^= pipeline.ParsedInnerQinQ
			}})
		}
	}
	mpls := len(s.MPLS) > 0
	for i := range s.MPLS {
		if i == pipeline.MPLSDepthMax {
			return ls
		}
		off += mplsLen
		ls = append(ls, layer{fmt.Sprintf("mpls %d", i), off, func(k *pipeline.Key) {
			for j := i; j < pipeline.MPLSStackMax; j++ {
				k.MPLS[j] = 0
			}
			k.MPLSDepth = uint8(i)
			clearL3(k)
		}})
	}
	if mpls && (s.MPLSNoBoS || len(s.MPLS) > pipeline.MPLSDepthMax) {
		return ls
	}
	promised := noL3
	if mpls {
		promised = clearL3 // MPLS does not say what it carries
	}
	l4 := 0
	laterFrag := false
	switch {
	case s.IPv4 != nil:
		l4 = off + ipv4MinLen + len(pad(s.IPv4.Options, 4))
		ls = append(ls, layer{"ipv4", l4, promised})
		laterFrag = s.IPv4.FragOffset != 0
	case s.IPv6 != nil:
		ls = append(ls, layer{"ipv6", off + ipv6Len, promised})
		l4 = off + ipv6Len
		for i, e := range s.IPv6.Ext {
			switch e.Type {
			case pipeline.ProtoFragment:
				l4 += 8
				laterFrag = laterFrag || e.FragOffset != 0
			default:
				l4 += len(pad(append([]byte{0, 0}, e.Data...), 8))
			}
			before := exthdrFlags(s.IPv6, i)
			ls = append(ls, layer{fmt.Sprintf("ipv6 extension header %d", e.Type), l4, func(k *pipeline.Key) {
				k.IPProto = 0
				k.IPv6Exthdr = before
				clearL4(k)
				k.Parsed &^= pipeline.ParsedNoL4
			}})
		}
	case s.ARP != nil:
		ls = append(ls, layer{"arp", off + arpLen, promised})
	}
	if laterFrag {
		return ls
	}
	switch {
	case s.TCP != nil:
		ls = append(ls, layer{"tcp", l4 + tcpLen, noL4})
	case s.UDP != nil:
		ls = append(ls, layer{"udp", l4 + udpLen, noL4})
	case s.SCTP != nil:
		ls = append(ls, layer{"sctp", l4 + sctpLen, noL4})
	case s.ICMPv4 != nil:
		ls = append(ls, layer{"icmpv4", l4 + icmpv4Len, noL4})
	case s.ICMPv6 != nil:
		ls = append(ls, layer{"icmpv6", l4 + icmpv6Len, noL4})
		c := s.ICMPv6
		if (c.Type == ndSolicit || c.Type == ndAdvert) && c.Code == 0 && c.Target.IsValid() {
			ls = append(ls, layer{"nd", l4 + ndLen, func(k *pipeline.Key) {
				k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
				k.Parsed &^= pipeline.ParsedNDSLL | pipeline.ParsedNDTLL
				k.Parsed |= pipeline.ParsedNoND
			}})
			o := l4 + ndLen
			var sll, tll bool
			for i, opt := range c.Options {
				o += len(pad(append([]byte{0, 0}, opt.Data...), 8))
				var clr func(k *pipeline.Key)
				switch {
				case opt.Type == ndOptSLL && len(opt.Data) == 6 && !sll:
					sll = true
					clr = func(k *pipeline.Key) { k.ArpSHA = [6]byte{}; k.Parsed &^= pipeline.ParsedNDSLL }
				case opt.Type == ndOptTLL && len(opt.Data) == 6 && !tll:
					tll = true
					clr = func(k *pipeline.Key) { k.ArpTHA = [6]byte{}; k.Parsed &^= pipeline.ParsedNDTLL }
				default:
					clr = func(*pipeline.Key) {}
				}
				ls = append(ls, layer{fmt.Sprintf("nd option %d", i), o, clr})
			}
		}
	}
	return ls
}

// TestParseTruncated parses every prefix of every fixture: Parse must not
// panic and must keep exactly the fields of the complete layers.
func TestParseTruncated(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			frame := Build(f.spec)
			var full pipeline.Key
			Parse(frame, 3, &full)
			layers := layersOf(f.spec)
			for n := 0; n <= len(frame); n++ {
				want := full
				for i := len(layers) - 1; i >= 0; i-- {
					if n < layers[i].end {
						layers[i].clear(&want)
					}
				}
				var got pipeline.Key
				l := Parse(frame[:n:n], 3, &got)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("frame cut at %d bytes: key (-want +got):\n%s", n, diff)
				}
				if err := checkLayout(l, n); err != nil {
					t.Fatalf("frame cut at %d bytes: %v", n, err)
				}
			}
		})
	}
}

// checkLayout checks the invariants of a layout for a frame of n bytes.
func checkLayout(l Layout, n int) error {
	// l3 is where the payload of the outermost known ethertype starts.
	l3 := int(l.L2Len)
	if l.PBB != 0 {
		if l.PBB != l.L2Len || int(l.InnerL2Len) != int(l.PBB)+itagLen+2*macLen+2+vlanLen*int(l.InnerVLANs) ||
			int(l.InnerL2Len) > n || l.InnerVLANs > 2 {
			return fmt.Errorf("PBB %d, InnerL2Len %d, InnerVLANs %d misplaced (L2Len %d)", l.PBB, l.InnerL2Len, l.InnerVLANs, l.L2Len)
		}
		l3 = int(l.InnerL2Len)
	} else if l.InnerL2Len != 0 || l.InnerVLANs != 0 {
		return fmt.Errorf("InnerL2Len %d without PBB", l.InnerL2Len)
	}
	if l.MPLS != 0 {
		if int(l.MPLS) != l3 || l.MPLSLabels == 0 || l.MPLSLabels > pipeline.MPLSDepthMax ||
			int(l.MPLS)+mplsLen*int(l.MPLSLabels) > n {
			return fmt.Errorf("MPLS %d with %d labels misplaced (payload of the ethertype at %d)", l.MPLS, l.MPLSLabels, l3)
		}
		l3 = int(l.MPLS) + mplsLen*int(l.MPLSLabels)
	} else if l.MPLSLabels != 0 {
		return fmt.Errorf("%d MPLS labels without an offset", l.MPLSLabels)
	}
	switch {
	case int(l.L2Len) > n:
		return fmt.Errorf("L2Len %d beyond the frame (%d bytes)", l.L2Len, n)
	case l.L3 != 0 && int(l.L3) != l3:
		return fmt.Errorf("L3 %d != %d", l.L3, l3)
	case l.L3 == 0 && (l.L4 != 0 || l.End != 0):
		return fmt.Errorf("L4 %d or End %d without L3", l.L4, l.End)
	case l.L3 != 0 && (l.End <= l.L3 || int(l.End) > n):
		return fmt.Errorf("End %d outside (L3 %d, %d]", l.End, l.L3, n)
	case l.L4 != 0 && (l.L4 <= l.L3 || l.L4 >= l.End):
		return fmt.Errorf("L4 %d outside (L3 %d, End %d)", l.L4, l.L3, l.End)
	case l.Proto != 0 && (l.Proto < l.L3+6 || l.Proto >= l.End || l.L4 != 0 && l.Proto >= l.L4):
		return fmt.Errorf("Proto %d outside [L3 %d + 6, L4 %d, End %d)", l.Proto, l.L3, l.L4, l.End)
	case l.L4 != 0 && l.Proto == 0:
		return fmt.Errorf("L4 %d without Proto", l.L4)
	case l.Frag && l.L4 != 0:
		return fmt.Errorf("fragment with L4 %d", l.L4)
	case l.NDTarget != 0 && (l.NDTarget != l.L4+8 || l.NDTarget+16 > l.End):
		return fmt.Errorf("NDTarget %d misplaced (L4 %d, End %d)", l.NDTarget, l.L4, l.End)
	case (l.NDSLL != 0 || l.NDTLL != 0) && l.NDTarget == 0:
		return fmt.Errorf("ND options without target")
	case l.NDSLL != 0 && (l.NDSLL < l.L4+ndLen || l.NDSLL+6 > l.End):
		return fmt.Errorf("NDSLL %d misplaced", l.NDSLL)
	case l.NDTLL != 0 && (l.NDTLL < l.L4+ndLen || l.NDTLL+6 > l.End):
		return fmt.Errorf("NDTLL %d misplaced", l.NDTLL)
	case l.VLANs > 2 || int(l.L2Len) != 0 && int(l.L2Len) != ethLen+vlanLen*int(l.VLANs):
		return fmt.Errorf("VLANs %d and L2Len %d disagree", l.VLANs, l.L2Len)
	}
	return nil
}

// exthdrFlags returns the ipv6_exthdr flags of the first n extension
// headers of h (a small model of RFC 2460's order for the truncation test;
// TestParseIPv6Exthdr checks the flags against the spec by hand).
func exthdrFlags(h *IPv6, n int) uint16 {
	var flags uint16
	seen := map[int]bool{}
	last := -1
	for i, e := range h.Ext[:n] {
		next := h.Proto
		if i+1 < len(h.Ext) {
			next = h.Ext[i+1].Type
		}
		var rank int
		switch e.Type {
		case pipeline.ProtoHopByHop:
			rank, flags = 0, flags|pipeline.IEHHop
		case pipeline.ProtoDestOpts:
			rank, flags = 6, flags|pipeline.IEHDest
			if next == pipeline.ProtoRouting {
				rank = 1
			}
		case pipeline.ProtoRouting:
			rank, flags = 2, flags|pipeline.IEHRouter
		case pipeline.ProtoFragment:
			rank, flags = 3, flags|pipeline.IEHFrag
		case pipeline.ProtoAH:
			rank, flags = 4, flags|pipeline.IEHAuth
		}
		if seen[rank] {
			flags |= pipeline.IEHUnrep
		}
		if rank < last || rank == 0 && i > 0 {
			flags |= pipeline.IEHUnseq
		}
		seen[rank], last = true, rank
	}
	return flags
}
