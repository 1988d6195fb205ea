package ofwire

import (
	of "github.com/netrack/openflow"
	"github.com/netrack/openflow/ofp"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// MultipartHeaderLen is the multipart header after ofp_header: type,
// flags, pad.
const MultipartHeaderLen = 8

// Multipart flags.
const (
	MultipartRequestMore uint16 = 1 // OFPMPF_REQ_MORE
	MultipartReplyMore   uint16 = 1 // OFPMPF_REPLY_MORE
)

// Multipart is a decoded multipart request or reply header.
type Multipart struct {
	Type  ofp.MultipartType
	Flags uint16
	Body  []byte
}

// DecodeMultipart decodes the body of OFPT_MULTIPART_REQUEST or _REPLY.
func DecodeMultipart(body []byte) (Multipart, error) {
	if len(body) < MultipartHeaderLen {
		return Multipart{}, badLen("multipart body of %d bytes, want at least 8", len(body))
	}
	return Multipart{Type: ofp.MultipartType(be16(body)), Flags: be16(body[2:]), Body: body[MultipartHeaderLen:]}, nil
}

// AppendMultipartRequest appends a whole OFPT_MULTIPART_REQUEST message.
func AppendMultipartRequest(b []byte, xid uint32, t ofp.MultipartType, flags uint16, body []byte) []byte {
	start := len(b)
	b = Header{Version: Version, Type: of.TypeMultipartRequest, Xid: xid}.Append(b)
	b = put16(b, uint16(t))
	b = put16(b, flags)
	b = appendZeros(b, 4)
	b = append(b, body...)
	return finishAt(b, start)
}

// SplitMultipartReply packs reply entries into OFPT_MULTIPART_REPLY
// messages of at most maxLen bytes (MaxMessageLen when 0), each entry
// whole, with OFPMPF_REPLY_MORE on every message but the last. No entries
// give one message with an empty body.
func SplitMultipartReply(xid uint32, t ofp.MultipartType, entries [][]byte, maxLen int) [][]byte {
	if maxLen <= 0 || maxLen > MaxMessageLen {
		maxLen = MaxMessageLen
	}
	var msgs [][]byte
	begin := func() []byte {
		b := Header{Version: Version, Type: of.TypeMultipartReply, Xid: xid}.Append(make([]byte, 0, 1024))
		b = put16(b, uint16(t))
		b = put16(b, 0)
		return appendZeros(b, 4)
	}
	cur := begin()
	const fixed = HeaderLen + MultipartHeaderLen
	for _, e := range entries {
		if len(cur) > fixed && len(cur)+len(e) > maxLen {
			msgs = append(msgs, cur)
			cur = begin()
		}
		cur = append(cur, e...)
	}
	msgs = append(msgs, cur)
	for i, m := range msgs {
		finishAt(m, 0)
		if i < len(msgs)-1 {
			m[HeaderLen+2], m[HeaderLen+3] = 0, byte(MultipartReplyMore)
		}
	}
	return msgs
}

// DecodeFlowStatsRequest decodes the body of an OFPMP_FLOW or
// OFPMP_AGGREGATE request (after the multipart header).
func DecodeFlowStatsRequest(body []byte) (*pipeline.FlowFilter, error) {
	if len(body) < 32+8 {
		return nil, badLen("flow stats request of %d bytes, want at least 40", len(body))
	}
	f := &pipeline.FlowFilter{
		Table:      body[0],
		OutPort:    be32(body[4:]),
		OutGroup:   be32(body[8:]),
		Cookie:     be64(body[16:]),
		CookieMask: be64(body[24:]),
	}
	if f.Table != pipeline.TableAll && int(f.Table) >= pipeline.NumTables {
		return nil, errf(pipeline.ErrBadRequest, BadRequestBadTableID, "flow stats table %d", f.Table)
	}
	m, n, err := DecodeMatch(body[32:])
	if err != nil {
		return nil, err
	}
	if 32+n != len(body) {
		return nil, badLen("flow stats request: %d bytes after the match", len(body)-32-n)
	}
	f.Match = m
	return f, nil
}

// AppendFlowStatsRequest appends an OFPMP_FLOW or OFPMP_AGGREGATE request
// body.
func AppendFlowStatsRequest(b []byte, f *pipeline.FlowFilter) []byte {
	b = append(b, f.Table, 0, 0, 0)
	b = put32(b, f.OutPort)
	b = put32(b, f.OutGroup)
	b = appendZeros(b, 4)
	b = put64(b, f.Cookie)
	b = put64(b, f.CookieMask)
	return AppendMatch(b, &f.Match)
}

// DecodePortRequest decodes a request body holding a port number and 4
// bytes of padding (OFPMP_PORT_STATS, OFPMP_QUEUE) or an id and padding
// (OFPMP_GROUP, OFPMP_METER, OFPMP_METER_CONFIG).
func DecodePortRequest(body []byte) (uint32, error) {
	if len(body) != 8 {
		return 0, badLen("multipart request body of %d bytes, want 8", len(body))
	}
	return be32(body), nil
}

// AppendIDRequest appends a request body of an id and 4 bytes of padding.
func AppendIDRequest(b []byte, id uint32) []byte {
	return appendZeros(put32(b, id), 4)
}
