package manager

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"

	"github.com/nicflow/nicflow/api/openflow/oftarget"
	"github.com/nicflow/nicflow/api/rest"
)

// mgmtSocket is network name's management socket, RUN_DIR/NAME.mgmt.
func (m *Manager) mgmtSocket(name string) string {
	return filepath.Join(m.cfg.RunDir, name+".mgmt")
}

// listenAddr is one address a network listens on, with the request field
// it comes from.
type listenAddr struct {
	field string
	t     oftarget.Target
}

// listenAddrs are the passive targets of spec: its controllers' ptcp: and
// punix: entries and its management socket (field "name").
func (m *Manager) listenAddrs(spec rest.NetworkSpec) []listenAddr {
	var out []listenAddr
	for i, c := range spec.Controllers {
		t, err := oftarget.Parse(c)
		if err != nil || !t.Passive {
			continue
		}
		out = append(out, listenAddr{fmt.Sprintf("controllers[%d]", i), t})
	}
	return append(out, listenAddr{"name", oftarget.Target{Passive: true, Network: "unix", Address: m.mgmtSocket(spec.Name)}})
}

// sameListener reports whether a and b cannot both listen: the same unix
// path, or the same TCP port on the same or an unspecified address.
func sameListener(a, b oftarget.Target) bool {
	if a.Network != b.Network {
		return false
	}
	if a.Network == "unix" {
		return filepath.Clean(a.Address) == filepath.Clean(b.Address)
	}
	ah, ap, _ := net.SplitHostPort(a.Address)
	bh, bp, _ := net.SplitHostPort(b.Address)
	if ap != bp || ap == "0" {
		return false
	}
	unspec := func(h string) bool { ip := net.ParseIP(h); return h == "" || ip != nil && ip.IsUnspecified() }
	return ah == bh || unspec(ah) || unspec(bh)
}

// checkListeners refuses, naming the field, a passive target of spec that
// cannot be nicflowd's to listen on: a relative punix: path or one whose
// directory does not exist (invalid); nicflowd's own API socket, an
// address another network listens on, or one that anything else holds now
// (conflict). Addresses old (the network's spec before an update) listens
// on are the network's own. The check changes nothing.
func (m *Manager) checkListeners(spec rest.NetworkSpec, old *rest.NetworkSpec) error {
	held := map[oftarget.Target]string{} // another network's listeners -> its name
	m.mu.Lock()
	for name, mn := range m.nets {
		if name == spec.Name {
			continue
		}
		for _, a := range m.listenAddrs(mn.spec) {
			held[a.t] = name
		}
	}
	m.mu.Unlock()
	var own []oftarget.Target
	if old != nil {
		for _, a := range m.listenAddrs(*old) {
			own = append(own, a.t)
		}
	}
	addrs := m.listenAddrs(spec)
	for i, a := range addrs {
		for _, b := range addrs[:i] {
			if sameListener(a.t, b.t) {
				return rest.Invalid(a.field, fmt.Sprintf("%s listens where %s does", a.t, b.field))
			}
		}
		if err := m.checkListener(a, held, own); err != nil {
			return err
		}
	}
	return nil
}

func (m *Manager) checkListener(a listenAddr, held map[oftarget.Target]string, own []oftarget.Target) error {
	t := a.t
	if t.Network == "unix" {
		if !filepath.IsAbs(t.Address) {
			return rest.Invalid(a.field, fmt.Sprintf("%s: the socket path must be absolute", t))
		}
		dir := filepath.Dir(t.Address)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return rest.Invalid(a.field, fmt.Sprintf("%s: directory %s does not exist", t, dir))
		}
		if api := m.cfg.APISocket; api != "" && sameListener(t, oftarget.Target{Network: "unix", Address: api}) {
			return rest.Conflict(a.field, fmt.Sprintf("%s is nicflowd's own API socket", t))
		}
	}
	for h, name := range held {
		if sameListener(t, h) {
			return rest.Conflict(a.field, fmt.Sprintf("%s: network %s listens on %s", t, name, h))
		}
	}
	for _, o := range own {
		if sameListener(t, o) {
			return nil // the network's own, released as it restarts
		}
	}
	if err := probeListen(t); err != nil {
		return rest.Conflict(a.field, fmt.Sprintf("%s: %v", t, err))
	}
	return nil
}

// probeListen reports whether t is held by something else: a unix path
// that exists and is not a socket, or a socket something answers on; a TCP
// address that cannot be bound. It removes nothing.
func probeListen(t oftarget.Target) error {
	if t.Network == "unix" {
		switch state, err := oftarget.ProbeSocket(t.Address); {
		case err != nil:
			return err
		case state == oftarget.NotASocket:
			return errors.New("the path exists and is not a socket")
		case state == oftarget.SocketLive:
			return errors.New("another process is serving on this socket")
		}
		return nil // nothing there, or a stale socket the listener replaces
	}
	l, err := net.Listen("tcp", t.Address)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return errors.New("the address is in use by another process")
		}
		return err
	}
	l.Close()
	return nil
}
