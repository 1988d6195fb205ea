#!/usr/bin/python3
"""Writes corpus.of: valid OpenFlow 1.3 messages, serialized by os-ken (an
encoder independent of nicflow's), back to back, for the wire fuzz test
(wirefuzz_test.go). Every message is one a switch with ports 1 and 2
accepts in this order without an error. Run it with Debian's python3:

    /usr/bin/python3 test/stress/testdata/gencorpus.py test/stress/testdata/corpus.of
"""
import sys

from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as p


class Datapath:
    ofproto = ofp
    ofproto_parser = p


dp = Datapath()
msgs = []


def add(m):
    msgs.append(m)


def apply(*actions):
    return [p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(actions))]


# Switch configuration and channel state.
add(p.OFPFeaturesRequest(dp))
add(p.OFPGetConfigRequest(dp))
add(p.OFPSetConfig(dp, ofp.OFPC_FRAG_NORMAL, 256))
add(p.OFPGetAsyncRequest(dp))
add(p.OFPSetAsync(dp, [0x3, 0x1], [0x7, 0x7], [0xf, 0x0]))
add(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_EQUAL, 0))
add(p.OFPRoleRequest(dp, ofp.OFPCR_ROLE_NOCHANGE, 0))
add(p.OFPBarrierRequest(dp))
add(p.OFPEchoRequest(dp, b"corpus"))
add(p.OFPQueueGetConfigRequest(dp, 1))
add(p.OFPTableMod(dp, 0, 3))

# Meters and groups first: the flows below refer to them.
add(p.OFPMeterMod(dp, ofp.OFPMC_ADD, ofp.OFPMF_KBPS | ofp.OFPMF_STATS, 1,
                  [p.OFPMeterBandDrop(rate=1000, burst_size=100)]))
add(p.OFPMeterMod(dp, ofp.OFPMC_ADD, ofp.OFPMF_PKTPS | ofp.OFPMF_BURST, 2,
                  [p.OFPMeterBandDscpRemark(rate=10, burst_size=5, prec_level=1)]))
add(p.OFPMeterMod(dp, ofp.OFPMC_MODIFY, ofp.OFPMF_KBPS, 1,
                  [p.OFPMeterBandDrop(rate=2000, burst_size=0)]))
add(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_ALL, 1, [
    p.OFPBucket(actions=[p.OFPActionOutput(1)]),
    p.OFPBucket(actions=[p.OFPActionSetField(vlan_vid=(ofp.OFPVID_PRESENT | 10)), p.OFPActionOutput(2)]),
]))
add(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_SELECT, 2, [
    p.OFPBucket(weight=1, actions=[p.OFPActionOutput(1)]),
    p.OFPBucket(weight=3, actions=[p.OFPActionOutput(2)]),
]))
add(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_FF, 3, [
    p.OFPBucket(watch_port=1, actions=[p.OFPActionOutput(1)]),
    p.OFPBucket(watch_port=2, actions=[p.OFPActionOutput(2)]),
]))
add(p.OFPGroupMod(dp, ofp.OFPGC_ADD, ofp.OFPGT_INDIRECT, 4, [
    p.OFPBucket(actions=[p.OFPActionDecNwTtl(), p.OFPActionOutput(2)]),
]))
add(p.OFPGroupMod(dp, ofp.OFPGC_MODIFY, ofp.OFPGT_INDIRECT, 4, [
    p.OFPBucket(actions=[p.OFPActionOutput(1)]),
]))

