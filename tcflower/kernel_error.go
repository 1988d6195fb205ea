package tcflower

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/tcflower/rtnetlink"
)

// Error is the kernel's refusal of one tc request: the operation, the errno
// and the extended-ack message the kernel attached (empty when it gave
// none). errors.Is(err, unix.EOPNOTSUPP) and the like match Errno.
type Error struct {
	Op      string
	Errno   unix.Errno
	Message string
}

func (e *Error) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("%s: %v", e.Op, e.Errno)
	}
	return fmt.Sprintf("%s: %v: %s", e.Op, e.Errno, e.Message)
}

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Errno }

// ErrDumpInterrupted is returned by Dump when the kernel kept marking the
// dump inconsistent (NLM_F_DUMP_INTR) through every retry. It is
// rtnetlink.ErrDumpInterrupted, the one sentinel of the dump loop tcflower
// and vepa share.
var ErrDumpInterrupted = rtnetlink.ErrDumpInterrupted

// opError turns a netlink error into an *Error carrying op, or wraps it with
// op when it holds no errno.
func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return fmt.Errorf("%s: %w", op, err)
	}
	e := &Error{Op: op, Errno: errno}
	var oe *netlink.OpError
	if errors.As(err, &oe) {
		e.Message = oe.Message
	}
	return e
}
