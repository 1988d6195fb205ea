package tcflower

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/offload/pipeline/flowtext"
)

// specOpts compares Filter specs (TunnelKey holds netip.Addr).
var specOpts = cmpopts.EquateComparable(netip.Addr{})

func TestNotExpressibleIs(t *testing.T) {
	f, err := flowtext.Flow("in_port=1,actions=output:CONTROLLER")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Translate(f, goldenEnv())
	if !errors.Is(err, ErrNotExpressible) {
		t.Fatalf("Translate: %v, want an error matching ErrNotExpressible", err)
	}
	var ne *NotExpressibleError
	if !errors.As(err, &ne) || ne.Reason != "action output:CONTROLLER has no flower form" {
		t.Errorf("reason = %+v", ne)
	}
	if _, err := Translate(nil, goldenEnv()); err == nil || errors.Is(err, ErrNotExpressible) {
		t.Errorf("Translate(nil) = %v, want a plain error", err)
	}
}

func TestPref(t *testing.T) {
	tests := []struct {
		prio uint16
		want uint16
	}{
		{0, 65534}, {1, 65533}, {100, 65434}, {32768, 32766}, {65532, 2}, {65533, 1}, {65534, 1}, {65535, 1},
	}
	for _, tt := range tests {
		if got := Pref(tt.prio); got != tt.want {
			t.Errorf("Pref(%d) = %d, want %d", tt.prio, got, tt.want)
		}
	}
	// Order is kept: a higher priority never gets a higher pref.
	for p := 1; p <= 0xffff; p++ {
		if Pref(uint16(p)) > Pref(uint16(p-1)) {
			t.Fatalf("Pref(%d) = %d > Pref(%d) = %d", p, Pref(uint16(p)), p-1, Pref(uint16(p-1)))
		}
	}
}

func TestCookie(t *testing.T) {
	c := CookieInfo{Version: CookieVersion, Table: 3, FlowID: 0x0102030405060708, Priority: 0xabcd, Digest: 0x1234}
	b := EncodeCookie(c)
	want := []byte{'n', 'f', 1, 3, 1, 2, 3, 4, 5, 6, 7, 8, 0xab, 0xcd, 0x12, 0x34}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("EncodeCookie (-want +got):\n%s", diff)
	}
	got, ok := ParseCookie(b)
	if !ok || got != c {
		t.Errorf("ParseCookie = %+v, %v; want %+v, true", got, ok, c)
	}
	bad := map[string][]byte{
		"short":   b[:15],
		"long":    append(append([]byte(nil), b...), 0),
		"magic":   append([]byte{'o', 'v'}, b[2:]...),
		"version": append([]byte{'n', 'f', 9}, b[3:]...),
		"nil":     nil,
	}
	for name, c := range bad {
		if _, ok := ParseCookie(c); ok {
			t.Errorf("ParseCookie(%s %x) accepted", name, c)
		}
	}
}

func TestTranslateFilter(t *testing.T) {
	f, err := flowtext.Flow("table=2,priority=300,in_port=1,tcp,tcp_dst=80,actions=meter:1,set_field:8080->tcp_dst,output:2")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Translate(f, goldenEnv())
	if err != nil {
		t.Fatal(err)
	}
	want := &Filter{
		Chain:    2,
		Pref:     65234,
		Protocol: EthPAll,
		Keys: Keys{
			Indev: "p1", EthType: EthTypeIPv4, IPProto: 6, HasIPProto: true,
			DstPort: 80, DstPortMask: 0xffff,
		},
		Actions: []Action{
			{Kind: KindPolice, Police: &Police{Rate: 125000, Burst: 12500, Index: 1001}},
			{Kind: KindPedit, Pedit: &Pedit{Keys: []PeditKey{{Header: PeditTCP, Offset: 0, Mask: 0xffff0000, Val: 8080}}}},
			{Kind: KindCsum, Csum: &Csum{Flags: CsumTCP}},
			{Kind: KindMirred, Mirred: &Mirred{Dev: "p2", Redirect: true}},
		},
	}
	want.Cookie = EncodeCookie(CookieInfo{Version: 1, Table: 2, FlowID: 7, Priority: 300, Digest: Digest(want)})
	if diff := cmp.Diff(want, got, specOpts); diff != "" {
		t.Errorf("Translate (-want +got):\n%s", diff)
	}
	// The digest ignores cookie and flags, and sees everything else.
	g := *got
	g.Flags, g.Cookie = FlagSkipSW, nil
	if Digest(&g) != Digest(got) {
		t.Error("Digest depends on flags or cookie")
	}
	g.Keys.DstPort = 81
	if Digest(&g) == Digest(got) {
		t.Error("Digest does not see the keys")
	}
}

