package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

func runFlows(ctx context.Context, args []string, stdout io.Writer) error {
	return withSwitch(ctx, "flows", args, func(c *ofclient.Client) error {
		flows, err := c.FlowStats(ctx, ofclient.AllFlows())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%d flows\n", len(flows))
		return ofclient.FormatFlows(stdout, flows)
	})
}
