package interop

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
)

// OpenFlow 1.3 constants, spelled out here so the test does not share the
// switch's encoder.
const (
	ofVersion     = 4
	ofptHello     = 0
	ofptError     = 1
	ofptEchoReq   = 2
	ofptEchoReply = 3
	ofptFlowMod   = 14

	ofpetBadRequest  = 1
	ofpetBadMatch    = 4
	ofpbrcBadType    = 1
	ofpbrcBadLen     = 6
	ofpbmcBadField   = 6
	flowModFixedLen  = 48 // ofp_header + ofp_flow_mod up to the match
	ofpNoBuffer      = 0xffffffff
	ofppAny          = 0xffffffff
	ofpgAny          = 0xffffffff
	oxmClassOpenFlow = 0x8000
)

// ofHeader returns an ofp_header.
func ofHeader(typ uint8, length uint16, xid uint32) []byte {
	b := []byte{ofVersion, typ, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], length)
	binary.BigEndian.PutUint32(b[4:], xid)
	return b
}

// flowModAdd returns an OFPFC_ADD flow mod with the given OXM fields in its
// match and no instructions.
func flowModAdd(xid uint32, oxms []byte) []byte {
	body := make([]byte, 0, 64)
	body = binary.BigEndian.AppendUint64(body, 0) // cookie
	body = binary.BigEndian.AppendUint64(body, 0) // cookie mask
	body = append(body, 0, 0)                     // table 0, OFPFC_ADD
	body = binary.BigEndian.AppendUint16(body, 0) // idle timeout
	body = binary.BigEndian.AppendUint16(body, 0) // hard timeout
	body = binary.BigEndian.AppendUint16(body, 100)
	body = binary.BigEndian.AppendUint32(body, ofpNoBuffer)
	body = binary.BigEndian.AppendUint32(body, ofppAny)
	body = binary.BigEndian.AppendUint32(body, ofpgAny)
	body = append(body, 0, 0, 0, 0) // flags, pad
	// ofp_match: type OFPMT_OXM, length without padding, fields, pad to 8.
	body = binary.BigEndian.AppendUint16(body, 1)
	body = binary.BigEndian.AppendUint16(body, uint16(4+len(oxms)))
	body = append(body, oxms...)
	for (4+len(oxms))%8 != 0 {
		oxms = append(oxms, 0)
		body = append(body, 0)
	}
	msg := append(ofHeader(ofptFlowMod, 0, xid), body...)
	binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)))
	return msg
}

// oxm returns one OXM TLV of the OpenFlow basic class.
func oxm(field uint8, value []byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, oxmClassOpenFlow)
	b = append(b, field<<1, uint8(len(value)))
	return append(b, value...)
}

