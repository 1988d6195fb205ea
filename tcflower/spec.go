package tcflower

import "net/netip"

// EthPAll is ETH_P_ALL, the tc protocol of every nicflow filter: filters
// that share a pref must share a protocol, so the ethertype is matched by
// the flower key TCA_FLOWER_KEY_ETH_TYPE instead (Keys.EthType).
const EthPAll = 0x0003

// Ethertypes used in keys and actions.
const (
	EthTypeIPv4   = 0x0800
	EthTypeARP    = 0x0806
	EthType8021Q  = 0x8100
	EthType8021AD = 0x88a8
	EthTypeIPv6   = 0x86dd
	EthTypeMPLS   = 0x8847 // MPLS unicast
	EthTypeMPLSMC = 0x8848 // MPLS multicast
)

// isMPLS reports whether et is an MPLS ethertype.
func isMPLS(et uint16) bool { return et == EthTypeMPLS || et == EthTypeMPLSMC }

// Flags are the TCA_FLOWER_FLAGS bits (TCA_CLS_FLAGS_*). Translate leaves
// them zero; the caller sets them for the tier it installs into.
type Flags uint32

// The filter flags.
const (
	FlagSkipHW Flags = 1 << 0 // TCA_CLS_FLAGS_SKIP_HW: kernel software only (tier tc)
	FlagSkipSW Flags = 1 << 1 // TCA_CLS_FLAGS_SKIP_SW: hardware only (tier hw)
)

// Filter is one flower filter: where it sits and what it does. It is a
// plain value: Translate builds it, the codec encodes it, Format renders it.
type Filter struct {
	Chain    uint32 // OpenFlow table N -> chain N
	Pref     uint16 // tc priority: higher OpenFlow priority -> lower pref (see Pref)
	Protocol uint16 // always EthPAll; the key carries eth_type
	Handle   uint32 // 0: let the kernel pick
	Flags    Flags  // SkipSW / SkipHW bits
	Keys     Keys
	Actions  []Action
	// Cookie is the tc action cookie (TCA_ACT_COOKIE) to put on every
	// action: the rule's identity (see EncodeCookie, ParseCookie).
	Cookie []byte
	// TTL is what the filter's actions do to the packet's TTLs, for the
	// TTL guards (see TTLUse). The codec ignores it.
	TTL TTLUse
	// Twin is a second filter the rule needs, set by Translate for a rule
	// that matches the outer VLAN tag: OpenFlow's vlan_vid matches it
	// whatever its TPID (802.1Q or 802.1ad), flower's eth_type key names
	// the TPID. The filter is then the 802.1Q half and Twin the 802.1ad
	// half: same chain and pref (they differ in eth_type, so they never
	// match the same frame), its own actions (a vlan modify keeps the
	// tag's TPID) and cookie. The codec ignores Twin: each half is
	// installed, read and removed on its own.
	Twin *Filter
}

