package manager

import (
	"context"
	"fmt"
	"net"
	"os"
	"sort"
	"sync"
	"syscall"

	"github.com/nicflow/nicflow/offload"
	"github.com/nicflow/nicflow/softpath"
	"github.com/nicflow/nicflow/softpath/memio"
	"github.com/nicflow/nicflow/sriov/vf"
)

// fakeLinks is a stateful Links: the netdevs that exist, with veth
// peers, and what is up.
type fakeLinks struct {
	mu    sync.Mutex        // guards the fields below
	links map[string]string // name -> veth peer ("" for other netdevs)
	up    map[string]bool
	macs  map[string]string
	// hostUse is how the host uses a netdev (its addresses, the default
	// route), as Host.HostUse says it.
	hostUse map[string]string
	// watch is the manager's link watcher callback (WatchLinks).
	watch func(LinkEvent)
}

// WatchLinks implements LinkWatcher: remove reports to changed.
func (l *fakeLinks) WatchLinks(_ context.Context, changed func(LinkEvent), _ func(error)) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.watch = changed
	return nil
}

// remove deletes a netdev behind the manager's back, its veth peer with
// it as the kernel does, and reports both to the link watcher (when the
// call returns, the manager has seen them).
func (l *fakeLinks) remove(name string) {
	l.mu.Lock()
	peer, watch := l.links[name], l.watch
	delete(l.links, name)
	if peer != "" {
		delete(l.links, peer)
	}
	l.mu.Unlock()
	if watch == nil {
		return
	}
	for _, n := range []string{name, peer} {
		if n != "" {
			watch(LinkEvent{Name: n, Gone: true})
		}
	}
}

// HostUse implements hostUse.
func (l *fakeLinks) HostUse(name string) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hostUse[name], nil
}

func newFakeLinks(names ...string) *fakeLinks {
	l := &fakeLinks{links: map[string]string{}, up: map[string]bool{}, macs: map[string]string{}}
	for _, n := range names {
		l.links[n] = ""
	}
	return l
}

func (l *fakeLinks) add(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.links[name] = ""
}

func (l *fakeLinks) AddVeth(host, peer, peerMAC string, peerUp bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.links[peer]; ok {
		return fmt.Errorf("add veth: %s: %w", peer, syscall.EEXIST)
	}
	l.links[host], l.links[peer] = peer, host
	l.up[host], l.up[peer] = true, peerUp
	l.macs[peer] = peerMAC
	return nil
}

func (l *fakeLinks) HasLink(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.links[name]
	return ok
}

func (l *fakeLinks) LinkMAC(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.macs[name]
}

func (l *fakeLinks) DelLink(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if peer := l.links[name]; peer != "" {
		delete(l.links, peer)
	}
	delete(l.links, name)
	return nil
}

func (l *fakeLinks) SetUp(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.links[name]; !ok {
		return fmt.Errorf("set %s up: %w", name, syscall.ENODEV)
	}
	l.up[name] = true
	return nil
}

func (l *fakeLinks) SetDown(name string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.links[name]; !ok {
		return fmt.Errorf("set %s down: %w", name, syscall.ENODEV)
	}
	l.up[name] = false
	return nil
}

