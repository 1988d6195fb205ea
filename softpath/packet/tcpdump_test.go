package packet

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/offload/pipeline"
)

// writePcap writes frames to a classic pcap file; frame i gets timestamp i
// seconds so tcpdump -tt output can be mapped back.
func writePcap(path string, frames [][]byte) error {
	le := binary.LittleEndian
	b := le.AppendUint32(nil, 0xa1b2c3d4)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...) // thiszone, sigfigs
	b = le.AppendUint32(b, 65535)     // snaplen
	b = le.AppendUint32(b, 1)         // Ethernet
	for i, f := range frames {
		b = le.AppendUint32(b, uint32(i+1))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint32(b, uint32(len(f)))
		b = le.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return os.WriteFile(path, b, 0o644)
}

// TestTcpdumpAgrees has tcpdump, an independent implementation, verify the
// checksums of Build's frames and of the frames Apply rewrote. It reads a
// pcap file: no traffic is sent.
func TestTcpdumpAgrees(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed")
	}
	var names []string
	var frames [][]byte
	add := func(name string, f []byte) {
		names = append(names, name)
		frames = append(frames, f)
	}
	for _, f := range fixtures() {
		if f.name != "udp6-routed" { // Build's pseudo header ignores the routing header
			add("fixture "+f.name, Build(f.spec))
		}
	}
	for _, tc := range applyCases() {
		if tc.err != nil || tc.fixture == "udp6-routed" {
			continue
		}
		if tc.action.Field == pipeline.FieldIPProto && tc.fixture == "sctp6" {
			// tcpdump checks a TCP checksum on what is an SCTP header (a
			// TCP or UDP header under the other protocol passes: the
			// segment sums to zero over the same pseudo header).
			continue
		}
		frame := fixtureFrame(tc.fixture)
		var k pipeline.Key
		l := Parse(frame, 1, &k)
		out, err := Apply(frame, &l, &k, &tc.action)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		add("apply "+tc.name, out)
	}
	// A control: a frame with a wrong UDP checksum must be flagged.
	bad := fixtureFrame("udp4")
	bad[14+20+7] ^= 1
	add("control", bad)

	path := filepath.Join(t.TempDir(), "frames.pcap")
	if err := writePcap(path, frames); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(tcpdump, "-r", path, "-nn", "-vvv", "-tt", "-e")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tcpdump: %v\n%s", err, stderr.String())
	}
	// Split the output per packet at the timestamp lines.
	start := regexp.MustCompile(`(?m)^(\d+)\.000000 `)
	out := stdout.String()
	idx := start.FindAllStringSubmatchIndex(out, -1)
	if len(idx) != len(frames) {
		t.Fatalf("tcpdump printed %d packets, want %d:\n%s", len(idx), len(frames), out)
	}
	badSum := regexp.MustCompile(`bad .*cksum|bad .*sum|incorrect|wrong .*cksum`)
	okSum := regexp.MustCompile(`sum ok|\(correct\)`)
	verified := 0
	for i, m := range idx {
		end := len(out)
		if i+1 < len(idx) {
			end = idx[i+1][0]
		}
		n, _ := strconv.Atoi(out[m[2]:m[3]])
		text := out[m[0]:end]
		name := names[n-1]
		if badSum.MatchString(text) != (name == "control") {
			t.Errorf("%s: tcpdump says:\n%s", name, strings.TrimSpace(text))
		}
		if okSum.MatchString(text) {
			verified++
		}
	}
	if verified < 40 {
		t.Errorf("tcpdump verified only %d checksums", verified)
	}
}
