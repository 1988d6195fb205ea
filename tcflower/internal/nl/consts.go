package nl

// rtnetlink message types (rtnetlink.h).
const (
	RTM_NEWQDISC   = 36
	RTM_DELQDISC   = 37
	RTM_GETQDISC   = 38
	RTM_NEWTFILTER = 44
	RTM_DELTFILTER = 45
	RTM_GETTFILTER = 46
	RTM_NEWCHAIN   = 100
	RTM_DELCHAIN   = 101
	RTM_GETCHAIN   = 102
)

// Handles and the block address (pkt_sched.h, rtnetlink.h).
const (
	TC_H_ROOT            = 0xFFFFFFFF
	TC_H_INGRESS         = 0xFFFFFFF1
	TC_H_CLSACT          = TC_H_INGRESS
	TC_H_MIN_INGRESS     = 0xFFF2
	TC_H_MIN_EGRESS      = 0xFFF3
	TCMIfindexMagicBlock = 0xFFFFFFFF
	ETH_P_ALL            = 0x0003
)

// Top-level tc attributes (enum TCA_*, rtnetlink.h).
const (
	TCA_KIND           = 1
	TCA_OPTIONS        = 2
	TCA_STATS          = 3
	TCA_XSTATS         = 4
	TCA_RATE           = 5
	TCA_FCNT           = 6
	TCA_STATS2         = 7
	TCA_STAB           = 8
	TCA_PAD            = 9
	TCA_DUMP_INVISIBLE = 10
	TCA_CHAIN          = 11
	TCA_HW_OFFLOAD     = 12
	TCA_INGRESS_BLOCK  = 13
	TCA_EGRESS_BLOCK   = 14
	TCA_DUMP_FLAGS     = 15
)

// Classifier flags (TCA_CLS_FLAGS_*, pkt_cls.h), carried host-order in
// TCA_FLOWER_FLAGS.
const (
	TCA_CLS_FLAGS_SKIP_HW   = 1 << 0
	TCA_CLS_FLAGS_SKIP_SW   = 1 << 1
	TCA_CLS_FLAGS_IN_HW     = 1 << 2
	TCA_CLS_FLAGS_NOT_IN_HW = 1 << 3
	TCA_CLS_FLAGS_VERBOSE   = 1 << 4
)