// Keys is a flower match. Every field is optional: a zero mask (or a false
// Has* flag, or a zero EthType/VlanEthType/Indev) means "not matched".
// Values are in host order for integers; addresses and MACs are bytes in
// network order. Key bits outside their mask are zero.
type Keys struct {
	// Indev is the ingress device name (TCA_FLOWER_INDEV): OpenFlow in_port.
	Indev string

	// EthType is TCA_FLOWER_KEY_ETH_TYPE, exact. When it is a VLAN TPID
	// (0x8100, 0x88a8) the frame must carry an outer tag with that TPID,
	// VlanID/VlanPrio constrain that tag and VlanEthType is the ethertype
	// after it. Otherwise it is the innermost ethertype, tagged or not.
	EthType uint16

	DstMAC, DstMACMask [6]byte // TCA_FLOWER_KEY_ETH_DST(_MASK)
	SrcMAC, SrcMACMask [6]byte // TCA_FLOWER_KEY_ETH_SRC(_MASK)

	VlanID      uint16 // TCA_FLOWER_KEY_VLAN_ID: 12 bits, exact
	HasVlanID   bool
	VlanPrio    uint8 // TCA_FLOWER_KEY_VLAN_PRIO: 3 bits, exact
	HasVlanPrio bool
	VlanEthType uint16 // TCA_FLOWER_KEY_VLAN_ETH_TYPE: ethertype after the tag; 0: any

	// NumVlans is TCA_FLOWER_KEY_NUM_OF_VLANS (Linux 5.19+), exact. nicflow
	// uses it only with 0, to say "untagged" (OpenFlow vlan_vid=NONE).
	NumVlans    uint8
	HasNumVlans bool

	IPProto    uint8 // TCA_FLOWER_KEY_IP_PROTO, exact
	HasIPProto bool

	IPTOS, IPTOSMask uint8 // TCA_FLOWER_KEY_IP_TOS(_MASK): DSCP<<2 | ECN (IPv6: traffic class)
	IPTTL, IPTTLMask uint8 // TCA_FLOWER_KEY_IP_TTL(_MASK): the IPv4 TTL or IPv6 hop limit

	// The top MPLS label stack entry (EthType or VlanEthType 0x8847 or
	// 0x8848): TCA_FLOWER_KEY_MPLS_{LABEL,TC,BOS,TTL}, each exact. The
	// kernel dumps a match on deeper entries as TCA_FLOWER_KEY_MPLS_OPTS,
	// which Keys does not express.
	MPLSLabel    uint32 // 20 bits
	HasMPLSLabel bool
	MPLSTC       uint8 // 3 bits
	HasMPLSTC    bool
	MPLSBOS      uint8 // 1 bit
	HasMPLSBOS   bool
	MPLSTTL      uint8
	HasMPLSTTL   bool

	IPv4Src, IPv4SrcMask [4]byte // TCA_FLOWER_KEY_IPV4_SRC(_MASK)
	IPv4Dst, IPv4DstMask [4]byte
	IPv6Src, IPv6SrcMask [16]byte // TCA_FLOWER_KEY_IPV6_SRC(_MASK)
	IPv6Dst, IPv6DstMask [16]byte

	// L4 ports: the codec picks TCA_FLOWER_KEY_{TCP,UDP,SCTP}_{SRC,DST}(_MASK)
	// by IPProto (which is then always set).
	SrcPort, SrcPortMask uint16
	DstPort, DstPortMask uint16

	TCPFlags, TCPFlagsMask uint16 // TCA_FLOWER_KEY_TCP_FLAGS(_MASK): 12 bits

	// ICMP: TCA_FLOWER_KEY_ICMPV4_* when IPProto is 1, ICMPV6_* when 58.
	ICMPType, ICMPTypeMask uint8
	ICMPCode, ICMPCodeMask uint8

	// ARP (EthType or VlanEthType 0x0806): TCA_FLOWER_KEY_ARP_*. The flower
	// opcode is 8 bits.
	ArpOp, ArpOpMask   uint8
	ArpSIP, ArpSIPMask [4]byte
	ArpTIP, ArpTIPMask [4]byte
	ArpSHA, ArpSHAMask [6]byte
	ArpTHA, ArpTHAMask [6]byte

	// Tunnel metadata of a decapsulated packet (TCA_FLOWER_KEY_ENC_*).
	EncKeyID                   uint32 // TCA_FLOWER_KEY_ENC_KEY_ID, exact
	HasEncKeyID                bool
	EncIPv4Src, EncIPv4SrcMask [4]byte
	EncIPv4Dst, EncIPv4DstMask [4]byte
	EncIPv6Src, EncIPv6SrcMask [16]byte
	EncIPv6Dst, EncIPv6DstMask [16]byte
	EncDstPort, EncDstPortMask uint16 // TCA_FLOWER_KEY_ENC_UDP_DST_PORT(_MASK)
}

// L3Type returns the ethertype that selects the L3 keys: VlanEthType when
// EthType is a VLAN TPID, else EthType (0: unknown).
func (k *Keys) L3Type() uint16 {
	if k.EthType == EthType8021Q || k.EthType == EthType8021AD {
		return k.VlanEthType
	}
	return k.EthType
}

