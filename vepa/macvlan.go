package vepa

import (
	"errors"
	"fmt"
	"net"

	vnl "github.com/vishvananda/netlink"
)

// MacvlanMode is how a macvlan/macvtap vNIC reaches its siblings on the
// same uplink (IFLA_MACVLAN_MODE). The zero value is MacvlanVEPA, the
// kernel's default.
type MacvlanMode int

// Macvlan modes.
const (
	// MacvlanVEPA sends everything, sibling traffic included, out of the
	// uplink; siblings reach each other only if the external switch
	// reflects frames back (hairpin on its port).
	MacvlanVEPA MacvlanMode = iota
	// MacvlanBridge switches sibling traffic inside the host, without
	// touching the uplink.
	MacvlanBridge
	// MacvlanPrivate is VEPA that also drops frames reflected back from the
	// external switch: siblings never reach each other.
	MacvlanPrivate
	// MacvlanPassthru gives the uplink to a single vNIC (one per uplink; the
	// uplink goes promiscuous), e.g. a VF's netdev handed to one VM.
	MacvlanPassthru
)

var macvlanModes = [...]struct {
	name string
	nl   vnl.MacvlanMode
}{
	MacvlanVEPA:     {"vepa", vnl.MACVLAN_MODE_VEPA},
	MacvlanBridge:   {"bridge", vnl.MACVLAN_MODE_BRIDGE},
	MacvlanPrivate:  {"private", vnl.MACVLAN_MODE_PRIVATE},
	MacvlanPassthru: {"passthru", vnl.MACVLAN_MODE_PASSTHRU},
}

func (m MacvlanMode) valid() bool { return m >= 0 && int(m) < len(macvlanModes) }

func (m MacvlanMode) String() string {
	if !m.valid() {
		return fmt.Sprintf("macvlan-mode(%d)", int(m))
	}
	return macvlanModes[m].name
}

// ParseMacvlanMode parses "vepa", "bridge", "private" or "passthru".
func ParseMacvlanMode(s string) (MacvlanMode, error) {
	for m, d := range macvlanModes {
		if d.name == s {
			return MacvlanMode(m), nil
		}
	}
	return 0, fmt.Errorf("macvlan mode %q: want vepa, bridge, private or passthru", s)
}

func macvlanModeFromNL(m vnl.MacvlanMode) (MacvlanMode, error) {
	if m == vnl.MACVLAN_MODE_DEFAULT {
		return MacvlanVEPA, nil
	}
	for i, d := range macvlanModes {
		if d.nl == m {
			return MacvlanMode(i), nil
		}
	}
	return 0, fmt.Errorf("unknown macvlan mode %d", m)
}

// MacvlanSpec describes a macvlan or macvtap vNIC on an uplink.
type MacvlanSpec struct {
	Name   string      // the vNIC's netdev name
	Parent string      // the uplink (lower device); empty when read back from another namespace
	Mode   MacvlanMode // how siblings reach each other
	// Tap makes a macvtap (a /dev/tapN character device a hypervisor reads
	// and writes) instead of a macvlan netdev.
	Tap bool
	// MAC is the vNIC's address; nil lets the kernel pick a random one.
	MAC net.HardwareAddr
	// Up sets the vNIC up once created.
	Up bool
}

func (s MacvlanSpec) kind() string {
	if s.Tap {
		return "macvtap"
	}
	return "macvlan"
}

