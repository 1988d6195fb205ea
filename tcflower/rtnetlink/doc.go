// Package rtnetlink is the rtnetlink plumbing tcflower and vepa share, on
// top of github.com/mdlayher/netlink: the dump that starts over when the
// kernel marks it inconsistent (Dump, with the one sentinel error
// ErrDumpInterrupted), the attribute nest iproute2 sends (Nest: no
// NLA_F_NESTED flag), a fixed header followed by attributes
// (AppendAttributes), the decoding loop that names the attribute an error
// came from (DecodeAttributes), and struct ifinfomsg.
//
// Why here: tcflower and vepa are separate top-level components that each
// talk rtnetlink on their own socket, and a kernel quirk such as
// NLM_F_DUMP_INTR is handled once, by one wrapper, not at every call site.
// A package under one component's internal/ cannot be imported by the
// other, and a top-level folder of its own would not be a component; so it
// lives under tcflower, the larger rtnetlink user, exported for vepa. It
// knows no tc or bridge semantics (those stay in tcflower/internal/nl and
// vepa/internal/rtnl) and never logs.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/..., go.uber.org/zap.
package rtnetlink
