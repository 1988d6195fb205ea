// Command nicflowctl is the nicflow command-line client. It talks to
// nicflowd's REST API on its unix socket (--socket, default
// /run/nicflow/nicflowd.sock) or over HTTP(S) (--url; an https URL to an
// --api-listen beyond loopback with --private-key, --certificate and
// --ca-cert for mutual TLS), and prints tables for people or JSON for
// scripts (-o json):
//
//	nicflowctl nics [NAME]
//	nicflowctl networks [list | get NAME | create NAME [flags] | mode NAME MODE [flags] | delete NAME]
//	nicflowctl vnics [list | get ID | attach ID --network NAME [flags] | detach ID]
//	nicflowctl flows [NETWORK] [--switch TARGET | --run-dir DIR]
//	nicflowctl ports [NETWORK] [--switch TARGET | --run-dir DIR]
//	nicflowctl tables [NETWORK] [--switch TARGET | --run-dir DIR]
//	nicflowctl version
//
// flows, ports and tables given --switch or --run-dir talk OpenFlow to a
// network's management socket (RUNDIR/NETWORK.mgmt) instead: that needs
// only the switch, not the API, and shows what a controller sees (no
// tiers).
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/sriov/..., github.com/nicflow/nicflow/vepa/...,
// github.com/nicflow/nicflow/tcflower/..., github.com/nicflow/nicflow/softpath/...,
// github.com/nicflow/nicflow/offload/... but
// github.com/nicflow/nicflow/offload/pipeline.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := Run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "nicflowctl:", err)
		os.Exit(1)
	}
}
