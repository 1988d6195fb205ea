package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nicflow/nicflow/api/openflow/ofclient"

	"github.com/nicflow/nicflow/offload/pipeline"
)

func runPorts(ctx context.Context, args []string, stdout io.Writer) error {
	return withSwitch(ctx, "ports", args, func(c *ofclient.Client) error {
		descs, err := c.PortDesc(ctx)
		if err != nil {
			return err
		}
		stats, err := c.PortStats(ctx, pipeline.PortAny)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "PORT\tNAME\tLINK\tRX PKTS\tRX BYTES\tRX DROP\tTX PKTS\tTX BYTES\tTX DROP\t")
		for _, d := range descs {
			link := "up"
			if d.State&portStateLinkDown != 0 {
				link = "down"
			}
			if d.Config&portConfigDown != 0 {
				link += ",admin-down"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t", d.PortNo, d.Name, link)
			for _, s := range stats {
				if s.PortNo == d.PortNo {
					fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t", s.RxPackets, s.RxBytes, s.RxDropped, s.TxPackets, s.TxBytes, s.TxDropped)
				}
			}
			fmt.Fprintln(tw)
		}
		return tw.Flush()
	})
}

// Port config and state bits (OFPPC_PORT_DOWN, OFPPS_LINK_DOWN).
const (
	portConfigDown    = 1 << 0
	portStateLinkDown = 1 << 0
)
