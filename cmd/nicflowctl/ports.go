package main

import (
	"context"
	"fmt"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

func runPorts(ctx context.Context, e *env, args []string) error {
	var sw switchOpts
	fs := e.flags("ports")
	sw.register(fs)
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if sw.given() {
		return sw.withSwitch(ctx, e, "ports", args, func(c *ofclient.Client) error { return ofPorts(ctx, e, c) })
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	network, err := networkArg(ctx, c, "ports", args)
	if err != nil {
		return err
	}
	ports, err := c.Ports(ctx, network)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(ports)
	}
	tw := e.table("PORT\tNAME\tKIND\tVNIC\tLINK\tRX PKTS\tRX BYTES\tRX DROP\tRX ERR\tTX PKTS\tTX BYTES\tTX DROP\tTX ERR")
	for _, p := range ports {
		link := "down"
		if p.LinkUp {
			link = "up"
		}
		if p.AdminDown {
			link += ",admin-down"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", p.No, p.Name, dash(p.Kind), dash(p.VNIC), link,
			p.RxPackets, p.RxBytes, p.RxDropped, p.RxErrors, p.TxPackets, p.TxBytes, p.TxDropped, p.TxErrors)
	}
	return tw.Flush()
}
