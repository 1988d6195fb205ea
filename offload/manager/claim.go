package manager

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/api/rest"
)

// Netdev claims.
//
// Two nicflowd processes with state and run dirs of their own know nothing
// of each other's networks, and checkPorts sees only its own: the second
// would make the first's uplink or port its own port too (both reading and
// writing its frames, binding it to their tc blocks), or re-create the
// first's vNIC veth under it (AddVeth replaces a leftover of its name). So
// a network claims every netdev it uses, and a nicflowd refuses (409,
// naming the field) a netdev that another one has claimed.
//
// A claim is an abstract unix socket, "@nicflow/netdev/NAME", bound and
// listening while the netdev is used. Abstract socket names are scoped by
// network namespace, as netdev names are: two nicflowds in two namespaces
// never collide, two in one always do, whatever their state files and run
// dirs. The kernel releases the name when the socket closes, so a claim
// dies with its process however that ends (SIGKILL, a crash): there is no
// stale lock to break, and no directory that must be shared and writable
// (a flock in a fixed directory would need both; with separate mount
// namespaces or run dirs they would not meet). Binding is atomic: of two
// that try, one gets EADDRINUSE. The holder answers a connection with a
// line that says who it is (pid, network, state file); the peer
// credentials of the connection (SO_PEERCRED) give its pid even when it
// does not answer.
//
// Claims are by netdev name, the way specs name netdevs: a port whose
// netdev was deleted stays claimed (the network still means it, see
// linkGone), and one that is renamed is not followed. Within one nicflowd
// the networks' own checks (checkPorts) refuse a netdev that another of
// its networks uses; the claims answer only for other processes.

// DefaultClaimPrefix is the abstract socket name of a claim, before the
// netdev's (Config.ClaimPrefix).
const DefaultClaimPrefix = "@nicflow/netdev/"

// claims are the netdev claims of one manager. Safe for concurrent use.
type claims struct {
	// prefix is the claims' socket names before the netdev's.
	prefix string
	// self says who holds them, in the line a prober reads: pid, state
	// file, run dir.
	self string

	mu   sync.Mutex        // guards held
	held map[string]*claim // by netdev name
}

// claim is one netdev's claim: its listening socket and its user.
type claim struct {
	ln    *net.UnixListener
	owner string // "network NAME", "vnic ID"
}

// newClaims returns the claims under prefix; "" claims nothing.
func newClaims(prefix, self string) *claims {
	return &claims{prefix: prefix, self: self, held: map[string]*claim{}}
}

// ClaimedError says that another process holds a netdev's claim.
type ClaimedError struct {
	Netdev string
	// PID is the holder's process id (0: unknown); Holder is what it says
	// it is ("" when it did not answer).
	PID    int
	Holder string
}

func (e *ClaimedError) Error() string {
	who := "another process"
	switch {
	case e.Holder != "":
		who = "another nicflowd (" + e.Holder + ")"
	case e.PID != 0:
		who = fmt.Sprintf("another process (pid %d%s)", e.PID, procComm(e.PID))
	}
	return fmt.Sprintf("netdev %s is in use by %s", e.Netdev, who)
}

// procComm is ", NAME" for process pid's command name, "" when unknown.
func procComm(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", fmt.Sprint(pid), "comm"))
	if err != nil {
		return ""
	}
	return ", " + strings.TrimSpace(string(b))
}

// take claims netdev name for owner. A claim this manager holds already
// is given to owner (the networks' own checks refuse a netdev that two of
// them use). It returns a *ClaimedError when another process holds it.
func (c *claims) take(name, owner string) error {
	if c.prefix == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl, ok := c.held[name]; ok {
		cl.owner = owner
		return nil
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: c.prefix + name, Net: "unix"})
	if errors.Is(err, syscall.EADDRINUSE) {
		return probeClaim(c.prefix, name)
	}
	if err != nil {
		return fmt.Errorf("claim netdev %s: %w", name, err)
	}
	cl := &claim{ln: ln, owner: owner}
	c.held[name] = cl
	go c.serve(name, cl)
	return nil
}

// serve answers each connection to a claim with who holds it, until the
// claim is released.
func (c *claims) serve(name string, cl *claim) {
	for {
		conn, err := cl.ln.Accept()
		if err != nil {
			return // released
		}
		c.mu.Lock()
		line := fmt.Sprintf("%s, %s\n", c.self, cl.owner)
		c.mu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = conn.Write([]byte(line))
		conn.Close()
	}
}

