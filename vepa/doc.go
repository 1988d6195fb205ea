// Package vepa sets up the kernel side of nicflow's switching modes: where
// traffic between two vNICs on the same uplink is switched.
//
// # VEB, VEPA and hairpin
//
// An SR-IOV NIC has an embedded bridge between its PF and VFs. In VEB mode
// (Virtual Ethernet Bridge, ModeVEB) the NIC switches VF-to-VF frames
// itself; they never reach the wire. In VEPA mode (Virtual Ethernet Port
// Aggregator, IEEE 802.1Qbg, ModeVEPA) every frame leaves through the
// uplink and the external switch decides, so its policy applies to local
// traffic too. An 802.1D bridge never sends a frame back out of the port it
// came in on; for VEPA the external switch's port must do exactly that:
// hairpin mode, also called reflective relay. On a Linux bridge acting as
// that switch (a lab host), SetHairpin turns it on for one port.
//
// Host-side vNICs get the same choice from macvlan/macvtap on the uplink:
// MacvlanVEPA (everything out of the uplink, reflected back by a hairpin
// port), MacvlanBridge (siblings switched in the host), MacvlanPrivate
// (siblings never reach each other, even when reflected) and
// MacvlanPassthru (one vNIC owns the uplink).
//
// nicflow's network modes map onto this: a `hairpin` network puts its PF
// in VEPA (SetBridgeMode) or its host-side vNICs in MacvlanVEPA
// (AddMacvlan, SetMacvlanMode), and enforces rules on the uplink; a `nic`
// network in legacy mode keeps the PF in VEB.
//
// # API
//
//	h, err := vepa.Open()                     // the calling thread's netns
//	h, err := vepa.OpenNetNS(ns)              // a netns.NsHandle, fixed for the handle's life
//	h.BridgeMode(pf) (Mode, error)            // like `bridge link show self` (hwmode)
//	h.SetBridgeMode(pf, vepa.ModeVEPA) error  // like `bridge link set dev PF hwmode vepa`
//	h.EmbeddedBridges() ([]EmbeddedBridge, error)
//	h.SetHairpin(port, true) error            // like `bridge link set dev PORT hairpin on`
//	h.Hairpin(port) (bool, error)
//	h.AddMacvlan(MacvlanSpec{Name, Parent, Mode, Tap, MAC, Up}) (netlink.Link, error)
//	h.Macvlan(name) (MacvlanSpec, error)      // reads the mode back
//	h.SetMacvlanMode(name, m) error           // re-plumbs a live vNIC
//	h.DelMacvlan(name) error
//
// The package-level functions of the same names (vepa.BridgeMode(dev),
// vepa.SetBridgeMode(dev, m), ...) open a Handle in the calling thread's
// network namespace for one call. To work in another namespace use
// OpenNetNS (preferred: no thread switching) or call them on a locked OS
// thread switched into it.
//
// # Errors
//
// A refusal by the kernel or a driver is an *Error carrying the device, the
// operation, the errno and the kernel's extended-ack message in its own
// words. A driver without ndo_bridge_setlink (veth, netdevsim, most virtual
// devices) reads "dev X: the driver does not support setting the embedded
// bridge mode: operation not supported" and matches
// errors.Is(err, ErrNotSupported) and errors.Is(err, unix.EOPNOTSUPP); the
// device is left as it was. The bridge-family messages are encoded and
// decoded by vepa/internal/rtnl, byte-for-byte what iproute2's `bridge`
// sends; macvlan/macvtap links go through github.com/vishvananda/netlink.
//
// This package never logs; it returns errors.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/vepa/... and
// github.com/nicflow/nicflow/tcflower/rtnetlink, go.uber.org/zap.
package vepa
