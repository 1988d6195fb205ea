package rtnetlink

import (
	"errors"
	"fmt"

	"github.com/mdlayher/netlink"
)

// MaxDumpTries bounds how many times Dump starts a dump over after the
// kernel marked it inconsistent.
const MaxDumpTries = 5

// ErrDumpInterrupted is returned (wrapped) by Dump when the kernel kept
// marking the dump inconsistent (NLM_F_DUMP_INTR: the table changed while
// it was being read) through every try.
var ErrDumpInterrupted = errors.New("netlink dump interrupted by concurrent changes")

// Conn is the part of *netlink.Conn that Dump uses.
type Conn interface {
	Execute(m netlink.Message) ([]netlink.Message, error)
}

// Dump sends the dump request typ with body (NLM_F_REQUEST|NLM_F_DUMP) on c
// and returns every message of the answer. When the kernel flags the dump
// NLM_F_DUMP_INTR it starts over, at most MaxDumpTries times in all, and
// then returns an error matching ErrDumpInterrupted. An error of c comes
// back as it is (*netlink.OpError with the errno and the extended ack), for
// the caller to wrap with its operation.
//
// Dump does not serialize: the caller holds whatever guards c's
// request/reply exchanges.
func Dump(c Conn, typ netlink.HeaderType, body []byte) ([]netlink.Message, error) {
	for range MaxDumpTries {
		msgs, err := c.Execute(netlink.Message{
			Header: netlink.Header{Type: typ, Flags: netlink.Request | netlink.Dump},
			Data:   body,
		})
		if err != nil {
			return nil, err
		}
		if !interrupted(msgs) {
			return msgs, nil
		}
	}
	return nil, fmt.Errorf("%w (%d tries)", ErrDumpInterrupted, MaxDumpTries)
}

func interrupted(msgs []netlink.Message) bool {
	for _, m := range msgs {
		if m.Header.Flags&netlink.DumpInterrupted != 0 {
			return true
		}
	}
	return false
}
