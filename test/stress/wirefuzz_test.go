package stress

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/test/daemontest"
)

// OpenFlow 1.3 numbers, spelled out here so that the fuzz test checks the
// switch against the spec and not against the switch's own encoder.
const (
	ofVersion  = 4
	ofHdrLen   = 8
	ofErrorLen = 64 // an error's data: at least 64 bytes of the request (or all of it)

	ofptHello          = 0
	ofptError          = 1
	ofptEchoRequest    = 2
	ofptEchoReply      = 3
	ofptFeaturesReq    = 5
	ofptGetConfigReq   = 7
	ofptPacketIn       = 10
	ofptFlowRemoved    = 11
	ofptPortStatus     = 12
	ofptMultipartReq   = 18
	ofptMultipartReply = 19
	ofptBarrierReq     = 20
	ofptQueueConfigReq = 22
	ofptRoleReq        = 24
	ofptGetAsyncReq    = 26
	ofptMaxType        = 29 // OFPT_METER_MOD

	ofpetHelloFailed  = 0
	ofpetBadRequest   = 1
	ofpetMax          = 13 // OFPET_TABLE_FEATURES_FAILED
	ofpetExperimenter = 0xffff
	ofpbrcBadVersion  = 0
	ofpbrcBadLen      = 6
	ofpHelloBitmap    = 1 // OFPHET_VERSIONBITMAP
)

// replyTo maps the requests that have a reply to their reply type.
var replyTo = map[uint8]uint8{
	ofptEchoRequest:    ofptEchoReply,
	ofptFeaturesReq:    ofptFeaturesReq + 1,
	ofptGetConfigReq:   ofptGetConfigReq + 1,
	ofptMultipartReq:   ofptMultipartReply,
	ofptBarrierReq:     ofptBarrierReq + 1,
	ofptQueueConfigReq: ofptQueueConfigReq + 1,
	ofptRoleReq:        ofptRoleReq + 1,
	ofptGetAsyncReq:    ofptGetAsyncReq + 1,
}

// wireFuzzCases is the default number of fuzz cases (NICFLOW_FUZZ_CASES).
const wireFuzzCases = 10000

// fuzzParams reads the seed and the case count from the environment; the
// seed defaults to a fixed one so that CI runs the same cases every time.
func fuzzParams(t *testing.T, cases int) (seed uint64, n int) {
	t.Helper()
	seed, n = 14, cases
	if s := os.Getenv("NICFLOW_FUZZ_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 0, 64)
		if err != nil {
			t.Fatalf("NICFLOW_FUZZ_SEED=%q: %v", s, err)
		}
		seed = v
	}
	if s := os.Getenv("NICFLOW_FUZZ_CASES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("NICFLOW_FUZZ_CASES=%q: want a count", s)
		}
		n = v
	}
	t.Logf("seed %d, %d cases (NICFLOW_FUZZ_SEED=%d repeats this run)", seed, n, seed)
	return seed, n
}