// TestPeditSemantics applies the pedit keys of translated set_fields to a
// header the way the kernel does (word = word&mask ^ val) and checks the
// bytes that changed.
func TestPeditSemantics(t *testing.T) {
	tests := []struct {
		rule string
		h    PeditHeader
		want map[int]byte // offset -> byte after the rewrite
	}{
		{"in_port=1,actions=set_field:02:00:00:00:00:09->eth_dst,output:2", PeditEth,
			map[int]byte{0: 2, 1: 0, 2: 0, 3: 0, 4: 0, 5: 9}},
		{"in_port=1,ip,actions=set_field:46->ip_dscp,output:2", PeditIP4, map[int]byte{1: 0xb8 | 0x01}},
		{"in_port=1,ip,actions=set_field:10.1.2.3->ipv4_dst,output:2", PeditIP4, map[int]byte{16: 10, 17: 1, 18: 2, 19: 3}},
		{"in_port=1,udp,actions=set_field:53->udp_dst,output:2", PeditUDP, map[int]byte{2: 0, 3: 53}},
		{"in_port=1,ipv6,actions=set_field:46->ip_dscp,output:2", PeditIP6, map[int]byte{0: 0x6b, 1: 0x9f}},
		{"in_port=1,ipv6,actions=set_nw_ttl:3,output:2", PeditIP6, map[int]byte{7: 3}},
		// pedit add: the TTL byte (0x40 below) less one, less two; no
		// carry into the protocol or the payload length.
		{"in_port=1,ip,actions=dec_ttl,output:2", PeditIP4, map[int]byte{8: 0x3f}},
		{"in_port=1,ip,actions=dec_ttl,dec_ttl,output:2", PeditIP4, map[int]byte{8: 0x3e}},
		{"in_port=1,ipv6,actions=dec_ttl,output:2", PeditIP6, map[int]byte{7: 0x3f}},
	}
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s %s", order, tt.rule), func(t *testing.T) { peditCase(t, order, tt.rule, tt.h, tt.want) })
		}
	}
}

// peditCase translates rule and applies its pedit keys of header h to a
// header as a kernel of byte order host does (tcf_pedit_act: the word, key
// value and mask read in host order; set: word&mask ^ val; add:
// word&mask ^ ((word+val) & ^mask)), then checks the bytes want says.
func peditCase(t *testing.T, host binary.ByteOrder, rule string, h PeditHeader, want map[int]byte) {
	f, err := flowtext.Flow(rule)
	if err != nil {
		t.Fatal(err)
	}
	flt, err := Translate(f, goldenEnv())
	if err != nil {
		t.Fatal(err)
	}
	// Every byte starts as 0xff except that the IPv6 first word is
	// version 6, traffic class 0x01 and flow label 0xfffff, the IPv4 TOS
	// holds ECN 1, and the TTL or hop limit is 0x40.
	var hdr [peditHeaderLen]byte
	for i := range hdr {
		hdr[i] = 0xff
	}
	switch h {
	case PeditIP6:
		hdr[0], hdr[1], hdr[7] = 0x60, 0x1f, 0x40
	case PeditIP4:
		hdr[1], hdr[8] = 0x01, 0x40
	}
	orig := hdr
	n := 0
	for _, a := range flt.Actions {
		if a.Kind != KindPedit {
			continue
		}
		for _, k := range a.Pedit.Keys {
			if k.Header != h || k.Offset%4 != 0 || k.Val&k.Mask != 0 {
				t.Fatalf("bad key %+v", k)
			}
			// The codec writes mask and value in network order.
			mask := host.Uint32(binary.BigEndian.AppendUint32(nil, k.Mask))
			val := host.Uint32(binary.BigEndian.AppendUint32(nil, k.Val))
			w := host.Uint32(hdr[k.Offset:])
			if k.Add {
				val = (w + val) &^ mask
			}
			host.PutUint32(hdr[k.Offset:], w&mask^val)
			n++
		}
	}
	if n == 0 {
		t.Fatal("no pedit keys")
	}
	for i := range hdr {
		w, ok := want[i]
		if !ok {
			w = orig[i]
		}
		if hdr[i] != w {
			t.Errorf("byte %d = %#02x, want %#02x", i, hdr[i], w)
		}
	}
}

