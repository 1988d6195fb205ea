package vepa

import (
	"fmt"
	"sync"

	"github.com/mdlayher/netlink"
	vnl "github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

// Handle talks rtnetlink in one network namespace, fixed when it is opened:
// the bridge family (embedded bridge mode, hairpin) over its own socket and
// message codec, macvlan/macvtap links through vishvananda/netlink. It is
// safe for concurrent use; bridge requests are serialized.
type Handle struct {
	mu   sync.Mutex // guards conn's request/reply exchanges
	conn *netlink.Conn

	links *vnl.Handle // macvlan/macvtap and link lookups; nil in codec-level tests
	// index resolves a device name to its ifindex in the handle's
	// namespace (links.LinkByName; replaced by message-level tests).
	index func(name string) (int32, error)
}

// Open opens a Handle in the network namespace of the calling OS thread
// (the process's namespace unless the caller locked its thread and
// switched it).
func Open() (*Handle, error) { return open(netns.None()) }

// OpenNetNS opens a Handle working in network namespace ns (e.g.
// netns.GetFromName); the handle keeps working there whatever thread uses
// it. The caller keeps ownership of ns.
func OpenNetNS(ns netns.NsHandle) (*Handle, error) {
	if !ns.IsOpen() {
		return nil, fmt.Errorf("open vepa handle: network namespace handle %v is not open", ns)
	}
	return open(ns)
}

func open(ns netns.NsHandle) (*Handle, error) {
	cfg := &netlink.Config{}
	if ns.IsOpen() {
		cfg.NetNS = int(ns)
	}
	c, err := netlink.Dial(unix.NETLINK_ROUTE, cfg)
	if err != nil {
		return nil, fmt.Errorf("open rtnetlink socket: %w", err)
	}
	if err := c.SetOption(netlink.ExtendedAcknowledge, true); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("enable netlink extended acks: %w", err)
	}
	var lh *vnl.Handle
	if ns.IsOpen() {
		lh, err = vnl.NewHandleAt(ns, unix.NETLINK_ROUTE)
	} else {
		lh, err = vnl.NewHandle(unix.NETLINK_ROUTE)
	}
	if err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("open rtnetlink link handle: %w", err)
	}
	h := &Handle{conn: c, links: lh}
	h.index = func(name string) (int32, error) {
		l, err := lh.LinkByName(name)
		if err != nil {
			return 0, fmt.Errorf("dev %s: find link: %w", name, err)
		}
		return int32(l.Attrs().Index), nil
	}
	return h, nil
}

// Close closes the handle's sockets.
func (h *Handle) Close() error {
	if h.links != nil {
		h.links.Close()
	}
	if err := h.conn.Close(); err != nil {
		return fmt.Errorf("close rtnetlink socket: %w", err)
	}
	return nil
}

// setLink sends one RTM_SETLINK request and waits for the kernel's ack.
func (h *Handle) setLink(body []byte) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.conn.Execute(netlink.Message{
		Header: netlink.Header{
			Type:  rtnl.RTMSetLink,
			Flags: netlink.Request | netlink.Acknowledge,
		},
		Data: body,
	})
	return err
}

// dump runs the bridge-family link dump and decodes every message,
// starting over when the kernel flags the dump inconsistent
// (rtnetlink.Dump).
func (h *Handle) dump() ([]rtnl.Link, error) {
	h.mu.Lock()
	msgs, err := rtnetlink.Dump(h.conn, rtnl.RTMGetLink, rtnl.Dump())
	h.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("dump bridge links: %w", err)
	}
	links := make([]rtnl.Link, 0, len(msgs))
	for _, m := range msgs {
		if m.Header.Type != rtnl.RTMNewLink {
			continue
		}
		l, err := rtnl.ParseLink(m.Data)
		if err != nil {
			return nil, fmt.Errorf("dump bridge links: %w", err)
		}
		links = append(links, l)
	}
	return links, nil
}