// TestWireFuzz sends nicflowd valid OpenFlow 1.3 messages (the os-ken
// corpus, each must be accepted), then seeded mutations of them (bit
// flips, inner length fields changed, truncation, extension, splices,
// random type and version bytes) and random messages, each followed by an
// ECHO_REQUEST. Whatever answers a message must be well-formed: an
// OFPT_ERROR of a known type carrying the message's xid and at least its
// first 64 bytes, or the reply its request type calls for, and not both;
// then the ECHO_REPLY with the echo's xid must come. The channel may close
// only where the spec says so (a length below 8, after BAD_LEN), and a
// new channel's first message is answered as the spec's version
// negotiation says. nicflowd must not exit or log a panic.
func TestWireFuzz(t *testing.T) {
	daemontest.Require(t, "ovs-ofctl")
	h := newHosts(t, 2)
	port := daemontest.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	d := startDaemon(t, "info", "--port", h[0].Port, "--port", h[1].Port,
		"--fail-mode", "secure", "--offload", "off", "--listen", fmt.Sprintf("ptcp:%d:127.0.0.1", port))
	corpus := readCorpus(t)
	seed, cases := fuzzParams(t, wireFuzzCases)
	rng := rand.New(rand.NewPCG(seed, 0x0f13))

	ch := dialChannel(t, addr)
	defer func() { ch.close() }()

	t.Run("corpus", func(t *testing.T) {
		for i, msg := range corpus {
			res := ch.exchange(msg, uint32(0xec000000+i))
			if res.err != nil {
				t.Fatalf("corpus message %d (type %d): %v\n%s", i, msg[1], res.err, hex.Dump(msg))
			}
			if res.errMsg != nil {
				t.Errorf("corpus message %d (type %d) answered with error type %d code %d: %s\n%s", i, msg[1],
					be16(res.errMsg[8:]), be16(res.errMsg[10:]), printable(res.errMsg[12:]), hex.Dump(msg))
			}
		}
	})

	var failures int
	fail := func(i int, msg []byte, how string, err error) {
		t.Helper()
		failures++
		t.Errorf("case %d (seed %d, %s): %v\nmessage:\n%s", i, seed, how, err, hex.Dump(msg))
		if failures >= 20 {
			t.Fatalf("stopping after %d failures", failures)
		}
	}
	start := time.Now()
	counts, answers := map[string]int{}, map[string]int{}
	for i := range cases {
		if !d.Alive() {
			t.Fatalf("nicflowd exited at case %d: %v", i, d.ExitErr())
		}
		if i%250 == 0 && i > 0 {
			// What the stretch's accepted messages made must read back:
			// ovs-ofctl, a decoder independent of nicflow's, parses the
			// flows, groups and meters.
			for _, cmd := range []string{"dump-flows", "dump-groups", "dump-meters"} {
				if out, err := daemontest.Ofctl(cmd, d.Mgmt()); err != nil {
					fail(i, nil, "state after the cases before", fmt.Errorf("%v\n%s", err, out))
				}
			}
			// A fresh channel (role equal again), and the flow table,
			// groups and meters emptied, so that each stretch starts
			// alike and the tables stay small.
			ch.close()
			ch = dialChannel(t, addr)
			for _, msg := range corpus[len(corpus)-4:] {
				if res := ch.exchange(msg, 0xec000000); res.err != nil || res.errMsg != nil {
					t.Fatalf("emptying the tables after case %d: %v %x", i, res.err, res.errMsg)
				}
			}
		}
		if i%50 == 49 {
			msg, how := handshakeCase(rng, corpus)
			counts["handshake"]++
			if err := handshake(addr, msg, uint32(0xec000000+i)); err != nil {
				fail(i, msg, "first message "+how, err)
			}
			continue
		}
		msg, how := mutate(rng, corpus)
		counts[strings.SplitN(how, "+", 2)[0]]++
		res := ch.exchange(msg, uint32(0xec000000+i))
		switch {
		case res.errMsg != nil:
			answers["error"]++
		case res.replies > 0:
			answers["reply"]++
		default:
			answers["none"]++
		}
		switch {
		case res.err != nil:
			fail(i, msg, how, res.err)
		case res.closed:
			// Allowed only after BAD_LEN for a length below 8.
			if be16(msg[2:]) >= ofHdrLen {
				fail(i, msg, how, errors.New("the switch closed the channel"))
			}
		default:
			if be16(msg[2:]) < ofHdrLen {
				fail(i, msg, how, errors.New("a message with a length below 8 did not close the channel"))
			}
		}
		if res.closed || res.err != nil {
			ch.close()
			ch = dialChannel(t, addr)
		}
	}
	t.Logf("%d cases in %v: %v; answered by %v", cases, time.Since(start).Round(time.Millisecond), counts, answers)
	if !d.Alive() {
		t.Fatalf("nicflowd exited: %v", d.ExitErr())
	}
}