# Flows: matches of many fields, every kind of instruction and action.
flows = [
    (0, 100, p.OFPMatch(in_port=1), apply(p.OFPActionOutput(2))),
    (0, 110, p.OFPMatch(in_port=1, eth_type=0x0800, ipv4_src=("10.0.0.0", "255.255.255.0"),
                        ip_proto=6, tcp_dst=80),
     apply(p.OFPActionSetField(ipv4_dst="10.0.0.9"), p.OFPActionOutput(2))),
    (0, 120, p.OFPMatch(eth_dst=("01:00:00:00:00:00", "01:00:00:00:00:00")),
     [p.OFPInstructionGotoTable(1)]),
    (0, 130, p.OFPMatch(vlan_vid=(ofp.OFPVID_PRESENT | 100), vlan_pcp=3),
     apply(p.OFPActionPopVlan(), p.OFPActionGroup(1))),
    (0, 140, p.OFPMatch(eth_type=0x86dd, ipv6_src="2001:db8::1", ip_proto=17, udp_src=53),
     [p.OFPInstructionMeter(1), *apply(p.OFPActionOutput(ofp.OFPP_CONTROLLER, 128))]),
    (0, 150, p.OFPMatch(eth_type=0x0806, arp_op=1, arp_tpa="10.0.0.2"),
     apply(p.OFPActionOutput(ofp.OFPP_FLOOD))),
    (0, 160, p.OFPMatch(eth_type=0x8847, mpls_label=17, mpls_bos=1),
     apply(p.OFPActionPopMpls(0x0800), p.OFPActionOutput(1))),
    (0, 170, p.OFPMatch(in_port=2, eth_type=0x0800),
     apply(p.OFPActionPushMpls(0x8847), p.OFPActionSetField(mpls_label=5),
           p.OFPActionSetMplsTtl(9), p.OFPActionOutput(1))),
    (0, 180, p.OFPMatch(eth_type=0x0800, ip_proto=1, icmpv4_type=8, ip_dscp=10),
     apply(p.OFPActionPushVlan(0x8100), p.OFPActionSetField(vlan_vid=(ofp.OFPVID_PRESENT | 7)),
           p.OFPActionSetQueue(0), p.OFPActionOutput(2))),
    (0, 190, p.OFPMatch(metadata=(0x12, 0xff), tunnel_id=5),
     [p.OFPInstructionWriteMetadata(0x1, 0xff), p.OFPInstructionGotoTable(2)]),
    (1, 10, p.OFPMatch(eth_src="02:00:00:00:00:01"),
     [p.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, [p.OFPActionGroup(3)]),
      p.OFPInstructionActions(ofp.OFPIT_CLEAR_ACTIONS, [])]),
    (1, 20, p.OFPMatch(eth_type=0x0800, ip_proto=6, tcp_flags=0x02),  # the ONF extension EXT-109
     apply(p.OFPActionSetNwTtl(3), p.OFPActionDecNwTtl(), p.OFPActionGroup(2))),
    (2, 0, p.OFPMatch(), apply(p.OFPActionOutput(ofp.OFPP_IN_PORT))),
    (2, 5, p.OFPMatch(eth_type=0x86dd, ip_proto=58, icmpv6_type=135,
                      ipv6_nd_target="2001:db8::2"),
     apply(p.OFPActionGroup(4))),
    (2, 6, p.OFPMatch(eth_type=0x8847, mpls_tc=3),
     apply(p.OFPActionCopyTtlIn(), p.OFPActionDecMplsTtl(), p.OFPActionOutput(2))),
    (3, 7, p.OFPMatch(eth_type=0x88e7, pbb_isid=0x1234),
     apply(p.OFPActionPopPbb(), p.OFPActionOutput(1))),
    (3, 8, p.OFPMatch(eth_type=0x0800, ip_proto=132, sctp_dst=9),
     apply(p.OFPActionPushPbb(0x88e7), p.OFPActionOutput(2))),
]
for table, prio, match, inst in flows:
    add(p.OFPFlowMod(dp, cookie=prio, table_id=table, command=ofp.OFPFC_ADD, priority=prio,
                     buffer_id=ofp.OFP_NO_BUFFER, match=match, instructions=inst,
                     flags=ofp.OFPFF_SEND_FLOW_REM | ofp.OFPFF_CHECK_OVERLAP if prio == 110 else 0,
                     idle_timeout=30 if prio == 100 else 0, hard_timeout=60 if prio == 120 else 0))
add(p.OFPFlowMod(dp, table_id=0, command=ofp.OFPFC_MODIFY, match=p.OFPMatch(in_port=1),
                 instructions=apply(p.OFPActionOutput(1))))
