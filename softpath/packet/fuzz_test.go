package packet

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

var updateCorpus = flag.Bool("update-corpus", false, "rewrite the fuzz seed corpus in testdata/fuzz")

// fuzzFields are the fields FuzzApply sets: every settable one (tunnel_id
// is settable in OpenFlow but unsupported here) and one that is not
// (ipv6_exthdr).
var fuzzFields = func() []pipeline.Field {
	var fs []pipeline.Field
	for _, f := range pipeline.Fields() {
		if f.Desc().Settable {
			fs = append(fs, f)
		}
	}
	return append(fs, pipeline.FieldIPv6Exthdr)
}()

// Action kinds FuzzApply draws from, indexed by the first action byte.
// For kinds with etherTypes the second byte picks the ethertype from it.
var fuzzKinds = []struct {
	a          pipeline.Action
	etherTypes []uint16
}{
	{a: pipeline.Action{Type: pipeline.ActionSetField}},
	{a: pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN}},
	{a: pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeQinQ}},
	{a: pipeline.Action{Type: pipeline.ActionPopVLAN}},
	{a: pipeline.Action{Type: pipeline.ActionSetNwTTL}},
	{a: pipeline.Action{Type: pipeline.ActionDecNwTTL}},
	{a: pipeline.Action{Type: pipeline.ActionSetQueue}},
	{a: pipeline.Action{Type: pipeline.ActionOutput}},
	{a: pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: 0x0800}},
	{a: pipeline.Action{Type: pipeline.ActionPushMPLS}, etherTypes: []uint16{pipeline.EthTypeMPLS, pipeline.EthTypeMPLSMcast, 0x0800}},
	{a: pipeline.Action{Type: pipeline.ActionPopMPLS}, etherTypes: []uint16{pipeline.EthTypeIPv4, pipeline.EthTypeIPv6,
		pipeline.EthTypeMPLS, pipeline.EthTypeARP, pipeline.EthTypePBB, pipeline.EthTypeVLAN, 0x88b5}},
	{a: pipeline.Action{Type: pipeline.ActionSetMPLSTTL}},
	{a: pipeline.Action{Type: pipeline.ActionDecMPLSTTL}},
	{a: pipeline.Action{Type: pipeline.ActionCopyTTLOut}},
	{a: pipeline.Action{Type: pipeline.ActionCopyTTLIn}},
	{a: pipeline.Action{Type: pipeline.ActionPushPBB}, etherTypes: []uint16{pipeline.EthTypePBB, pipeline.EthTypeQinQ}},
	{a: pipeline.Action{Type: pipeline.ActionPopPBB}},
}

// decodeAction turns fuzz bytes into an action: kind, then field and value
// (set_field), TTL, or ethertype.
func decodeAction(b []byte) pipeline.Action {
	if len(b) == 0 {
		return pipeline.Action{Type: pipeline.ActionSetQueue}
	}
	kind := fuzzKinds[int(b[0])%len(fuzzKinds)]
	a := kind.a
	if len(b) > 1 {
		a.TTL = b[1]
		switch {
		case a.Type == pipeline.ActionSetField:
			a.Field = fuzzFields[int(b[1])%len(fuzzFields)]
			copy(a.Value[:], b[2:])
		case kind.etherTypes != nil:
			a.EtherType = kind.etherTypes[int(b[1])%len(kind.etherTypes)]
		}
	} else if kind.etherTypes != nil {
		a.EtherType = kind.etherTypes[0]
	}
	return a
}

// encodeAction is the inverse of decodeAction for the actions it can make.
func encodeAction(a pipeline.Action) ([]byte, bool) {
	for i, kind := range fuzzKinds {
		if kind.a.Type != a.Type || a.Type == pipeline.ActionPushVLAN && kind.a.EtherType != a.EtherType {
			continue
		}
		switch {
		case a.Type == pipeline.ActionSetField:
			for j, f := range fuzzFields {
				if f == a.Field {
					return append([]byte{byte(i), byte(j)}, a.FieldValue()...), true
				}
			}
			return nil, false
		case kind.etherTypes != nil:
			for j, et := range kind.etherTypes {
				if et == a.EtherType {
					return []byte{byte(i), byte(j)}, true
				}
			}
			return nil, false
		case a.Type == pipeline.ActionSetNwTTL || a.Type == pipeline.ActionSetMPLSTTL:
			return []byte{byte(i), a.TTL}, true
		}
		return []byte{byte(i)}, true
	}
	return nil, false
}

