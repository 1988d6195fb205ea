// Package rtnl is the wire format vepa speaks with the kernel's rtnetlink
// bridge family (AF_BRIDGE): the RTM_SETLINK requests that set a device's
// embedded bridge mode (what `bridge link set dev X hwmode vepa` sends) or a
// Linux bridge port's hairpin flag (`bridge link set dev X hairpin on`), the
// RTM_GETLINK dump request (`bridge -d link show`), and a decoder for the
// RTM_NEWLINK messages of that dump.
//
// It encodes and decodes message bodies only (struct ifinfomsg plus
// attributes, without struct nlmsghdr), with mdlayher/netlink's
// AttributeEncoder and AttributeDecoder and the ifinfomsg, nest and
// decoding loop of tcflower/rtnetlink, and makes no system calls; the
// caller owns the socket. The RTM_SETLINK requests are byte-for-byte what
// iproute2 sends (the tests compare them with iproute2's bytes recorded by
// strace); the dump request is checked against bytes written from the uapi
// (iproute2 6.1's `bridge link show` sends it without IFLA_EXT_MASK); and
// the decoder is tested against kernel replies recorded on real kernels
// (../../testdata).
//
// Constants follow include/uapi/linux/{rtnetlink,if_link,if_bridge}.h.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/tcflower/rtnetlink, go.uber.org/zap.
package rtnl