add(p.OFPFlowMod(dp, table_id=0, command=ofp.OFPFC_MODIFY_STRICT, priority=100,
                 match=p.OFPMatch(in_port=1), instructions=apply(p.OFPActionOutput(2))))
add(p.OFPFlowMod(dp, table_id=3, command=ofp.OFPFC_DELETE_STRICT, priority=7,
                 out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=p.OFPMatch(eth_type=0x88e7, pbb_isid=0x1234)))
add(p.OFPFlowMod(dp, table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE, cookie=8, cookie_mask=0xff,
                 out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY, match=p.OFPMatch()))

# Packets out.
frame = bytes.fromhex("ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002")
add(p.OFPPacketOut(dp, ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER, [p.OFPActionOutput(2)], frame))
add(p.OFPPacketOut(dp, ofp.OFP_NO_BUFFER, 1, [p.OFPActionOutput(ofp.OFPP_TABLE)], frame))
add(p.OFPPacketOut(dp, ofp.OFP_NO_BUFFER, ofp.OFPP_CONTROLLER,
                   [p.OFPActionPushVlan(0x8100), p.OFPActionSetField(vlan_vid=(ofp.OFPVID_PRESENT | 3)),
                    p.OFPActionOutput(ofp.OFPP_ALL)], frame))

# Ports (the test gives port 1 this MAC address).
add(p.OFPPortMod(dp, 1, "02:00:00:00:01:01", ofp.OFPPC_NO_PACKET_IN, ofp.OFPPC_NO_PACKET_IN, 0))
add(p.OFPPortMod(dp, 1, "02:00:00:00:01:01", 0, ofp.OFPPC_NO_PACKET_IN, 0))

# Every multipart request.
add(p.OFPDescStatsRequest(dp, 0))
add(p.OFPFlowStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, p.OFPMatch()))
add(p.OFPFlowStatsRequest(dp, 0, 0, 2, ofp.OFPG_ANY, 100, 0xffff, p.OFPMatch(in_port=1)))
add(p.OFPAggregateStatsRequest(dp, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0,
                               p.OFPMatch(eth_type=0x0800)))
add(p.OFPTableStatsRequest(dp, 0))
add(p.OFPPortStatsRequest(dp, 0, ofp.OFPP_ANY))
add(p.OFPPortStatsRequest(dp, 0, 1))
add(p.OFPQueueStatsRequest(dp, 0, ofp.OFPP_ANY, ofp.OFPQ_ALL))
add(p.OFPGroupStatsRequest(dp, 0, ofp.OFPG_ALL))
add(p.OFPGroupDescStatsRequest(dp, 0))
add(p.OFPGroupFeaturesStatsRequest(dp, 0))
add(p.OFPMeterStatsRequest(dp, 0, ofp.OFPM_ALL))
add(p.OFPMeterConfigStatsRequest(dp, 0, 1))
add(p.OFPMeterFeaturesStatsRequest(dp, 0))
add(p.OFPTableFeaturesStatsRequest(dp, 0))
add(p.OFPPortDescStatsRequest(dp, 0))

# Undo: delete every flow, group and meter the corpus added.
add(p.OFPFlowMod(dp, table_id=ofp.OFPTT_ALL, command=ofp.OFPFC_DELETE, out_port=ofp.OFPP_ANY,
                 out_group=ofp.OFPG_ANY, match=p.OFPMatch()))
add(p.OFPGroupMod(dp, ofp.OFPGC_DELETE, 0, ofp.OFPG_ALL, []))
add(p.OFPMeterMod(dp, ofp.OFPMC_DELETE, 0, ofp.OFPM_ALL, []))
add(p.OFPBarrierRequest(dp))

out = bytearray()
for i, m in enumerate(msgs):
    m.set_xid(i + 1)
    m.serialize()
    out += m.buf
with open(sys.argv[1], "wb") as f:
    f.write(out)
print(f"{len(msgs)} messages, {len(out)} bytes")