func FuzzParse(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(Build(fx.spec))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		orig := bytes.Clone(frame)
		var k1, k2 pipeline.Key
		l1 := Parse(frame, 5, &k1)
		if !bytes.Equal(frame, orig) {
			t.Fatal("Parse modified the frame")
		}
		l2 := Parse(bytes.Clone(frame), 5, &k2)
		if k1 != k2 || l1 != l2 {
			t.Fatal("Parse is not deterministic")
		}
		if err := checkLayout(l1, min(len(frame), maxFrame)); err != nil {
			t.Fatal(err)
		}
		if err := checkKeyLayout(&k1, &l1); err != nil {
			t.Fatal(err)
		}
		if err := checkKeyBytes(frame, &k1, &l1); err != nil {
			t.Fatal(err)
		}
		// A frame cut at the end of its IP packet (padding gone) parses the
		// same, offsets and all.
		if l1.End != 0 && int(l1.End) < len(frame) {
			var k3 pipeline.Key
			if l3 := Parse(frame[:l1.End], 5, &k3); k3 != k1 || l3 != l1 {
				t.Fatalf("cut at End %d: key or layout differs:\n %+v\n %+v", l1.End, l3, l1)
			}
		}
	})
}

// checkKeyLayout checks that the key has no fields of absent layers and
// that its flags agree with the layout.
func checkKeyLayout(k *pipeline.Key, l *Layout) error {
	if l.L2Len == 0 {
		if *k != (pipeline.Key{InPort: k.InPort, Parsed: pipeline.ParsedShort}) {
			return fmt.Errorf("short frame with fields %+v", *k)
		}
		return nil
	}
	if k.Parsed&pipeline.ParsedShort != 0 {
		return fmt.Errorf("ParsedShort with an Ethernet header")
	}
	tagged := func(n uint8, vid uint16, pcp uint8, vid2 uint16, pcp2 uint8) bool {
		return (n >= 1) == (vid&pipeline.VIDPresent != 0) && (n >= 1 || vid == 0 && pcp == 0) &&
			(n >= 2) == (vid2&pipeline.VIDPresent != 0) && (n >= 2 || vid2 == 0 && pcp2 == 0)
	}
	stags := k.Parsed & (pipeline.ParsedVlanSTag | pipeline.ParsedVlan2STag | pipeline.ParsedInnerVlanSTag)
	if l.VLANs < 1 && stags&pipeline.ParsedVlanSTag != 0 || l.VLANs < 2 && stags&pipeline.ParsedVlan2STag != 0 ||
		l.InnerVLANs < 1 && stags&pipeline.ParsedInnerVlanSTag != 0 {
		return fmt.Errorf("S-tag flags %#x with %d tags, %d customer tags", stags, l.VLANs, l.InnerVLANs)
	}
	if !tagged(l.VLANs, k.VlanVID, k.VlanPCP, k.Vlan2VID, k.Vlan2PCP) {
		return fmt.Errorf("vlan fields %#x/%d, %#x/%d with %d tags", k.VlanVID, k.VlanPCP, k.Vlan2VID, k.Vlan2PCP, l.VLANs)
	}
	inner := k.EthType
	if l.PBB == 0 {
		if k.PBBISID != 0 || k.PBBInnerDst != [6]byte{} || k.PBBInnerSrc != [6]byte{} || k.PBBInnerType != 0 ||
			k.PBBInnerVID != 0 || k.PBBInnerPCP != 0 || k.Parsed&(pipeline.ParsedInnerQinQ|pipeline.ParsedInnerVlanSTag) != 0 {
			return fmt.Errorf("PBB fields without an I-TAG: %+v", *k)
		}
		if (k.EthType == pipeline.EthTypePBB) != (k.Parsed&pipeline.ParsedNoITag != 0) {
			return fmt.Errorf("ParsedNoITag %v with eth_type %#x and no I-TAG", k.Parsed&pipeline.ParsedNoITag != 0, k.EthType)
		}
	} else {
		if k.EthType != pipeline.EthTypePBB || k.Parsed&pipeline.ParsedNoITag != 0 {
			return fmt.Errorf("I-TAG at %d with eth_type %#x, flags %#x", l.PBB, k.EthType, k.Parsed)
		}
		if !tagged(l.InnerVLANs, k.PBBInnerVID, k.PBBInnerPCP, 0, 0) && l.InnerVLANs != 2 ||
			(l.InnerVLANs == 2) != (k.Parsed&pipeline.ParsedInnerQinQ != 0) {
			return fmt.Errorf("customer tag fields %#x/%d with %d tags", k.PBBInnerVID, k.PBBInnerPCP, l.InnerVLANs)
		}
		inner = k.PBBInnerType
	}
	if l.MPLS == 0 {
		if k.MPLS != [pipeline.MPLSStackMax]uint32{} || k.MPLSDepth != 0 {
			return fmt.Errorf("MPLS fields without a stack: %v/%d", k.MPLS, k.MPLSDepth)
		}
	} else if !isMPLS(inner) || k.MPLSDepth != l.MPLSLabels {
		return fmt.Errorf("MPLS stack at %d under ethertype %#x, depth %d, %d labels", l.MPLS, inner, k.MPLSDepth, l.MPLSLabels)
	}
	ipv4Payload, ipv6Payload := k.Parsed&pipeline.ParsedMPLSIPv4 != 0, k.Parsed&pipeline.ParsedMPLSIPv6 != 0
	if (ipv4Payload || ipv6Payload) && (l.MPLS == 0 || l.L3 == 0 || ipv4Payload && ipv6Payload) {
		return fmt.Errorf("MPLS payload flags %#x without a parsed payload", k.Parsed)
	}
	promised := inner == pipeline.EthTypeIPv4 || inner == pipeline.EthTypeIPv6 || inner == pipeline.EthTypeARP
	if k.EthType == pipeline.EthTypePBB && l.PBB == 0 {
		promised = false
	}
	if noL3 := k.Parsed&pipeline.ParsedNoL3 != 0; noL3 != (promised && l.L3 == 0) {
		return fmt.Errorf("ParsedNoL3 %v with ethertype %#x and L3 %d", noL3, inner, l.L3)
	}
	var rest pipeline.Key
	switch {
	case l.L3 == 0:
		rest = *k
		rest.InPort, rest.EthDst, rest.EthSrc, rest.EthType, rest.VlanVID, rest.VlanPCP = 0, [6]byte{}, [6]byte{}, 0, 0, 0
		rest.Vlan2VID, rest.Vlan2PCP, rest.PBBISID, rest.PBBInnerDst, rest.PBBInnerSrc = 0, 0, 0, [6]byte{}, [6]byte{}
		rest.PBBInnerType, rest.PBBInnerVID, rest.PBBInnerPCP, rest.MPLS, rest.MPLSDepth = 0, 0, 0, [3]uint32{}, 0
		rest.Parsed &^= pipeline.ParsedNoL3 | pipeline.ParsedNoITag | pipeline.ParsedInnerQinQ | stags
	case l.L4 == 0:
		rest = pipeline.Key{TpSrc: k.TpSrc, TpDst: k.TpDst, TCPFlags: k.TCPFlags, ICMPType: k.ICMPType,
			ICMPCode: k.ICMPCode, NDTarget: k.NDTarget, Parsed: k.Parsed & (pipeline.ParsedNoND | pipeline.ParsedNDSLL | pipeline.ParsedNDTLL)}
		if l3Type(k, l) != pipeline.EthTypeARP {
			rest.ArpSHA, rest.ArpTHA = k.ArpSHA, k.ArpTHA
		}
	}
	if !rest.IsZero() {
		return fmt.Errorf("fields of absent layers set (layout %+v): %+v", *l, rest)
	}
	if (k.Parsed&pipeline.ParsedNDSLL != 0) != (l.NDSLL != 0) || (k.Parsed&pipeline.ParsedNDTLL != 0) != (l.NDTLL != 0) {
		return fmt.Errorf("ND option flags %#x with layout %+v", k.Parsed, *l)
	}
	if k.Parsed&pipeline.ParsedNoND != 0 && (l.NDTarget != 0 || !isND(k.ICMPType, k.ICMPCode)) {
		return fmt.Errorf("ParsedNoND with an ND target or a non-ND type")
	}
	if k.Parsed&pipeline.ParsedNoL4 != 0 && l.L4 != 0 {
		return fmt.Errorf("ParsedNoL4 with L4 at %d", l.L4)
	}
	return nil
}

