package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
)

func runTables(ctx context.Context, args []string, stdout io.Writer) error {
	sf, err := parseSwitchArgs("tables", args)
	if err != nil {
		return err
	}
	c, err := sf.dial(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	stats, err := c.TableStats(ctx)
	if err != nil {
		return fmt.Errorf("tables of %s: %w", sf.network, err)
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
}
