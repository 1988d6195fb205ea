package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
)

// Attach a VM's vNIC to a network and print where it landed.
func ExampleClient_AttachVNIC() {
	c, err := client.New(client.Options{Socket: rest.DefaultSocket})
	if err != nil {
		log.Fatal(err)
	}
	v, _, err := c.AttachVNIC(context.Background(), rest.VNICSpec{
		ID: "vm1-eth0", Network: "blue", MAC: "52:54:00:12:34:56", VLAN: 100, MaxTxRate: 1000,
	})
	if err != nil {
		log.Fatal(err) // a 400 names the field: "vlan: 4096 is out of range 0-4094"
	}
	fmt.Printf("VF %s, representor %s, OpenFlow port %d\n", v.VF, v.Representor, v.OFPort)
}
