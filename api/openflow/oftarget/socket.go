package oftarget

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"time"
)

// SocketState is what a unix socket path (a punix: or unix: target, the
// REST API's socket) holds.
type SocketState int

// The states ProbeSocket tells apart.
const (
	SocketAbsent SocketState = iota // nothing at the path
	SocketStale                     // a socket nothing answers on, left by a process that died
	SocketLive                      // a socket a process serves on
	NotASocket                      // a file of another kind
)

// ProbeSocket reports what is at path, dialing a socket (for at most a
// second) to tell a live one from a stale one. It changes nothing: only a
// SocketStale path may be removed and listened on again.
func ProbeSocket(path string) (SocketState, error) {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return SocketAbsent, nil
	}
	if err != nil {
		return 0, err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return NotASocket, nil
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return SocketStale, nil
	}
	c.Close()
	return SocketLive, nil
}
