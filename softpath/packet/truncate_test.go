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

func clearL3(k *pipeline.Key) {
	*k = pipeline.Key{InPort: k.InPort, EthDst: k.EthDst, EthSrc: k.EthSrc, EthType: k.EthType,
		VlanVID: k.VlanVID, VlanPCP: k.VlanPCP}
}

func clearL4(k *pipeline.Key) {
	k.TpSrc, k.TpDst, k.TCPFlags, k.ICMPType, k.ICMPCode = 0, 0, 0, 0, 0
	k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
}

// layersOf lists the layers of the frame Build makes from s, derived from
// the spec alone (not from Parse).
func layersOf(s Spec) []layer {
	ls := []layer{{"ethernet", ethLen, func(k *pipeline.Key) { *k = pipeline.Key{InPort: k.InPort} }}}
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
			}
			k.EthType = tpid
			clearL3(k)
		}})
	}
	l4 := 0
	laterFrag := false
	switch {
	case s.IPv4 != nil:
		l4 = off + ipv4MinLen + len(pad(s.IPv4.Options, 4))
		ls = append(ls, layer{"ipv4", l4, clearL3})
		laterFrag = s.IPv4.FragOffset != 0
	case s.IPv6 != nil:
		ls = append(ls, layer{"ipv6", off + ipv6Len, clearL3})
		l4 = off + ipv6Len
		for _, e := range s.IPv6.Ext {
			switch e.Type {
			case ipv6Fragment:
				l4 += 8
				laterFrag = laterFrag || e.FragOffset != 0
			case ipv6AH:
				l4 += len(pad(append([]byte{0, 0}, e.Data...), 8))
			default:
				l4 += len(pad(append([]byte{0, 0}, e.Data...), 8))
			}
		}
		ls = append(ls, layer{"ipv6 extension headers", l4, func(k *pipeline.Key) { k.IPProto = 0; clearL4(k) }})
	case s.ARP != nil:
		ls = append(ls, layer{"arp", off + arpLen, clearL3})
	}
	if laterFrag {
		return ls
	}
	switch {
	case s.TCP != nil:
		ls = append(ls, layer{"tcp", l4 + tcpLen, clearL4})
	case s.UDP != nil:
		ls = append(ls, layer{"udp", l4 + udpLen, clearL4})
	case s.SCTP != nil:
		ls = append(ls, layer{"sctp", l4 + sctpLen, clearL4})
	case s.ICMPv4 != nil:
		ls = append(ls, layer{"icmpv4", l4 + icmpv4Len, clearL4})
	case s.ICMPv6 != nil:
		ls = append(ls, layer{"icmpv6", l4 + icmpv6Len, clearL4})
		c := s.ICMPv6
		if (c.Type == ndSolicit || c.Type == ndAdvert) && c.Code == 0 && c.Target.IsValid() {
			ls = append(ls, layer{"nd", l4 + ndLen, func(k *pipeline.Key) {
				k.NDTarget, k.ArpSHA, k.ArpTHA = [16]byte{}, [6]byte{}, [6]byte{}
			}})
			o := l4 + ndLen
			var sll, tll bool
			for i, opt := range c.Options {
				o += len(pad(append([]byte{0, 0}, opt.Data...), 8))
				var clr func(k *pipeline.Key)
				switch {
				case opt.Type == ndOptSLL && len(opt.Data) == 6 && !sll:
					sll = true
					clr = func(k *pipeline.Key) { k.ArpSHA = [6]byte{} }
				case opt.Type == ndOptTLL && len(opt.Data) == 6 && !tll:
					tll = true
					clr = func(k *pipeline.Key) { k.ArpTHA = [6]byte{} }
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
	switch {
	case int(l.L2Len) > n:
		return fmt.Errorf("L2Len %d beyond the frame (%d bytes)", l.L2Len, n)
	case l.L3 != 0 && l.L3 != l.L2Len:
		return fmt.Errorf("L3 %d != L2Len %d", l.L3, l.L2Len)
	case l.L3 == 0 && (l.L4 != 0 || l.End != 0):
		return fmt.Errorf("L4 %d or End %d without L3", l.L4, l.End)
	case l.L3 != 0 && (l.End <= l.L3 || int(l.End) > n):
		return fmt.Errorf("End %d outside (L3 %d, %d]", l.End, l.L3, n)
	case l.L4 != 0 && (l.L4 <= l.L3 || l.L4 >= l.End):
		return fmt.Errorf("L4 %d outside (L3 %d, End %d)", l.L4, l.L3, l.End)
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
