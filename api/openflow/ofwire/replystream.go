package ofwire

import (
	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"
)

// ReplyStream writes a multipart reply as it is made: entries are
// appended to one OFPT_MULTIPART_REPLY message at a time, and each
// message that is full (maxLen bytes, entries kept whole) goes to send
// with OFPMPF_REPLY_MORE before the next is begun; Close sends the last
// one, without the flag. It holds one message, whatever the number of
// entries: the same messages as SplitMultipartReply gives for them all.
//
//	b := s.Buf()
//	b = AppendFlowStats(b, &fs)
//	err := s.Add(b)
type ReplyStream struct {
	xid     uint32
	typ     ofp.MultipartType
	maxLen  int
	send    func([]byte) error
	msg     []byte
	entries int // in msg
	total   int
	err     error
}

// replyFixed is the length of a multipart reply without entries.
const replyFixed = HeaderLen + MultipartHeaderLen

// NewReplyStream begins a reply of type t to xid in messages of at most
// maxLen bytes (MaxMessageLen when 0). send must be done with a message
// when it returns: the stream writes the next one into the same buffer.
func NewReplyStream(xid uint32, t ofp.MultipartType, maxLen int, send func([]byte) error) *ReplyStream {
	if maxLen <= 0 || maxLen > MaxMessageLen {
		maxLen = MaxMessageLen
	}
	s := &ReplyStream{xid: xid, typ: t, maxLen: maxLen, send: send}
	s.msg = s.begin(make([]byte, 0, min(maxLen, 64<<10)+1024))
	return s
}

func (s *ReplyStream) begin(b []byte) []byte {
	b = Header{Version: Version, Type: of.TypeMultipartReply, Xid: s.xid}.Append(b[:0])
	b = put16(b, uint16(s.typ))
	b = put16(b, 0)
	return appendZeros(b, 4)
}

// Buf returns the message being made, to append one entry to and hand
// to Add.
func (s *ReplyStream) Buf() []byte { return s.msg }

// Add takes back the message with one more entry appended. When the
// entry makes it longer than maxLen, the message without it is sent
// with OFPMPF_REPLY_MORE and the entry begins the next. An error from
// send is returned, and again from every later call.
func (s *ReplyStream) Add(b []byte) error {
	if s.err != nil {
		return s.err
	}
	mark := len(s.msg)
	s.msg = b
	s.total++
	if len(b) <= s.maxLen || s.entries == 0 {
		s.entries++
		return nil
	}
	msg := b[:mark]
	finishAt(msg, 0)
	msg[HeaderLen+2], msg[HeaderLen+3] = 0, byte(MultipartReplyMore)
	if s.err = s.send(msg); s.err != nil {
		return s.err
	}
	n := copy(b[replyFixed:], b[mark:]) // the entry moves to the front (memmove)
	s.msg = s.begin(b)[:replyFixed+n]
	s.entries = 1
	return nil
}

// Entries returns how many entries were added.
func (s *ReplyStream) Entries() int { return s.total }

// Close sends the last message (with no entries when none were added).
func (s *ReplyStream) Close() error {
	if s.err != nil {
		return s.err
	}
	finishAt(s.msg, 0)
	s.err = s.send(s.msg)
	return s.err
}
