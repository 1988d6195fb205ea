package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/nicflow/nicflow/api/rest"
)

func runNetworks(ctx context.Context, e *env, args []string) error {
	verb := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	switch verb {
	case "list":
		return networksList(ctx, e, args)
	case "get", "show":
		return networksGet(ctx, e, args)
	case "create":
		return networksCreate(ctx, e, args)
	case "delete":
		return networksDelete(ctx, e, args)
	case "mode":
		return networksMode(ctx, e, args)
	}
	return fmt.Errorf("networks: unknown verb %q (want list, get, create, mode or delete)", verb)
}

func networksList(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("networks list"), args, 0, 0, "no arguments")
	if err != nil {
		return err
	}
	nets, err := c.Networks(ctx)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(nets)
	}
	if len(nets) == 0 {
		_, err := fmt.Fprintln(e.stdout, "no networks: create one with 'nicflowctl networks create NAME' or in nicflowd's configuration file")
		return err
	}
	return e.networkTable(nets)
}

func networksGet(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("networks get"), args, 1, 1, "one network name")
	if err != nil {
		return err
	}
	n, err := c.Network(ctx, args[0])
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(n)
	}
	if err := e.networkTable([]rest.Network{n}); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout)
	fmt.Fprintf(e.stdout, "origin: %s\n", dash(n.Status.Origin))
	if n.Status.Error != "" {
		fmt.Fprintf(e.stdout, "not running: %s\n", n.Status.Error)
	}
	if n.Status.EswitchMode != "" {
		fmt.Fprintf(e.stdout, "eswitch mode: %s\n", n.Status.EswitchMode)
	}
	if n.Status.Switching != "" {
		fmt.Fprintf(e.stdout, "switching: %s\n", n.Status.Switching)
	}
	if n.Status.ModeNote != "" {
		fmt.Fprintf(e.stdout, "mode: %s\n", n.Status.ModeNote)
	}
	if n.Status.OffloadNote != "" {
		fmt.Fprintf(e.stdout, "offload: %s (%s)\n", n.Status.Offload, n.Status.OffloadNote)
	}
	probe := "off"
	if ms := n.Status.InactivityProbe; ms > 0 {
		probe = fmt.Sprintf("%d ms", ms)
	}
	fmt.Fprintf(e.stdout, "inactivity probe: %s\n", probe)
	if n.ControllerRateLimit > 0 {
		fmt.Fprintf(e.stdout, "packet-in rate limit: %d/s, burst %d (per controller channel and kind)\n", n.ControllerRateLimit, n.ControllerBurstLimit)
	}
	if len(n.Status.Ports) > 0 {
		fmt.Fprintln(e.stdout)
		tw := e.table("PORT\tNAME\tKIND\tVNIC\tMISSING")
		for _, p := range n.Status.Ports {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", p.No, p.Name, dash(p.Kind), dash(p.VNIC), dash(p.Missing))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(n.Status.Controllers) > 0 {
		fmt.Fprintln(e.stdout)
		peers := false // a TLS peer's certificate subject: a column of its own
		for _, c := range n.Status.Controllers {
			peers = peers || c.PeerSubject != ""
		}
		if peers {
			tw := e.table("CONTROLLER\tCONNECTED\tROLE\tPACKET_IN RATE DROPS\tPEER CERTIFICATE")
			for _, c := range n.Status.Controllers {
				fmt.Fprintf(tw, "%s\t%t\t%s\t%d\t%s\n", c.Target, c.Connected, dash(c.Role), c.PacketInRateDrops, dash(c.PeerSubject))
			}
			return tw.Flush()
		}
		tw := e.table("CONTROLLER\tCONNECTED\tROLE\tPACKET_IN RATE DROPS")
		for _, c := range n.Status.Controllers {
			fmt.Fprintf(tw, "%s\t%t\t%s\t%d\n", c.Target, c.Connected, dash(c.Role), c.PacketInRateDrops)
		}
		return tw.Flush()
	}
	return nil
}

