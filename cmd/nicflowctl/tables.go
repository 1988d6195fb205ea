package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

func runTables(ctx context.Context, args []string, stdout io.Writer) error {
	return withSwitch(ctx, "tables", args, func(c *ofclient.Client) error {
		stats, err := c.TableStats(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "TABLE\tFLOWS\tLOOKUPS\tMATCHED\t")
		for _, t := range stats {
			if t.Active == 0 && t.Lookups == 0 {
				continue // unused tables: the switch has many
			}
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t\n", t.TableID, t.Active, t.Lookups, t.Matched)
		}
		return tw.Flush()
	})
}