// checkKeyBytes reads the fields back from the frame at the layout's
// offsets and compares them with the key.
func checkKeyBytes(frame []byte, k *pipeline.Key, l *Layout) error {
	if l.L2Len == 0 {
		return nil
	}
	if !bytes.Equal(frame[0:6], k.EthDst[:]) || !bytes.Equal(frame[6:12], k.EthSrc[:]) || be16(frame[l.L2Len-2:]) != k.EthType {
		return fmt.Errorf("ethernet header differs from the key")
	}
	stag := func(tpid uint16, flag uint16) bool { return (tpid == pipeline.EthTypeQinQ) == (k.Parsed&flag != 0) }
	if l.VLANs > 0 && (be16(frame[14:])&vidMask|pipeline.VIDPresent != k.VlanVID || !stag(be16(frame[12:]), pipeline.ParsedVlanSTag)) {
		return fmt.Errorf("outer tag differs from the key")
	}
	if l.VLANs > 1 && (be16(frame[18:])&vidMask|pipeline.VIDPresent != k.Vlan2VID || !stag(be16(frame[16:]), pipeline.ParsedVlan2STag)) {
		return fmt.Errorf("second tag differs from the key")
	}
	if l.InnerVLANs > 0 && !stag(be16(frame[l.PBB+4+12:]), pipeline.ParsedInnerVlanSTag) {
		return fmt.Errorf("customer tag differs from the key")
	}
	if l.PBB != 0 && (be32(frame[l.PBB:])&isidMask != k.PBBISID || !bytes.Equal(frame[l.PBB+4:l.PBB+10], k.PBBInnerDst[:]) ||
		be16(frame[l.InnerL2Len-2:]) != k.PBBInnerType) {
		return fmt.Errorf("I-TAG or customer header differs from the key")
	}
	for i := 0; i < int(l.MPLSLabels) && i < pipeline.MPLSStackMax; i++ {
		if be32(frame[int(l.MPLS)+4*i:]) != k.MPLS[i] {
			return fmt.Errorf("label stack entry %d differs from the key", i)
		}
	}
	if l.MPLSLabels > 0 {
		for i := 0; i < int(l.MPLSLabels)-1; i++ {
			if be32(frame[int(l.MPLS)+4*i:])&mplsBoS != 0 {
				return fmt.Errorf("label stack entry %d has the bottom of stack but more follow", i)
			}
		}
	}
	switch l3Type(k, l) {
	case pipeline.EthTypeIPv4:
		if frame[l.L3+8] != k.IPTTL || frame[l.L3+9] != k.IPProto || !bytes.Equal(frame[l.L3+12:l.L3+16], k.L3Src[:4]) ||
			l.Proto != l.L3+9 {
			return fmt.Errorf("ipv4 header differs from the key")
		}
	case pipeline.EthTypeIPv6:
		if frame[l.L3+7] != k.IPTTL || !bytes.Equal(frame[l.L3+8:l.L3+24], k.L3Src[:]) {
			return fmt.Errorf("ipv6 header differs from the key")
		}
		// ip_proto is the next header at Proto, or unknown (0) when the
		// parser did not finish the chain.
		if l.Proto != 0 && frame[l.Proto] != k.IPProto || l.Proto == 0 && k.IPProto != 0 {
			return fmt.Errorf("ipv6 ip_proto %d differs from the next header at %d", k.IPProto, l.Proto)
		}
	default:
		if l.Proto != 0 {
			return fmt.Errorf("Proto %d without IP", l.Proto)
		}
	case pipeline.EthTypeARP:
		if be16(frame[l.L3+6:]) != k.ArpOp {
			return fmt.Errorf("arp op differs from the key")
		}
	}
	if l.L4 != 0 {
		switch k.IPProto {
		case pipeline.ProtoTCP, pipeline.ProtoUDP, pipeline.ProtoSCTP:
			if be16(frame[l.L4:]) != k.TpSrc || be16(frame[l.L4+2:]) != k.TpDst {
				return fmt.Errorf("ports differ from the key")
			}
		default:
			if frame[l.L4] != k.ICMPType || frame[l.L4+1] != k.ICMPCode {
				return fmt.Errorf("icmp type or code differs from the key")
			}
		}
	}
	return nil
}