// TestMalformedMessages sends broken messages to a running nicflowd over raw
// TCP; each must be answered with the OFPT_ERROR the spec names, carrying
// the request's xid, and the switch must keep forwarding and answering.
func TestMalformedMessages(t *testing.T) {
	daemontest.Require(t, "ping", "ovs-ofctl")
	th := startTwoHosts(t)
	sw, port, h := th.sw, th.port, th.hosts
	daemontest.MustOfctl(t, "add-flow", sw, "priority=1,in_port=1,actions=output:2")
	daemontest.MustOfctl(t, "add-flow", sw, "priority=1,in_port=2,actions=output:1")
	pingOK(t, h[0], h[1], 2)

	tests := []struct {
		name    string
		msg     []byte
		typ     uint16
		code    uint16
		framing bool // the stream is still framed afterwards: the connection must stay usable
	}{
		{
			name: "truncated header (length 4 < 8)",
			msg:  ofHeader(ofptEchoReq, 4, 0x1001),
			typ:  ofpetBadRequest, code: ofpbrcBadLen,
		},
		{
			name: "bad length (flow mod shorter than its fixed part)",
			msg: func() []byte {
				m := ofHeader(ofptFlowMod, 24, 0x1002)
				return append(m, make([]byte, 16)...)
			}(),
			typ: ofpetBadRequest, code: ofpbrcBadLen, framing: true,
		},
		{
			name: "unknown message type 200",
			msg:  ofHeader(200, 8, 0x1003),
			typ:  ofpetBadRequest, code: ofpbrcBadType, framing: true,
		},
		{
			name: "unknown OXM field 100 in a flow mod match",
			msg:  flowModAdd(0x1004, oxm(100, []byte{1, 2, 3, 4})),
			typ:  ofpetBadMatch, code: ofpbmcBadField, framing: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialOpenFlow(t, port)
			if _, err := c.Write(tt.msg); err != nil {
				t.Fatalf("send: %v", err)
			}
			xid := binary.BigEndian.Uint32(tt.msg[4:])
			hdr, body := readUntil(t, c, func(hdr, _ []byte) bool {
				return hdr[1] == ofptError
			})
			if got := binary.BigEndian.Uint32(hdr[4:]); got != xid {
				t.Errorf("error xid = %#x, want the request's %#x", got, xid)
			}
			if len(body) < 4 {
				t.Fatalf("OFPT_ERROR body of %d bytes, want at least 4", len(body))
			}
			gotType, gotCode := binary.BigEndian.Uint16(body), binary.BigEndian.Uint16(body[2:])
			if gotType != tt.typ || gotCode != tt.code {
				t.Errorf("OFPT_ERROR type=%d code=%d, want type=%d code=%d", gotType, gotCode, tt.typ, tt.code)
			}
			if data := body[4:]; len(data) < 8 || string(data[:8]) != string(tt.msg[:8]) {
				t.Errorf("OFPT_ERROR data %x does not start with the offending message %x", data, tt.msg[:8])
			}
			if tt.framing {
				// The connection still works: an echo request is answered.
				if _, err := c.Write(ofHeader(ofptEchoReq, 8, 0x2000)); err != nil {
					t.Fatalf("send echo request after the error: %v", err)
				}
				readUntil(t, c, func(hdr, _ []byte) bool {
					return hdr[1] == ofptEchoReply && binary.BigEndian.Uint32(hdr[4:]) == 0x2000
				})
			}
		})
	}

	// The switch still forwards and answers.
	pingOK(t, h[0], h[1], 2)
	if got := len(parseFlows(daemontest.MustOfctl(t, "dump-flows", sw))); got != 2 {
		t.Errorf("dump-flows lists %d flows after the malformed messages, want the 2 added before", got)
	}
}

// dialOpenFlow connects to the switch and exchanges HELLOs.
func dialOpenFlow(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatalf("dial switch: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write(ofHeader(ofptHello, 8, 1)); err != nil {
		t.Fatalf("send hello: %v", err)
	}
	hdr, _ := readMsg(t, c)
	if hdr[1] != ofptHello {
		t.Fatalf("first message from the switch has type %d, want OFPT_HELLO", hdr[1])
	}
	return c
}

// readUntil reads messages until match accepts one (answering echo
// requests on the way) and returns it; it fails the test after 5 s.
func readUntil(t *testing.T, c net.Conn, match func(hdr, body []byte) bool) (hdr, body []byte) {
	t.Helper()
	for {
		hdr, body = readMsg(t, c)
		if match(hdr, body) {
			return hdr, body
		}
		if hdr[1] == ofptEchoReq {
			reply := append(ofHeader(ofptEchoReply, uint16(8+len(body)), binary.BigEndian.Uint32(hdr[4:])), body...)
			if _, err := c.Write(reply); err != nil {
				t.Fatalf("send echo reply: %v", err)
			}
		}
	}
}

// readMsg reads one OpenFlow message.
func readMsg(t *testing.T, c net.Conn) (hdr, body []byte) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	hdr = make([]byte, 8)
	if _, err := io.ReadFull(c, hdr); err != nil {
		if errors.Is(err, io.EOF) {
			t.Fatalf("switch closed the connection")
		}
		t.Fatalf("read header: %v", err)
	}
	n := int(binary.BigEndian.Uint16(hdr[2:]))
	if n < 8 {
		t.Fatalf("switch sent a message of length %d", n)
	}
	body = make([]byte, n-8)
	if _, err := io.ReadFull(c, body); err != nil {
		t.Fatalf("read body: %v", err)
	}
	return hdr, body
}