// randomFlow builds a flow from random pieces, valid or not.
func randomFlow(r *rand.Rand) *pipeline.Flow {
	f := &pipeline.Flow{ID: r.Uint64(), Table: uint8(r.IntN(pipeline.NumTables)), Priority: uint16(r.Uint32()), Instr: &pipeline.Instructions{}}
	// Fields flower has no key for at all are left out: the model would
	// only see them refused.
	fields := slices.DeleteFunc(pipeline.Fields(), func(f pipeline.Field) bool {
		return f == pipeline.FieldPBBISID || f == pipeline.FieldIPv6Exthdr
	})
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
			if r.IntN(3) == 0 {
				b[i] = 0
			}
		}
		return b
	}
	switch r.IntN(5) {
	case 0:
		f.Match.Set(pipeline.FieldEthType, []byte{0x08, 0x00}, nil)
	case 1:
		f.Match.Set(pipeline.FieldEthType, []byte{0x86, 0xdd}, nil)
	case 2:
		f.Match.Set(pipeline.FieldEthType, []byte{0x08, 0x06}, nil)
	case 3:
		f.Match.Set(pipeline.FieldEthType, []byte{0x88, 0x47}, nil)
		for _, fld := range []pipeline.Field{pipeline.FieldMPLSLabel, pipeline.FieldMPLSTC, pipeline.FieldMPLSBoS} {
			if r.IntN(2) == 0 {
				f.Match.Set(fld, randBytes(fld.Desc().Len), nil)
			}
		}
	}
	if r.IntN(2) == 0 {
		f.Match.Set(pipeline.FieldIPProto, []byte{[]byte{1, 6, 17, 58, 132, 47}[r.IntN(6)]}, nil)
	}
	if r.IntN(2) == 0 {
		f.Match.Set(pipeline.FieldInPort, []byte{0, 0, 0, []byte{1, 2, 5, 9, 10, 11}[r.IntN(6)]}, nil)
	}
	for n := r.IntN(4); n > 0; n-- {
		d := fields[r.IntN(len(fields))].Desc()
		var mask []byte
		if d.Maskable && r.IntN(2) == 0 {
			mask = randBytes(d.Len)
		}
		f.Match.Set(d.Field, randBytes(d.Len), mask)
	}
	randAction := func() pipeline.Action {
		switch r.IntN(9) {
		case 0, 1:
			ports := []uint32{1, 2, 3, 5, 9, 10, 11, pipeline.PortInPort, pipeline.PortController, pipeline.PortFlood}
			return pipeline.Output(ports[r.IntN(len(ports))])
		case 2:
			return pipeline.Action{Type: pipeline.ActionGroup, Group: uint32(r.IntN(7))}
		case 3:
			return pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: []uint16{0x8100, 0x88a8, 0x0800}[r.IntN(3)]}
		case 4:
			return pipeline.Action{Type: pipeline.ActionPopVLAN}
		case 5, 6:
			d := fields[r.IntN(len(fields))].Desc()
			return pipeline.SetField(d.Field, randBytes(d.Len))
		case 7:
			return pipeline.Action{Type: pipeline.ActionSetNwTTL, TTL: uint8(r.Uint32())}
		}
		switch r.IntN(4) {
		case 0:
			return pipeline.Action{Type: []pipeline.ActionType{pipeline.ActionPushMPLS, pipeline.ActionPopMPLS}[r.IntN(2)],
				EtherType: []uint16{0x8847, 0x8848, 0x0800, 0x86dd, 0x0011}[r.IntN(5)]}
		case 1:
			return pipeline.Action{Type: pipeline.ActionSetMPLSTTL, TTL: uint8(r.IntN(4))}
		}
		types := []pipeline.ActionType{pipeline.ActionDecNwTTL, pipeline.ActionDecMPLSTTL, pipeline.ActionSetQueue, pipeline.ActionExperimenter}
		return pipeline.Action{Type: types[r.IntN(len(types))]}
	}
	in := f.Instr
	for n := r.IntN(5); n > 0; n-- {
		in.Apply = append(in.Apply, randAction())
		in.HasApply = true
	}
	if r.IntN(3) == 0 {
		for n := r.IntN(3); n > 0; n-- {
			in.Write = append(in.Write, randAction())
		}
		in.HasWrite = true
	}
	if r.IntN(4) == 0 {
		in.Meter = uint32(r.IntN(6))
	}
	if r.IntN(3) == 0 {
		in.Goto, in.GotoTable = true, uint8(r.IntN(4))
	}
	in.Clear = r.IntN(5) == 0
	in.WriteMetadata = r.IntN(20) == 0
	return f
}