func FuzzApply(f *testing.F) {
	for _, tc := range fuzzApplySeeds() {
		f.Add(tc.frame, tc.action)
	}
	f.Fuzz(func(t *testing.T, in []byte, act []byte) {
		frame := make([]byte, len(in), len(in)+pbbPushLen)
		copy(frame, in)
		a := decodeAction(act)
		var k pipeline.Key
		l := Parse(frame, 5, &k)
		k.Metadata, k.TunnelID = 11, 12
		k0, l0 := k, l
		sumsOK := checkSums(frame) == nil
		got, err := Apply(frame, &l, &k, &a)
		if err != nil {
			if !errors.Is(err, ErrUnsupported) && err != ErrTTLExpired {
				t.Fatalf("unexpected error %v", err)
			}
			if !bytes.Equal(got, in) || k != k0 || l != l0 {
				t.Fatalf("failed Apply (%v) changed the packet, key or layout", err)
			}
			return
		}
		var fresh pipeline.Key
		fl := Parse(got, 5, &fresh)
		fresh.Metadata, fresh.TunnelID = 11, 12
		if fresh != k || fl != l {
			t.Fatalf("action %+v: after Apply\n key    %+v\n layout %+v\nfresh Parse\n key    %+v\n layout %+v", a, k, l, fresh, fl)
		}
		if len(in) <= maxFrame-pbbPushLen {
			if want := len(in) + lengthChange(&a, &k0, &l0); len(got) != want {
				t.Fatalf("action %+v: %d bytes after Apply, want %d", a, len(got), want)
			}
			if len(got) > len(in) && cap(got) == cap(frame) && &got[0] != &frame[0] {
				t.Fatalf("action %+v: a new backing array despite spare capacity", a)
			}
		}
		setProto := a.Type == pipeline.ActionSetField && a.Field == pipeline.FieldIPProto
		if setProto {
			checkSetIPProto(t, in, got, &k0, &l0, a.Value[0], sumsOK)
		}
		reinterprets := a.Type == pipeline.ActionPushMPLS || a.Type == pipeline.ActionPopMPLS ||
			a.Type == pipeline.ActionPushPBB || a.Type == pipeline.ActionPopPBB ||
			a.Type == pipeline.ActionSetField && a.Field == pipeline.FieldEthType || setProto ||
			// mpls_bos decides whether the bytes after the top label are
			// read as a label or as the IP payload.
			a.Type == pipeline.ActionSetField && a.Field == pipeline.FieldMPLSBoS
		if a.Type != pipeline.ActionPushVLAN && a.Type != pipeline.ActionPopVLAN && !reinterprets && sumsOK {
			if bad := checkSums(got); bad != nil {
				t.Fatalf("action %+v broke valid checksums: %v", a, bad)
			}
		}
		// A push followed by its pop gives the packet back.
		if pop, ok := popOf(&a, &k0); ok && len(got) != len(in) && len(in) <= maxFrame-pbbPushLen {
			back, err := Apply(got, &l, &k, &pop)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(back, in) || k != k0 || l != l0 {
				t.Fatalf("%+v then %+v: packet, key or layout differs from the original", a, pop)
			}
		}
	})
}