// ActionKind is the tc action an Action stands for.
type ActionKind uint8

// The action kinds. Exactly the pointer field of the kind is set.
const (
	KindGact      ActionKind = iota + 1 // "gact": drop, or goto chain
	KindMirred                          // "mirred": egress redirect or mirror
	KindVlan                            // "vlan": push, pop, modify
	KindPedit                           // "pedit": header rewrite (extended keys)
	KindCsum                            // "csum": checksum update
	KindTunnelKey                       // "tunnel_key": set or unset
	KindPolice                          // "police": rate limit, drop on exceed
	KindMPLS                            // "mpls": push, pop, modify, dec_ttl
)

var kindNames = [...]string{
	KindGact: "gact", KindMirred: "mirred", KindVlan: "vlan", KindPedit: "pedit",
	KindCsum: "csum", KindTunnelKey: "tunnel_key", KindPolice: "police", KindMPLS: "mpls",
}

// String returns the tc name of the action kind ("gact", "mirred", ...).
func (k ActionKind) String() string {
	if int(k) < len(kindNames) && kindNames[k] != "" {
		return kindNames[k]
	}
	return "unknown"
}

// Action is one tc action of a filter, run in order.
type Action struct {
	Kind      ActionKind
	Gact      *Gact
	Mirred    *Mirred
	Vlan      *Vlan
	Pedit     *Pedit
	Csum      *Csum
	TunnelKey *TunnelKey
	Police    *Police
	MPLS      *MPLS
}

// Verdict is a gact control action (TC_ACT_*).
type Verdict int32

// The verdicts nicflow uses.
const (
	VerdictOK        Verdict = 0          // TC_ACT_OK
	VerdictShot      Verdict = 2          // TC_ACT_SHOT: drop
	VerdictPipe      Verdict = 3          // TC_ACT_PIPE: continue with the next action
	VerdictTrap      Verdict = 8          // TC_ACT_TRAP: in hardware, hand the packet to the kernel's software path
	VerdictGotoChain Verdict = 0x20000000 // TC_ACT_GOTO_CHAIN: the codec ORs in Gact.Chain
)

// Gact is a generic action: drop (VerdictShot) or goto chain
// (VerdictGotoChain with Chain).
type Gact struct {
	Verdict Verdict
	Chain   uint32
}

// Mirred sends the packet to Dev's egress (TCA_EGRESS_REDIR when Redirect,
// control action TC_ACT_STOLEN) or a copy of it (TCA_EGRESS_MIRROR, control
// action TC_ACT_PIPE). The codec resolves Dev to an ifindex.
type Mirred struct {
	Dev      string
	Redirect bool
}

// VlanOp is TCA_VLAN_ACT_*.
type VlanOp uint8

// The vlan operations.
const (
	VlanPop    VlanOp = 1 // TCA_VLAN_ACT_POP
	VlanPush   VlanOp = 2 // TCA_VLAN_ACT_PUSH
	VlanModify VlanOp = 3 // TCA_VLAN_ACT_MODIFY
)

// Vlan pushes, pops or modifies the outer tag. Push and Modify carry ID
// (TCA_VLAN_PUSH_VLAN_ID), Proto (TCA_VLAN_PUSH_VLAN_PROTOCOL: the TPID;
// modify rewrites the tag's TPID to it) and, when HasPrio,
// TCA_VLAN_PUSH_VLAN_PRIORITY (push always has it).
type Vlan struct {
	Op      VlanOp
	ID      uint16
	Proto   uint16
	Prio    uint8
	HasPrio bool
}

// PeditHeader is TCA_PEDIT_KEY_EX_HDR_TYPE_*: what a pedit key's offset is
// relative to.
type PeditHeader uint16

