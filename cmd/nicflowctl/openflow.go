package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"text/tabwriter"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
	"github.com/nicflow/nicflow/offload/pipeline"
)

// switchOpts are the flags of the commands that talk OpenFlow to a
// network's management socket (RUNDIR/NETWORK.mgmt) or any OpenFlow
// target instead of the API: tables always, flows and ports when one of
// these flags is given. This works whenever the switch runs, API or not.
type switchOpts struct {
	target string
	runDir string
}

const (
	defaultRunDir  = "/run/nicflow"
	defaultNetwork = "nf0"
)

func (o *switchOpts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.target, "switch", "", "talk OpenFlow to `TARGET` (tcp:HOST:PORT or unix:PATH) instead of the API")
	fs.StringVar(&o.runDir, "run-dir", "", "talk OpenFlow to the management socket in nicflowd's run `DIR` (default: the directory of --socket, "+defaultRunDir+") instead of the API")
}

// given reports whether the user asked for OpenFlow.
func (o *switchOpts) given() bool { return o.target != "" || o.runDir != "" }

// withSwitch connects to a network's switch and runs fn with the client;
// errors name the command and the network.
func (o *switchOpts) withSwitch(ctx context.Context, e *env, cmd string, args []string, fn func(*ofclient.Client) error) error {
	network := defaultNetwork
	switch len(args) {
	case 0:
	case 1:
		network = args[0]
	default:
		return fmt.Errorf("%s: one network name expected, got %q", cmd, args)
	}
	if e.json() && cmd != "tables" {
		return fmt.Errorf("%s: -o json needs the API (drop --switch and --run-dir)", cmd)
	}
	target := o.target
	if target == "" {
		dir := o.runDir
		if dir == "" {
			// nicflowd's API socket is RUN_DIR/nicflowd.sock unless
			// --api-socket moves it: the directory of --socket (by default
			// defaultRunDir) is where the management sockets are.
			dir = filepath.Dir(e.socket)
		}
		target = "unix:" + filepath.Join(dir, network+".mgmt")
	}
	c, err := ofclient.Dial(ctx, target)
	if err != nil {
		return fmt.Errorf("connect to network %s at %s (is nicflowd running?): %w", network, target, err)
	}
	defer c.Close()
	if err := fn(c); err != nil {
		return fmt.Errorf("%s of %s: %w", cmd, network, err)
	}
	return nil
}

// ofFlows prints a switch's flows as ovs-ofctl dump-flows does.
func ofFlows(ctx context.Context, e *env, c *ofclient.Client) error {
	flows, err := c.FlowStats(ctx, ofclient.AllFlows())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%d flows\n", len(flows))
	return ofclient.FormatFlows(e.stdout, flows)
}

// ofPorts prints a switch's ports with their counters.
func ofPorts(ctx context.Context, e *env, c *ofclient.Client) error {
	descs, err := c.PortDesc(ctx)
	if err != nil {
		return err
	}
	stats, err := c.PortStats(ctx, pipeline.PortAny)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "PORT\tNAME\tLINK\tRX PKTS\tRX BYTES\tRX DROP\tTX PKTS\tTX BYTES\tTX DROP\t")
	for _, d := range descs {
		link := "up"
		if d.State&portStateLinkDown != 0 {
			link = "down"
		}
		if d.Config&portConfigDown != 0 {
			link += ",admin-down"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t", d.PortNo, d.Name, link)
		for _, s := range stats {
			if s.PortNo == d.PortNo {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t", s.RxPackets, s.RxBytes, s.RxDropped, s.TxPackets, s.TxBytes, s.TxDropped)
			}
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// Port config and state bits (OFPPC_PORT_DOWN, OFPPS_LINK_DOWN).
const (
	portConfigDown    = 1 << 0
	portStateLinkDown = 1 << 0
)
