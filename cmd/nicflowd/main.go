// Command nicflowd is the nicflow host agent: it exposes each network of
// this host (from its configuration, or created through its REST API and
// kept in its state store) as an OpenFlow 1.3 switch, forwards its
// packets, and puts vNICs on veth pairs or SR-IOV VFs.
//
// Run one network straight from flags:
//
//	nicflowd --port veth1 --port veth2 --listen ptcp:6634 --fail-mode standalone
//
// or several from a YAML file with --config. See the README.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/cmd/nicflowctl,
// github.com/nicflow/nicflow/api/rest/client.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := Run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "nicflowd:", err)
		os.Exit(1)
	}
}
