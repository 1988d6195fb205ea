package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nicflow/nicflow/api/openflow/ofclient"
)

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = map[string]command{
	"version": {"print the version", runVersion},
	"flows":   {"print a network's flows with their counters", runFlows},
	"ports":   {"print a network's ports with their counters", runPorts},
	"tables":  {"print a network's tables with their counters", runTables},
}

const (
	defaultRunDir  = "/run/nicflow"
	defaultNetwork = "nf0"
	requestTimeout = 10 * time.Second
)

// Run is nicflowctl with its arguments.
func Run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return errors.New("no command given")
		}
		return nil
	}
	cmd, ok := commands[args[0]]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", args[0])
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return cmd.run(ctx, args[1:], stdout)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: nicflowctl COMMAND [NETWORK] [flags]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
}

// switchFlags are the flags of every command that talks to a switch.
type switchFlags struct {
	target  string
	runDir  string
	network string
}

// parseSwitchArgs parses "[NETWORK] [--switch TARGET] [--run-dir DIR]",
// with flags before or after the network name.
func parseSwitchArgs(name string, args []string) (*switchFlags, error) {
	var sf switchFlags
	fs := flag.NewFlagSet("nicflowctl "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&sf.target, "switch", "", "OpenFlow `TARGET` (tcp:HOST:PORT or unix:PATH; default unix:RUNDIR/NETWORK.mgmt)")
	fs.StringVar(&sf.runDir, "run-dir", defaultRunDir, "nicflowd's run `DIR`")
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(positional) {
	case 0:
		sf.network = defaultNetwork
	case 1:
		sf.network = positional[0]
	default:
		return nil, fmt.Errorf("%s: one network name expected, got %s", name, strings.Join(positional, " "))
	}
	if sf.target == "" {
		sf.target = "unix:" + filepath.Join(sf.runDir, sf.network+".mgmt")
	}
	return &sf, nil
}

// withSwitch parses a command's switch arguments, connects to the switch
// and runs fn with the client; errors name the command and the network.
func withSwitch(ctx context.Context, name string, args []string, fn func(*ofclient.Client) error) error {
	sf, err := parseSwitchArgs(name, args)
	if err != nil {
		return err
	}
	c, err := ofclient.Dial(ctx, sf.target)
	if err != nil {
		return fmt.Errorf("connect to network %s at %s (is nicflowd running?): %w", sf.network, sf.target, err)
	}
	defer c.Close()
	if err := fn(c); err != nil {
		return fmt.Errorf("%s of %s: %w", name, sf.network, err)
	}
	return nil
}