// checkSetIPProto checks set_field ip_proto=p on frame in (parsed as k0,
// l0), which became got: on an IPv4 or IPv6 packet whose ip_proto the
// parser found, only the protocol byte at l0.Proto and the checksums that
// cover it (the IPv4 header's; the transport checksum of the header at
// l0.L4, which stays, when it covers the pseudo header) changed, and they
// are right if they were: the IP header's as Parse now reads the frame,
// the transport's over a pseudo header with protocol p. Otherwise nothing
// changed.
func checkSetIPProto(t *testing.T, in, got []byte, k0 *pipeline.Key, l0 *Layout, p uint8, sumsOK bool) {
	t.Helper()
	v4 := k0.EthType == pipeline.EthTypeIPv4
	if l0.Proto == 0 || !v4 && k0.EthType != pipeline.EthTypeIPv6 || k0.IPProto == p {
		if !bytes.Equal(got, in) {
			t.Fatalf("set_field ip_proto=%d changed a packet it does not apply to (ip_proto %d at %d)", p, k0.IPProto, l0.Proto)
		}
		return
	}
	if got[l0.Proto] != p {
		t.Fatalf("set_field ip_proto=%d: %d at offset %d", p, got[l0.Proto], l0.Proto)
	}
	may := map[int]bool{int(l0.Proto): true}
	if v4 {
		may[int(l0.L3)+10], may[int(l0.L3)+11] = true, true
	}
	if l0.L4 != 0 {
		sum := map[uint8]int{pipeline.ProtoTCP: 16, pipeline.ProtoUDP: 6, pipeline.ProtoICMPv6: 2}
		if o, ok := sum[k0.IPProto]; ok {
			may[int(l0.L4)+o], may[int(l0.L4)+o+1] = true, true
		}
	}
	for i := range in {
		if in[i] != got[i] && !may[i] {
			t.Fatalf("set_field ip_proto=%d changed byte %d (%#x to %#x)", p, i, in[i], got[i])
		}
	}
	if bad := checkSumsAfterProto(got, k0, l0); sumsOK && bad != nil {
		t.Fatalf("set_field ip_proto %d to %d broke valid checksums: %v", k0.IPProto, p, bad)
	}
}

