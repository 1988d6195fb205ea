//go:build linux

package vepa

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/nicflow/nicflow/test/netns"
	"github.com/nicflow/nicflow/test/vm/vmtest"
	"github.com/nicflow/nicflow/vepa/internal/rtnl"
)

var record = flag.Bool("record", false, "record kernel replies into testdata (needs root)")

// recordEnv=1 records too: in the VM kernel harness, where no flag can be
// passed (NICFLOW_VM_APPEND=nicflow.env=NICFLOW_VEPA_RECORD=1), the file
// is also printed to the test log to be copied out of the console log.
const recordEnv = "NICFLOW_VEPA_RECORD"

// recordTopology builds the network the recorded replies describe, in a
// fresh namespace: bridge vprbr with ports vprp0 (hairpin on) and vprp1
// (hairpin off), veth vprx outside any bridge.
var recordTopology = []string{
	"link add vprbr type bridge",
	"link add vprp0 type veth peer name vprq0",
	"link add vprp1 type veth peer name vprq1",
	"link add vprx type veth peer name vpry",
	"link set vprp0 master vprbr",
	"link set vprp1 master vprbr",
	"link set vprp0 type bridge_slave hairpin on",
}

// recording is one request sent on a raw rtnetlink socket and the kernel's
// replies, one netlink message each.
type recording struct {
	name    string
	typ     uint16
	flags   uint16
	body    []byte
	replies [][]byte
}

// TestRecordKernelReplies records the kernel's answers to vepa's requests
// into testdata/kernel-replies-MAJOR.MINOR.txt (the running kernel's
// version). It runs only with -record, as root:
//
//	go test ./vepa -run TestRecordKernelReplies -record
func TestRecordKernelReplies(t *testing.T) {
	if !*record && os.Getenv(recordEnv) != "1" {
		t.Skipf("records testdata only with -record or %s=1", recordEnv)
	}
	ns := netns.New(t, "vprec")
	for _, c := range recordTopology {
		ns.IP(t, strings.Fields(c)...)
	}
	idx := map[string]int32{}
	if err := ns.Do(func() error {
		for _, name := range []string{"vprbr", "vprp0", "vprp1", "vprx"} {
			ifi, err := net.InterfaceByName(name)
			if err != nil {
				return err
			}
			idx[name] = int32(ifi.Index)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	recs := []recording{
		{name: "dump", typ: rtnl.RTMGetLink, flags: unix.NLM_F_REQUEST | unix.NLM_F_DUMP, body: rtnl.Dump()},
		{name: "set-hwmode-vepa-veth", typ: rtnl.RTMSetLink, flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK, body: rtnl.SetBridgeMode(idx["vprx"], rtnl.BridgeModeVEPA)},
		{name: "set-hairpin-on-nonport", typ: rtnl.RTMSetLink, flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK, body: rtnl.SetHairpin(idx["vprx"], true)},
		{name: "set-hairpin-off-port", typ: rtnl.RTMSetLink, flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK, body: rtnl.SetHairpin(idx["vprp0"], false)},
	}
	err := ns.Do(func() error {
		for i := range recs {
			r, err := exchange(recs[i].typ, recs[i].flags, recs[i].body, uint32(i+1))
			if err != nil {
				return fmt.Errorf("%s: %w", recs[i].name, err)
			}
			recs[i].replies = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	var out bytes.Buffer
	fmt.Fprintf(&out, "# Kernel replies to vepa's rtnetlink requests, recorded by\n")
	fmt.Fprintf(&out, "#   go test ./vepa -run TestRecordKernelReplies -record   (root)\n")
	fmt.Fprintf(&out, "# on kernel %s", rel)
	fmt.Fprintf(&out, "# in a fresh network namespace set up with (ip ...):\n")
	for _, c := range recordTopology {
		fmt.Fprintf(&out, "#   ip %s\n", c)
	}
	fmt.Fprintf(&out, "# ifindexes: vprbr %d, vprp0 %d, vprp1 %d, vprx %d.\n", idx["vprbr"], idx["vprp0"], idx["vprp1"], idx["vprx"])
	fmt.Fprintf(&out, "# Per request: 'request NAME TYPE FLAGS BODYHEX' then one 'reply HEX' line per\n")
	fmt.Fprintf(&out, "# netlink message the kernel sent (struct nlmsghdr included), in order.\n")
	for _, r := range recs {
		fmt.Fprintf(&out, "request %s %d %#x %s\n", r.name, r.typ, r.flags, hex.EncodeToString(r.body))
		for _, m := range r.replies {
			fmt.Fprintf(&out, "reply %s\n", hex.EncodeToString(m))
		}
	}
	path := filepath.Join("testdata", "kernel-replies-"+majorMinor(string(rel))+".txt")
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", path)
	if vmtest.InVM() {
		t.Logf("%s:\n%s", path, out.String())
	}
}

// exchange sends one request on a fresh raw rtnetlink socket (extended acks
// on) and returns every message up to NLMSG_DONE or NLMSG_ERROR.
func exchange(typ, flags uint16, body []byte, seq uint32) ([][]byte, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_NETLINK, unix.NETLINK_EXT_ACK, 1); err != nil {
		return nil, fmt.Errorf("NETLINK_EXT_ACK: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	req := binary.NativeEndian.AppendUint32(nil, uint32(unix.NLMSG_HDRLEN+len(body)))
	req = binary.NativeEndian.AppendUint16(req, typ)
	req = binary.NativeEndian.AppendUint16(req, flags)
	req = binary.NativeEndian.AppendUint32(req, seq)
	req = binary.NativeEndian.AppendUint32(req, 0)
	req = append(req, body...)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("sendto: %w", err)
	}
	var out [][]byte
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err != nil {
			return nil, fmt.Errorf("recvfrom: %w", err)
		}
		b := buf[:n]
		for len(b) >= unix.NLMSG_HDRLEN {
			l := int(binary.NativeEndian.Uint32(b[0:4]))
			if l < unix.NLMSG_HDRLEN || l > len(b) {
				return nil, fmt.Errorf("bad message length %d", l)
			}
			out = append(out, bytes.Clone(b[:l]))
			t := binary.NativeEndian.Uint16(b[4:6])
			if t == unix.NLMSG_DONE || t == unix.NLMSG_ERROR {
				return out, nil
			}
			b = b[(l+3)&^3:]
		}
	}
}

// majorMinor returns "6.1" for a kernel release like "6.1.0-56-amd64".
func majorMinor(release string) string {
	f := strings.SplitN(strings.TrimSpace(release), ".", 3)
	if len(f) < 2 {
		return strings.TrimSpace(release)
	}
	return f[0] + "." + f[1]
}
