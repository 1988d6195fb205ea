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
// is settable in OpenFlow but unsupported here) and one that is not.
var fuzzFields = func() []pipeline.Field {
	var fs []pipeline.Field
	for _, f := range pipeline.Fields() {
		if f.Desc().Settable {
			fs = append(fs, f)
		}
	}
	return append(fs, pipeline.FieldIPProto)
}()

// Action kinds FuzzApply draws from, indexed by the first action byte.
var fuzzKinds = []pipeline.Action{
	{Type: pipeline.ActionSetField},
	{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN},
	{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeQinQ},
	{Type: pipeline.ActionPopVLAN},
	{Type: pipeline.ActionSetNwTTL},
	{Type: pipeline.ActionDecNwTTL},
	{Type: pipeline.ActionSetQueue},
	{Type: pipeline.ActionOutput},
	{Type: pipeline.ActionPushVLAN, EtherType: 0x0800},
}

// decodeAction turns fuzz bytes into an action: kind, field, value.
func decodeAction(b []byte) pipeline.Action {
	if len(b) == 0 {
		return pipeline.Action{Type: pipeline.ActionSetQueue}
	}
	a := fuzzKinds[int(b[0])%len(fuzzKinds)]
	if len(b) > 1 {
		a.TTL = b[1]
		if a.Type == pipeline.ActionSetField {
			a.Field = fuzzFields[int(b[1])%len(fuzzFields)]
			copy(a.Value[:], b[2:])
		}
	}
	return a
}

// encodeAction is the inverse of decodeAction for the actions it can make.
func encodeAction(a pipeline.Action) ([]byte, bool) {
	for i, kind := range fuzzKinds {
		if kind.Type != a.Type || kind.EtherType != a.EtherType && a.Type == pipeline.ActionPushVLAN {
			continue
		}
		switch a.Type {
		case pipeline.ActionSetField:
			for j, f := range fuzzFields {
				if f == a.Field {
					return append([]byte{byte(i), byte(j)}, a.FieldValue()...), true
				}
			}
			return nil, false
		case pipeline.ActionSetNwTTL:
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
	})
}

// checkKeyLayout checks that the key has no fields of absent layers.
func checkKeyLayout(k *pipeline.Key, l *Layout) error {
	var rest pipeline.Key
	switch {
	case l.L2Len == 0:
		rest = *k
		rest.InPort = 0
	case l.L3 == 0:
		rest = *k
		clearEthernet(&rest)
		if k.IPProto != 0 && !l.Frag {
			// ip_proto needs the L3 header.
			return fmt.Errorf("ip_proto %d without L3", k.IPProto)
		}
	case l.L4 == 0:
		rest = pipeline.Key{TpSrc: k.TpSrc, TpDst: k.TpDst, TCPFlags: k.TCPFlags, ICMPType: k.ICMPType,
			ICMPCode: k.ICMPCode, NDTarget: k.NDTarget}
		if k.EthType != pipeline.EthTypeARP {
			rest.ArpSHA, rest.ArpTHA = k.ArpSHA, k.ArpTHA
		}
	}
	if !rest.IsZero() {
		return fmt.Errorf("fields of absent layers set (layout %+v): %+v", *l, rest)
	}
	if l.VLANs == 0 && (k.VlanVID != 0 || k.VlanPCP != 0) || l.VLANs > 0 && k.VlanVID&pipeline.VIDPresent == 0 {
		return fmt.Errorf("vlan fields %#x/%d with %d tags", k.VlanVID, k.VlanPCP, l.VLANs)
	}
	return nil
}

func clearEthernet(k *pipeline.Key) {
	k.InPort, k.EthDst, k.EthSrc, k.EthType, k.VlanVID, k.VlanPCP = 0, [6]byte{}, [6]byte{}, 0, 0, 0
}

func FuzzApply(f *testing.F) {
	for _, tc := range fuzzApplySeeds() {
		f.Add(tc.frame, tc.action)
	}
	f.Fuzz(func(t *testing.T, in []byte, act []byte) {
		frame := make([]byte, len(in), len(in)+8)
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
		if a.Type != pipeline.ActionPushVLAN && a.Type != pipeline.ActionPopVLAN && sumsOK {
			if bad := checkSums(got); bad != nil {
				t.Fatalf("action %+v broke valid checksums: %v", a, bad)
			}
		}
	})
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
