package tcport

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower"
)

// Sweeping: netdevs that are no longer ports of any network (the ports of
// an earlier run, a network's ports before its port list changed) may
// still be bound to a network's shared block, so the network's rules act
// on their traffic; or hold nicflow filters in their own ingress. Sweep
// finds them by the action cookie every nicflow filter carries
// (tcflower.ParseCookie) and takes the filters away; Rebind lets a port
// leave another nicflow block for its network's.

// SweepKernel is the kernel side of Sweep. *tcflower.Handle implements
// it, in the network namespace of its socket.
type SweepKernel interface {
	Links() ([]tcflower.Link, error)
	IngressBlock(ifindex int) (kind string, block uint32, err error)
	DumpIngress(ifindex int) (flower []tcflower.Dumped, other int, err error)
	DeleteIngress(ifindex int, chain uint32, pref uint16, handle uint32) error
	UnbindBlock(ifindex int) error
}

var (
	_ SweepKernel  = (*tcflower.Handle)(nil)
	_ RebindKernel = (*tcflower.Handle)(nil)
)

// Swept is a netdev that Sweep (or Rebind) took nicflow's filters from.
type Swept struct {
	Name    string
	Ifindex int
	// Block is the shared block the netdev was unbound from; 0 when the
	// nicflow filters were in the netdev's own ingress and were deleted
	// one by one.
	Block uint32
	// Filters is the number of nicflow filters the netdev no longer runs:
	// every one of the block's, or those deleted from its own ingress.
	Filters int
	// Others is the number of filters there that are not nicflow's
	// (another cookie, none, another classifier): with a shared block the
	// netdev no longer runs them either; in its own ingress they stay.
	Others int
}

// SweepReport is what Sweep did, for the caller to log.
type SweepReport struct {
	// Checked is the number of netdevs Sweep looked at (those keep did
	// not name).
	Checked int
	// Swept lists the netdevs it took filters from, in ifindex order.
	Swept []Swept
}

// Filters returns the number of nicflow filters the swept netdevs no
// longer run.
func (r SweepReport) Filters() int {
	n := 0
	for _, s := range r.Swept {
		n += s.Filters
	}
	return n
}

// Sweep takes nicflow's filters away from every netdev of k's network
// namespace that keep does not name (a nil keep names none):
//
//   - a netdev whose ingress (clsact or ingress qdisc) is bound to a shared
//     block holding at least one filter whose action cookie
//     tcflower.ParseCookie recognises is unbound from it (UnbindBlock: the
//     qdisc is deleted, with a clsact's egress filters, which nicflow never
//     installs). The kernel frees a shared block, with its filters, when
//     its last binding goes; while kept ports are bound to it, the filters
//     stay for them. Filters of others in the same block are no longer
//     run by the netdev either (Swept.Others counts them).
//   - a netdev whose own ingress (no shared block) holds nicflow filters
//     loses those filters one by one; its qdisc and the filters of others
//     stay (nicflow never creates such a qdisc).
//
// Netdevs without an ingress qdisc, or whose ingress holds no nicflow
// filter, are left alone: a shared block that holds no filter at all (a
// network without a fast path and without rules yet) has nothing that
// says it is nicflow's, and stays bound.
//
// keep must name every port of every network, and Sweep must not run
// while a network binds ports that keep does not name yet: it would take
// them away again. Errors of one netdev, wrapped with its name, do not
// stop the sweep; they come back joined (errors.Join) with the report of
// what was done. A netdev that disappears meanwhile is no error.
func Sweep(k SweepKernel, keep func(ifindex int) bool) (SweepReport, error) {
	var r SweepReport
	links, err := k.Links()
	if err != nil {
		return r, fmt.Errorf("sweep nicflow filters: %w", err)
	}
	var errs []error
	for _, l := range links {
		if keep != nil && keep(l.Index) {
			continue
		}
		r.Checked++
		s, err := sweepLink(k, l)
		if err != nil {
			errs = append(errs, fmt.Errorf("sweep nicflow filters from %s (ifindex %d): %w", l.Name, l.Index, err))
		}
		if s != nil {
			r.Swept = append(r.Swept, *s)
		}
	}
	return r, errors.Join(errs...)
}

