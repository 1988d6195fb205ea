// Package nl holds the wire format the tcflower codec speaks beyond
// netlink attributes (which github.com/mdlayher/netlink's AttributeEncoder
// and AttributeDecoder encode and decode): the tcmsg header, the rate
// tables of a policer, and the tc uapi constants
// (include/uapi/linux/pkt_cls.h, pkt_sched.h, rtnetlink.h, gen_stats.h and
// tc_act/*.h) the flower classifier and its actions use.
//
// It knows byte layouts only: which attribute holds which field belongs to
// the caller. Nothing here makes a system call.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/..., go.uber.org/zap.
package nl
