package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/nicflow/nicflow/api/rest"
)

func runNICs(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("nics"), args, 0, 1, "at most one NIC name")
	if err != nil {
		return err
	}
	var raws []json.RawMessage
	if len(args) == 1 {
		raw, err := c.NIC(ctx, args[0])
		if err != nil {
			return apiError(err)
		}
		raws = []json.RawMessage{raw}
	} else if raws, err = c.NICs(ctx); err != nil {
		return apiError(err)
	}
	if e.json() {
		if len(args) == 1 {
			return e.printJSON(raws[0])
		}
		return e.printJSON(raws)
	}
	nics := make([]rest.NICSummary, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &nics[i]); err != nil {
			return fmt.Errorf("nics: decode %s: %w", raw, err)
		}
	}
	tw := e.table("NAME\tPCI\tDRIVER\tDEVICE\tLINK\tSPEED\tSRIOV\tVFS\tESWITCH")
	sriov := 0
	for _, n := range nics {
		vfs, capable := "-", "no"
		if n.SRIOV || n.TotalVFs > 0 {
			sriov++
			capable = "yes"
			vfs = fmt.Sprintf("%d/%d", n.NumVFs, n.TotalVFs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, dash(n.PCIAddress), dash(n.Driver), dash(n.Device),
			dash(n.LinkState), speed(n.SpeedMbps), capable, vfs, dash(n.EswitchMode))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(args) == 1:
	case len(nics) == 0:
		fmt.Fprintln(e.stdout, "no NIC found")
	case sriov == 0:
		fmt.Fprintf(e.stdout, "no SR-IOV NIC found (%d NIC ports, none can have VFs)\n", len(nics))
	}
	return nil
}

// speed formats a link speed in Mbit/s.
func speed(mbps int) string {
	switch {
	case mbps <= 0:
		return "-"
	case mbps%1000 == 0:
		return strconv.Itoa(mbps/1000) + "G"
	}
	return strconv.Itoa(mbps) + "M"
}
