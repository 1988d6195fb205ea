// Command nicflowctl is the nicflow command-line client. In this release it
// talks OpenFlow to a network's management socket (or any OpenFlow target):
//
//	nicflowctl version
//	nicflowctl flows [NETWORK] [--switch TARGET]
//	nicflowctl ports [NETWORK] [--switch TARGET]
//	nicflowctl tables [NETWORK] [--switch TARGET]
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
