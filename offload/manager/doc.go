// Package manager is nicflowd's network and vNIC manager, the composition
// layer between the REST API and the components: it owns the running
// networks and their lifecycle (start, restore after a restart, create,
// update, delete, stop), builds a running network (the offload.Network
// with its ports and tc tier, its OpenFlow switch, the flow guard of its
// mode), plumbs vNICs for the three switching modes (host: veth pairs;
// nic: SR-IOV VFs and their representors; hairpin: VFs or macvlans in
// VEPA mode), changes a network's mode live with rollback, sweeps stale tc
// state off netdevs that are no ports, and serves what the REST API reads
// (*Manager implements rest.Backend).
//
// Its kernel access goes through small interfaces it defines and takes in
// a Config (Links, Ports, LinkWatcher, TC, VFKernel, VEPAKernel, VFStats,
// NICs): Host is rtnetlink through a handle of one namespace and its
// sysfs, KernelTC the tc tier, and Config.OpenKernel wires the kernel's
// for nicflowd; the unit tests run the manager on stateful fakes, without
// root, and the namespace and VM tests on the kernel.
//
// Every method takes a context.Context. Failures carry a kind of
// api/rest (rest.Error: not found, conflict, invalid naming the field,
// unavailable, refused by the kernel in its words); the HTTP layer maps
// kinds to statuses.
//
// It must not import net/http or build HTTP statuses, and imports
// api/rest only for the API's types and error kinds (the Backend contract
// the API defines as its consumer); it must not import cmd/... (flags, the
// configuration file, logging set-up and signals are nicflowd's) nor the
// internal packages of the components it wires, nor their kernel glue
// (sriov/devlink: the manager asks sriov/vf and sriov/nic).
//
// A Manager is safe for concurrent use: changes are serialized, reads run
// alongside them.
//
// It must not import directly: net/http, github.com/nicflow/nicflow/cmd/...,
// github.com/nicflow/nicflow/sriov/devlink,
// github.com/nicflow/nicflow/sriov/internal/...,
// github.com/nicflow/nicflow/tcflower/internal/...,
// github.com/nicflow/nicflow/vepa/internal/... .
package manager