// Flower attributes (enum TCA_FLOWER_*, pkt_cls.h).
const (
	TCA_FLOWER_CLASSID                   = 1
	TCA_FLOWER_INDEV                     = 2
	TCA_FLOWER_ACT                       = 3
	TCA_FLOWER_KEY_ETH_DST               = 4
	TCA_FLOWER_KEY_ETH_DST_MASK          = 5
	TCA_FLOWER_KEY_ETH_SRC               = 6
	TCA_FLOWER_KEY_ETH_SRC_MASK          = 7
	TCA_FLOWER_KEY_ETH_TYPE              = 8
	TCA_FLOWER_KEY_IP_PROTO              = 9
	TCA_FLOWER_KEY_IPV4_SRC              = 10
	TCA_FLOWER_KEY_IPV4_SRC_MASK         = 11
	TCA_FLOWER_KEY_IPV4_DST              = 12
	TCA_FLOWER_KEY_IPV4_DST_MASK         = 13
	TCA_FLOWER_KEY_IPV6_SRC              = 14
	TCA_FLOWER_KEY_IPV6_SRC_MASK         = 15
	TCA_FLOWER_KEY_IPV6_DST              = 16
	TCA_FLOWER_KEY_IPV6_DST_MASK         = 17
	TCA_FLOWER_KEY_TCP_SRC               = 18
	TCA_FLOWER_KEY_TCP_DST               = 19
	TCA_FLOWER_KEY_UDP_SRC               = 20
	TCA_FLOWER_KEY_UDP_DST               = 21
	TCA_FLOWER_FLAGS                     = 22
	TCA_FLOWER_KEY_VLAN_ID               = 23
	TCA_FLOWER_KEY_VLAN_PRIO             = 24
	TCA_FLOWER_KEY_VLAN_ETH_TYPE         = 25
	TCA_FLOWER_KEY_ENC_KEY_ID            = 26
	TCA_FLOWER_KEY_ENC_IPV4_SRC          = 27
	TCA_FLOWER_KEY_ENC_IPV4_SRC_MASK     = 28
	TCA_FLOWER_KEY_ENC_IPV4_DST          = 29
	TCA_FLOWER_KEY_ENC_IPV4_DST_MASK     = 30
	TCA_FLOWER_KEY_ENC_IPV6_SRC          = 31
	TCA_FLOWER_KEY_ENC_IPV6_SRC_MASK     = 32
	TCA_FLOWER_KEY_ENC_IPV6_DST          = 33
	TCA_FLOWER_KEY_ENC_IPV6_DST_MASK     = 34
	TCA_FLOWER_KEY_TCP_SRC_MASK          = 35
	TCA_FLOWER_KEY_TCP_DST_MASK          = 36
	TCA_FLOWER_KEY_UDP_SRC_MASK          = 37
	TCA_FLOWER_KEY_UDP_DST_MASK          = 38
	TCA_FLOWER_KEY_SCTP_SRC_MASK         = 39
	TCA_FLOWER_KEY_SCTP_DST_MASK         = 40
	TCA_FLOWER_KEY_SCTP_SRC              = 41
	TCA_FLOWER_KEY_SCTP_DST              = 42
	TCA_FLOWER_KEY_ENC_UDP_SRC_PORT      = 43
	TCA_FLOWER_KEY_ENC_UDP_SRC_PORT_MASK = 44
	TCA_FLOWER_KEY_ENC_UDP_DST_PORT      = 45
	TCA_FLOWER_KEY_ENC_UDP_DST_PORT_MASK = 46
	TCA_FLOWER_KEY_FLAGS                 = 47
	TCA_FLOWER_KEY_FLAGS_MASK            = 48
	TCA_FLOWER_KEY_ICMPV4_CODE           = 49
	TCA_FLOWER_KEY_ICMPV4_CODE_MASK      = 50
	TCA_FLOWER_KEY_ICMPV4_TYPE           = 51
	TCA_FLOWER_KEY_ICMPV4_TYPE_MASK      = 52
	TCA_FLOWER_KEY_ICMPV6_CODE           = 53
	TCA_FLOWER_KEY_ICMPV6_CODE_MASK      = 54
	TCA_FLOWER_KEY_ICMPV6_TYPE           = 55
	TCA_FLOWER_KEY_ICMPV6_TYPE_MASK      = 56
	TCA_FLOWER_KEY_ARP_SIP               = 57
	TCA_FLOWER_KEY_ARP_SIP_MASK          = 58
	TCA_FLOWER_KEY_ARP_TIP               = 59
	TCA_FLOWER_KEY_ARP_TIP_MASK          = 60
	TCA_FLOWER_KEY_ARP_OP                = 61
	TCA_FLOWER_KEY_ARP_OP_MASK           = 62
	TCA_FLOWER_KEY_ARP_SHA               = 63
	TCA_FLOWER_KEY_ARP_SHA_MASK          = 64
	TCA_FLOWER_KEY_ARP_THA               = 65
	TCA_FLOWER_KEY_ARP_THA_MASK          = 66
	TCA_FLOWER_KEY_MPLS_TTL              = 67
	TCA_FLOWER_KEY_MPLS_BOS              = 68
	TCA_FLOWER_KEY_MPLS_TC               = 69
	TCA_FLOWER_KEY_MPLS_LABEL            = 70
	TCA_FLOWER_KEY_TCP_FLAGS             = 71
	TCA_FLOWER_KEY_TCP_FLAGS_MASK        = 72
	TCA_FLOWER_KEY_IP_TOS                = 73
	TCA_FLOWER_KEY_IP_TOS_MASK           = 74
	TCA_FLOWER_KEY_IP_TTL                = 75
	TCA_FLOWER_KEY_IP_TTL_MASK           = 76
	TCA_FLOWER_KEY_CVLAN_ID              = 77
	TCA_FLOWER_KEY_CVLAN_PRIO            = 78
	TCA_FLOWER_KEY_CVLAN_ETH_TYPE        = 79
	TCA_FLOWER_KEY_ENC_IP_TOS            = 80
	TCA_FLOWER_KEY_ENC_IP_TOS_MASK       = 81
	TCA_FLOWER_KEY_ENC_IP_TTL            = 82
	TCA_FLOWER_KEY_ENC_IP_TTL_MASK       = 83
	TCA_FLOWER_KEY_ENC_OPTS              = 84
	TCA_FLOWER_KEY_ENC_OPTS_MASK         = 85
	TCA_FLOWER_IN_HW_COUNT               = 86
)