// readCorpus reads testdata/corpus.of (made by testdata/gencorpus.py):
// OpenFlow messages back to back.
func readCorpus(t *testing.T) [][]byte {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus.of")
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for len(b) > 0 {
		if len(b) < ofHdrLen || int(be16(b[2:])) < ofHdrLen || int(be16(b[2:])) > len(b) {
			t.Fatalf("testdata/corpus.of: bad message at offset %d", len(msgs))
		}
		n := int(be16(b[2:]))
		msgs = append(msgs, b[:n:n])
		b = b[n:]
	}
	if len(msgs) < 20 {
		t.Fatalf("testdata/corpus.of holds %d messages", len(msgs))
	}
	return msgs
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }

// printable is an error's data as text when it is text (HELLO_FAILED).
func printable(b []byte) string {
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			return hex.EncodeToString(b)
		}
	}
	return string(b)
}

// ofMessage builds a message of type typ with body; the length field is
// set from the body.
func ofMessage(version, typ uint8, xid uint32, body []byte) []byte {
	b := make([]byte, ofHdrLen, ofHdrLen+len(body))
	b[0], b[1] = version, typ
	binary.BigEndian.PutUint16(b[2:], uint16(ofHdrLen+len(body)))
	binary.BigEndian.PutUint32(b[4:], xid)
	return append(b, body...)
}

// channel is an OpenFlow channel to the switch, past the handshake.
type channel struct {
	nc net.Conn
	r  *bufio.Reader
}

// dialChannel connects and exchanges HELLOs.
func dialChannel(t *testing.T, addr string) *channel {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatalf("connect to the switch: %v", err)
	}
	ch := &channel{nc: nc, r: bufio.NewReader(nc)}
	hello := ofMessage(ofVersion, ofptHello, 1, []byte{0, ofpHelloBitmap, 0, 8, 0, 0, 0, 1 << ofVersion})
	if _, err := nc.Write(hello); err != nil {
		t.Fatalf("send HELLO: %v", err)
	}
	m, err := ch.read()
	if err != nil {
		t.Fatalf("read the switch's HELLO: %v", err)
	}
	if m[0] != ofVersion || m[1] != ofptHello {
		t.Fatalf("the switch's first message is version %d type %d, want a HELLO of version 4", m[0], m[1])
	}
	return ch
}

func (ch *channel) close() { ch.nc.Close() }

// read reads one message within 10 seconds.
func (ch *channel) read() ([]byte, error) {
	ch.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	hdr := make([]byte, ofHdrLen)
	if _, err := io.ReadFull(ch.r, hdr); err != nil {
		return nil, err
	}
	n := int(be16(hdr[2:]))
	if n < ofHdrLen {
		return nil, fmt.Errorf("the switch sent a message of length %d", n)
	}
	if hdr[0] != ofVersion {
		return nil, fmt.Errorf("the switch sent a message of version %d", hdr[0])
	}
	msg := make([]byte, n)
	copy(msg, hdr)
	if _, err := io.ReadFull(ch.r, msg[ofHdrLen:]); err != nil {
		return nil, fmt.Errorf("read a message body: %w", err)
	}
	return msg, nil
}

// result is what a message got.
type result struct {
	errMsg  []byte // the OFPT_ERROR that answered it
	replies int    // the reply messages that answered it
	closed  bool   // the switch closed the channel after answering
	err     error  // something the spec does not allow
}