// names lists the netdevs that exist.
func (l *fakeLinks) names() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for n := range l.links {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// fakePorts opens the netdevs of a fakeLinks as in-memory ports.
type fakePorts struct{ links *fakeLinks }

func (p fakePorts) OpenPort(name string, no uint32, _ bool) (offload.PortInfo, softpath.PacketIO, error) {
	if !p.links.HasLink(name) {
		return offload.PortInfo{}, nil, fmt.Errorf("port %s: Link not found", name)
	}
	mac := net.HardwareAddr{0x02, 0, 0, 0, byte(no >> 8), byte(no)}
	return offload.PortInfo{No: no, Name: name, HWAddr: mac, Up: true, SpeedKbps: 10_000_000}, memio.New(), nil
}

// PortCounters: in-memory ports have no netdev counters.
func (fakePorts) PortCounters(offload.PortInfo) (offload.PortStat, bool) {
	return offload.PortStat{}, false
}

// fakeVF is a stateful VFKernel: PFs with VF states, a VF count and an
// eswitch mode; in switchdev mode each VF has a representor "PFrN" among
// the links.
type fakeVF struct {
	links *fakeLinks

	mu   sync.Mutex // guards the fields below
	vfs  map[string][]vf.State
	mode map[string]string
	// refuseSwitchdev makes SetEswitchMode(switchdev) fail (a NIC that
	// only has legacy SR-IOV).
	refuseSwitchdev bool
	// maxRate, when set, makes SetVF refuse a max rate above it, as a
	// driver refuses a rate above the link speed.
	maxRate int
	// failMode makes SetEswitchMode to this mode fail.
	failMode map[string]error
	// totalVFs, when set, makes WriteNumVFs refuse more with ERANGE, as
	// the PCI core does above sriov_totalvfs.
	totalVFs int
}

var freshVF = vf.State{MAC: "00:00:00:00:00:00", VLANProto: vf.Proto8021Q, LinkState: vf.LinkAuto}

func newFakeVF(links *fakeLinks) *fakeVF {
	return &fakeVF{links: links, vfs: map[string][]vf.State{}, mode: map[string]string{}, failMode: map[string]error{}}
}

// addPF adds PF netdev pf with n fresh VFs in legacy mode.
func (k *fakeVF) addPF(pf string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.links.add(pf)
	k.vfs[pf] = make([]vf.State, n)
	for i := range n {
		k.vfs[pf][i] = freshVF
	}
	k.mode[pf] = vf.ModeLegacy
}

// state returns VF i of pf.
func (k *fakeVF) state(pf string, i int) vf.State {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.vfs[pf][i]
}

func (k *fakeVF) VFs(pf string) ([]vf.State, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.vfs[pf]
	if !ok {
		return nil, fmt.Errorf("get link %s: %w", pf, syscall.ENODEV)
	}
	return append([]vf.State(nil), s...), nil
}

func (k *fakeVF) SetVF(pf string, i int, f vf.Field, want vf.State) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if f == vf.FieldRate && k.maxRate != 0 && want.MaxTxRate > k.maxRate {
		return fmt.Errorf("invalid argument: rate %d above link speed %d", want.MaxTxRate, k.maxRate)
	}
	s := &k.vfs[pf][i]
	switch f {
	case vf.FieldMAC:
		s.MAC = want.MAC
	case vf.FieldVLAN:
		s.VLAN, s.QoS, s.VLANProto = want.VLAN, want.QoS, want.VLANProto
	case vf.FieldSpoofCheck:
		s.SpoofCheck = want.SpoofCheck
	case vf.FieldTrust:
		s.Trust = want.Trust
	case vf.FieldRate:
		s.MinTxRate, s.MaxTxRate = want.MinTxRate, want.MaxTxRate
	case vf.FieldLinkState:
		s.LinkState = want.LinkState
	}
	return nil
}

func (k *fakeVF) NumVFs(pf string) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s, ok := k.vfs[pf]
	if !ok {
		return 0, fmt.Errorf("read VF count of PF %s: %w", pf, syscall.ENOENT)
	}
	return len(s), nil
}

func (k *fakeVF) WriteNumVFs(pf string, n int) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.totalVFs != 0 && n > k.totalVFs {
		return &os.PathError{Op: "write", Path: "/sys/class/net/" + pf + "/device/sriov_numvfs", Err: syscall.ERANGE}
	}
	k.vfs[pf] = make([]vf.State, n)
	for i := range n {
		k.vfs[pf][i] = freshVF
	}
	return nil
}

func (k *fakeVF) EswitchMode(pf string) (string, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.mode[pf], nil
}

func (k *fakeVF) SetEswitchMode(pf, mode string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if mode == vf.ModeSwitchdev && k.refuseSwitchdev {
		return fmt.Errorf("set eswitch mode: %w", syscall.EOPNOTSUPP)
	}
	if err := k.failMode[mode]; err != nil {
		return err
	}
	k.mode[pf] = mode
	for i := range k.vfs[pf] {
		if mode == vf.ModeSwitchdev {
			k.links.add(fmt.Sprintf("%sr%d", pf, i))
		} else {
			_ = k.links.DelLink(fmt.Sprintf("%sr%d", pf, i))
		}
	}
	return nil
}

func (k *fakeVF) Locate(pf string, i int) (vf.Location, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	loc := vf.Location{Netdev: fmt.Sprintf("%sv%d", pf, i)}
	if k.mode[pf] == vf.ModeSwitchdev {
		loc.Representor = fmt.Sprintf("%sr%d", pf, i)
	}
	return loc, nil
}
