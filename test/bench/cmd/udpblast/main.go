// Command udpblast sends UDP/IPv4 frames, minimum-size (64 bytes on the
// wire) by default, out of one interface for a fixed time, through an
// AF_PACKET socket with sendmmsg and the qdisc bypassed: as fast as it can,
// or paced to a packet rate (-pps). It is the traffic source of nicflow's
// forwarding and meter benchmarks (test/bench/forward.sh, meter.sh) and
// prints what it sent when done.
//
//	udpblast -i eth0 -dst-mac 02:00:00:00:00:02 -d 10s
//	udpblast -i eth0 -pps 2500 -size 1000 -dscp 10 -d 10s
//
// It imports no other nicflow package.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "udpblast:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("udpblast", flag.ContinueOnError)
	ifname := fs.String("i", "eth0", "interface to send on")
	dur := fs.Duration("d", 10*time.Second, "how long to send")
	dstMAC := fs.String("dst-mac", "02:00:00:00:00:02", "destination MAC address")
	srcIP := fs.String("src-ip", "10.0.0.1", "source IPv4 address")
	dstIP := fs.String("dst-ip", "10.0.0.99", "destination IPv4 address (not the receiver's, so its stack drops the frames quietly)")
	flows := fs.Int("flows", 1, "number of distinct UDP source ports to cycle through")
	batch := fs.Int("batch", 64, "frames per sendmmsg call")
	pps := fs.Float64("pps", 0, "frames per second to pace to (0: as fast as possible)")
	size := fs.Int("size", minFrameLen, "frame length without the FCS")
	dscp := fs.Uint("dscp", 0, "IPv4 DSCP of the frames")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *size < minFrameLen || *size > maxFrameLen || *dscp > 63 || *pps < 0 {
		return fmt.Errorf("-size must be in %d..%d, -dscp in 0..63 and -pps not negative", minFrameLen, maxFrameLen)
	}
	ifc, err := net.InterfaceByName(*ifname)
	if err != nil {
		return fmt.Errorf("look up interface: %w", err)
	}
	dst, err := net.ParseMAC(*dstMAC)
	if err != nil {
		return fmt.Errorf("parse -dst-mac: %w", err)
	}
	sip, err := netip.ParseAddr(*srcIP)
	if err != nil || !sip.Is4() {
		return fmt.Errorf("parse -src-ip %q: not an IPv4 address", *srcIP)
	}
	dip, err := netip.ParseAddr(*dstIP)
	if err != nil || !dip.Is4() {
		return fmt.Errorf("parse -dst-ip %q: not an IPv4 address", *dstIP)
	}
	if *flows < 1 || *flows > 60000 || *batch < 1 || *batch > 1024 {
		return fmt.Errorf("-flows must be in 1..60000 and -batch in 1..1024")
	}
	frames := make([][]byte, *flows)
	for i := range frames {
		frames[i] = udpFrame(frameSpec{
			dstMAC: dst, srcMAC: ifc.HardwareAddr,
			srcIP: sip.As4(), dstIP: dip.As4(),
			srcPort: uint16(1024 + i), dstPort: 9,
			size: *size, dscp: uint8(*dscp),
		})
	}
	s, err := openSender(ifc.Index)
	if err != nil {
		return err
	}
	defer s.close()
	start := time.Now()
	sent, err := s.blast(frames, *batch, newPacer(start, *pps), start.Add(*dur))
	elapsed := time.Since(start)
	if err != nil {
		return err
	}
	fmt.Printf("udpblast: sent %d frames in %.2fs (%.3f Mpps) on %s\n",
		sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds()/1e6, *ifname)
	return nil
}