// The pedit header types nicflow uses.
const (
	PeditEth PeditHeader = 1 // TCA_PEDIT_KEY_EX_HDR_TYPE_ETH
	PeditIP4 PeditHeader = 2 // TCA_PEDIT_KEY_EX_HDR_TYPE_IP4
	PeditIP6 PeditHeader = 3 // TCA_PEDIT_KEY_EX_HDR_TYPE_IP6
	PeditTCP PeditHeader = 4 // TCA_PEDIT_KEY_EX_HDR_TYPE_TCP
	PeditUDP PeditHeader = 5 // TCA_PEDIT_KEY_EX_HDR_TYPE_UDP
)

// Pedit rewrites 32-bit words of the packet, its keys in order (control
// action TC_ACT_PIPE).
type Pedit struct {
	Keys []PeditKey
}

// PeditKey is one 32-bit rewrite, in the kernel's convention: command
// "set" (TCA_PEDIT_KEY_EX_CMD_SET) makes word = (word & Mask) ^ Val;
// command "add" (Add, TCA_PEDIT_KEY_EX_CMD_ADD) makes word = (word & Mask)
// ^ ((word + Val) & ^Mask), the sum taken in the host's byte order: a
// byte-sized field under a one-byte ^Mask gets its own byte plus Val's,
// modulo 256 (adding 0xff decrements it). Mask holds the bits to keep, Val
// the new bits or the addend (zero outside ^Mask). Offset is 4-byte
// aligned, relative to Header. Mask and Val hold the packet's four bytes
// read big-endian: the codec writes them to the tc_pedit_key fields in
// network byte order, so that the kernel's native-order XOR sees packet
// order.
type PeditKey struct {
	Header PeditHeader
	Offset uint32
	Mask   uint32
	Val    uint32
	Add    bool
}

// CsumFlags are TCA_CSUM_UPDATE_FLAG_*.
type CsumFlags uint32

// The checksum update flags.
const (
	CsumIPv4Hdr CsumFlags = 1 << 0 // TCA_CSUM_UPDATE_FLAG_IPV4HDR
	CsumICMP    CsumFlags = 1 << 1 // TCA_CSUM_UPDATE_FLAG_ICMP (ICMPv4 and ICMPv6)
	CsumIGMP    CsumFlags = 1 << 2
	CsumTCP     CsumFlags = 1 << 3
	CsumUDP     CsumFlags = 1 << 4
	CsumUDPLite CsumFlags = 1 << 5
	CsumSCTP    CsumFlags = 1 << 6
)

// Csum recomputes the checksums named by Flags (control action TC_ACT_PIPE).
type Csum struct {
	Flags CsumFlags
}

// TunnelKeyOp is TCA_TUNNEL_KEY_ACT_*.
type TunnelKeyOp uint8

// The tunnel_key operations.
const (
	TunnelKeySet   TunnelKeyOp = 1 // TCA_TUNNEL_KEY_ACT_SET
	TunnelKeyUnset TunnelKeyOp = 2 // TCA_TUNNEL_KEY_ACT_RELEASE
)

// TunnelKey sets the encapsulation metadata that a following mirred to a
// tunnel device uses (Set), or drops the metadata of a decapsulated packet
// (Unset). Src/Dst are both IPv4 or both IPv6.
type TunnelKey struct {
	Op      TunnelKeyOp
	Src     netip.Addr // TCA_TUNNEL_KEY_ENC_IPV{4,6}_SRC
	Dst     netip.Addr // TCA_TUNNEL_KEY_ENC_IPV{4,6}_DST
	KeyID   uint32     // TCA_TUNNEL_KEY_ENC_KEY_ID
	DstPort uint16     // TCA_TUNNEL_KEY_ENC_DST_PORT; 0: the device's default
}

// Police is an OpenFlow meter with one drop band: packets over the rate are
// dropped (exceed TC_ACT_SHOT), the others continue (conform TC_ACT_PIPE).
// Exactly one of Rate (bytes per second, with Burst in bytes) and PktRate
// (packets per second, TCA_POLICE_PKTRATE64, with PktBurst packets) is set.
type Police struct {
	Rate     uint64
	Burst    uint32
	PktRate  uint64
	PktBurst uint64
	// Index is the tc action index shared by every filter of the meter, so
	// they share one token bucket as OpenFlow's rules share the meter;
	// 0: a private policer per filter.
	Index uint32
}

