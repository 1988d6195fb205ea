package vepa

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrNotSupported matches (errors.Is) an *Error whose device or driver
// lacks the operation (EOPNOTSUPP): a NIC without an embedded bridge, a
// driver that cannot switch it to VEPA, a device that is not a bridge port.
var ErrNotSupported = errors.New("operation not supported by the device")

// ErrNotBridgePort is returned by Hairpin for a device that no Linux
// bridge reports as its port.
var ErrNotBridgePort = errors.New("not a bridge port")

// Error is the kernel's refusal of one request about one device: the
// operation, the errno and the extended-ack message the kernel (often the
// driver) attached, empty when it gave none. errors.Is(err, unix.EOPNOTSUPP)
// and the like match Errno; errors.Is(err, ErrNotSupported) matches
// EOPNOTSUPP.
type Error struct {
	Dev     string     // the device's name
	Op      string     // e.g. "set embedded bridge mode to vepa"
	Errno   unix.Errno // the kernel's errno
	Message string     // the kernel's extended ack, if any

	// unsupported replaces Op in the text when the kernel answered
	// EOPNOTSUPP without a message, e.g. "the driver does not support
	// setting the embedded bridge mode".
	unsupported string
}

func (e *Error) Error() string {
	switch {
	case e.Message != "":
		return fmt.Sprintf("dev %s: %s: %s: %v", e.Dev, e.Op, e.Message, e.Errno)
	case e.Errno == unix.EOPNOTSUPP && e.unsupported != "":
		return fmt.Sprintf("dev %s: %s: %v", e.Dev, e.unsupported, e.Errno)
	default:
		return fmt.Sprintf("dev %s: %s: %v", e.Dev, e.Op, e.Errno)
	}
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// Is reports whether target is ErrNotSupported and the errno is EOPNOTSUPP.
func (e *Error) Is(target error) bool {
	return target == ErrNotSupported && e.Errno == unix.EOPNOTSUPP
}

// opError turns a netlink error into an *Error for dev and op (keeping the
// extended ack), or wraps it when it carries no errno.
func opError(dev, op, unsupported string, err error) error {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("dev %s: %s: %w", dev, op, err)
	}
	e := &Error{Dev: dev, Op: op, Errno: errno, unsupported: unsupported}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Message = oe.Message
	}
	return e
}
