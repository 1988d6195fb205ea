// Package tcflower turns OpenFlow rules into Linux tc flower filters and
// installs them.
//
// The translation (Translate) is pure: it maps a pipeline.Flow to a Filter
// spec, with no syscalls, and either expresses the rule exactly or says in
// words why it cannot (*NotExpressibleError, errors.Is ErrNotExpressible).
// The codec (Handle) encodes specs as netlink messages, installs, dumps and
// reads the counters of filters.
//
// # Placement
//
// Every network has one shared tc block; OpenFlow table N is chain N; a
// rule's priority becomes the pref (Pref: 65535 - priority, 65535 clamped to
// 1); every filter has protocol all and matches the ethertype as the flower
// key eth_type; the rule's identity goes into the action cookie
// (EncodeCookie, ParseCookie).
//
// # Match
//
//	in_port               indev (the port's netdev); on a tunnel port also
//	                      enc_dst_ip (local), enc_src_ip (remote), enc_dst_port
//	tunnel_id             enc_key_id (exact, 32 bits)
//	eth_src/eth_dst       src_mac/dst_mac, masked
//	eth_type              eth_type (vlan_ethtype when a VLAN is matched)
//	vlan_vid              NONE: num_of_vlans 0 (Linux 5.19+);
//	                      PRESENT/PRESENT: eth_type 802.1Q;
//	                      VID: eth_type 802.1Q vlan_id VID;
//	                      a tagged match gets a Twin filter with eth_type
//	                      802.1ad (OpenFlow's vlan_vid is the outer tag's,
//	                      whatever its TPID)
//	vlan_pcp              vlan_prio
//	ip_dscp/ip_ecn        ip_tos (DSCP<<2|ECN) with mask
//	ip_proto              ip_proto
//	ipv4/ipv6 src/dst     src_ip/dst_ip, masked
//	tcp/udp/sctp ports    src_port/dst_port, masked (by ip_proto)
//	tcp_flags             tcp_flags, masked
//	icmpv4/icmpv6         type/code (by ip_proto)
//	arp_op/spa/tpa/sha/tha arp_op (8 bits), arp_sip/arp_tip/arp_sha/arp_tha
//	mpls_label/tc/bos     mpls_label, mpls_tc, mpls_bos: the top label stack
//	                      entry, each exact (under eth_type 0x8847/0x8848)
//	(the key's IP TTL)    ip_ttl, masked: no OpenFlow field, but the key
//	                      carries it and the TTL guards match it
//
// metadata, ipv6_flabel, the IPv6 ND fields, pbb_isid (802.1ah frames are
// parsed by the fast path only), ipv6_exthdr (the fast path alone walks
// the extension header chain), a masked in_port, eth_type, ip_proto or
// vlan_pcp, a partial vlan_vid mask, a vlan_vid mask that lets tagged and
// untagged frames through, and a tunnel_id wider than 32 bits are not
// expressible.
//
// Known differences, accepted: a filter matching a VLAN matches one tag in
// front of vlan_ethtype, while OpenFlow's eth_type is the innermost
// ethertype behind any number of tags (double-tagged frames fall through
// to the next filter or the soft tier); flower keeps only the low 8 bits of
// the ARP opcode (opcodes above 255 do not occur); flower does not read the
// ports of a first fragment, which OpenFlow does.
//
// # Instructions and actions
//
// Actions run in this order: the meter (police), tunnel_key unset when the
// rule matches a tunnel port, apply-actions in order, the action set of
// write-actions in the spec's order (pipeline.ActionSet.List), then goto
// chain for goto_table. A packet enters a chain with an empty action set
// (write-actions together with goto_table are not expressible), so
// clear-actions has nothing to clear. Without goto_table, rewrites after the
// last output are dropped, the last output becomes a redirect and a rule
// that outputs nothing ends in gact drop.
//
//	output:P              mirred egress mirror (redirect when last); P must be
//	                      a port of the same eswitch, and in_port must be
//	                      matched: OpenFlow drops output to the ingress port,
//	                      a filter in a shared block would send it back
//	output:IN_PORT        mirred to the indev (in_port must be matched)
//	group:G               ALL (or INDIRECT) group whose buckets each hold one
//	                      output: one mirred per bucket
//	meter M               police first: the meter must have one drop band;
//	                      kb/s -> rate in bytes/s, burst kb -> bytes; pkt/s ->
//	                      pkts_rate; no burst flag: a burst of one second
//	push_vlan             vlan push; the VID and PCP OpenFlow copies from the
//	                      outer tag must be known (vlan_vid=NONE, an exact
//	                      match, or set_field vlan_vid/vlan_pcp after it)
//	pop_vlan              vlan pop
//	set_field vlan_vid/pcp vlan modify (the tag must be pinned by the match or
//	                      a push; on an untagged frame a no-op)
//	set_field eth, ipv4/ipv6 src/dst, ip_dscp/ecn, ipv6_flabel, tcp/udp ports
//	                      one pedit (32-bit words per header) and a csum for
//	                      the IPv4 header and the L4 checksums involved
//	set_nw_ttl            pedit of the TTL/hop limit (+ csum ip4h)
//	dec_nw_ttl            pedit add 0xff to the TTL/hop limit (+ csum ip4h),
//	                      behind a TTL guard (below); a TTL the rule set
//	                      before: a pedit set of one less
//	set_field mpls_label/mpls_tc/mpls_bos, set_mpls_ttl
//	                      act_mpls modify (one per run of them; after a
//	                      push_mpls, its push)
//	dec_mpls_ttl          act_mpls dec_ttl, behind a TTL guard; a known TTL:
//	                      act_mpls modify
//	push_mpls             act_mpls push: the label, tc and TTL OpenFlow gives
//	                      the new entry (copied from the label below; else
//	                      label 0, tc 0 and the IP TTL, 0 without IP) must be
//	                      known and the TTL non-zero: from the match, or set
//	                      by set_field mpls_label/mpls_tc and set_mpls_ttl
//	                      after the push
//	pop_mpls              act_mpls pop with the ethertype of what follows
//	set_field tunnel_id   with output to a tunnel port: tunnel_key set + mirred
//	goto_table T          gact goto chain T, only when table T is complete
//
// Not expressible: output to CONTROLLER, LOCAL, NORMAL, FLOOD, ALL, TABLE,
// to a port off the eswitch, SELECT and FAST_FAILOVER groups,
// write_metadata, set_queue, copy_ttl_in/out (no tc action copies a TTL
// between headers), PBB actions (tc has no 802.1ah action), a TTL
// decrement whose outcome tc cannot know (after pop_mpls, or of the TTL a
// push_mpls copied), set_field of the IP or L4 headers after push_mpls or
// pop_mpls, push_mpls after a push_vlan onto a frame that may be tagged
// (act_mpls writes the MPLS ethertype into the first 2 bytes after the
// MAC addresses, which are then the inner tag's TPID), set_field ip_proto
// (OpenFlow keeps the transport header and updates its checksum for the
// new protocol in the pseudo header; act_csum would compute the new
// protocol's checksum, at its offset; and the IPv6 next header that names
// the upper layer sits behind the extension headers), and set_field of
// other fields (ICMP, ARP, SCTP ports, ND).
//
// # TTL guards
//
// OpenFlow's dec_nw_ttl and dec_mpls_ttl hand a packet whose TTL is 0 or
// 1 to the controller (OFPR_INVALID_TTL) or drop it, and the pipeline
// stops; pedit decrements blindly, act_mpls dec_ttl drops at 0. So a rule
// that decrements a TTL runs in tc only behind a guard: filters in chain
// 0 at GuardPref, in front of every rule, that take every packet whose TTL
// is at most the decrements it may meet in tc (GuardKeys: ip_ttl 0 under
// a mask for IPv4 and IPv6, one mpls_ttl value each for MPLS) and hand it
// to the fast path, which does what OpenFlow says. A guard reads the TTL
// a packet arrives with, so Filter.TTL tells the caller how many times a
// filter decrements the TTL it meets, and whether it rewrites TTLs (set,
// push or pop) for a later chain that decrements: the caller sums the
// decrements along the chains a packet may take and keeps a rewrite in
// front of a decrement out of tc.
//
// Known difference, accepted (the translation is exact for frames with at
// most one VLAN tag, see Keys.Matches): act_mpls push at tc ingress puts
// the label after the Ethernet header and the outer VLAN tag, which the
// kernel keeps out of the packet data, and writes the MPLS ethertype into
// the 2 bytes after the MAC addresses; a frame that arrives with a second
// tag comes out with that tag's TPID overwritten, where OpenFlow puts the
// label after both tags.
//
// act_csum recomputes checksums where OpenFlow's fast path updates them
// incrementally, so a frame with a bad checksum leaves tc with a good one.
// A tcp/udp port rewrite on a rule that does not pin the ports also hits
// later IP fragments (the fast path leaves them alone). In the software
// tc tier, tcp/udp pedit keys need a kernel whose act_pedit finds the L4
// header itself ("act_pedit: Parse L3 Header for L4 offset", 6.4 and
// stable backports): older kernels rewrite at the L3 offset when GRO is
// off.
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/offload/pipeline and
// github.com/nicflow/nicflow/tcflower/..., go.uber.org/zap.
package tcflower