// lengthChange is how many bytes action a adds to a frame parsed as k0, l0
// (negative: removes).
func lengthChange(a *pipeline.Action, k0 *pipeline.Key, l0 *Layout) int {
	switch a.Type {
	case pipeline.ActionPushVLAN:
		if l0.L2Len != 0 {
			return vlanLen
		}
	case pipeline.ActionPopVLAN:
		if l0.VLANs != 0 {
			return -vlanLen
		}
	case pipeline.ActionPushMPLS:
		if l0.L2Len != 0 {
			return mplsLen
		}
	case pipeline.ActionPopMPLS:
		if l0.MPLS != 0 {
			return -mplsLen
		}
	case pipeline.ActionPushPBB:
		if l0.L2Len != 0 {
			return pbbPushLen
		}
	case pipeline.ActionPopPBB:
		if l0.PBB != 0 {
			return -int(l0.PBB) - itagLen
		}
	}
	return 0
}

// popOf returns the action that undoes push action a on a packet whose key
// was k0.
func popOf(a *pipeline.Action, k0 *pipeline.Key) (pipeline.Action, bool) {
	switch a.Type {
	case pipeline.ActionPushVLAN:
		return pipeline.Action{Type: pipeline.ActionPopVLAN}, true
	case pipeline.ActionPushMPLS:
		return pipeline.Action{Type: pipeline.ActionPopMPLS, EtherType: k0.EthType}, true
	case pipeline.ActionPushPBB:
		return pipeline.Action{Type: pipeline.ActionPopPBB}, true
	}
	return pipeline.Action{}, false
}

type fuzzSeed struct {
	name          string
	frame, action []byte
}

// fuzzApplySeeds returns one seed per distinct action of applyCases.
func fuzzApplySeeds() []fuzzSeed {
	var seeds []fuzzSeed
	seen := map[string]bool{}
	for _, tc := range applyCases() {
		act, ok := encodeAction(tc.action)
		if !ok || seen[string(act[:min(2, len(act))])] {
			continue
		}
		seen[string(act[:min(2, len(act))])] = true
		seeds = append(seeds, fuzzSeed{tc.name, fixtureFrame(tc.fixture), act})
	}
	return seeds
}

// TestFuzzCorpus checks that testdata/fuzz holds the seed corpus generated
// from Build (go test -run TestFuzzCorpus -update-corpus rewrites it).
func TestFuzzCorpus(t *testing.T) {
	files := map[string]string{}
	nonAlnum := regexp.MustCompile(`[^a-z0-9]+`)
	for _, fx := range fixtures() {
		files[filepath.Join("FuzzParse", fx.name)] = corpusFile(Build(fx.spec))
	}
	for _, s := range fuzzApplySeeds() {
		files[filepath.Join("FuzzApply", nonAlnum.ReplaceAllString(s.name, "-"))] = corpusFile(s.frame, s.action)
	}
	if len(files) < 40 {
		t.Fatalf("only %d seeds", len(files))
	}
	for name, content := range files {
		path := filepath.Join("testdata", "fuzz", name)
		if *updateCorpus {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzCorpus -update-corpus)", err)
		}
		if string(got) != content {
			t.Errorf("%s is stale (run go test -run TestFuzzCorpus -update-corpus)", path)
		}
	}
}

// corpusFile renders a seed in the "go test fuzz v1" format.
func corpusFile(args ...[]byte) string {
	var b strings.Builder
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		fmt.Fprintf(&b, "[]byte(%q)\n", a)
	}
	return b.String()
}
