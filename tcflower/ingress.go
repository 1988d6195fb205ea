package tcflower

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// This file addresses a device's ingress rather than a shared block: what
// is needed to find and remove nicflow's filters on netdevs that are no
// longer ports of a network (offload/tcport.Sweep).

// Link is a network device of the handle's network namespace.
type Link struct {
	Index int
	Name  string
}

// Links lists the network devices of the handle's network namespace (the
// one its socket lives in, see OpenNetNS), in the kernel's order (by
// ifindex).
func (h *Handle) Links() ([]Link, error) {
	op := "list network devices"
	msgs, err := h.dump(op, rtmGetLink, rtnetlink.IfInfoMsg{}.Append(nil))
	if err != nil {
		return nil, err
	}
	out := make([]Link, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != rtmNewLink {
			continue
		}
		idx, name, err := decodeLinkMsg(m.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", op, err)
		}
		out = append(out, Link{Index: int(idx), Name: name})
	}
	return out, nil
}

// Kinds of ingress qdisc IngressBlock reports.
const (
	QdiscClsact  = qdiscClsact
	QdiscIngress = qdiscIngress
)

// IngressBlock returns the kind of the ingress qdisc of ifindex and the
// shared block its ingress is bound to (0: the device's own filters); kind
// is "" when the device has neither a clsact nor an ingress qdisc. A
// device that does not exist is an *Error with Errno ENODEV.
func (h *Handle) IngressBlock(ifindex int) (kind string, block uint32, err error) {
	return h.ingressQdisc(ifindex)
}

// ingressParent addresses the ingress hook of a device's clsact qdisc,
// TC_H_MAKE(TC_H_CLSACT, TC_H_MIN_INGRESS). An ingress qdisc answers to it
// as well (it has only the one block).
const ingressParent = nl.TC_H_CLSACT&0xFFFF0000 | nl.TC_H_MIN_INGRESS

func ingressMsg(ifindex int, handle, info uint32) nl.TcMsg {
	return nl.TcMsg{Family: unix.AF_UNSPEC, Ifindex: uint32(ifindex), Parent: ingressParent, Handle: handle, Info: info}
}

// DumpIngress reads the filters that run on the ingress of ifindex,
// wherever they are held: in the shared block the device is bound to (the
// same filters Dump of that block returns) or in the device's own block.
// The flower filters come decoded; other counts the filters of other
// classifiers (u32, bpf, matchall, ...), which Dump skips (u32 counts its
// hash tables too). A device without an ingress qdisc, or one that no
// longer exists, has none.
func (h *Handle) DumpIngress(ifindex int) (flower []Dumped, other int, err error) {
	op := fmt.Sprintf("dump the ingress filters of ifindex %d", ifindex)
	h.kernelLks.forget()
	msgs, err := h.dump(op, nl.RTM_GETTFILTER, ingressMsg(ifindex, 0, 0).Append(nil))
	if err != nil {
		return nil, 0, err
	}
	for _, m := range msgs {
		if m.Header.Type != nl.RTM_NEWTFILTER {
			continue
		}
		d, err := decodeFilterMsg(h.links(), m.Data)
		if errors.Is(err, errNotFlower) {
			if hdr, _, herr := nl.ParseTcMsg(m.Data); herr == nil && hdr.Handle != 0 {
				other++ // not the head of a classifier instance
			}
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("%s: %w", op, err)
		}
		if d.Installed.Handle == 0 {
			continue // a chain's head
		}
		flower = append(flower, d)
	}
	return flower, other, nil
}

// DeleteIngress removes one filter from the device's own ingress block. On
// a device bound to a shared block the kernel refuses it (EOPNOTSUPP,
// "This filter block is shared. Please use the block index to manipulate
// the filters"): use Delete or Remove with the block. A filter that does
// not exist is an *Error with Errno ENOENT.
func (h *Handle) DeleteIngress(ifindex int, chain uint32, pref uint16, handle uint32) error {
	op := fmt.Sprintf("delete filter chain %d pref %d handle %#x from the ingress of ifindex %d", chain, pref, handle, ifindex)
	if pref == 0 || handle == 0 {
		return fmt.Errorf("%s: pref and handle must be set", op)
	}
	_, err := h.request(op, nl.RTM_DELTFILTER, 0, chainMsg(ingressMsg(ifindex, handle, nl.Info(pref, 0)), "", chain))
	return err
}