// Action attributes (enum TCA_ACT_*, pkt_cls.h).
const (
	TCA_ACT_KIND          = 1
	TCA_ACT_OPTIONS       = 2
	TCA_ACT_INDEX         = 3
	TCA_ACT_STATS         = 4
	TCA_ACT_PAD           = 5
	TCA_ACT_COOKIE        = 6
	TCA_ACT_FLAGS         = 7
	TCA_ACT_HW_STATS      = 8
	TCA_ACT_USED_HW_STATS = 9
	TCA_ACT_IN_HW_COUNT   = 10
	// TCA_ACT_MAX_PRIO is the most actions one filter may hold.
	TCA_ACT_MAX_PRIO = 32
	// TC_COOKIE_MAX_SIZE is the longest action cookie the kernel keeps.
	TC_COOKIE_MAX_SIZE = 16
)

// Action verdicts (TC_ACT_*, pkt_cls.h).
const (
	TC_ACT_UNSPEC     = -1
	TC_ACT_OK         = 0
	TC_ACT_RECLASSIFY = 1
	TC_ACT_SHOT       = 2
	TC_ACT_PIPE       = 3
	TC_ACT_STOLEN     = 4
	TC_ACT_QUEUED     = 5
	TC_ACT_REPEAT     = 6
	TC_ACT_REDIRECT   = 7
	TC_ACT_TRAP       = 8
	TC_ACT_JUMP       = 1 << 28
	TC_ACT_GOTO_CHAIN = 2 << 28
	// TC_ACT_EXT_VAL_MASK selects the chain index of a goto chain verdict.
	TC_ACT_EXT_VAL_MASK = 1<<28 - 1
)

// Generic statistics (enum TCA_STATS_*, gen_stats.h).
const (
	TCA_STATS_BASIC      = 1
	TCA_STATS_RATE_EST   = 2
	TCA_STATS_QUEUE      = 3
	TCA_STATS_APP        = 4
	TCA_STATS_RATE_EST64 = 5
	TCA_STATS_PAD        = 6
	TCA_STATS_BASIC_HW   = 7
	TCA_STATS_PKT64      = 8
)

// TcfTLen is sizeof(struct tcf_t): install, lastuse, expires, firstuse, in
// clock ticks (USER_HZ) before the dump.
const TcfTLen = 32

// TcGenLen is the size of the tc_gen fields that open every action's
// parameters: index, capab, action, refcnt, bindcnt.
const TcGenLen = 20

// gact (tc_act/tc_gact.h).
const (
	TCA_GACT_TM    = 1
	TCA_GACT_PARMS = 2
	TCA_GACT_PROB  = 3
)

// mirred (tc_act/tc_mirred.h).
const (
	TCA_MIRRED_TM      = 1
	TCA_MIRRED_PARMS   = 2
	TCA_EGRESS_REDIR   = 1
	TCA_EGRESS_MIRROR  = 2
	TCA_INGRESS_REDIR  = 3
	TCA_INGRESS_MIRROR = 4
)

// vlan (tc_act/tc_vlan.h).
const (
	TCA_VLAN_TM                 = 1
	TCA_VLAN_PARMS              = 2
	TCA_VLAN_PUSH_VLAN_ID       = 3
	TCA_VLAN_PUSH_VLAN_PROTOCOL = 4
	TCA_VLAN_PUSH_VLAN_PRIORITY = 6
	TCA_VLAN_ACT_POP            = 1
	TCA_VLAN_ACT_PUSH           = 2
	TCA_VLAN_ACT_MODIFY         = 3
)

// pedit (tc_act/tc_pedit.h).
const (
	TCA_PEDIT_TM           = 1
	TCA_PEDIT_PARMS        = 2
	TCA_PEDIT_PARMS_EX     = 4
	TCA_PEDIT_KEYS_EX      = 5
	TCA_PEDIT_KEY_EX       = 6
	TCA_PEDIT_KEY_EX_HTYPE = 1
	TCA_PEDIT_KEY_EX_CMD   = 2
	// PeditKeyLen is sizeof(struct tc_pedit_key).
	PeditKeyLen = 24
	// PeditSelLen is sizeof(struct tc_pedit_sel) without its keys: tc_gen,
	// nkeys, flags and padding.
	PeditSelLen = 24
)

// Pedit header types and commands (enum pedit_header_type, pedit_cmd).
const (
	TCA_PEDIT_KEY_EX_HDR_TYPE_NETWORK = 0
	TCA_PEDIT_KEY_EX_HDR_TYPE_ETH     = 1
	TCA_PEDIT_KEY_EX_HDR_TYPE_IP4     = 2
	TCA_PEDIT_KEY_EX_HDR_TYPE_IP6     = 3
	TCA_PEDIT_KEY_EX_HDR_TYPE_TCP     = 4
	TCA_PEDIT_KEY_EX_HDR_TYPE_UDP     = 5
	TCA_PEDIT_KEY_EX_CMD_SET          = 0
	TCA_PEDIT_KEY_EX_CMD_ADD          = 1
)

