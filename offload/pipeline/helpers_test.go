package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"
)

// t0 is the time every test starts at.
var t0 = time.Unix(1_700_000_000, 0)

// mf is one field of a test match.
type mf struct {
	f    Field
	v, m []byte
}

// enc encodes v big-endian into field f's wire length (the low bytes for
// fields longer than 8 bytes).
func enc(f Field, v uint64) []byte {
	b := make([]byte, f.Desc().Len)
	var w [8]byte
	binary.BigEndian.PutUint64(w[:], v)
	if len(b) >= 8 {
		copy(b[len(b)-8:], w[:])
	} else {
		copy(b, w[8-len(b):])
	}
	return b
}

// exact matches field f exactly to v.
func exact(f Field, v uint64) mf { return mf{f: f, v: enc(f, v)} }

// masked matches field f to v under mask.
func masked(f Field, v, mask uint64) mf { return mf{f: f, v: enc(f, v), m: enc(f, mask)} }

// mt builds a match from fields (Match.Set normalizes).
func mt(fields ...mf) Match {
	var m Match
	for _, x := range fields {
		m.Set(x.f, x.v, x.m)
	}
	return m
}

// ipv4 is the usual prerequisite.
var ipv4Type = exact(FieldEthType, EthTypeIPv4)

// setf builds a set_field action with v encoded for f.
func setf(f Field, v uint64) Action { return SetField(f, enc(f, v)) }

// addMod is an ADD with apply-actions acts.
func addMod(table uint8, prio uint16, m Match, acts ...Action) *FlowMod {
	return &FlowMod{
		Command:  FlowAdd,
		Table:    table,
		Priority: prio,
		Match:    m,
		Instr:    Instructions{Apply: acts, HasApply: len(acts) > 0},
		OutPort:  PortAny,
		OutGroup: GroupAny,
	}
}

// delMod is a DELETE (or another command) with no filters.
func delMod(cmd FlowModCommand, table uint8, prio uint16, m Match) *FlowMod {
	return &FlowMod{Command: cmd, Table: table, Priority: prio, Match: m, OutPort: PortAny, OutGroup: GroupAny}
}

// mustFlow applies fm and fails the test on error.
func mustFlow(t testing.TB, p *Pipeline, fm *FlowMod) Change {
	t.Helper()
	ch, err := p.FlowMod(fm, t0)
	if err != nil {
		t.Fatalf("FlowMod(%+v): %v", fm.Command, err)
	}
	return ch
}

// mustAdd adds a flow and returns it.
func mustAdd(t testing.TB, p *Pipeline, fm *FlowMod) *Flow {
	t.Helper()
	ch := mustFlow(t, p, fm)
	if len(ch.Added) != 1 {
		t.Fatalf("add: want 1 added flow, got change %+v", ch)
	}
	return ch.Added[0]
}

func mustGroup(t testing.TB, p *Pipeline, gm *GroupMod) GroupChange {
	t.Helper()
	ch, err := p.GroupMod(gm, t0)
	if err != nil {
		t.Fatalf("GroupMod(%d, id %d): %v", gm.Command, gm.ID, err)
	}
	return ch
}

func mustMeter(t testing.TB, p *Pipeline, mm *MeterMod) MeterChange {
	t.Helper()
	ch, err := p.MeterMod(mm, t0)
	if err != nil {
		t.Fatalf("MeterMod(%d, id %d): %v", mm.Command, mm.ID, err)
	}
	return ch
}

// code is an error's OpenFlow type and code, for comparisons.
type code struct {
	Type ErrorType
	Code uint16
}

// noError is the code of a nil error.
var noError = code{0xffff, 0xffff}

// codeOf returns err's type and code; noError for nil. A non-nil error that
// is not an *Error is a test failure.
func codeOf(t testing.TB, err error) code {
	t.Helper()
	if err == nil {
		return noError
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is not a *pipeline.Error", err)
	}
	return code{e.Type, e.Code}
}

// ids returns the IDs of flows.
func ids(fs []*Flow) []uint64 {
	out := []uint64{}
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// removedIDs describes removals as "id:reason".
func removedIDs(rs []Removal) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%d:%d", r.Flow.ID, r.Reason))
	}
	return out
}

// bucket returns a bucket with no watch.
func bucket(acts ...Action) Bucket {
	return Bucket{Weight: 1, WatchPort: PortAny, WatchGroup: GroupAny, Actions: acts}
}

func groupAction(id uint32) Action { return Action{Type: ActionGroup, Group: id} }
