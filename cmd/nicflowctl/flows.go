package main

import (
	"context"
	"fmt"
	"io"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

func runFlows(ctx context.Context, args []string, stdout io.Writer) error {
	sf, err := parseSwitchArgs("flows", args)
	if err != nil {
		return err
	}
	c, err := sf.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	flows, err := c.FlowStats(ctx, ofclient.AllFlows())
	if err != nil {
		return fmt.Errorf("flows of %s: %w", sf.network, err)
	}
	fmt.Fprintf(stdout, "network %s: %d flows\n", sf.network, len(flows))
	return ofclient.FormatFlows(stdout, flows)
}
