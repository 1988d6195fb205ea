package rest

import (
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"github.com/nicflow/nicflow/api/openflow/oftarget"
)

// DefaultSocketMode is the unix socket's permission: owner and group.
const DefaultSocketMode fs.FileMode = 0o660

// ListenUnix listens on a unix socket at path with the given permission
// (0 means DefaultSocketMode), creating its directory. A stale socket
// left by a process that died is replaced; a socket another process
// still answers on is an error. Closing the listener removes the socket.
func ListenUnix(path string, mode fs.FileMode) (net.Listener, error) {
	if mode == 0 {
		mode = DefaultSocketMode
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	switch state, err := oftarget.ProbeSocket(path); {
	case err != nil:
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	case state == oftarget.NotASocket:
		return nil, fmt.Errorf("listen on %s: the path exists and is not a socket", path)
	case state == oftarget.SocketLive:
		return nil, fmt.Errorf("listen on %s: another process is serving on it", path)
	case state == oftarget.SocketStale:
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, mode); err != nil {
		ln.Close()
		return nil, fmt.Errorf("set mode of %s: %w", path, err)
	}
	return ln, nil
}

// ListenTCP listens on a TCP address ("127.0.0.1:8080"). The API has no
// authentication of its own: bind it to loopback or a management network.
func ListenTCP(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on tcp %s: %w", addr, err)
	}
	return ln, nil
}
