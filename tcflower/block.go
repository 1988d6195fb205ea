package tcflower

import (
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// Ingress qdisc kinds that carry a shared ingress block.
const (
	qdiscClsact  = "clsact"
	qdiscIngress = "ingress"
	// ingressHandle is the handle of an ingress or clsact qdisc (ffff:).
	ingressHandle = 0xFFFF0000
)

// ingressQdiscMsg addresses the ingress/clsact qdisc of ifindex.
func ingressQdiscMsg(ifindex int) nl.TcMsg {
	return nl.TcMsg{Family: unix.AF_UNSPEC, Ifindex: uint32(ifindex), Parent: nl.TC_H_CLSACT, Handle: ingressHandle}
}

// BindBlock binds the ingress of device ifindex to the shared filter block:
// it adds a clsact qdisc whose TCA_INGRESS_BLOCK is block. It is idempotent:
// a clsact or ingress qdisc already bound to block is left alone. A device
// whose ingress qdisc is bound elsewhere (or to no shared block) is an
// error with Errno EEXIST: the kernel cannot rebind a qdisc's block, the
// caller has to UnbindBlock first.
func (h *Handle) BindBlock(ifindex int, block uint32) error {
	op := fmt.Sprintf("bind ifindex %d to tc block %d", ifindex, block)
	if block == 0 {
		return fmt.Errorf("%s: block 0 is not a shared block", op)
	}
	body := tcMsg(ingressQdiscMsg(ifindex), func(ae *netlink.AttributeEncoder) {
		ae.String(nl.TCA_KIND, qdiscClsact)
		ae.Uint32(nl.TCA_INGRESS_BLOCK, block)
	})
	_, err := h.request(op, nl.RTM_NEWQDISC, netlink.Create|netlink.Excl, body)
	if !isErrno(err, unix.EEXIST) {
		return err
	}
	kind, have, gerr := h.ingressQdisc(ifindex)
	if gerr != nil {
		return fmt.Errorf("%s: %w", op, gerr)
	}
	if (kind == qdiscClsact || kind == qdiscIngress) && have == block {
		return nil
	}
	return &Error{Op: op, Errno: unix.EEXIST, Message: fmt.Sprintf("the device has a %s qdisc bound to block %d", kind, have)}
}

// UnbindBlock removes the clsact (or ingress) qdisc of ifindex, and with it
// the binding to its block. A device without one is left alone.
func (h *Handle) UnbindBlock(ifindex int) error {
	op := fmt.Sprintf("unbind ifindex %d from its tc block", ifindex)
	kind, _, err := h.ingressQdisc(ifindex)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if kind != qdiscClsact && kind != qdiscIngress {
		return nil
	}
	_, err = h.request(op, nl.RTM_DELQDISC, 0, ingressQdiscMsg(ifindex).Append(nil))
	if isErrno(err, unix.ENOENT) {
		return nil // removed meanwhile
	}
	return err
}

// ingressQdisc returns the kind and ingress block of the ingress qdisc of
// ifindex ("" when it has none).
func (h *Handle) ingressQdisc(ifindex int) (kind string, block uint32, err error) {
	op := fmt.Sprintf("get the ingress qdisc of ifindex %d", ifindex)
	m := nl.TcMsg{Family: unix.AF_UNSPEC, Ifindex: uint32(ifindex), Parent: nl.TC_H_INGRESS}
	// The kernel answers a qdisc get only when asked to echo.
	replies, err := h.request(op, nl.RTM_GETQDISC, netlink.Echo, m.Append(nil))
	if isErrno(err, unix.ENOENT) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	for _, r := range replies {
		if r.Header.Type != nl.RTM_NEWQDISC {
			continue
		}
		_, rest, err := nl.ParseTcMsg(r.Data)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", op, err)
		}
		err = rtnetlink.DecodeAttributes(rest, nil, func(ad *netlink.AttributeDecoder) {
			switch ad.Type() {
			case nl.TCA_KIND:
				kind = ad.String()
			case nl.TCA_INGRESS_BLOCK:
				block = ad.Uint32()
			}
		})
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", op, err)
		}
		return kind, block, nil
	}
	return "", 0, nil
}

func isErrno(err error, errno unix.Errno) bool {
	e, ok := err.(*Error)
	return ok && e.Errno == errno
}