// networkTable prints networks one per line.
func (e *env) networkTable(nets []rest.Network) error {
	tw := e.table("NAME\tMODE\tSWITCHING\tUPLINK\tSTATE\tDATAPATH ID\tFAIL MODE\tOFFLOAD\tPORTS\tCONTROLLERS\tRULES HW/TC/SOFT")
	for _, n := range nets {
		offload := n.Offload
		if eff := n.Status.Offload; eff != "" && eff != n.Offload {
			offload += "->" + eff
		}
		var ctrls []string
		for _, c := range n.Status.Controllers {
			state := "down"
			if c.Connected {
				state = "up"
			}
			if c.PeerSubject != "" {
				state += " " + c.PeerSubject
			}
			ctrls = append(ctrls, c.Target+"("+state+")")
		}
		r := n.Status.Rules
		state := "down"
		if n.Status.Running {
			state = "up"
		}
		if n.Status.Origin == rest.OriginConfig {
			state += " (config)"
		}
		mode := n.Mode
		switch {
		case n.Status.EswitchMode != "" && n.Mode == rest.ModeNIC:
			mode += "/" + n.Status.EswitchMode
		case n.VNICType != "":
			mode += "/" + n.VNICType
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d/%d/%d\n", n.Name, mode, dash(n.Status.SwitchingPoint), dash(n.Uplink), state, n.Status.DatapathID,
			n.FailMode, offload, len(n.Status.Ports), dash(strings.Join(ctrls, ",")), r.HW, r.TC, r.Soft)
	}
	return tw.Flush()
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func networksCreate(ctx context.Context, e *env, args []string) error {
	var (
		spec        rest.NetworkSpec
		dpid        string
		controllers stringList
		ports       stringList
		probe       int
	)
	fs := e.flags("networks create")
	fs.StringVar(&spec.Mode, "mode", "", "switching `MODE`: host, nic or hairpin (default host)")
	fs.StringVar(&spec.Uplink, "uplink", "", "uplink PF `NETDEV` (modes nic and hairpin)")
	fs.StringVar(&dpid, "dpid", "", "datapath `ID`, decimal or 0x-hex (default: derived)")
	fs.Var(&controllers, "controller", "OpenFlow `TARGET` (tcp:HOST:PORT, ptcp:PORT, punix:PATH, ...); repeat")
	fs.StringVar(&spec.FailMode, "fail-mode", "", "`secure|standalone` (default secure)")
	fs.StringVar(&spec.Offload, "offload", "", "offload `POLICY`: auto, hw, tc or off (default auto)")
	fs.Var(&ports, "port", "add `NETDEV` as an OpenFlow port; repeat")
	fs.StringVar(&spec.EswitchMode, "eswitch-mode", "", "mode nic: uplink eswitch `MODE`, switchdev or legacy (default: switchdev when the NIC can)")
	fs.IntVar(&spec.NumVFs, "num-vfs", 0, "mode nic: set the uplink's VF count to `N` (default: keep it)")
	fs.StringVar(&spec.VNICType, "vnic-type", "", "mode hairpin: vNICs are `TYPE` vf, macvlan or macvtap (default: vf when the uplink has VFs)")
	fs.IntVar(&probe, "inactivity-probe", -1, "echo a controller channel idle for `MS` milliseconds, drop it after twice that; 0: never (default: nicflowd's, 5000)")
	fs.IntVar(&spec.ControllerRateLimit, "controller-rate-limit", 0, "at most `N` packet-ins per second per controller channel and kind (at least 100; default: no limit)")
	fs.IntVar(&spec.ControllerBurstLimit, "controller-burst-limit", 0, "packet-ins beyond the rate in a `BURST` (at least 25; default: a quarter of the rate)")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("networks create", args, 1, 1, "one network name"); err != nil {
		return err
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "inactivity-probe" {
			spec.InactivityProbe = &probe
		}
	})
	spec.Name = args[0]
	spec.Controllers, spec.Ports = controllers, ports
	if dpid != "" {
		id, err := rest.ParseDatapathID(dpid)
		if err != nil {
			return fmt.Errorf("networks create: --dpid: %w", err)
		}
		spec.DatapathID = id
	}
	c, err := e.client()
	if err != nil {
		return err
	}
	n, err := c.CreateNetwork(ctx, spec)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(n)
	}
	_, err = fmt.Fprintf(e.stdout, "created network %s (mode %s, datapath id %s)\n", n.Name, n.Mode, n.Status.DatapathID)
	return err
}

// networksMode changes a network's mode live (PUT with its spec and
// another mode) and prints the steps nicflowd did.
func networksMode(ctx context.Context, e *env, args []string) error {
	var vnicType, eswitch string
	fs := e.flags("networks mode")
	fs.StringVar(&vnicType, "vnic-type", "", "mode hairpin: vNICs are `TYPE` vf, macvlan or macvtap (default: vf when the uplink has VFs)")
	fs.StringVar(&eswitch, "eswitch-mode", "", "mode nic: uplink eswitch `MODE`, switchdev or legacy (default: switchdev when the NIC can)")
	args, c, err := e.command(fs, args, 2, 2, "a network name and a mode (host, nic or hairpin)")
	if err != nil {
		return err
	}
	n, err := c.Network(ctx, args[0])
	if err != nil {
		return apiError(err)
	}
	spec := n.NetworkSpec
	spec.Mode, spec.VNICType, spec.EswitchMode = args[1], vnicType, eswitch
	if spec.Mode != rest.ModeNIC {
		spec.NumVFs = 0
	}
	n, err = c.UpdateNetwork(ctx, args[0], spec)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(n)
	}
	for _, line := range n.Status.Changes {
		fmt.Fprintln(e.stdout, line)
	}
	_, err = fmt.Fprintf(e.stdout, "network %s: mode %s, switching %s\n", n.Name, n.Mode, dash(n.Status.Switching))
	return err
}

func networksDelete(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("networks delete"), args, 1, 1, "one network name")
	if err != nil {
		return err
	}
	if err := c.DeleteNetwork(ctx, args[0]); err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(map[string]string{"deleted": args[0]})
	}
	_, err = fmt.Fprintf(e.stdout, "deleted network %s\n", args[0])
	return err
}

var _ flag.Value = (*stringList)(nil)
