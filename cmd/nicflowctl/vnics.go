package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/nicflow/nicflow/api/rest"
)

func runVNICs(ctx context.Context, e *env, args []string) error {
	verb := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	switch verb {
	case "list":
		return vnicsList(ctx, e, args)
	case "get", "show":
		return vnicsGet(ctx, e, args)
	case "attach":
		return vnicsAttach(ctx, e, args)
	case "detach":
		return vnicsDetach(ctx, e, args)
	}
	return fmt.Errorf("vnics: unknown verb %q (want list, get, attach or detach)", verb)
}

func vnicsList(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("vnics list"), args, 0, 0, "no arguments")
	if err != nil {
		return err
	}
	vs, err := c.VNICs(ctx)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(vs)
	}
	return e.vnicTable(vs)
}

func vnicsGet(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("vnics get"), args, 1, 1, "one vNIC id")
	if err != nil {
		return err
	}
	v, err := c.VNIC(ctx, args[0])
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(v)
	}
	return e.vnicTable([]rest.VNIC{v})
}

// vnicTable prints vNICs one per line.
func (e *env) vnicTable(vs []rest.VNIC) error {
	tw := e.table("ID\tNETWORK\tVF\tNETDEV\tREPRESENTOR\tOFPORT\tMAC\tVLAN\tRATE MIN/MAX\tSPOOFCHK\tTRUST\tLINK")
	for _, v := range vs {
		vlan := "-"
		if v.VLAN != 0 {
			vlan = strconv.Itoa(v.VLAN)
			if v.QoS != 0 {
				vlan += " qos " + strconv.Itoa(v.QoS)
			}
			if v.VLANProto != "" && v.VLANProto != rest.VLANProto8021Q {
				vlan += " " + v.VLANProto
			}
		}
		rate := "-"
		if v.MinTxRate != 0 || v.MaxTxRate != 0 {
			rate = fmt.Sprintf("%d/%d", v.MinTxRate, v.MaxTxRate)
		}
		vfName := v.VF
		if vfName == "" && v.VFIndex >= 0 && v.Uplink != "" {
			vfName = fmt.Sprintf("%s vf %d", v.Uplink, v.VFIndex)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Network, dash(vfName), dash(v.Netdev),
			dash(v.Representor), ofPort(v.OFPort), dash(v.MAC), vlan, rate, onOff(v.SpoofCheck), onOff(v.Trust), dash(v.LinkState))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, v := range vs {
		if v.Broken != "" {
			fmt.Fprintf(e.stdout, "%s is broken: %s\n", v.ID, v.Broken)
		}
	}
	return nil
}

// ofPort prints an OpenFlow port number; 0 (a VF in legacy mode, switched
// by the NIC) has none.
func ofPort(no uint32) string {
	if no == 0 {
		return "-"
	}
	return strconv.FormatUint(uint64(no), 10)
}

func onOff(b *bool) string {
	switch {
	case b == nil:
		return "-"
	case *b:
		return "on"
	}
	return "off"
}

// optBool is a boolean flag that remembers whether it was given.
type optBool struct{ v *bool }

func (o *optBool) String() string {
	if o == nil || o.v == nil {
		return ""
	}
	return strconv.FormatBool(*o.v)
}

func (o *optBool) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("%q is not true or false", s)
	}
	o.v = &b
	return nil
}

func (o *optBool) IsBoolFlag() bool { return true }

func vnicsAttach(ctx context.Context, e *env, args []string) error {
	var (
		spec              rest.VNICSpec
		spoofCheck, trust optBool
		minRate, maxRate  uint
	)
	fs := e.flags("vnics attach")
	fs.StringVar(&spec.Network, "network", "", "`NAME` of the network to attach to (required)")
	fs.StringVar(&spec.MAC, "mac", "", "unicast MAC `ADDRESS` (default: the NIC picks)")
	fs.IntVar(&spec.VLAN, "vlan", 0, "port `VLAN` 1-4094 (default untagged)")
	fs.IntVar(&spec.QoS, "qos", 0, "VLAN `PRIORITY` 0-7")
	fs.StringVar(&spec.VLANProto, "vlan-proto", "", "`802.1Q|802.1ad` (default 802.1Q)")
	fs.Var(&spoofCheck, "spoof-check", "MAC spoof check (default true; --spoof-check=false to turn off)")
	fs.Var(&trust, "trust", "trusted VF (default false)")
	fs.UintVar(&minRate, "min-tx-rate", 0, "minimum TX rate in `MBPS`")
	fs.UintVar(&maxRate, "max-tx-rate", 0, "maximum TX rate in `MBPS` (0: unlimited)")
	fs.StringVar(&spec.LinkState, "link-state", "", "`auto|enable|disable` (default auto)")
	args, err := e.parse(fs, args)
	if err != nil {
		return err
	}
	if err := wantArgs("vnics attach", args, 1, 1, "one vNIC id"); err != nil {
		return err
	}
	if spec.Network == "" {
		return fmt.Errorf("vnics attach: --network is required")
	}
	if minRate > 1<<32-1 || maxRate > 1<<32-1 {
		return fmt.Errorf("vnics attach: rates are at most %d Mbit/s", uint32(1<<32-1))
	}
	spec.ID = args[0]
	spec.SpoofCheck, spec.Trust = spoofCheck.v, trust.v
	spec.MinTxRate, spec.MaxTxRate = uint32(minRate), uint32(maxRate)
	c, err := e.client()
	if err != nil {
		return err
	}
	v, created, err := c.AttachVNIC(ctx, spec)
	if err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(v)
	}
	what := "attached"
	if !created {
		what = "already attached"
	}
	where := fmt.Sprintf("VF %s", dash(v.VF))
	if v.VFIndex >= 0 && v.Uplink != "" {
		where = fmt.Sprintf("VF %d of %s (%s)", v.VFIndex, v.Uplink, dash(v.VF))
	} else if v.VFIndex < 0 {
		where = "veth"
	}
	port := fmt.Sprintf("OpenFlow port %d", v.OFPort)
	if v.OFPort == 0 {
		port = "no OpenFlow port (the NIC switches it)"
	}
	_, err = fmt.Fprintf(e.stdout, "vnic %s %s to network %s: %s, netdev %s, representor %s, %s\n",
		v.ID, what, v.Network, where, dash(v.Netdev), dash(v.Representor), port)
	return err
}

func vnicsDetach(ctx context.Context, e *env, args []string) error {
	args, c, err := e.command(e.flags("vnics detach"), args, 1, 1, "one vNIC id")
	if err != nil {
		return err
	}
	// DELETE is idempotent (an absent vNIC answers 204, as a CNI DEL
	// wants); the CLI looks first so that a typo is not reported detached.
	if _, err := c.VNIC(ctx, args[0]); errors.Is(err, rest.ErrNotFound) {
		if e.json() {
			return e.printJSON(map[string]string{"not_attached": args[0]})
		}
		_, err = fmt.Fprintf(e.stdout, "vnic %s is not attached: nothing detached\n", args[0])
		return err
	}
	if err := c.DetachVNIC(ctx, args[0]); err != nil {
		return apiError(err)
	}
	if e.json() {
		return e.printJSON(map[string]string{"detached": args[0]})
	}
	_, err = fmt.Fprintf(e.stdout, "detached vnic %s\n", args[0])
	return err
}
