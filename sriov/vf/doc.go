// Package vf is the SR-IOV VF lifecycle of nicflowd: the settings a vNIC
// asks of its VF (MAC, VLAN/QoS/protocol, spoof check, trust, rates, link
// state), the PF-level setup (VF count through sriov_numvfs, eswitch mode
// legacy/switchdev over devlink, in the order drivers need), and an
// Allocator that gives each vNIC one VF, records the allocation with the
// VF's original settings in the state store, restores them on detach and
// reconciles the kernel to the store after a restart.
//
// Kernel access sits behind the Kernel interface; Netlink is the real one
// (rtnetlink for VF settings, the sriov devlink client for eswitch mode,
// ports and rate, sysfs for sriov_numvfs, sriovnet through
// sriov/internal/switchdev for the VF's netdev and representor in Locate and
// for RepresentedVF). The package never logs.
//
// # PF setup order
//
// ConfigurePF sets the VF count first and the eswitch mode last. mlx5
// (before kernel 5.x) refused switchdev with no VFs ("SR-IOV legacy not
// enabled") and builds one representor per existing VF when entering
// switchdev; the SR-IOV network operator's order for mlx5 is create VFs,
// then switchdev. When the count changes on a PF in switchdev mode, the PF
// is put back to legacy first (mlx5 tears representors down cleanly, and
// netdevsim drops to legacy by itself when its VFs go to 0), the count goes
// through 0 (the PCI core and netdevsim answer EBUSY to a change between two
// non-zero counts), and the mode is set again at the end. netdevsim accepts
// either order and creates VF ports and representors when switchdev is set.
//
// # Rates
//
// In legacy mode min/max rates go through IFLA_VF_RATE (ip link set vf
// rate). In switchdev mode drivers (netdevsim, mlx5) refuse that and take
// the rate on the VF's devlink rate leaf (DEVLINK_CMD_RATE_SET, tx_share and
// tx_max in bytes/s), found by its devlink port (flavour pcivf, VF number).
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/sriov/... and
// github.com/nicflow/nicflow/offload/store, go.uber.org/zap.
package vf
