package openflow

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	of "github.com/netrack/openflow"

	"github.com/nicflow/nicflow/api/openflow/ofwire"
	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// recordingProxy forwards connections to addr and keeps what clients
// sent, for checking a real client's bytes.
type recordingProxy struct {
	ln   net.Listener
	mu   sync.Mutex // guards sent
	sent bytes.Buffer
	wg   sync.WaitGroup
}

func startRecordingProxy(t *testing.T, addr string) *recordingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &recordingProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.wg.Add(2)
			go func() {
				defer p.wg.Done()
				io.Copy(c, s)
				c.Close()
			}()
			go func() {
				defer p.wg.Done()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						p.mu.Lock()
						p.sent.Write(buf[:n])
						p.mu.Unlock()
						if _, err := s.Write(buf[:n]); err != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				s.Close()
			}()
		}
	}()
	return p
}

// messages splits what clients sent into messages.
func (p *recordingProxy) messages() [][]byte {
	p.mu.Lock()
	b := bytes.Clone(p.sent.Bytes())
	p.sent.Reset()
	p.mu.Unlock()
	var out [][]byte
	for len(b) >= ofwire.HeaderLen {
		n := int(ofwire.ParseHeader(b).Length)
		if n < ofwire.HeaderLen || n > len(b) {
			break
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// TestBundleOVSOfctl: `ovs-ofctl -O OpenFlow13 --bundle add-flows` and
// `ovs-ofctl bundle` (flows and a group they use, in one bundle) install
// everything in one Datapath.Bundle; a bundle whose commit fails at a
// rule in the middle installs nothing and ovs-ofctl prints that rule's
// error and OFPBFC_MSG_FAILED. Every bundle message ovs-ofctl sent is
// re-encoded byte for byte by ofwire.
func TestBundleOVSOfctl(t *testing.T) {
	bin, err := exec.LookPath("ovs-ofctl")
	if err != nil {
		t.Skip("ovs-ofctl not installed")
	}
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	proxy := startRecordingProxy(t, addr)
	target := "tcp:" + proxy.ln.Addr().String()
	dir := t.TempDir()
	ofctl := func(args ...string) (string, error) {
		args = append([]string{"-O", "OpenFlow13"}, args...)
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	file := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// checkWire re-encodes every bundle message ovs-ofctl sent.
	checkWire := func(wantAdds int) {
		t.Helper()
		adds, ctrls := 0, []ofwire.BundleCtrlType{}
		for _, m := range proxy.messages() {
			h := ofwire.ParseHeader(m)
			if h.Type != of.TypeExperiment {
				continue
			}
			e, err := ofwire.DecodeExperimenter(m[ofwire.HeaderLen:])
			if err != nil {
				t.Fatalf("experimenter %x: %v", m, err)
			}
			var again []byte
			switch e.ExpType {
			case ofwire.ONFBundleControl:
				bc, err := ofwire.DecodeBundleCtrl(e.Data)
				if err != nil {
					t.Fatalf("bundle control %x: %v", m, err)
				}
				ctrls = append(ctrls, bc.Type)
				again = ofwire.AppendBundleCtrl(nil, h.Xid, bc)
			case ofwire.ONFBundleAddMessage:
				ba, err := ofwire.DecodeBundleAdd(h.Xid, e.Data)
				if err != nil {
					t.Fatalf("bundle add %x: %v", m, err)
				}
				adds++
				again = ofwire.AppendBundleAdd(nil, ba)
			}
			if !bytes.Equal(again, m) {
				t.Errorf("ovs-ofctl sent\n%x\nre-encoded\n%x", m, again)
			}
		}
		if adds != wantAdds {
			t.Errorf("ovs-ofctl sent %d bundle adds, want %d", adds, wantAdds)
		}
		if len(ctrls) != 2 || ctrls[0] != ofwire.BundleOpenRequest {
			t.Errorf("ovs-ofctl sent bundle controls %v, want OPEN and COMMIT or DISCARD", ctrls)
		}
	}

	flows := file("flows.txt",
		"table=0,priority=10,in_port=1,actions=output:2",
		"table=0,priority=20,ip,nw_dst=10.0.0.1,actions=output:1",
		"table=1,priority=30,actions=drop")
	if out, err := ofctl("--bundle", "add-flows", target, flows); err != nil {
		t.Fatalf("--bundle add-flows: %v\n%s", err, out)
	}
	checkWire(3)
	mixed := file("bundle.txt",
		"group add group_id=7,type=all,bucket=output:1,bucket=output:2",
		"flow add table=2,priority=40,actions=group:7")
	if out, err := ofctl("bundle", target, mixed); err != nil {
		t.Fatalf("bundle: %v\n%s", err, out)
	}
	checkWire(2)
	dp.mu.Lock()
	bundles, nflows, ngroups := dp.bundles, len(dp.flows), len(dp.groups)
	dp.mu.Unlock()
	if diff := cmp.Diff([]int{3, 2}, bundles); diff != "" {
		t.Errorf("bundles applied (-want +got):\n%s", diff)
	}
	if nflows != 4 || ngroups != 1 {
		t.Errorf("%d flows and %d groups, want 4 and 1", nflows, ngroups)
	}
	if calls := strings.Join(dp.Calls(), " "); strings.Contains(calls, "flow_mod") || strings.Contains(calls, "group_mod") {
		t.Errorf("bundled mods went to the datapath one by one: %s", calls)
	}

	// The real datapath refuses an unknown group at commit.
	dp.mu.Lock()
	dp.bundleFail = func(m offload.BundleMod) error {
		if m.Flow != nil && m.Flow.Priority == 66 {
			return pipeline.Errorf(pipeline.ErrBadAction, pipeline.BadActionBadOutGroup, "group 99 does not exist")
		}
		return nil
	}
	dp.mu.Unlock()
	bad := file("bad.txt",
		"table=3,priority=65,actions=output:1",
		"table=3,priority=66,actions=group:99",
		"table=3,priority=67,actions=output:2")
	out, err := ofctl("--bundle", "add-flows", target, bad)
	if err == nil {
		t.Fatalf("--bundle add-flows with a bad rule succeeded:\n%s", out)
	}
	for _, w := range []string{"Error OFPBAC_BAD_OUT_GROUP for: ", "priority=66", "Error OFPBFC_MSG_FAILED for: ", "COMMIT_REQUEST"} {
		if !strings.Contains(out, w) {
			t.Errorf("ovs-ofctl output lacks %q:\n%s", w, out)
		}
	}
	checkWire(3)
	dp.mu.Lock()
	bundles, nflows = dp.bundles, len(dp.flows)
	dp.mu.Unlock()
	if len(bundles) != 2 || nflows != 4 {
		t.Errorf("after the failed bundle: bundles %v, %d flows; want 2 bundles, 4 flows", bundles, nflows)
	}
}

// bundleConn is a raw channel speaking bundles.
type bundleConn struct {
	*rawConn
	xid uint32
}

func (bc *bundleConn) next() uint32 { bc.xid++; return bc.xid }

func (bc *bundleConn) ctrl(id uint32, typ ofwire.BundleCtrlType, flags uint16) (xid uint32, msg []byte) {
	xid = bc.next()
	msg = ofwire.AppendBundleCtrl(nil, xid, &ofwire.BundleCtrl{ID: id, Type: typ, Flags: flags})
	bc.send(msg)
	return xid, msg
}

// add sends an ADD_MESSAGE of xid with inner(xid) (the outer xid is
// xid, whatever inner's is).
func (bc *bundleConn) add(id uint32, flags uint16, inner func(xid uint32) []byte) (xid uint32, msg []byte) {
	xid = bc.next()
	msg = ofwire.AppendBundleAdd(nil, &ofwire.BundleAdd{ID: id, Flags: flags, Msg: inner(xid)})
	binary.BigEndian.PutUint32(msg[4:], xid)
	bc.send(msg)
	return xid, msg
}

// answers reads up to a barrier and returns what came before it, as
// "reply TYPE id" or "error NAME xid".
func (bc *bundleConn) answers() []string {
	bc.t.Helper()
	xid := bc.next()
	bc.send(ofwire.Marshal(of.TypeBarrierRequest, xid))
	var out []string
	for {
		h, body := bc.read()
		switch {
		case h.Type == of.TypeBarrierReply && h.Xid == xid:
			return out
		case h.Type == of.TypeEchoRequest:
		case h.Type == of.TypeExperiment:
			e, err := ofwire.DecodeExperimenter(body)
			if err != nil || e.ExpType != ofwire.ONFBundleControl {
				bc.t.Fatalf("experimenter %x: %v", body, err)
			}
			c, err := ofwire.DecodeBundleCtrl(e.Data)
			if err != nil {
				bc.t.Fatal(err)
			}
			out = append(out, "reply "+c.Type.String()+" "+itoa(c.ID)+" xid "+itoa(h.Xid))
		case h.Type == of.TypeError:
			e, err := ofwire.DecodeError(body)
			if err != nil {
				bc.t.Fatal(err)
			}
			name := ofwire.ErrorName(e.Type, e.Code)
			data := e.Data
			if code, d, ok := ofwire.DecodeBundleError(e); ok {
				name, data = ofwire.BundleErrorName(code), d
			}
			if len(data) < ofwire.HeaderLen || ofwire.ParseHeader(data).Xid != h.Xid {
				bc.t.Errorf("error %s xid %d carries %x, not the offending message", name, h.Xid, data)
			}
			out = append(out, "error "+name+" xid "+itoa(h.Xid))
		default:
			bc.t.Fatalf("unexpected message type %d", h.Type)
		}
	}
}

func itoa(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func flowAdd(prio uint16, out uint32) func(uint32) []byte {
	return func(xid uint32) []byte {
		fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, Priority: prio, BufferID: ofwire.NoBuffer,
			OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny,
			Instr: pipeline.Instructions{HasApply: true, Apply: []pipeline.Action{pipeline.Output(out)}}}
		return ofwire.Marshal(of.TypeFlowMod, xid, ofwire.AppendFlowMod(nil, fm))
	}
}

const atomicOrdered = ofwire.BundleAtomic | ofwire.BundleOrdered

// TestBundleControl walks the bundle state machine over a raw channel:
// replies, the OFPBFC_* errors of a bad bundle (as ONF experimenter
// errors, with the offending message's xid and bytes), the inner
// message's own error at add and at commit, and what reached the
// datapath.
func TestBundleControl(t *testing.T) {
	tests := []struct {
		name string
		// run sends messages and returns the answers it expects.
		run         func(bc *bundleConn) []string
		fail        func(offload.BundleMod) error
		wantBundles []int
		wantCalls   string
	}{
		{name: "open add close commit", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(1, ofwire.BundleOpenRequest, atomicOrdered)
			bc.add(1, atomicOrdered, flowAdd(1, 1))
			bc.add(1, atomicOrdered, flowAdd(2, 2))
			c, _ := bc.ctrl(1, ofwire.BundleCloseRequest, atomicOrdered)
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, atomicOrdered)
			return []string{"reply OPEN_REPLY 1 xid " + itoa(o), "reply CLOSE_REPLY 1 xid " + itoa(c), "reply COMMIT_REPLY 1 xid " + itoa(m)}
		}, wantBundles: []int{2}, wantCalls: "bundle"},
		{name: "add opens", run: func(bc *bundleConn) []string {
			bc.add(9, 0, flowAdd(1, 1))
			m, _ := bc.ctrl(9, ofwire.BundleCommitRequest, 0)
			return []string{"reply COMMIT_REPLY 9 xid " + itoa(m)}
		}, wantBundles: []int{1}, wantCalls: "bundle"},
		{name: "commit unknown", run: func(bc *bundleConn) []string {
			m, _ := bc.ctrl(5, ofwire.BundleCommitRequest, 0)
			d, _ := bc.ctrl(5, ofwire.BundleDiscardRequest, 0)
			c, _ := bc.ctrl(5, ofwire.BundleCloseRequest, 0)
			return []string{"error OFPBFC_BAD_ID xid " + itoa(m), "error OFPBFC_BAD_ID xid " + itoa(d), "error OFPBFC_BAD_ID xid " + itoa(c)}
		}},
		{name: "open twice drops it", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 0)
			bc.add(1, 0, flowAdd(1, 1))
			o2, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 0)
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, 0)
			return []string{"reply OPEN_REPLY 1 xid " + itoa(o), "error OFPBFC_BAD_ID xid " + itoa(o2), "error OFPBFC_BAD_ID xid " + itoa(m)}
		}},
		{name: "closed", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(2, ofwire.BundleOpenRequest, 0)
			c, _ := bc.ctrl(2, ofwire.BundleCloseRequest, 0)
			a, _ := bc.add(2, 0, flowAdd(1, 1))
			m, _ := bc.ctrl(2, ofwire.BundleCommitRequest, 0)
			o2, _ := bc.ctrl(3, ofwire.BundleOpenRequest, 0)
			c2, _ := bc.ctrl(3, ofwire.BundleCloseRequest, 0)
			c3, _ := bc.ctrl(3, ofwire.BundleCloseRequest, 0)
			return []string{"reply OPEN_REPLY 2 xid " + itoa(o), "reply CLOSE_REPLY 2 xid " + itoa(c),
				"error OFPBFC_BUNDLE_CLOSED xid " + itoa(a), "error OFPBFC_BAD_ID xid " + itoa(m),
				"reply OPEN_REPLY 3 xid " + itoa(o2), "reply CLOSE_REPLY 3 xid " + itoa(c2), "error OFPBFC_BUNDLE_CLOSED xid " + itoa(c3)}
		}},
		{name: "flags", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 4)
			o2, _ := bc.ctrl(2, ofwire.BundleOpenRequest, ofwire.BundleAtomic)
			a, _ := bc.add(2, ofwire.BundleOrdered, flowAdd(1, 1))
			o3, _ := bc.ctrl(3, ofwire.BundleOpenRequest, ofwire.BundleAtomic)
			bc.add(3, ofwire.BundleAtomic, flowAdd(1, 1))
			m, _ := bc.ctrl(3, ofwire.BundleCommitRequest, atomicOrdered)
			m2, _ := bc.ctrl(3, ofwire.BundleCommitRequest, ofwire.BundleAtomic)
			return []string{"error OFPBFC_BAD_FLAGS xid " + itoa(o), "reply OPEN_REPLY 2 xid " + itoa(o2), "error OFPBFC_BAD_FLAGS xid " + itoa(a),
				"reply OPEN_REPLY 3 xid " + itoa(o3), "error OFPBFC_BAD_FLAGS xid " + itoa(m), "error OFPBFC_BAD_ID xid " + itoa(m2)}
		}},
		{name: "discard", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(4, ofwire.BundleOpenRequest, 0)
			bc.add(4, 0, flowAdd(1, 1))
			d, _ := bc.ctrl(4, ofwire.BundleDiscardRequest, 0)
			m, _ := bc.ctrl(4, ofwire.BundleCommitRequest, 0)
			return []string{"reply OPEN_REPLY 4 xid " + itoa(o), "reply DISCARD_REPLY 4 xid " + itoa(d), "error OFPBFC_BAD_ID xid " + itoa(m)}
		}},
		{name: "reply types", run: func(bc *bundleConn) []string {
			r, _ := bc.ctrl(1, ofwire.BundleOpenReply, 0)
			r2, _ := bc.ctrl(1, 99, 0)
			return []string{"error OFPBFC_BAD_TYPE xid " + itoa(r), "error OFPBFC_BAD_TYPE xid " + itoa(r2)}
		}},
		{name: "inner messages checked", run: func(bc *bundleConn) []string {
			o, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 0)
			echo, _ := bc.add(1, 0, func(xid uint32) []byte { return ofwire.Marshal(of.TypeEchoRequest, xid) })
			po, _ := bc.add(1, 0, func(xid uint32) []byte { return ofwire.Marshal(of.TypePacketOut, xid, make([]byte, 16)) })
			badXid, _ := bc.add(1, 0, func(xid uint32) []byte {
				m := flowAdd(1, 1)(xid)
				m[7]++ // the inner xid is not the outer one
				return m
			})
			badLen, _ := bc.add(1, 0, func(xid uint32) []byte {
				m := flowAdd(1, 1)(xid)
				m[2], m[3] = 0xff, 0xf0
				return m
			})
			badVer, _ := bc.add(1, 0, func(xid uint32) []byte { m := flowAdd(1, 1)(xid); m[0] = 5; return m })
			malformed, _ := bc.add(1, 0, func(xid uint32) []byte { return ofwire.Marshal(of.TypeFlowMod, xid, make([]byte, 10)) })
			buffered, _ := bc.add(1, 0, func(xid uint32) []byte {
				fm := &pipeline.FlowMod{Command: pipeline.FlowAdd, BufferID: 7, OutPort: pipeline.PortAny, OutGroup: pipeline.GroupAny}
				return ofwire.Marshal(of.TypeFlowMod, xid, ofwire.AppendFlowMod(nil, fm))
			})
			bc.add(1, 0, flowAdd(1, 1))
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, 0)
			return []string{"reply OPEN_REPLY 1 xid " + itoa(o),
				"error OFPBFC_MSG_UNSUP xid " + itoa(echo), "error OFPBFC_MSG_UNSUP xid " + itoa(po),
				"error OFPBFC_MSG_BAD_XID xid " + itoa(badXid), "error OFPBFC_MSG_BAD_LEN xid " + itoa(badLen),
				"error " + ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestBadVersion) + " xid " + itoa(badVer),
				"error " + ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestBadLen) + " xid " + itoa(malformed),
				"error " + ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestBufferUnknown) + " xid " + itoa(buffered),
				"reply COMMIT_REPLY 1 xid " + itoa(m)}
		}, wantBundles: []int{1}, wantCalls: "bundle"},
		{name: "commit fails", fail: func(m offload.BundleMod) error {
			if m.Flow != nil && m.Flow.Priority == 2 {
				return pipeline.Errorf(pipeline.ErrBadAction, pipeline.BadActionBadOutPort, "no port")
			}
			return nil
		}, run: func(bc *bundleConn) []string {
			bc.add(1, atomicOrdered, flowAdd(1, 1))
			a, _ := bc.add(1, atomicOrdered, flowAdd(2, 2))
			bc.add(1, atomicOrdered, flowAdd(3, 3))
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, atomicOrdered)
			m2, _ := bc.ctrl(1, ofwire.BundleCommitRequest, atomicOrdered)
			return []string{"error " + ofwire.ErrorName(pipeline.ErrBadAction, pipeline.BadActionBadOutPort) + " xid " + itoa(a),
				"error OFPBFC_MSG_FAILED xid " + itoa(m), "error OFPBFC_BAD_ID xid " + itoa(m2)}
		}, wantCalls: "bundle"},
		{name: "port mod in an atomic bundle", run: func(bc *bundleConn) []string {
			bc.add(1, atomicOrdered, flowAdd(1, 1))
			p, _ := bc.add(1, atomicOrdered, portDown)
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, atomicOrdered)
			return []string{"error OFPBFC_MSG_FAILED xid " + itoa(p), "error OFPBFC_MSG_FAILED xid " + itoa(m)}
		}},
		{name: "port mod in a bundle that is not atomic", run: func(bc *bundleConn) []string {
			bc.add(1, ofwire.BundleOrdered, portDown)
			bc.add(1, ofwire.BundleOrdered, flowAdd(1, 1))
			m, _ := bc.ctrl(1, ofwire.BundleCommitRequest, ofwire.BundleOrdered)
			return []string{"reply COMMIT_REPLY 1 xid " + itoa(m)}
		}, wantBundles: []int{1}, wantCalls: "bundle port_mod"},
		{name: "other experimenters", run: func(bc *bundleConn) []string {
			x := bc.next()
			bc.send(ofwire.Marshal(of.TypeExperiment, x, []byte{0, 0, 0x23, 0x20, 0, 0, 0, 1}))
			y := bc.next()
			bc.send(ofwire.Marshal(of.TypeExperiment, y, []byte{0x4f, 0x4e, 0x46, 0, 0, 0, 0x08, 0xfe}))
			return []string{"error " + ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestBadExperimenter) + " xid " + itoa(x),
				"error " + ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestBadExpType) + " xid " + itoa(y)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dp := newFakeDatapath()
			dp.bundleFail = tt.fail
			_, addr := startSwitch(t, dp, nil)
			bc := &bundleConn{rawConn: dialRaw(t, addr), xid: 100}
			want := tt.run(bc)
			if diff := cmp.Diff(want, bc.answers()); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			dp.mu.Lock()
			bundles := dp.bundles
			dp.mu.Unlock()
			if diff := cmp.Diff(tt.wantBundles, bundles); diff != "" {
				t.Errorf("bundles applied (-want +got):\n%s", diff)
			}
			var calls []string
			for _, c := range dp.Calls() {
				if c != "barrier" {
					calls = append(calls, c)
				}
			}
			if got := strings.Join(calls, " "); got != tt.wantCalls {
				t.Errorf("datapath calls %q, want %q", got, tt.wantCalls)
			}
		})
	}
}

