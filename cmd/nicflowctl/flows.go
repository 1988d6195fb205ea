package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
)

func runFlows(ctx context.Context, e *env, args []string) error {
	var sw switchOpts
	fs := e.flags("flows")
	sw.register(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if sw.given() {
		return sw.withSwitch(ctx, e, "flows", args, func(c *ofclient.Client) error { return ofFlows(ctx, e, c) })
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	network, err := networkArg(ctx, c, "flows", args)
	if err != nil {
		return err
	}
	flows, err := c.Flows(ctx, network)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(flows)
	}
	var tiers rest.TierCounts
	for _, f := range flows {
		switch f.Tier {
		case rest.TierHW:
			tiers.HW++
		case rest.TierTC:
			tiers.TC++
		default:
			tiers.Soft++
		}
	}
	fmt.Fprintf(e.stdout, "network %s: %d rules (%d hw, %d tc, %d soft); HW, TC and SOFT are packets/bytes\n", network, len(flows), tiers.HW, tiers.TC, tiers.Soft)
	keys, reasons := reasonKeys(flows)
	if len(reasons) > 0 {
		fmt.Fprintln(e.stdout, "why rules are not in hardware (REASON):")
		for i, r := range reasons {
			fmt.Fprintf(e.stdout, "  [%d] %s\n", i+1, r)
		}
	}
	tw := e.table("TABLE\tPRIO\tTIER\tPACKETS\tBYTES\tHW\tTC\tSOFT\tMATCH\tACTIONS\tREASON")
	for i, f := range flows {
		match := f.Match
		if match == "" {
			match = "*"
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Table, f.Priority, f.Tier, f.Packets, f.Bytes,
			counts(f.HW), counts(f.TC), counts(f.Soft), match, dash(f.Actions), dash(keys[i]))
	}
	return tw.Flush()
}

// reasonKeys gives each distinct reason of flows a short key, [1], [2], ...
// in the order they first appear: keys[i] is flows[i]'s ("" for none),
// reasons the text of each key, on one line. A reason shared by many rules
// (the tc tier is unavailable, say) is said once.
func reasonKeys(flows []rest.Flow) (keys, reasons []string) {
	keys = make([]string, len(flows))
	index := map[string]int{}
	for i, f := range flows {
		r := oneLine(f.Reason)
		if r == "" {
			continue
		}
		n, ok := index[r]
		if !ok {
			reasons = append(reasons, r)
			n = len(reasons)
			index[r] = n
		}
		keys[i] = fmt.Sprintf("[%d]", n)
	}
	return keys, reasons
}

// counts shows packets/bytes of one tier.
func counts(c rest.Counts) string { return fmt.Sprintf("%d/%d", c.Packets, c.Bytes) }

// oneLine keeps a kernel message on one table line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// networkArg returns the network a command names, or the only network
// when it names none.
func networkArg(ctx context.Context, c *client.Client, cmd string, args []string) (string, error) {
	if len(args) > 1 {
		return "", fmt.Errorf("%s: one network name expected, got %s", cmd, strings.Join(args, " "))
	}
	if len(args) == 1 {
		return args[0], nil
	}
	nets, err := c.Networks(ctx)
	if err != nil {
		return "", apiError(err)
	}
	switch len(nets) {
	case 0:
		return "", fmt.Errorf("%s: nicflowd has no network", cmd)
	case 1:
		return nets[0].Name, nil
	}
	names := make([]string, len(nets))
	for i, n := range nets {
		names[i] = n.Name
	}
	return "", fmt.Errorf("%s: name a network (one of %s)", cmd, strings.Join(names, ", "))
}
