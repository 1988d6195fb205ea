// Package resttest provides an in-memory rest.Backend that records the
// calls it gets, and a helper that serves it on a unix socket for a test:
// what httptest is to net/http, for the nicflowd API and its clients.
//
// Only tests and test helpers import it. It must not import, directly or
// indirectly: github.com/nicflow/nicflow/cmd/...,
// github.com/nicflow/nicflow/sriov/..., github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/offload/... but
// github.com/nicflow/nicflow/offload and
// github.com/nicflow/nicflow/offload/pipeline.
package resttest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"sync"

	"github.com/nicflow/nicflow/api/rest"
)

// Fake is an in-memory rest.Backend. Its exported fields are the state a
// test sets up before serving; Calls records every backend call as
// "Method arg". It is safe for concurrent use once served.
type Fake struct {
	mu sync.Mutex // guards the fields below
	// NICList is what NICs returns; NIC finds an entry by its "name" or
	// "pci_address" key.
	NICList []any
	// Nets and Vnics are the networks and vNICs by name and id.
	Nets  map[string]*rest.Network
	Vnics map[string]*rest.VNIC
	// FlowList, PortList and TableList are the flows, ports and tables
	// per network.
	FlowList  map[string][]rest.Flow
	PortList  map[string][]rest.Port
	TableList map[string][]rest.Table
	// Figures is what Metrics returns.
	Figures *rest.Metrics
	// Err, when set, is returned by every call.
	Err error
	// Calls records the calls, in order.
	Calls []string
}

// NewFake returns an empty Fake.
func NewFake() *Fake {
	return &Fake{
		Nets:      map[string]*rest.Network{},
		Vnics:     map[string]*rest.VNIC{},
		FlowList:  map[string][]rest.Flow{},
		PortList:  map[string][]rest.Port{},
		TableList: map[string][]rest.Table{},
	}
}

var _ rest.Backend = (*Fake)(nil)

// CallLog returns a copy of the calls recorded so far.
func (f *Fake) CallLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Calls...)
}

// ResetCalls forgets the recorded calls.
func (f *Fake) ResetCalls() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = nil
}

// record logs a call; callers hold mu.
func (f *Fake) record(format string, args ...any) error {
	f.Calls = append(f.Calls, fmt.Sprintf(format, args...))
	return f.Err
}

// NICs implements rest.Backend.
func (f *Fake) NICs(context.Context) ([]any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("NICs"); err != nil {
		return nil, err
	}
	return append([]any(nil), f.NICList...), nil
}

// NIC implements rest.Backend.
func (f *Fake) NIC(_ context.Context, name string) (any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("NIC %s", name); err != nil {
		return nil, err
	}
	for _, n := range f.NICList {
		var s rest.NICSummary
		b, _ := json.Marshal(n)
		if json.Unmarshal(b, &s) == nil && (s.Name == name || s.PCIAddress == name) {
			return n, nil
		}
	}
	return nil, rest.ErrNotFound
}

// Networks implements rest.Backend.
func (f *Fake) Networks(context.Context) ([]rest.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Networks"); err != nil {
		return nil, err
	}
	out := make([]rest.Network, 0, len(f.Nets))
	for _, name := range sortedKeys(f.Nets) {
		out = append(out, *f.Nets[name])
	}
	return out, nil
}

// Network implements rest.Backend.
func (f *Fake) Network(_ context.Context, name string) (rest.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Network %s", name); err != nil {
		return rest.Network{}, err
	}
	n, ok := f.Nets[name]
	if !ok {
		return rest.Network{}, rest.ErrNotFound
	}
	return *n, nil
}

// CreateNetwork implements rest.Backend.
func (f *Fake) CreateNetwork(_ context.Context, spec rest.NetworkSpec) (rest.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("CreateNetwork %s", spec.Name); err != nil {
		return rest.Network{}, err
	}
	if _, ok := f.Nets[spec.Name]; ok {
		return rest.Network{}, rest.Conflict("name", "a network with this name exists")
	}
	n := &rest.Network{NetworkSpec: spec, Status: status(spec)}
	f.Nets[spec.Name] = n
	return *n, nil
}

// UpdateNetwork implements rest.Backend.
func (f *Fake) UpdateNetwork(_ context.Context, name string, spec rest.NetworkSpec) (rest.Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("UpdateNetwork %s", name); err != nil {
		return rest.Network{}, err
	}
	n, ok := f.Nets[name]
	if !ok {
		return rest.Network{}, rest.ErrNotFound
	}
	old := n.NetworkSpec
	n.NetworkSpec = spec
	n.Status = status(spec)
	out := *n
	if old.Mode != spec.Mode {
		out.Status.Changes = []string{fmt.Sprintf("network %s: mode %s -> %s", name, old.Mode, spec.Mode)}
	}
	return out, nil
}

// DeleteNetwork implements rest.Backend.
func (f *Fake) DeleteNetwork(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DeleteNetwork %s", name); err != nil {
		return err
	}
	if _, ok := f.Nets[name]; !ok {
		return rest.ErrNotFound
	}
	for _, v := range f.Vnics {
		if v.Network == name {
			return fmt.Errorf("vnic %s is attached: %w", v.ID, rest.ErrConflict)
		}
	}
	delete(f.Nets, name)
	return nil
}