// exchange sends msg and an ECHO_REQUEST with xid echoXid, and reads until
// the ECHO_REPLY, checking every message that comes before it.
func (ch *channel) exchange(msg []byte, echoXid uint32) result {
	var res result
	xid := be32(msg[4:])
	echo := ofMessage(ofVersion, ofptEchoRequest, echoXid, []byte("fuzz"))
	short := be16(msg[2:]) < ofHdrLen
	out := msg
	if !short {
		out = append(append([]byte(nil), msg...), echo...)
	}
	if _, err := ch.nc.Write(out); err != nil {
		res.err = fmt.Errorf("send: %w", err)
		return res
	}
	for {
		m, err := ch.read()
		if err != nil {
			if (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || isReset(err)) && res.errMsg != nil {
				res.closed = true
				if !short {
					res.err = fmt.Errorf("the channel closed after error type %d code %d: %s", be16(res.errMsg[8:]), be16(res.errMsg[10:]), printable(res.errMsg[12:]))
				}
				return res
			}
			res.err = fmt.Errorf("no ECHO_REPLY: %w", err)
			return res
		}
		mx, mt := be32(m[4:]), m[1]
		switch {
		case mt == ofptEchoReply && mx == echoXid:
			if !bytes.Equal(m[ofHdrLen:], []byte("fuzz")) {
				res.err = fmt.Errorf("ECHO_REPLY carries %q, want %q", m[ofHdrLen:], "fuzz")
			}
			if short {
				res.err = errors.New("a message with a length below 8 left the channel open")
			}
			return res
		case mt == ofptEchoRequest:
			// The switch's keepalive.
			if _, err := ch.nc.Write(ofMessage(ofVersion, ofptEchoReply, mx, m[ofHdrLen:])); err != nil {
				res.err = fmt.Errorf("answer the switch's echo: %w", err)
				return res
			}
		case mt == ofptPacketIn || mt == ofptFlowRemoved || mt == ofptPortStatus:
			// Asynchronous.
		case mt == ofptError:
			if res.errMsg != nil || res.replies > 0 {
				res.err = fmt.Errorf("a second answer: error %x", m)
				return res
			}
			res.errMsg = m
			if err := checkError(m, msg, xid); err != nil {
				res.err = err
				return res
			}
		case mx == xid && msg[0] == ofVersion && replyTo[msg[1]] == mt && (mt == ofptMultipartReply || res.replies == 0):
			if res.errMsg != nil {
				res.err = fmt.Errorf("a reply of type %d after an error", mt)
				return res
			}
			res.replies++
		default:
			res.err = fmt.Errorf("unexpected message type %d xid %#x (the request's xid %#x):\n%s", mt, mx, xid, hex.Dump(m))
			return res
		}
	}
}

