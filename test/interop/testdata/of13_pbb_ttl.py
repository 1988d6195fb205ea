"""Drive a switch's passive OpenFlow 1.3 listener with flow mods that
ovs-ofctl cannot send (issue 12): PBB (pbb_isid, push_pbb, pop_pbb), copy
TTL in/out, ipv6_exthdr, in_phy_port, set_field eth_type, ip_proto and
mpls_bos (read-only to ovs-ofctl), and values the switch must refuse. The messages are built by os-ken's OpenFlow 1.3 parser,
an encoder independent of the switch's.

Usage: /usr/bin/python3 of13_pbb_ttl.py HOST PORT

Each flow mod is followed by a barrier; an OFPT_ERROR with its xid is the
switch's answer. Accepted flows are then read back with a flow stats request
and compared with what was sent. Prints one line per case, "ok NAME" or
"FAIL NAME: why", and exits 1 if any case failed.
"""

import socket
import struct
import sys

from os_ken.ofproto import ofproto_parser
from os_ken.ofproto import ofproto_v1_3 as ofp
from os_ken.ofproto import ofproto_v1_3_parser as p


class Datapath:
    """The little of a datapath that os-ken's message classes need."""
    ofproto = ofp
    ofproto_parser = p


DP = Datapath()


def recvn(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed")
        buf += chunk
    return buf


def recv(sock):
    hdr = recvn(sock, 8)
    version, typ, length, xid = struct.unpack("!BBHI", hdr)
    body = recvn(sock, length - 8)
    return ofproto_parser.msg(DP, version, typ, length, xid, hdr + body)


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=20)
        self.xid = 100
        self.send(p.OFPHello(DP))

    def send(self, msg):
        self.xid += 1
        msg.set_xid(self.xid)
        msg.serialize()
        self.sock.sendall(msg.buf)
        return self.xid

    def until(self, xid, done):
        """Reads messages until done(msg) for a message of xid; returns the
        messages of xid (echo requests are answered)."""
        got = []
        while True:
            msg = recv(self.sock)
            if isinstance(msg, p.OFPEchoRequest):
                reply = p.OFPEchoReply(DP, data=msg.data)
                reply.set_xid(msg.xid)
                reply.serialize()
                self.sock.sendall(reply.buf)
                continue
            if msg.xid != xid:
                continue
            got.append(msg)
            if done(msg):
                return got

    def flow_mod(self, fm):
        """Sends fm and a barrier; returns (type, code) of its error or None."""
        xid = self.send(fm)
        self.send(p.OFPBarrierRequest(DP))
        barrier = self.xid
        errors = []
        while True:
            msg = recv(self.sock)
            if isinstance(msg, p.OFPEchoRequest):
                reply = p.OFPEchoReply(DP, data=msg.data)
                reply.set_xid(msg.xid)
                reply.serialize()
                self.sock.sendall(reply.buf)
                continue
            if isinstance(msg, p.OFPErrorMsg) and msg.xid == xid:
                errors.append((msg.type, msg.code))
            if isinstance(msg, p.OFPBarrierReply) and msg.xid == barrier:
                return errors[0] if errors else None

    def flows(self):
        xid = self.send(p.OFPFlowStatsRequest(DP, 0, ofp.OFPTT_ALL, ofp.OFPP_ANY, ofp.OFPG_ANY, 0, 0, p.OFPMatch()))
        out = []
        for msg in self.until(xid, lambda m: not (m.flags & ofp.OFPMPF_REPLY_MORE)):
            out.extend(msg.body)
        return out


def apply(*acts):
    return [p.OFPInstructionActions(ofp.OFPIT_APPLY_ACTIONS, list(acts))]


def write(*acts):
    return [p.OFPInstructionActions(ofp.OFPIT_WRITE_ACTIONS, list(acts))]


OUT2 = p.OFPActionOutput(2)
BAD_ACTION, BAD_MATCH = ofp.OFPET_BAD_ACTION, ofp.OFPET_BAD_MATCH

