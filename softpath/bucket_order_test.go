package softpath_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nicflow/nicflow/offload/pipeline"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/packet"
)

// TestBucketRunsAsActionSet: a bucket's actions run in action-set order
// (OpenFlow 1.3.5 section 5.10), whatever their order in the bucket: the
// push_vlan listed after set_field vlan_vid still runs first, so the tag
// gets VID 5; and the frame sent is what the reference evaluator says.
func TestBucketRunsAsActionSet(t *testing.T) {
	tb := newTestbed(t, 3, softpath.Config{})
	tb.group(1, pipeline.GroupTypeIndirect, bucket(0, pipeline.PortAny,
		pipeline.Output(2),
		pipeline.SetField(pipeline.FieldVlanVID, []byte{0x10, 5}),
		pipeline.Action{Type: pipeline.ActionPushVLAN, EtherType: pipeline.EthTypeVLAN}))
	tb.flow(0, 1, pipeline.Match{}, apply(pipeline.Action{Type: pipeline.ActionGroup, Group: 1}))
	tb.install()
	tb.send(t, 1, frameAB)
	got := tb.ports[2].Sent()
	if len(got) != 1 {
		t.Fatalf("port 2 got %d frames, want 1", len(got))
	}
	var k, in pipeline.Key
	packet.Parse(got[0], 1, &k)
	if k.VlanVID != pipeline.VIDPresent|5 {
		t.Errorf("vlan_vid %#x, want %#x", k.VlanVID, pipeline.VIDPresent|5)
	}
	packet.Parse(frameAB, 1, &in)
	res := tb.snap.Evaluate(in, len(frameAB))
	if len(res.Outputs) != 1 {
		t.Fatalf("the evaluator outputs %d packets", len(res.Outputs))
	}
	if diff := cmp.Diff(res.Outputs[0].Key, k); diff != "" {
		t.Errorf("key (-evaluator +fast path):\n%s", diff)
	}
}
