package manager

import (
	"fmt"
	"sort"
	"sync"
	"syscall"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/vepa"
)

// fakeVEPA is a stateful VEPAKernel over a fakeLinks: embedded bridge
// modes per device (VEB until set), devices that refuse VEPA, and
// macvlan/macvtap devices as links, unique per MAC and uplink like the
// kernel's.
type fakeVEPA struct {
	links *fakeLinks

	mu   sync.Mutex // guards the fields below
	mode map[string]vepa.Mode
	// refuse makes SetBridgeMode(dev, VEPA) fail with this error.
	refuse map[string]error
	// macvlans maps a macvlan's name to its uplink, MAC and mode.
	macvlans map[string]vepa.MacvlanSpec
	// elsewhere holds MACs of macvlans moved out of sight (into a VM's
	// namespace): their uplink still has the address.
	elsewhere map[string]bool
	// failAdd makes AddMacvlan of this name fail.
	failAdd map[string]error
}

func newFakeVEPA(links *fakeLinks) *fakeVEPA {
	return &fakeVEPA{links: links, mode: map[string]vepa.Mode{}, refuse: map[string]error{},
		macvlans: map[string]vepa.MacvlanSpec{}, elsewhere: map[string]bool{}, failAdd: map[string]error{}}
}

// refusal is how netdevsim answers VEPA: EOPNOTSUPP without a message.
func refusal(dev string) error {
	return &vepa.Error{Dev: dev, Op: "set embedded bridge mode to vepa", Errno: unix.EOPNOTSUPP, Message: "netdevsim: bridge mode not supported"}
}

func (k *fakeVEPA) BridgeMode(dev string) (vepa.Mode, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if m, ok := k.mode[dev]; ok {
		return m, nil
	}
	return vepa.ModeVEB, nil
}

func (k *fakeVEPA) bridgeMode(dev string) vepa.Mode {
	m, _ := k.BridgeMode(dev)
	return m
}

func (k *fakeVEPA) SetBridgeMode(dev string, m vepa.Mode) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.refuse[dev]; err != nil && m == vepa.ModeVEPA {
		return err
	}
	k.mode[dev] = m
	return nil
}

func (k *fakeVEPA) AddMacvlan(spec vepa.MacvlanSpec) (netlink.Link, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.failAdd[spec.Name]; err != nil {
		return nil, err
	}
	if !k.links.HasLink(spec.Parent) {
		return nil, fmt.Errorf("add macvlan %s: find parent: Link not found", spec.Name)
	}
	if k.links.HasLink(spec.Name) {
		return nil, fmt.Errorf("add macvlan %s: %w", spec.Name, syscall.EEXIST)
	}
	mac := spec.Parent + "/" + spec.MAC.String()
	for _, o := range k.macvlans {
		if o.Parent+"/"+o.MAC.String() == mac {
			return nil, fmt.Errorf("add macvlan %s: %w", spec.Name, syscall.EADDRINUSE)
		}
	}
	if k.elsewhere[mac] {
		return nil, fmt.Errorf("add macvlan %s: %w", spec.Name, syscall.EADDRINUSE)
	}
	k.macvlans[spec.Name] = spec
	k.links.add(spec.Name)
	return &netlink.Macvlan{LinkAttrs: netlink.LinkAttrs{Name: spec.Name, HardwareAddr: spec.MAC}}, nil
}

func (k *fakeVEPA) DelMacvlan(name string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.macvlans[name]; !ok {
		return fmt.Errorf("delete macvlan %s: not a macvlan", name)
	}
	delete(k.macvlans, name)
	return k.links.DelLink(name)
}

// moveAway makes macvlan name invisible, as if moved into a VM's
// namespace: its MAC stays taken on its uplink.
func (k *fakeVEPA) moveAway(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.macvlans[name]
	delete(k.macvlans, name)
	k.elsewhere[s.Parent+"/"+s.MAC.String()] = true
	_ = k.links.DelLink(name)
}

// release forgets the MACs of the macvlans moved away (the VMs let them
// go).
func (k *fakeVEPA) release() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.elsewhere = map[string]bool{}
}

// list describes the macvlans as "NAME on PARENT MAC MODE [tap]".
func (k *fakeVEPA) list() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for name, s := range k.macvlans {
		line := fmt.Sprintf("%s on %s %s %v", name, s.Parent, s.MAC, s.Mode)
		if s.Tap {
			line += " tap"
		}
		out = append(out, line)
	}
	sort.Strings(out)
	return out
}