func portDown(xid uint32) []byte {
	return ofwire.Marshal(of.TypePortMod, xid, ofwire.AppendPortMod(nil, &ofwire.PortMod{
		PortNo: 1, HWAddr: [6]byte{2, 0, 0, 0, 0, 1}, Config: 1, Mask: 1}))
}

// TestBundleSlave: a slave may not use bundles (OFPBRC_IS_SLAVE).
func TestBundleSlave(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	bc := &bundleConn{rawConn: dialRaw(t, addr), xid: 100}
	x := bc.next()
	bc.send(ofwire.Marshal(of.TypeRoleRequest, x, ofwire.AppendRole(nil, ofwire.RoleRequest{Role: ofwire.RoleSlave, GenerationID: 1})))
	bc.readType(of.TypeRoleReply)
	o, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 0)
	a, _ := bc.add(1, 0, flowAdd(1, 1))
	slave := ofwire.ErrorName(pipeline.ErrBadRequest, ofwire.BadRequestIsSlave)
	if diff := cmp.Diff([]string{"error " + slave + " xid " + itoa(o), "error " + slave + " xid " + itoa(a)}, bc.answers()); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestBundleIdleTimeout: a bundle idle for 10 s is dropped with
// OFPBFC_TIMEOUT (the xid of the message that opened it) when the
// channel's next bundle message arrives; one used meanwhile stays.
func TestBundleIdleTimeout(t *testing.T) {
	clk := newFakeClock()
	_, _, raw := channelUp(t, clk, func(*Config) {})
	bc := &bundleConn{rawConn: raw, xid: 100}
	o1, _ := bc.ctrl(1, ofwire.BundleOpenRequest, 0)
	o2, _ := bc.ctrl(2, ofwire.BundleOpenRequest, 0)
	if diff := cmp.Diff([]string{"reply OPEN_REPLY 1 xid " + itoa(o1), "reply OPEN_REPLY 2 xid " + itoa(o2)}, bc.answers()); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
	clk.mu.Lock()
	clk.now = clk.now.Add(6 * time.Second) // no tick: the probe does not run
	clk.mu.Unlock()
	bc.add(2, 0, flowAdd(1, 1))
	if got := bc.answers(); len(got) != 0 { // and the switch took it at t+6s
		t.Fatalf("answers to an add: %v", got)
	}
	clk.mu.Lock()
	clk.now = clk.now.Add(5 * time.Second)
	clk.mu.Unlock()
	m1, _ := bc.ctrl(1, ofwire.BundleCommitRequest, 0)
	m2, _ := bc.ctrl(2, ofwire.BundleCommitRequest, 0)
	want := []string{"error OFPBFC_TIMEOUT xid " + itoa(o1), "error OFPBFC_BAD_ID xid " + itoa(m1), "reply COMMIT_REPLY 2 xid " + itoa(m2)}
	if diff := cmp.Diff(want, bc.answers()); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
}