// checkError checks an OFPT_ERROR answering msg.
func checkError(e, msg []byte, xid uint32) error {
	if len(e) < ofHdrLen+4 {
		return fmt.Errorf("an OFPT_ERROR of %d bytes", len(e))
	}
	typ, code, data := be16(e[8:]), be16(e[10:]), e[12:]
	if be32(e[4:]) != xid {
		return fmt.Errorf("error type %d code %d with xid %#x, want the request's %#x", typ, code, be32(e[4:]), xid)
	}
	if typ > ofpetMax && typ != ofpetExperimenter || typ == ofpetHelloFailed {
		return fmt.Errorf("error of type %d code %d on an established channel", typ, code)
	}
	switch {
	case be16(msg[2:]) < ofHdrLen:
		if typ != ofpetBadRequest || code != ofpbrcBadLen {
			return fmt.Errorf("length %d answered with error type %d code %d, want BAD_REQUEST/BAD_LEN", be16(msg[2:]), typ, code)
		}
	case msg[0] != ofVersion:
		if typ != ofpetBadRequest || code != ofpbrcBadVersion {
			return fmt.Errorf("version %d answered with error type %d code %d, want BAD_REQUEST/BAD_VERSION", msg[0], typ, code)
		}
	}
	want := min(len(msg), ofErrorLen)
	if len(data) < want || !bytes.Equal(data, msg[:len(data)]) {
		return fmt.Errorf("error type %d code %d: data is not the request's first %d bytes:\n%s", typ, code, want, hex.Dump(data))
	}
	return nil
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// mutate returns a fuzz message: a corpus message mutated one to three
// times, or a random one, with a length field that frames it as sent
// (unless a length below 8 was chosen) and says how it was made.
func mutate(rng *rand.Rand, corpus [][]byte) ([]byte, string) {
	if rng.IntN(10) == 0 {
		body := make([]byte, rng.IntN(200))
		fill(rng, body)
		return ofMessage(ofVersion, uint8(rng.IntN(ofptMaxType+4)), rng.Uint32(), body), "random"
	}
	msg := append([]byte(nil), corpus[rng.IntN(len(corpus))]...)
	how := ""
	for k := 1 + rng.IntN(3); k > 0; k-- {
		var op string
		msg, op = mutateOnce(rng, msg, corpus)
		if how != "" {
			how += "+"
		}
		how += op
	}
	if how == "length<8" || !bytes.Contains([]byte(how), []byte("length<8")) {
		binary.BigEndian.PutUint16(msg[2:], uint16(len(msg)))
	}
	return msg, how
}

func mutateOnce(rng *rand.Rand, msg []byte, corpus [][]byte) ([]byte, string) {
	if be16(msg[2:]) < ofHdrLen {
		return msg, "length<8"
	}
	switch rng.IntN(9) {
	case 0, 1: // bit flips past the header's length field
		for n := 1 + rng.IntN(4); n > 0 && len(msg) > ofHdrLen; n-- {
			i := ofHdrLen + rng.IntN(len(msg)-ofHdrLen)
			msg[i] ^= 1 << rng.IntN(8)
		}
		return msg, "bitflip"
	case 2: // an inner 16-bit field (lengths, counts, types) set to an edge value
		if len(msg) < ofHdrLen+2 {
			return msg, "none"
		}
		i := ofHdrLen + 2*rng.IntN((len(msg)-ofHdrLen)/2)
		edges := []uint16{0, 1, 3, 4, 7, 8, 9, 15, 16, 0x7fff, 0xfff8, 0xffff, uint16(len(msg)), uint16(len(msg) - i), uint16(len(msg) - i + 8)}
		binary.BigEndian.PutUint16(msg[i:], edges[rng.IntN(len(edges))])
		return msg, "field16"
	case 3: // truncation
		return msg[:ofHdrLen+rng.IntN(len(msg)-ofHdrLen+1)], "truncate"
	case 4: // extension by random bytes
		ext := make([]byte, 1+rng.IntN(64))
		fill(rng, ext)
		return append(msg, ext...), "extend"
	case 5: // splice: a prefix of this one, a suffix of another
		o := corpus[rng.IntN(len(corpus))]
		cut := ofHdrLen + rng.IntN(len(msg)-ofHdrLen+1)
		from := ofHdrLen + rng.IntN(len(o)-ofHdrLen+1)
		return append(msg[:cut:cut], o[from:]...), "splice"
	case 6: // another type
		msg[1] = uint8(rng.IntN(ofptMaxType + 4))
		return msg, "type"
	case 7: // another version, rarely
		if rng.IntN(4) == 0 {
			msg[0] = uint8(rng.IntN(8))
			return msg, "version"
		}
		if len(msg) > ofHdrLen {
			msg[ofHdrLen+rng.IntN(len(msg)-ofHdrLen)] = uint8(rng.IntN(256))
		}
		return msg, "byte"
	default: // a length field below 8, rarely
		if rng.IntN(8) == 0 {
			binary.BigEndian.PutUint16(msg[2:], uint16(rng.IntN(ofHdrLen)))
			return msg[:ofHdrLen], "length<8"
		}
		if len(msg) > ofHdrLen {
			msg[ofHdrLen+rng.IntN(len(msg)-ofHdrLen)] = uint8(rng.IntN(256))
		}
		return msg, "byte"
	}
}

func fill(rng *rand.Rand, b []byte) {
	for i := range b {
		b[i] = uint8(rng.Uint32())
	}
}

// handshakeCase is a first message for a new channel: a HELLO of some
// version with or without a version bitmap, maybe mutated, or another
// message.
func handshakeCase(rng *rand.Rand, corpus [][]byte) ([]byte, string) {
	version := uint8(rng.IntN(7))
	switch rng.IntN(4) {
	case 0:
		return ofMessage(version, ofptHello, rng.Uint32(), nil), "hello without bitmap"
	case 1:
		bm := uint32(rng.IntN(1 << 7))
		return ofMessage(version, ofptHello, rng.Uint32(), binary.BigEndian.AppendUint32([]byte{0, ofpHelloBitmap, 0, 8}, bm)), "hello with bitmap"
	case 2:
		body := make([]byte, rng.IntN(24))
		fill(rng, body)
		return ofMessage(version, ofptHello, rng.Uint32(), body), "hello with random elements"
	default:
		m, how := mutate(rng, corpus)
		if be16(m[2:]) < ofHdrLen {
			m, how = corpus[0], "features request"
		}
		return m, how
	}
}

// helloAccept says whether a first message must be accepted (OpenFlow
// 1.3.5, 6.3.1: with bitmaps on both sides the highest version in both;
// else the smaller of the header versions; the switch sends a bitmap of
// version 4 only), and whether the spec decides it (false for malformed
// elements).
func helloAccept(msg []byte) (accept, decided bool) {
	if msg[1] != ofptHello {
		return false, true
	}
	body := msg[ofHdrLen:]
	for len(body) > 0 {
		if len(body) < 4 {
			return false, false
		}
		typ, n := be16(body), int(be16(body[2:]))
		if n < 4 || n > len(body) {
			return false, false
		}
		if typ == ofpHelloBitmap {
			if n < 8 {
				return false, false
			}
			return be32(body[4:])&(1<<ofVersion) != 0, true
		}
		n = (n + 7) / 8 * 8
		if n > len(body) {
			return false, false
		}
		body = body[n:]
	}
	return msg[0] >= ofVersion, true
}

// handshake opens a channel whose first message is msg and checks the
// switch's answer: its own HELLO, then either HELLO_FAILED carrying msg's
// xid and the channel closed, or an answered ECHO.
func handshake(addr string, msg []byte, echoXid uint32) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	ch := &channel{nc: nc, r: bufio.NewReader(nc)}
	defer ch.close()
	echo := ofMessage(ofVersion, ofptEchoRequest, echoXid, []byte("fuzz"))
	if _, err := nc.Write(append(append([]byte(nil), msg...), echo...)); err != nil {
		return err
	}
	m, err := ch.read()
	if err != nil || m[1] != ofptHello {
		return fmt.Errorf("the switch's first message: %x, %v; want HELLO", m, err)
	}
	accept, decided := helloAccept(msg)
	m, err = ch.read()
	if err != nil {
		return fmt.Errorf("no answer: %w", err)
	}
	switch {
	case m[1] == ofptEchoReply && be32(m[4:]) == echoXid:
		if !accept && decided {
			return errors.New("the switch accepted a first message it must refuse")
		}
		return nil
	case m[1] == ofptError && len(m) >= 12 && be16(m[8:]) == ofpetHelloFailed:
		if accept && decided {
			return fmt.Errorf("the switch refused a first message it must accept: %s", printable(m[12:]))
		}
		if be32(m[4:]) != be32(msg[4:]) {
			return fmt.Errorf("HELLO_FAILED with xid %#x, want %#x", be32(m[4:]), be32(msg[4:]))
		}
		if _, err := ch.read(); !errors.Is(err, io.EOF) && !isReset(err) {
			return fmt.Errorf("after HELLO_FAILED the channel stays open (read: %v)", err)
		}
		return nil
	}
	return fmt.Errorf("answer type %d xid %#x:\n%s", m[1], be32(m[4:]), hex.Dump(m))
}