// csum (tc_act/tc_csum.h).
const (
	TCA_CSUM_PARMS = 1
	TCA_CSUM_TM    = 2
)

// tunnel_key (tc_act/tc_tunnel_key.h).
const (
	TCA_TUNNEL_KEY_TM           = 1
	TCA_TUNNEL_KEY_PARMS        = 2
	TCA_TUNNEL_KEY_ENC_IPV4_SRC = 3
	TCA_TUNNEL_KEY_ENC_IPV4_DST = 4
	TCA_TUNNEL_KEY_ENC_IPV6_SRC = 5
	TCA_TUNNEL_KEY_ENC_IPV6_DST = 6
	TCA_TUNNEL_KEY_ENC_KEY_ID   = 7
	TCA_TUNNEL_KEY_ENC_DST_PORT = 9
	TCA_TUNNEL_KEY_NO_CSUM      = 10
	TCA_TUNNEL_KEY_ENC_TOS      = 12
	TCA_TUNNEL_KEY_ENC_TTL      = 13
	TCA_TUNNEL_KEY_ACT_SET      = 1
	TCA_TUNNEL_KEY_ACT_RELEASE  = 2
)

// police (pkt_cls.h).
const (
	TCA_POLICE_TBF        = 1
	TCA_POLICE_RATE       = 2
	TCA_POLICE_PEAKRATE   = 3
	TCA_POLICE_AVRATE     = 4
	TCA_POLICE_RESULT     = 5
	TCA_POLICE_TM         = 6
	TCA_POLICE_PAD        = 7
	TCA_POLICE_RATE64     = 8
	TCA_POLICE_PEAKRATE64 = 9
	TCA_POLICE_PKTRATE64  = 10
	TCA_POLICE_PKTBURST64 = 11
	// TcPoliceLen is sizeof(struct tc_police).
	TcPoliceLen = 56
	// TC_RTAB_SIZE is the size of a rate table attribute.
	TC_RTAB_SIZE = 1024
)

// TCA_FLOWER_KEY_NUM_OF_VLANS is the number-of-tags key (u8, Linux 5.19+).
const TCA_FLOWER_KEY_NUM_OF_VLANS = 102

// TCA_FLOWER_KEY_MPLS_OPTS is the nested form of the MPLS keys (Linux
// 5.8+): a TCA_FLOWER_KEY_MPLS_OPTS_LSE nest per label stack entry matched,
// each with its depth (1: the top) and fields. The kernel dumps the top
// entry alone in the flat attributes (TCA_FLOWER_KEY_MPLS_TTL and the
// others) and switches to this form when a deeper one is matched.
const (
	TCA_FLOWER_KEY_MPLS_OPTS          = 99
	TCA_FLOWER_KEY_MPLS_OPTS_LSE      = 1
	TCA_FLOWER_KEY_MPLS_OPT_LSE_DEPTH = 1
	TCA_FLOWER_KEY_MPLS_OPT_LSE_TTL   = 2
	TCA_FLOWER_KEY_MPLS_OPT_LSE_BOS   = 3
	TCA_FLOWER_KEY_MPLS_OPT_LSE_TC    = 4
	TCA_FLOWER_KEY_MPLS_OPT_LSE_LABEL = 5
)

// mpls (tc_act/tc_mpls.h).
const (
	TCA_MPLS_TM           = 1
	TCA_MPLS_PARMS        = 2
	TCA_MPLS_PAD          = 3
	TCA_MPLS_PROTO        = 4 // be16
	TCA_MPLS_LABEL        = 5 // u32, host order
	TCA_MPLS_TC           = 6 // u8
	TCA_MPLS_TTL          = 7 // u8
	TCA_MPLS_BOS          = 8 // u8
	TCA_MPLS_ACT_POP      = 1
	TCA_MPLS_ACT_PUSH     = 2
	TCA_MPLS_ACT_MODIFY   = 3
	TCA_MPLS_ACT_DEC_TTL  = 4
	TCA_MPLS_ACT_MAC_PUSH = 5
	// TcMPLSLen is sizeof(struct tc_mpls): tc_gen and m_action.
	TcMPLSLen = TcGenLen + 4
	// MPLS_LABEL_IMPLNULL is the label act_mpls refuses to set.
	MPLS_LABEL_IMPLNULL = 3
)
