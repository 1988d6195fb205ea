package tcflower

import (
	"fmt"

	"github.com/mdlayher/netlink"

	"github.com/nicflow/nicflow/tcflower/internal/nl"
)

// batchSize is how many requests AddBatch sends in one datagram before it
// reads their acknowledgements: few enough that the acks (an error's ack
// carries the request back, with the extended ack) fit the socket's
// receive buffer.
const batchSize = 64

// AddBatch installs the filters fs in block, in order, the way Add does
// but without reading them back: each filter must carry its handle (the
// caller allocates handles, unique in their chain and pref). It sends the
// requests in batches and then reads their acknowledgements, which the
// kernel sends in the order it handled the requests, so a filter costs a
// fraction of an Add. It returns one answer per filter, nil when the
// kernel installed it, else an *Error with the kernel's extended ack.
func (h *Handle) AddBatch(block uint32, fs []*Filter) []error {
	errs := make([]error, len(fs))
	for start := 0; start < len(fs); start += batchSize {
		end := min(start+batchSize, len(fs))
		h.addChunk(block, fs[start:end], errs[start:end])
	}
	// A cached ifindex may belong to a device since re-created under the
	// same name: look the names up again, once, and retry those filters.
	forgot := false
	for i, err := range errs {
		if errorIsNoDevice(err) && hasMirred(fs[i]) {
			if !forgot {
				h.kernelLks.forget()
				forgot = true
			}
			_, errs[i] = h.Add(block, fs[i])
		}
	}
	return errs
}

// addChunk sends one datagram of add requests and reads their acks.
func (h *Handle) addChunk(block uint32, fs []*Filter, errs []error) {
	op := func(f *Filter) string { return "add flower filter " + filterName(block, f) }
	msgs := make([]netlink.Message, 0, len(fs))
	idx := make([]int, 0, len(fs)) // fs index of each message
	for i, f := range fs {
		if f.Handle == 0 {
			errs[i] = fmt.Errorf("%s: a batched filter needs its handle", op(f))
			continue
		}
		body, err := encodeFilterMsg(h.links(), block, f)
		if err != nil {
			errs[i] = fmt.Errorf("%s: %w", op(f), err)
			continue
		}
		msgs = append(msgs, netlink.Message{
			Header: netlink.Header{Type: nl.RTM_NEWTFILTER, Flags: netlink.Request | netlink.Acknowledge | netlink.Create | netlink.Excl},
			Data:   body,
		})
		idx = append(idx, i)
	}
	if len(msgs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	sent, err := h.conn.SendMessages(msgs)
	if err != nil {
		for _, i := range idx {
			errs[i] = opError(op(fs[i]), err)
		}
		return
	}
	// Each request gets one ack, in order. A refusal comes back from
	// Receive as an error without its sequence number: it answers the
	// oldest request not yet answered.
	next := 0
	for next < len(sent) {
		replies, err := h.conn.Receive()
		if err != nil {
			errs[idx[next]] = opError(op(fs[idx[next]]), err)
			next++
			continue
		}
		if len(replies) == 0 {
			for _, i := range idx[next:] {
				errs[i] = fmt.Errorf("%s: no acknowledgement from the kernel", op(fs[i]))
			}
			return
		}
		for _, m := range replies {
			if m.Header.Type != netlink.Error {
				continue
			}
			for j := next; j < len(sent); j++ {
				if sent[j].Header.Sequence == m.Header.Sequence {
					next = j + 1 // requests before j answered already
					break
				}
			}
		}
	}
}