// AddMacvlan creates the vNIC spec describes (`ip link add NAME link PARENT
// type macvlan|macvtap mode MODE`) and returns the link as the kernel
// reports it (index and MAC set).
func (h *Handle) AddMacvlan(spec MacvlanSpec) (vnl.Link, error) {
	op := fmt.Sprintf("add %s %s on %s mode %v", spec.kind(), spec.Name, spec.Parent, spec.Mode)
	if spec.Name == "" || spec.Parent == "" {
		return nil, fmt.Errorf("%s: name and parent are required", op)
	}
	if !spec.Mode.valid() {
		return nil, fmt.Errorf("%s: invalid mode", op)
	}
	parent, err := h.links.LinkByName(spec.Parent)
	if err != nil {
		return nil, fmt.Errorf("%s: find parent: %w", op, err)
	}
	attrs := vnl.NewLinkAttrs()
	attrs.Name = spec.Name
	attrs.ParentIndex = parent.Attrs().Index
	attrs.HardwareAddr = spec.MAC
	mv := vnl.Macvlan{LinkAttrs: attrs, Mode: macvlanModes[spec.Mode].nl}
	var link vnl.Link = &mv
	if spec.Tap {
		link = &vnl.Macvtap{Macvlan: mv}
	}
	if err := h.links.LinkAdd(link); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if spec.Up {
		if err := h.links.LinkSetUp(link); err != nil {
			_ = h.links.LinkDel(link)
			return nil, fmt.Errorf("%s: set up: %w", op, err)
		}
	}
	got, err := h.links.LinkByName(spec.Name)
	if err != nil {
		return nil, fmt.Errorf("%s: read back: %w", op, err)
	}
	return got, nil
}

// Macvlan reads macvlan/macvtap vNIC name back: its mode, kind, MAC,
// whether it is up and its parent (when the parent is in the handle's
// namespace). A device of another kind is an error.
func (h *Handle) Macvlan(name string) (MacvlanSpec, error) {
	l, err := h.links.LinkByName(name)
	if err != nil {
		return MacvlanSpec{}, fmt.Errorf("read macvlan %s: %w", name, err)
	}
	var mv *vnl.Macvlan
	tap := false
	switch v := l.(type) {
	case *vnl.Macvlan:
		mv = v
	case *vnl.Macvtap:
		mv, tap = &v.Macvlan, true
	default:
		return MacvlanSpec{}, fmt.Errorf("read macvlan %s: it is a %s device", name, l.Type())
	}
	mode, err := macvlanModeFromNL(mv.Mode)
	if err != nil {
		return MacvlanSpec{}, fmt.Errorf("read macvlan %s: %w", name, err)
	}
	a := l.Attrs()
	s := MacvlanSpec{Name: name, Mode: mode, Tap: tap, MAC: a.HardwareAddr, Up: a.Flags&net.FlagUp != 0}
	if a.ParentIndex != 0 && a.NetNsID < 0 {
		if p, err := h.links.LinkByIndex(a.ParentIndex); err == nil {
			s.Parent = p.Attrs().Name
		}
	}
	return s, nil
}

// SetMacvlanMode changes the mode of a live macvlan/macvtap vNIC (`ip link
// set NAME type macvlan mode MODE`); its address and namespace stay. The
// kernel refuses changes to and from passthru.
func (h *Handle) SetMacvlanMode(name string, m MacvlanMode) error {
	op := fmt.Sprintf("set macvlan %s mode %v", name, m)
	if !m.valid() {
		return fmt.Errorf("%s: invalid mode", op)
	}
	l, err := h.macvlanLink(name)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := h.links.LinkSetMacvlanMode(l, macvlanModes[m].nl); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// DelMacvlan deletes macvlan/macvtap vNIC name. It refuses to delete a
// device of another kind.
func (h *Handle) DelMacvlan(name string) error {
	op := "delete macvlan " + name
	l, err := h.macvlanLink(name)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := h.links.LinkDel(l); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

var errNotMacvlan = errors.New("not a macvlan or macvtap device")

func (h *Handle) macvlanLink(name string) (vnl.Link, error) {
	l, err := h.links.LinkByName(name)
	if err != nil {
		return nil, err
	}
	switch l.(type) {
	case *vnl.Macvlan, *vnl.Macvtap:
		return l, nil
	}
	return nil, fmt.Errorf("%w (it is a %s device)", errNotMacvlan, l.Type())
}
