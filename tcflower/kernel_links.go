package tcflower

import (
	"encoding/binary"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// Link attributes and messages (rtnetlink.h, if_link.h).
const (
	rtmNewLink    = unix.RTM_NEWLINK
	rtmGetLink    = unix.RTM_GETLINK
	iflaIfname    = unix.IFLA_IFNAME
	ifInfoMsgLen  = unix.SizeofIfInfomsg
	ifIndexOffset = 4 // ifi_index in struct ifinfomsg
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
	e := nl.NewEncoder(make([]byte, ifInfoMsgLen))
	e.String(iflaIfname, name)
	n, i, err := l.get(fmt.Sprintf("look up device %q", name), e.Bytes())
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
	b := make([]byte, ifInfoMsgLen)
	binary.NativeEndian.PutUint32(b[ifIndexOffset:], idx)
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
		if m.Header.Type != rtmNewLink || len(m.Data) < ifInfoMsgLen {
			continue
		}
		t, err := nl.Parse(m.Data[ifInfoMsgLen:])
		if err != nil {
			return "", 0, fmt.Errorf("%s: %w", op, err)
		}
		return t.String(iflaIfname), binary.NativeEndian.Uint32(m.Data[ifIndexOffset:]), nil
	}
	return "", 0, fmt.Errorf("%s: no link in the kernel's reply", op)
}