// TestTranslateRandom: Translate never panics, is deterministic, and a
// filter it returns is well formed.
func TestTranslateRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	env := goldenEnv()
	n := 20000
	if testing.Short() {
		n = 2000
	}
	ok := 0
	for i := 0; i < n; i++ {
		f := randomFlow(r)
		a, errA := Translate(f, env)
		b, errB := Translate(f, env)
		if (errA == nil) != (errB == nil) || (errA != nil && errA.Error() != errB.Error()) {
			t.Fatalf("flow %d: errors differ: %v / %v", i, errA, errB)
		}
		if errA != nil {
			var ne *NotExpressibleError
			if !errors.As(errA, &ne) || ne.Reason == "" {
				t.Fatalf("flow %d: error %v is not a NotExpressibleError with a reason", i, errA)
			}
			continue
		}
		ok++
		if diff := cmp.Diff(a, b, specOpts); diff != "" {
			t.Fatalf("flow %d: not deterministic (-first +second):\n%s", i, diff)
		}
		if err := checkFilter(a, f); err != "" {
			t.Fatalf("flow %+v: %s\n%s", f, err, a)
		}
	}
	if ok < n/50 {
		t.Errorf("only %d of %d random flows translated: the generator is too hostile to test much", ok, n)
	}
}

// checkFilter returns what is wrong with filter flt translated from f.
func checkFilter(flt *Filter, f *pipeline.Flow) string {
	if flt.Protocol != EthPAll || flt.Pref == 0 || flt.Chain != uint32(f.Table) || flt.Flags != 0 {
		return "bad placement fields"
	}
	c, ok := ParseCookie(flt.Cookie)
	if !ok || c.FlowID != f.ID || c.Table != f.Table || c.Priority != f.Priority || c.Digest != Digest(flt) {
		return "bad cookie"
	}
	n := len(flt.Actions)
	if n == 0 {
		return "no actions"
	}
	last := flt.Actions[n-1]
	switch {
	case last.Kind == KindMirred && last.Mirred.Redirect:
	case last.Kind == KindGact && (last.Gact.Verdict == VerdictShot || last.Gact.Verdict == VerdictGotoChain):
	default:
		return "the last action is not terminal"
	}
	for i, a := range flt.Actions {
		if i < n-1 && (a.Kind == KindGact || (a.Kind == KindMirred && a.Mirred.Redirect)) {
			return "a terminal action before the last"
		}
		if a.Kind == KindPolice && i != 0 {
			return "police is not first"
		}
	}
	if s := flt.String(); strings.Contains(s, "?") {
		return "unrenderable action"
	}
	k := flt.Keys
	if k.DstMAC != and6(k.DstMAC, k.DstMACMask) || k.IPTOS&^k.IPTOSMask != 0 || k.SrcPort&^k.SrcPortMask != 0 ||
		k.DstPort&^k.DstPortMask != 0 || k.TCPFlags&^k.TCPFlagsMask != 0 {
		return "key bits outside the mask"
	}
	if (k.SrcPortMask != 0 || k.DstPortMask != 0) && !k.HasIPProto {
		return "ports without ip_proto"
	}
	if err := checkKeys(&k); err != nil {
		return "keys the codec refuses: " + err.Error()
	}
	for _, a := range flt.Actions {
		if a.MPLS != nil {
			if err := a.MPLS.check(); err != nil {
				return "an act_mpls the codec refuses: " + err.Error()
			}
		}
	}
	return ""
}

func and6(a, m [6]byte) [6]byte {
	for i := range a {
		a[i] &= m[i]
	}
	return a
}