// sweepLink sweeps one netdev; it returns what it took (nil: nothing).
func sweepLink(k SweepKernel, l tcflower.Link) (*Swept, error) {
	kind, block, err := k.IngressBlock(l.Index)
	if errors.Is(err, unix.ENODEV) {
		return nil, nil // gone meanwhile
	}
	if err != nil {
		return nil, err
	}
	if kind != tcflower.QdiscClsact && kind != tcflower.QdiscIngress {
		return nil, nil // no ingress filters
	}
	ours, others, err := ingressFilters(k, l.Index)
	if err != nil || len(ours) == 0 {
		return nil, err
	}
	s := &Swept{Name: l.Name, Ifindex: l.Index, Block: block, Filters: len(ours), Others: others}
	if block != 0 {
		if err := k.UnbindBlock(l.Index); err != nil {
			return nil, err
		}
		return s, nil
	}
	var errs []error
	s.Filters = 0
	for _, d := range ours {
		f := &d.Filter
		err := k.DeleteIngress(l.Index, f.Chain, f.Pref, f.Handle)
		switch {
		case err == nil:
			s.Filters++
		case errors.Is(err, unix.ENOENT): // removed meanwhile
		default:
			errs = append(errs, err)
		}
	}
	if s.Filters == 0 {
		s = nil
	}
	return s, errors.Join(errs...)
}

// ingressDumper reads a device's ingress filters.
type ingressDumper interface {
	DumpIngress(ifindex int) (flower []tcflower.Dumped, other int, err error)
}

// ingressFilters reads the ingress filters of ifindex and splits them into
// nicflow's (by cookie) and the number of the others.
func ingressFilters(k ingressDumper, ifindex int) (ours []tcflower.Dumped, others int, err error) {
	flower, other, err := k.DumpIngress(ifindex)
	if err != nil {
		return nil, 0, err
	}
	for _, d := range flower {
		if _, ok := tcflower.ParseCookie(d.Filter.Cookie); ok {
			ours = append(ours, d)
		}
	}
	return ours, len(flower) - len(ours) + other, nil
}

// RebindKernel is the kernel side of Rebind. *tcflower.Handle implements
// it.
type RebindKernel interface {
	BindBlock(ifindex int, block uint32) error
	IngressBlock(ifindex int) (kind string, block uint32, err error)
	DumpIngress(ifindex int) (flower []tcflower.Dumped, other int, err error)
	UnbindBlock(ifindex int) error
}

// Rebind binds the ingress of the netdev dev (ifindex) to block, like
// tcflower's BindBlock, and takes the netdev over from another nicflow
// block: when it is bound to another shared block that holds at least one
// filter and only filters whose cookie tcflower.ParseCookie recognises, it
// unbinds it (the old block and its filters stay for the other netdevs
// bound to it, if any) and binds it to block. It returns what it took
// over, nil when the netdev was free or bound to block already.
//
// It does not take over, and returns BindBlock's error (errors.Is
// unix.EEXIST) with dev's name and the reason, a netdev bound to a block
// that holds filters of others, or no filter at all (nothing says it is
// nicflow's: a caller that knows the block as its own by its index can
// UnbindBlock itself), or whose ingress has no shared block (nicflow never
// binds one like that). Rebind cannot tell a stale nicflow block from the
// block of a network that runs: the caller must not rebind a port another
// running network holds. Between the unbind and the bind the netdev runs
// no filter; when the bind then fails, the netdev stays unbound and both
// what was taken over and the error come back.
func Rebind(k RebindKernel, dev string, ifindex int, block uint32) (*Swept, error) {
	err := k.BindBlock(ifindex, block)
	if !errors.Is(err, unix.EEXIST) {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dev, err)
		}
		return nil, nil
	}
	kind, have, ierr := k.IngressBlock(ifindex)
	if ierr != nil {
		return nil, fmt.Errorf("%s: %w (and reading its ingress qdisc: %v)", dev, err, ierr)
	}
	switch {
	case kind != tcflower.QdiscClsact && kind != tcflower.QdiscIngress:
		// Its qdisc went meanwhile: bind once more.
		if err := k.BindBlock(ifindex, block); err != nil {
			return nil, fmt.Errorf("%s: %w", dev, err)
		}
		return nil, nil
	case have == block:
		return nil, nil // bound meanwhile
	case have == 0:
		return nil, fmt.Errorf("%s: not taken over, its %s qdisc holds filters of its own (nicflow binds shared blocks only): %w", dev, kind, err)
	}
	ours, others, derr := ingressFilters(k, ifindex)
	switch {
	case derr != nil:
		return nil, fmt.Errorf("%s: %w (and reading block %d: %v)", dev, err, have, derr)
	case others > 0:
		return nil, fmt.Errorf("%s: not taken over, block %d holds %d filters that are not nicflow's: %w", dev, have, others, err)
	case len(ours) == 0:
		return nil, fmt.Errorf("%s: not taken over, block %d holds no filter that says it is nicflow's: %w", dev, have, err)
	}
	if err := k.UnbindBlock(ifindex); err != nil {
		return nil, fmt.Errorf("%s: leave nicflow block %d: %w", dev, have, err)
	}
	taken := &Swept{Name: dev, Ifindex: ifindex, Block: have, Filters: len(ours)}
	if err := k.BindBlock(ifindex, block); err != nil {
		return taken, fmt.Errorf("%s: left nicflow block %d, then: %w", dev, have, err)
	}
	return taken, nil
}