// probeClaim asks the holder of netdev name's claim who it is.
func probeClaim(prefix, name string) error {
	e := &ClaimedError{Netdev: name}
	conn, err := net.DialTimeout("unix", prefix+name, time.Second)
	if err != nil {
		return e // held, by something that does not accept
	}
	defer conn.Close()
	if uc, ok := conn.(*net.UnixConn); ok {
		if raw, err := uc.SyscallConn(); err == nil {
			_ = raw.Control(func(fd uintptr) {
				if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
					e.PID = int(cred.Pid)
				}
			})
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	if line, err := bufio.NewReader(conn).ReadString('\n'); err == nil {
		e.Holder = strings.TrimSpace(line)
	}
	return e
}

// release gives netdev name's claim up.
func (c *claims) release(name string) {
	c.mu.Lock()
	cl, ok := c.held[name]
	delete(c.held, name)
	c.mu.Unlock()
	if ok {
		cl.ln.Close()
	}
}

// sync makes owner's claims the netdevs of want (field by netdev name):
// it takes those it lacks and releases the others it holds. When one is
// held by another process, it releases what it took and keeps what owner
// had, and returns the field and the error.
func (c *claims) sync(owner string, want map[string]string, order []string) (string, error) {
	var took []string
	for _, name := range order {
		c.mu.Lock()
		_, had := c.held[name]
		c.mu.Unlock()
		if err := c.take(name, owner); err != nil {
			for _, t := range took {
				c.release(t)
			}
			return want[name], err
		}
		if !had {
			took = append(took, name)
		}
	}
	c.releaseOwner(owner, want)
	return "", nil
}

// releaseOwner releases owner's claims on netdevs that keep does not name.
func (c *claims) releaseOwner(owner string, keep map[string]string) {
	c.mu.Lock()
	var drop []string
	for name, cl := range c.held {
		if _, ok := keep[name]; !ok && cl.owner == owner {
			drop = append(drop, name)
		}
	}
	c.mu.Unlock()
	for _, name := range drop {
		c.release(name)
	}
}

// releaseAll gives every claim up (the manager shuts down).
func (c *claims) releaseAll() {
	c.mu.Lock()
	names := make([]string, 0, len(c.held))
	for name := range c.held {
		names = append(names, name)
	}
	c.mu.Unlock()
	for _, name := range names {
		c.release(name)
	}
}

// claimsSelf is how a manager's claims say who holds them.
func claimsSelf(cfg Config) string {
	s := fmt.Sprintf("pid %d", os.Getpid())
	if cfg.Store != nil {
		s += ", state " + cfg.Store.Path()
	}
	if cfg.RunDir != "" {
		s += ", run dir " + cfg.RunDir
	}
	return s
}

// networkOwner and vnicOwner name the users of claims.
func networkOwner(name string) string { return "network " + name }
func vnicOwner(id string) string      { return "vnic " + id }

// claimNetwork makes network spec.Name's claims its netdevs: its uplink
// (unless parked) and ports. It answers a netdev another process holds
// with 409 naming the field.
func (m *Manager) claimNetwork(spec rest.NetworkSpec) error {
	want := map[string]string{}
	var order []string
	if spec.Uplink != "" && !parkedUplink(spec) {
		want[spec.Uplink], order = "uplink", append(order, spec.Uplink)
	}
	for i, p := range spec.Ports {
		want[p], order = fmt.Sprintf("ports[%d]", i), append(order, p)
	}
	field, err := m.claims.sync(networkOwner(spec.Name), want, order)
	return claimError(field, err)
}

// claimVNIC claims the netdevs vNIC id's device is named by (its veth
// pair, or its macvlan: see vethNames; a VF is its uplink's, which the
// network claims). A netdev another process holds is answered with 409
// naming the field id.
func (m *Manager) claimVNIC(id string) error {
	host, peer := vethNames(id)
	want := map[string]string{host: "id", peer: "id"}
	field, err := m.claims.sync(vnicOwner(id), want, []string{host, peer})
	return claimError(field, err)
}

// releaseVNIC gives vNIC id's claims up (it is detached).
func (m *Manager) releaseVNIC(id string) { m.claims.releaseOwner(vnicOwner(id), nil) }

// releaseNetwork gives network name's claims up (it is deleted).
func (m *Manager) releaseNetwork(name string) { m.claims.releaseOwner(networkOwner(name), nil) }

// claimError is err as the API answers it: 409 naming field when another
// process holds the netdev.
func claimError(field string, err error) error {
	var ce *ClaimedError
	if errors.As(err, &ce) {
		return rest.Conflict(field, ce.Error())
	}
	return err
}
