package main

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
)

// runTables prints the tables in use with their counters: from the API
// (over --socket or --url), or over OpenFlow given --switch or --run-dir.
func runTables(ctx context.Context, e *env, args []string) error {
	var sw switchOpts
	fs := e.flags("tables")
	sw.register(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if sw.given() {
		return sw.withSwitch(ctx, e, "tables", args, func(c *ofclient.Client) error {
			stats, err := c.TableStats(ctx)
			if err != nil {
				return err
			}
			used := []rest.Table{}
			for _, t := range stats {
				if t.Active == 0 && t.Lookups == 0 {
					continue // unused tables: the switch has many
				}
				used = append(used, rest.Table{Table: t.TableID, Active: t.Active, Lookups: t.Lookups, Matched: t.Matched})
			}
			return printTables(e, used)
		})
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	network, err := networkArg(ctx, c, "tables", args)
	if err != nil {
		return err
	}
	tables, err := c.Tables(ctx, network)
	if err != nil {
		return apiError(err)
	}
	return printTables(e, tables)
}

// printTables prints tables as JSON or as a table.
func printTables(e *env, tables []rest.Table) error {
	if e.json() {
		return e.printJSON(tables)
	}
	tw := e.table("TABLE\tFLOWS\tLOOKUPS\tMATCHED")
	for _, t := range tables {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%d\n", t.Table, t.Active, t.Lookups, t.Matched)
	}
	return tw.Flush()
}
