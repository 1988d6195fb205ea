package tcflower

import (
	"fmt"
	"sync"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// Link attributes and messages (rtnetlink.h, if_link.h).
const (
	rtmNewLink = unix.RTM_NEWLINK
	rtmGetLink = unix.RTM_GETLINK
	iflaIfname = unix.IFLA_IFNAME
)

// kernelLinks resolves device names with RTM_GETLINK on the handle's own
// socket, so names are looked up in the socket's network namespace. It
// caches both directions; the cache is dropped when a request fails with
// ENODEV (a device was re-created under the same name) and before a dump.
type kernelLinks struct {
	h *Handle

	mu     sync.Mutex // guards the maps below
	byName map[string]uint32
	byIdx  map[uint32]string
}

func (l *kernelLinks) forget() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byName, l.byIdx = nil, nil
}

func (l *kernelLinks) remember(name string, idx uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byName == nil {
		l.byName, l.byIdx = map[string]uint32{}, map[uint32]string{}
	}
	l.byName[name], l.byIdx[idx] = idx, name
}

func (l *kernelLinks) linkIndex(name string) (uint32, error) {
	l.mu.Lock()
	idx, ok := l.byName[name]
	l.mu.Unlock()
	if ok {
		return idx, nil
	}
	op := fmt.Sprintf("look up device %q", name)
	body, err := rtnetlink.AppendAttributes(rtnetlink.IfInfoMsg{}.Append(nil), func(ae *netlink.AttributeEncoder) error {
		ae.String(iflaIfname, name)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("%s: %w", op, err)
	}
	n, i, err := l.get(op, body)
	if err != nil {
		return 0, err
	}
	l.remember(n, i)
	return i, nil
}

func (l *kernelLinks) linkName(idx uint32) (string, error) {
	l.mu.Lock()
	name, ok := l.byIdx[idx]
	l.mu.Unlock()
	if ok {
		return name, nil
	}
	b := rtnetlink.IfInfoMsg{Index: int32(idx)}.Append(nil)
	n, i, err := l.get(fmt.Sprintf("look up device %d", idx), b)
	if errorIsNoDevice(err) {
		return "", nil // gone: the action points nowhere
	}
	if err != nil {
		return "", err
	}
	l.remember(n, i)
	return n, nil
}

func errorIsNoDevice(err error) bool { return isErrno(err, unix.ENODEV) }

// get sends RTM_GETLINK and returns the reply's name and index.
func (l *kernelLinks) get(op string, body []byte) (string, uint32, error) {
	replies, err := l.h.request(op, rtmGetLink, 0, body)
	if err != nil {
		return "", 0, err
	}
	for _, m := range replies {
		if m.Header.Type != rtmNewLink {
			continue
		}
		idx, name, err := decodeLinkMsg(m.Data)
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", op, err)
		}
		return name, idx, nil
	}
	return "", 0, fmt.Errorf("%s: no link in the kernel's reply", op)
}

// decodeLinkMsg reads the index and name of an RTM_NEWLINK message.
func decodeLinkMsg(b []byte) (idx uint32, name string, err error) {
	hdr, attrs, err := rtnetlink.ParseIfInfoMsg(b)
	if err != nil {
		return 0, "", err
	}
	err = rtnetlink.DecodeAttributes(attrs, nil, func(ad *netlink.AttributeDecoder) {
		if ad.Type() == iflaIfname {
			name = ad.String()
		}
	})
	return uint32(hdr.Index), name, err
}
