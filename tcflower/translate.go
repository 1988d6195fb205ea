package tcflower

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// ErrNotExpressible is matched (errors.Is) by every *NotExpressibleError.
var ErrNotExpressible = errors.New("not expressible in tc flower")

// NotExpressibleError says why a rule has no flower form. Reason is in
// words, for the API and the CLI ("action output:CONTROLLER has no flower
// form").
type NotExpressibleError struct {
	Reason string
}

func (e *NotExpressibleError) Error() string { return "not expressible in tc flower: " + e.Reason }

// Is makes errors.Is(err, ErrNotExpressible) true.
func (e *NotExpressibleError) Is(target error) bool { return target == ErrNotExpressible }

func notExpressible(format string, args ...any) error {
	return &NotExpressibleError{Reason: fmt.Sprintf(format, args...)}
}

// Env is what a translation needs to know about the network the rule
// belongs to. Implementations must answer consistently for one Translate
// call (Translate is deterministic given the flow and the Env's answers).
type Env interface {
	// Port describes the OpenFlow port no (in_port, output targets);
	// false: no such port.
	Port(no uint32) (Port, bool)
	// Meter returns meter id (nil: none) and the tc action index of its
	// shared policer (0: give each filter its own policer).
	Meter(id uint32) (m *pipeline.Meter, policeIndex uint32)
	// Group returns group id, nil when there is none.
	Group(id uint32) *pipeline.Group
	// TableComplete reports whether every packet that enters chain t
	// matches an offloaded rule (placement rule 3).
	TableComplete(t uint8) bool
}

// Port is an OpenFlow port as the translation sees it.
type Port struct {
	Name string // the netdev: flower indev and mirred target
	// SameSwitch reports whether the port belongs to the eswitch the
	// network's filters run on, so a mirred to it stays on the switch
	// (placement rule 4).
	SameSwitch bool
	// Tunnel is set for a tunnel port (a vxlan/geneve netdev in external
	// mode): matching it adds its encapsulation keys, output to it sets
	// the tunnel key.
	Tunnel *Tunnel
}

// Tunnel is the encapsulation of a tunnel port.
type Tunnel struct {
	Local   netip.Addr // this host's endpoint: outer source on output, outer destination on input
	Remote  netip.Addr // the peer; invalid: any peer (input only)
	DstPort uint16     // UDP destination port, 0: the device's default
}

// Translate turns flow f into a flower filter spec. It is pure and
// deterministic: no syscalls, the same flow and Env answers give the same
// Filter. It fails with a *NotExpressibleError when some part of the rule
// has no exact flower form (see the package documentation for the
// mapping), or when the rule may not leave the soft tier (an output off
// the eswitch, a goto_table to an incomplete table).
//
// The returned filter has Flags zero; the caller picks the tier.
func Translate(f *pipeline.Flow, env Env) (*Filter, error) {
	return translate(f, env, 0)
}

// TranslateOn turns flow f into the filter that runs it on the ingress of
// port inPort alone (a tc block bound to that port only): the filter
// carries no indev key, since its block implies the ingress port, and it
// is translated as if the rule matched in_port=inPort, so that outputs
// know the ingress port (OpenFlow drops output to it; output:IN_PORT is a
// mirred to it). This is how filters go to hardware: mlx5-class drivers
// refuse an indev key that names another port than the one they are
// called for, and a rule without in_port gets one filter per port. A
// flow that matches another in_port does not apply on inPort: a
// *NotExpressibleError says so.
func TranslateOn(f *pipeline.Flow, env Env, inPort uint32) (*Filter, error) {
	if inPort == 0 {
		return nil, errors.New("translate flow: port 0 is no ingress port")
	}
	return translate(f, env, inPort)
}

func translate(f *pipeline.Flow, env Env, inPort uint32) (*Filter, error) {
	if f == nil || env == nil {
		return nil, errors.New("translate flow: nil flow or env")
	}
	keys, st, err := translateMatch(&f.Match, env, inPort)
	if err != nil {
		return nil, err
	}
	ad := st // the 802.1ad half's state, before the actions change st
	flt, err := translateHalf(f, keys, &st, env)
	if err != nil {
		return nil, err
	}
	if st.vlan.tagged == tagYes && keys.EthType == EthType8021Q {
		// The match pins a tag but not its TPID: a second filter takes
		// the frames whose outer tag is 802.1ad.
		keys.EthType, ad.vlan.tpid = EthType8021AD, EthType8021AD
		if flt.Twin, err = translateHalf(f, keys, &ad, env); err != nil {
			return nil, err
		}
	}
	return flt, nil
}

// translateHalf builds the filter of f with keys, its actions translated
// from what st knows about the frame.
func translateHalf(f *pipeline.Flow, keys Keys, st *flowState, env Env) (*Filter, error) {
	acts, ttl, err := translateInstructions(f.Instr, st, env)
	if err != nil {
		return nil, err
	}
	flt := &Filter{
		Chain:    uint32(f.Table),
		Pref:     Pref(f.Priority),
		Protocol: EthPAll,
		Keys:     keys,
		Actions:  acts,
		TTL:      ttl,
	}
	flt.Cookie = EncodeCookie(CookieInfo{
		Version:  CookieVersion,
		Table:    f.Table,
		FlowID:   f.ID,
		Priority: f.Priority,
		Digest:   Digest(flt),
	})
	return flt, nil
}

// Pref maps an OpenFlow priority to a tc pref: pref = 65534 - priority, so
// a higher priority runs first. Pref 0 asks the kernel to pick one and
// pref 65535 (MissPref) is kept for the filters that hand tc's misses to
// the fast path, so priorities 65535, 65534 and 65533 are clamped to pref 1
// and share it: filters of one pref have no defined order, so placement
// must treat those priorities as one level (two overlapping rules of
// priority 65535 and 65534 in one table cannot both be offloaded). Every
// other priority has a pref of its own.
func Pref(priority uint16) uint16 {
	if priority >= 0xfffd {
		return 1
	}
	return 0xfffe - priority
}

// MissPref is the pref of a network's miss filters: below every rule
// (priority 0 has pref 65534), they catch what no offloaded rule of chain 0
// took and hand it to the fast path.
const MissPref = 0xffff
