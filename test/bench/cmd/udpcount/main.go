// Command udpcount measures the rate at which frames arrive on an interface:
// it reads the interface's receive counters (rx_packets, rx_dropped) from
// sysfs at the start and the end of a measurement window and prints the
// difference as packets per second. Reading the kernel's counters costs the
// receiver nothing per packet, so the measured rate is the switch's, not
// the receiver's. It is the sink side of test/bench/forward.sh.
//
//	udpcount -i eth0 -warmup 2s -d 5s
//
// Output (one line, for scripts): "rx_pps=N rx_bps=N rx_packets=N
// rx_dropped=N seconds=S". With -dscp D it also captures the IPv4 frames
// that arrive in the window by their receive timestamps (AF_PACKET, the
// kernel filtering by DSCP) and adds "dscp_pps=N dscp_bps=N", the rate of
// the frames carrying DSCP D (the meter benchmark counts remarked frames
// so).
// Bit rates count Ethernet frames without the FCS, as the kernel's
// counters and OpenFlow meters do.
//
// It imports no other nicflow package.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "udpcount:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("udpcount", flag.ContinueOnError)
	ifname := fs.String("i", "eth0", "interface to count on")
	warmup := fs.Duration("warmup", 2*time.Second, "wait this long before the window starts")
	dur := fs.Duration("d", 5*time.Second, "measurement window")
	sysfs := fs.String("sysfs", "/sys/class/net", "sysfs net class directory")
	dscp := fs.Int("dscp", -1, "also count the IPv4 frames with this DSCP (-1: don't capture)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dscp > 63 {
		return fmt.Errorf("-dscp must be in 0..63")
	}
	dir := filepath.Join(*sysfs, *ifname, "statistics")
	var capt *capture
	if *dscp >= 0 {
		var err error
		if capt, err = openCapture(*ifname, uint8(*dscp)); err != nil {
			return err
		}
		defer capt.close()
	}
	time.Sleep(*warmup)
	before, err := readCounters(dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	if capt != nil {
		capt.start(t0, t0.Add(*dur))
	}
	time.Sleep(*dur)
	after, err := readCounters(dir)
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	d := after.sub(before)
	line := fmt.Sprintf("rx_pps=%.0f rx_bps=%.0f rx_packets=%d rx_dropped=%d seconds=%.3f",
		float64(d.packets)/secs, float64(d.bytes)*8/secs, d.packets, d.dropped, secs)
	if capt != nil {
		pkts, bytes, err := capt.wait()
		if err != nil {
			return err
		}
		w := dur.Seconds() // the capture's window, by receive timestamps
		line += fmt.Sprintf(" dscp_pps=%.0f dscp_bps=%.0f", float64(pkts)/w, float64(bytes)*8/w)
	}
	fmt.Println(line)
	return nil
}

// counters are an interface's receive counters.
type counters struct{ packets, bytes, dropped uint64 }

func (c counters) sub(o counters) counters {
	return counters{packets: c.packets - o.packets, bytes: c.bytes - o.bytes, dropped: c.dropped - o.dropped}
}

// readCounters reads rx_packets, rx_bytes and rx_dropped from an
// interface's sysfs statistics directory.
func readCounters(dir string) (counters, error) {
	var c counters
	for name, dst := range map[string]*uint64{"rx_packets": &c.packets, "rx_bytes": &c.bytes, "rx_dropped": &c.dropped} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return c, fmt.Errorf("read counter: %w", err)
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return c, fmt.Errorf("parse %s/%s: %w", dir, name, err)
		}
		*dst = v
	}
	return c, nil
}