// TestBundleChannelClose: a channel that closes drops its bundles; they
// are not another channel's either.
func TestBundleChannelClose(t *testing.T) {
	dp := newFakeDatapath()
	_, addr := startSwitch(t, dp, nil)
	first := &bundleConn{rawConn: dialRaw(t, addr), xid: 100}
	first.ctrl(1, ofwire.BundleOpenRequest, 0)
	first.add(1, 0, flowAdd(1, 1))
	first.answers()
	second := &bundleConn{rawConn: dialRaw(t, addr), xid: 200}
	m, _ := second.ctrl(1, ofwire.BundleCommitRequest, 0)
	if diff := cmp.Diff([]string{"error OFPBFC_BAD_ID xid " + itoa(m)}, second.answers()); diff != "" {
		t.Errorf("another channel's bundle (-want +got):\n%s", diff)
	}
	first.nc.Close()
	third := &bundleConn{rawConn: dialRaw(t, addr), xid: 300}
	m, _ = third.ctrl(1, ofwire.BundleCommitRequest, 0)
	if diff := cmp.Diff([]string{"error OFPBFC_BAD_ID xid " + itoa(m)}, third.answers()); diff != "" {
		t.Errorf("a closed channel's bundle (-want +got):\n%s", diff)
	}
	dp.mu.Lock()
	defer dp.mu.Unlock()
	if len(dp.bundles) != 0 || len(dp.flows) != 0 {
		t.Errorf("bundles %v, %d flows: want none", dp.bundles, len(dp.flows))
	}
}