// MPLSOp is TCA_MPLS_ACT_*.
type MPLSOp uint8

// The act_mpls operations.
const (
	MPLSPop    MPLSOp = 1 // TCA_MPLS_ACT_POP
	MPLSPush   MPLSOp = 2 // TCA_MPLS_ACT_PUSH
	MPLSModify MPLSOp = 3 // TCA_MPLS_ACT_MODIFY
	MPLSDecTTL MPLSOp = 4 // TCA_MPLS_ACT_DEC_TTL
)

// MPLS is act_mpls (control action TC_ACT_PIPE) on the outermost label
// stack entry:
//   - Pop removes it; Proto (TCA_MPLS_PROTO, required) is the ethertype of
//     what follows.
//   - Push adds one (after the Ethernet header and the outer VLAN tag,
//     which the kernel keeps out of the packet data at tc ingress); Proto
//     is its ethertype (0x8847 or 0x8848, required), Label and TTL
//     (non-zero) are required, TC optional (0), and BOS, unless given, is
//     set when the packet was not MPLS before.
//   - Modify rewrites the fields given: Label, TC, TTL (0: unchanged),
//     BOS.
//   - DecTTL decrements the TTL, dropping the packet when it reaches 0.
//
// The kernel refuses label 3 (implicit null) in an action.
type MPLS struct {
	Op       MPLSOp
	Proto    uint16
	Label    uint32 // TCA_MPLS_LABEL: 20 bits
	HasLabel bool
	TC       uint8 // TCA_MPLS_TC: 3 bits
	HasTC    bool
	TTL      uint8 // TCA_MPLS_TTL; 0: not set
	BOS      uint8 // TCA_MPLS_BOS: 0 or 1
	HasBOS   bool
}

// TTLClass is a header whose TTL a TTL guard watches.
type TTLClass uint8

// The TTL classes.
const (
	TTLIPv4 TTLClass = iota // the IPv4 TTL
	TTLIPv6                 // the IPv6 hop limit
	TTLMPLS                 // the TTL of the top MPLS label (0x8847 and 0x8848)
	NumTTLClasses
)

var ttlClassNames = [NumTTLClasses]string{"ipv4", "ipv6", "mpls"}

// String names the class ("ipv4", "ipv6", "mpls").
func (c TTLClass) String() string {
	if c < NumTTLClasses {
		return ttlClassNames[c]
	}
	return "unknown"
}

// TTLUse is what a filter's actions do to TTLs, for the TTL guards.
//
// OpenFlow's dec_nw_ttl and dec_mpls_ttl send a packet whose TTL is 0 or
// 1 to the controller (OFPR_INVALID_TTL) or drop it, and stop; tc
// decrements without looking (pedit add) or drops (act_mpls dec_ttl).
// So a filter that decrements may only see packets whose TTL is large
// enough: a TTL guard in front of it (GuardFilter) hands every packet with
// a TTL of at most Dec[class] to the fast path, which does what OpenFlow
// says.
type TTLUse struct {
	// Dec is how many times the filter decrements the TTL of each class
	// that the packet entered its chain with: a packet whose TTL is at
	// most Dec[c] must not reach it.
	Dec [NumTTLClasses]uint8
	// Rewrites reports whether the filter leaves a packet whose TTLs are
	// not those it came with less Dec: it sets a TTL, pushes or pops an
	// MPLS label. A later chain's decrements then act on TTLs that a
	// guard in chain 0, which reads the TTLs packets arrive with, does not
	// know.
	Rewrites bool
}

// Decrements reports whether the filter decrements any TTL.
func (u TTLUse) Decrements() bool { return u.Dec != [NumTTLClasses]uint8{} }
