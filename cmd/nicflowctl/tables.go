package main

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

// runTables prints table statistics, which are not in the API: it always
// talks OpenFlow to the network's switch.
func runTables(ctx context.Context, e *env, args []string) error {
	var sw switchOpts
	fs := e.flags("tables")
	sw.register(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	return sw.withSwitch(ctx, e, "tables", args, func(c *ofclient.Client) error {
		stats, err := c.TableStats(ctx)
		if err != nil {
			return err
		}
		type table struct {
			Table   uint8  `json:"table"`
			Active  uint32 `json:"active"`
			Lookups uint64 `json:"lookups"`
			Matched uint64 `json:"matched"`
		}
		used := []table{}
		for _, t := range stats {
			if t.Active == 0 && t.Lookups == 0 {
				continue // unused tables: the switch has many
			}
			used = append(used, table{t.TableID, t.Active, t.Lookups, t.Matched})
		}
		if e.json() {
			return e.printJSON(used)
		}
		tw := e.table("TABLE\tFLOWS\tLOOKUPS\tMATCHED")
		for _, t := range used {
			fmt.Fprintf(tw, "%d\t%d\t%d\t%d\n", t.Table, t.Active, t.Lookups, t.Matched)
		}
		return tw.Flush()
	})
}