# name, match, instructions, the expected error (None: accepted) and, for
# accepted flows, the match the switch reports if not the one sent.
CASES = [
    ("pop_pbb on pbb_isid", p.OFPMatch(eth_type=0x88e7, pbb_isid=0x123456), apply(p.OFPActionPopPbb(), OUT2), None, None),
    ("pbb_isid masked", p.OFPMatch(eth_type=0x88e7, pbb_isid=(0x1200, 0xff00)), apply(OUT2), None, None),
    ("push_pbb, set pbb_isid", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionPushPbb(0x88e7), p.OFPActionSetField(pbb_isid=0xabcdef), OUT2), None, None),
    ("push_pbb in write-actions", p.OFPMatch(eth_type=0x86dd), write(p.OFPActionPushPbb(0x88e7), OUT2), None, None),
    ("copy_ttl_in, pop_mpls", p.OFPMatch(eth_type=0x8847, mpls_bos=1), apply(p.OFPActionCopyTtlIn(), p.OFPActionPopMpls(0x0800), OUT2), None, None),
    ("push_mpls, copy_ttl_out", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionPushMpls(0x8847), p.OFPActionCopyTtlOut(), OUT2), None, None),
    ("ipv6_exthdr masked", p.OFPMatch(eth_type=0x86dd, ipv6_exthdr=(0x10, 0x50)), apply(OUT2), None, None),
    ("ipv6_exthdr exact", p.OFPMatch(eth_type=0x86dd, ipv6_exthdr=0x104), apply(OUT2), None, None),
    ("in_phy_port", p.OFPMatch(in_port=1, in_phy_port=1), apply(OUT2), None, p.OFPMatch(in_port=1)),
    ("set eth_type mpls to multicast", p.OFPMatch(eth_type=0x8847), apply(p.OFPActionSetField(eth_type=0x8848), OUT2), None, None),
    ("set eth_type of ipv4 to mpls", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionSetField(eth_type=0x8848), OUT2), None, None),
    ("set mpls_label, mpls_tc", p.OFPMatch(eth_type=0x8848), apply(p.OFPActionSetField(mpls_label=0xfffff), p.OFPActionSetField(mpls_tc=7), OUT2), None, None),
    ("write push_mpls, set_mpls_ttl", p.OFPMatch(eth_type=0x0800), write(p.OFPActionSetMplsTtl(3), p.OFPActionPushMpls(0x8848), OUT2), None, None),
    ("set mpls_bos", p.OFPMatch(eth_type=0x8847, mpls_bos=1), apply(p.OFPActionSetField(mpls_bos=0), OUT2), None, None),
    ("set ip_proto", p.OFPMatch(eth_type=0x0800, ip_proto=6), apply(p.OFPActionSetField(ip_proto=17), OUT2), None, None),
    ("set ip_proto, then udp_dst", p.OFPMatch(eth_type=0x86dd, ip_proto=6), apply(p.OFPActionSetField(ip_proto=17), p.OFPActionSetField(udp_dst=53), OUT2), None, None),
    # refused
    # dec_nw_ttl runs after push_mpls in the action set (OpenFlow 1.3.5 5.10).
    ("write dec_nw_ttl, push_mpls", p.OFPMatch(eth_type=0x0800), write(p.OFPActionDecNwTtl(), p.OFPActionPushMpls(0x8848)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("push_pbb 0x8100", p.OFPMatch(), apply(p.OFPActionPushPbb(0x8100)), (BAD_ACTION, ofp.OFPBAC_BAD_ARGUMENT), None),
    ("copy_ttl_out on ipv4", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionCopyTtlOut()), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("pop_pbb on ipv4", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionPopPbb()), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("pbb_isid without eth_type", p.OFPMatch(pbb_isid=1), apply(OUT2), (BAD_MATCH, ofp.OFPBMC_BAD_PREREQ), None),
    ("in_phy_port other than in_port", p.OFPMatch(in_port=1, in_phy_port=2), apply(OUT2), (BAD_MATCH, ofp.OFPBMC_BAD_VALUE), None),
    ("in_phy_port without in_port", p.OFPMatch(in_phy_port=2), apply(OUT2), (BAD_MATCH, ofp.OFPBMC_BAD_PREREQ), None),
    ("set tcp_dst after ip_proto became udp", p.OFPMatch(eth_type=0x0800, ip_proto=6), apply(p.OFPActionSetField(ip_proto=17), p.OFPActionSetField(tcp_dst=80)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("set ip_proto of arp", p.OFPMatch(eth_type=0x0806), apply(p.OFPActionSetField(ip_proto=17)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("pop_mpls to ipv4 after mpls_bos cleared", p.OFPMatch(eth_type=0x8847, mpls_bos=1), apply(p.OFPActionSetField(mpls_bos=0), p.OFPActionPopMpls(0x0800)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("set mpls_bos beyond 1 bit", p.OFPMatch(eth_type=0x8847), apply(p.OFPActionSetField(mpls_bos=2)), (BAD_ACTION, ofp.OFPBAC_BAD_SET_ARGUMENT), None),
    ("set ipv6_exthdr", p.OFPMatch(eth_type=0x86dd), apply(p.OFPActionSetField(ipv6_exthdr=1)), (BAD_ACTION, ofp.OFPBAC_BAD_SET_TYPE), None),
    ("set eth_type to a vlan tpid", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionSetField(eth_type=0x8100)), (BAD_ACTION, ofp.OFPBAC_BAD_SET_ARGUMENT), None),
    ("set mpls_label after ipv4 became mpls", p.OFPMatch(eth_type=0x0800), apply(p.OFPActionSetField(eth_type=0x8847), p.OFPActionSetField(mpls_label=1)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
    ("mpls_label beyond 20 bits", p.OFPMatch(eth_type=0x8847, mpls_label=0x100000), apply(OUT2), (BAD_MATCH, ofp.OFPBMC_BAD_VALUE), None),
    ("set mpls_label beyond 20 bits", p.OFPMatch(eth_type=0x8847), apply(p.OFPActionSetField(mpls_label=0x100000)), (BAD_ACTION, ofp.OFPBAC_BAD_SET_ARGUMENT), None),
    ("ipv6_exthdr beyond 9 bits", p.OFPMatch(eth_type=0x86dd, ipv6_exthdr=0x200), apply(OUT2), (BAD_MATCH, ofp.OFPBMC_BAD_VALUE), None),
    ("pop_mpls of the bottom label to mpls", p.OFPMatch(eth_type=0x8847, mpls_bos=1), apply(p.OFPActionPopMpls(0x8847)), (BAD_ACTION, ofp.OFPBAC_MATCH_INCONSISTENT), None),
]


def fields(match):
    return sorted((k, v) for k, v in match._fields2)


def main():
    conn = Conn(sys.argv[1], int(sys.argv[2]))
    failed = False
    accepted = {}
    for i, (name, match, instr, want, reported) in enumerate(CASES):
        cookie = 0x1000 + i
        fm = p.OFPFlowMod(DP, cookie=cookie, table_id=0, command=ofp.OFPFC_ADD, priority=100 + i,
                          buffer_id=ofp.OFP_NO_BUFFER, out_port=ofp.OFPP_ANY, out_group=ofp.OFPG_ANY,
                          match=match, instructions=instr)
        got = conn.flow_mod(fm)
        if got != want:
            print("FAIL %s: error %s, want %s" % (name, got, want))
            failed = True
            continue
        if want is None:
            accepted[cookie] = (name, reported or match, instr)
        else:
            print("ok %s (refused: %s)" % (name, want))
    stats = {f.cookie: f for f in conn.flows()}
    for cookie, (name, match, instr) in accepted.items():
        f = stats.get(cookie)
        if f is None:
            print("FAIL %s: not in the flow stats" % name)
            failed = True
            continue
        if fields(f.match) != fields(match):
            print("FAIL %s: match %s, want %s" % (name, fields(f.match), fields(match)))
            failed = True
            continue
        got = [x.to_jsondict() for x in f.instructions]
        want = [x.to_jsondict() for x in instr]
        if got != want:
            print("FAIL %s: instructions %s, want %s" % (name, got, want))
            failed = True
            continue
        print("ok %s" % name)
    extra = set(stats) - set(accepted)
    if extra:
        print("FAIL flows the switch holds but refused: %s" % sorted(extra))
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
