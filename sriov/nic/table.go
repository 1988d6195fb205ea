package nic

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
)

// NoSRIOVMessage is printed under the table when no NIC is SR-IOV capable.
const NoSRIOVMessage = "no SR-IOV capable NIC found on this host"

// WriteTable writes nics as a table for people (nicflowctl nics), one row
// per NIC, followed by a line saying so when none is SR-IOV capable.
func WriteTable(w io.Writer, nics []NIC) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tPCI\tDRIVER\tFIRMWARE\tLINK\tSPEED\tVFS\tESWITCH\tOFFLOAD\tFAMILY")
	capable := 0
	for _, n := range nics {
		if n.SRIOV.Capable {
			capable++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			n.Name, dash(n.PCIAddress), dash(n.Driver), dash(n.FirmwareVersion), dash(n.OperState),
			speed(n.SpeedMbps), vfs(n.SRIOV), dash(n.EswitchMode), offload(n.Offload.HWTCOffload),
			dash(n.Capabilities.Family))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write NIC table: %w", err)
	}
	if capable == 0 {
		if _, err := fmt.Fprintf(w, "%s (%s seen)\n", NoSRIOVMessage, plural(len(nics), "NIC")); err != nil {
			return fmt.Errorf("write NIC table: %w", err)
		}
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// speed formats Mb/s as ethtool does for round values: 25000 -> "25Gb/s".
func speed(mbps int) string {
	switch {
	case mbps <= 0:
		return "-"
	case mbps%1000 == 0:
		return strconv.Itoa(mbps/1000) + "Gb/s"
	}
	return strconv.Itoa(mbps) + "Mb/s"
}

// vfs formats enabled/total VFs; "-" when the port has no SR-IOV.
func vfs(s SRIOV) string {
	switch {
	case !s.Capable:
		return "-"
	case s.TotalVFs == 0:
		return strconv.Itoa(s.NumVFs)
	}
	return strconv.Itoa(s.NumVFs) + "/" + strconv.Itoa(s.TotalVFs)
}

// offload names the hw-tc-offload state for the table.
func offload(f FeatureState) string {
	switch f {
	case FeatureOn, FeatureOff:
		return "tc:" + string(f)
	case FeatureOffFixed:
		return "none"
	}
	return "-"
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