// status is the effective state of a new network.
func status(spec rest.NetworkSpec) rest.NetworkStatus {
	dpid := spec.DatapathID
	if dpid == 0 {
		dpid = 0xabcd
	}
	st := rest.NetworkStatus{DatapathID: dpid, Offload: spec.Offload, Ports: []rest.NetworkPort{}, Controllers: []rest.ControllerStatus{}}
	st.InactivityProbe = rest.DefaultInactivityProbe
	if spec.InactivityProbe != nil {
		st.InactivityProbe = *spec.InactivityProbe
	}
	for _, c := range spec.Controllers {
		st.Controllers = append(st.Controllers, rest.ControllerStatus{Target: c})
	}
	switch spec.Mode {
	case rest.ModeNIC:
		st.SwitchingPoint, st.Switching = rest.SwitchEswitch, "nic: NIC eswitch (switchdev), rules on representors in tc/hw"
	case rest.ModeHairpin:
		st.SwitchingPoint, st.Switching = rest.SwitchExternal, "hairpin: external switch (VEPA reflective relay); rules on the uplink"
	default:
		st.SwitchingPoint, st.Switching = rest.SwitchNicflow, "host: nicflow (tc in kernel software + fast path)"
	}
	return st
}

// VNICs implements rest.Backend.
func (f *Fake) VNICs(context.Context) ([]rest.VNIC, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("VNICs"); err != nil {
		return nil, err
	}
	out := make([]rest.VNIC, 0, len(f.Vnics))
	for _, id := range sortedKeys(f.Vnics) {
		out = append(out, *f.Vnics[id])
	}
	return out, nil
}

// VNIC implements rest.Backend.
func (f *Fake) VNIC(_ context.Context, id string) (rest.VNIC, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("VNIC %s", id); err != nil {
		return rest.VNIC{}, err
	}
	v, ok := f.Vnics[id]
	if !ok {
		return rest.VNIC{}, rest.ErrNotFound
	}
	return *v, nil
}

// AttachVNIC implements rest.Backend: it hands out the lowest free VF
// of the network's uplink (VF i is 0000:3b:00.<i+2>, OpenFlow port 10+i).
func (f *Fake) AttachVNIC(_ context.Context, spec rest.VNICSpec) (rest.VNIC, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("AttachVNIC %s", spec.ID); err != nil {
		return rest.VNIC{}, false, err
	}
	if v, ok := f.Vnics[spec.ID]; ok {
		if !reflect.DeepEqual(v.VNICSpec, spec) {
			return rest.VNIC{}, false, rest.Conflict("id", "attached with other settings")
		}
		return *v, false, nil
	}
	n, ok := f.Nets[spec.Network]
	if !ok {
		return rest.VNIC{}, false, rest.NotFound("network", fmt.Sprintf("no network %q", spec.Network))
	}
	i := f.freeVF(n.Uplink)
	v := &rest.VNIC{
		VNICSpec:    spec,
		VF:          fmt.Sprintf("0000:3b:00.%d", i+2),
		VFIndex:     i,
		Uplink:      n.Uplink,
		Netdev:      fmt.Sprintf("%sv%d", n.Uplink, i),
		Representor: fmt.Sprintf("%s_%d", n.Uplink, i),
		OFPort:      uint32(10 + i),
	}
	f.Vnics[spec.ID] = v
	return *v, true, nil
}

// freeVF returns the lowest VF index of uplink no vNIC holds; callers
// hold mu.
func (f *Fake) freeVF(uplink string) int {
	used := map[int]bool{}
	for _, v := range f.Vnics {
		if v.Uplink == uplink {
			used[v.VFIndex] = true
		}
	}
	i := 0
	for used[i] {
		i++
	}
	return i
}

// DetachVNIC implements rest.Backend.
func (f *Fake) DetachVNIC(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("DetachVNIC %s", id); err != nil {
		return err
	}
	delete(f.Vnics, id) // idempotent: an unknown id is detached already
	return nil
}

// Flows implements rest.Backend.
func (f *Fake) Flows(_ context.Context, network string) ([]rest.Flow, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Flows %s", network); err != nil {
		return nil, err
	}
	if _, ok := f.Nets[network]; !ok {
		return nil, rest.ErrNotFound
	}
	return append([]rest.Flow(nil), f.FlowList[network]...), nil
}

// Ports implements rest.Backend.
func (f *Fake) Ports(_ context.Context, network string) ([]rest.Port, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Ports %s", network); err != nil {
		return nil, err
	}
	if _, ok := f.Nets[network]; !ok {
		return nil, rest.ErrNotFound
	}
	return append([]rest.Port(nil), f.PortList[network]...), nil
}

// Tables implements rest.Backend.
func (f *Fake) Tables(_ context.Context, network string) ([]rest.Table, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Tables %s", network); err != nil {
		return nil, err
	}
	if _, ok := f.Nets[network]; !ok {
		return nil, rest.ErrNotFound
	}
	return append([]rest.Table(nil), f.TableList[network]...), nil
}

// Metrics implements rest.Backend.
func (f *Fake) Metrics(context.Context) (*rest.Metrics, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.record("Metrics"); err != nil {
		return nil, err
	}
	return f.Figures, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Names returns the names of the networks and the ids of the vNICs the
// fake holds, sorted.
func (f *Fake) Names() (networks, vnics []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return sortedKeys(f.Nets), sortedKeys(f.Vnics)
}
