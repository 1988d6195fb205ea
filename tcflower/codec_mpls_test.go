package tcflower

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// kernelMPLSFilter is a filter with MPLS keys and act_mpls actions as Linux
// 6.1 dumps them (fl_dump_key_mpls, tcf_mpls_dump): the top entry's keys
// in the flat attributes, or with optsDepth > 0 as TCA_FLOWER_KEY_MPLS_OPTS
// with one entry of that depth; every action with TCA_MPLS_PROTO (0x8847
// where none was given), push with the TTL the kernel filled in.
func kernelMPLSFilter(optsDepth uint8) func(o *netlink.AttributeEncoder) {
	return func(o *netlink.AttributeEncoder) {
		o.Bytes(nl.TCA_FLOWER_KEY_ETH_TYPE, []byte{0x88, 0x47})
		if optsDepth == 0 {
			o.Uint8(nl.TCA_FLOWER_KEY_MPLS_TTL, 3)
			o.Uint8(nl.TCA_FLOWER_KEY_MPLS_TC, 2)
			o.Uint32(nl.TCA_FLOWER_KEY_MPLS_LABEL, 100)
			o.Uint8(nl.TCA_FLOWER_KEY_MPLS_BOS, 1)
		} else {
			o.Nested(nl.TCA_FLOWER_KEY_MPLS_OPTS, func(n *netlink.AttributeEncoder) error {
				n.Nested(nl.TCA_FLOWER_KEY_MPLS_OPTS_LSE, func(l *netlink.AttributeEncoder) error {
					l.Uint8(nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_DEPTH, optsDepth)
					l.Uint8(nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_TTL, 3)
					l.Uint8(nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_BOS, 1)
					l.Uint8(nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_TC, 2)
					l.Uint32(nl.TCA_FLOWER_KEY_MPLS_OPT_LSE_LABEL, 100)
					return nil
				})
				return nil
			})
		}
		o.Uint32(nl.TCA_FLOWER_FLAGS, nl.TCA_CLS_FLAGS_SKIP_HW|nl.TCA_CLS_FLAGS_NOT_IN_HW)
		o.Do(nl.TCA_FLOWER_ACT, nested(func(l *netlink.AttributeEncoder) {
			mpls := func(prio uint16, op uint32, extra func(o *netlink.AttributeEncoder)) {
				l.Do(prio, nested(encodeKernelAction(kernelAction{
					kind: "mpls", parms: tcGenBytes(uint32(prio), nl.TC_ACT_PIPE, op), extra: extra,
				})))
			}
			mpls(1, nl.TCA_MPLS_ACT_MODIFY, func(o *netlink.AttributeEncoder) {
				o.Uint32(nl.TCA_MPLS_LABEL, 200)
				o.Uint8(nl.TCA_MPLS_TTL, 9)
				o.Bytes(nl.TCA_MPLS_PROTO, []byte{0x88, 0x47})
			})
			mpls(2, nl.TCA_MPLS_ACT_DEC_TTL, func(o *netlink.AttributeEncoder) {
				o.Bytes(nl.TCA_MPLS_PROTO, []byte{0x88, 0x47})
			})
			mpls(3, nl.TCA_MPLS_ACT_PUSH, func(o *netlink.AttributeEncoder) {
				o.Uint32(nl.TCA_MPLS_LABEL, 16)
				o.Uint8(nl.TCA_MPLS_TTL, 255)
				o.Bytes(nl.TCA_MPLS_PROTO, []byte{0x88, 0x48})
			})
			mpls(4, nl.TCA_MPLS_ACT_POP, func(o *netlink.AttributeEncoder) {
				o.Bytes(nl.TCA_MPLS_PROTO, []byte{0x08, 0x00})
			})
		}))
	}
}

// TestDecodeKernelMPLS reads MPLS keys and act_mpls back as the kernel
// dumps them: both forms of the top entry's keys, the protocol the kernel
// reports for modify and dec_ttl dropped, and a match on a deeper entry
// (not expressible) reported as DecodeErr.
func TestDecodeKernelMPLS(t *testing.T) {
	want := Filter{
		Pref: 5, Protocol: EthPAll, Handle: 1, Flags: FlagSkipHW,
		Keys: Keys{EthType: EthTypeMPLS, MPLSLabel: 100, HasMPLSLabel: true, MPLSTC: 2, HasMPLSTC: true,
			MPLSBOS: 1, HasMPLSBOS: true, MPLSTTL: 3, HasMPLSTTL: true},
		Actions: []Action{
			{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSModify, Label: 200, HasLabel: true, TTL: 9}},
			{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSDecTTL}},
			{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSPush, Proto: EthTypeMPLSMC, Label: 16, HasLabel: true, TTL: 255}},
			{Kind: KindMPLS, MPLS: &MPLS{Op: MPLSPop, Proto: EthTypeIPv4}},
		},
	}
	for _, depth := range []uint8{0, 1} {
		d, err := decodeFilterMsg(testLinks, kernelFilterMsg("flower", 7, 0, 5, 1, kernelMPLSFilter(depth)))
		if err == nil {
			err = d.DecodeErr
		}
		if err != nil {
			t.Fatalf("opts depth %d: decode: %v", depth, err)
		}
		if diff := cmp.Diff(want, d.Filter, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("opts depth %d (-want +got):\n%s", depth, diff)
		}
		// What was read back installs as it is.
		roundTrip(t, &d.Filter)
	}
	d, err := decodeFilterMsg(testLinks, kernelFilterMsg("flower", 7, 0, 5, 1, kernelMPLSFilter(2)))
	if err != nil {
		t.Fatalf("depth 2: %v", err)
	}
	if !errors.Is(d.DecodeErr, errUnsupported) {
		t.Errorf("a match on the second label: DecodeErr = %v, want it unsupported", d.DecodeErr)
	}
}
