// Command udpcount measures the rate at which frames arrive on an interface:
// it reads the interface's receive counters (rx_packets, rx_dropped) from
// sysfs at the start and the end of a measurement window and prints the
// difference as packets per second. Reading the kernel's counters costs the
// receiver nothing per packet, so the measured rate is the switch's, not
// the receiver's. It is the sink side of test/bench/forward.sh.
//
//	udpcount -i eth0 -warmup 2s -d 5s
//
// Output (one line, for scripts): "rx_pps=N rx_packets=N rx_dropped=N seconds=S".
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
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := filepath.Join(*sysfs, *ifname, "statistics")
	time.Sleep(*warmup)
	before, err := readCounters(dir)
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(*dur)
	after, err := readCounters(dir)
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	d := after.sub(before)
	fmt.Printf("rx_pps=%.0f rx_packets=%d rx_dropped=%d seconds=%.3f\n",
		float64(d.packets)/secs, d.packets, d.dropped, secs)
	return nil
}

// counters are an interface's receive counters.
type counters struct{ packets, dropped uint64 }

func (c counters) sub(o counters) counters {
	return counters{packets: c.packets - o.packets, dropped: c.dropped - o.dropped}
}

// readCounters reads rx_packets and rx_dropped from an interface's sysfs
// statistics directory.
func readCounters(dir string) (counters, error) {
	var c counters
	for name, dst := range map[string]*uint64{"rx_packets": &c.packets, "rx_dropped": &c.dropped} {
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
