package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"time"
)

// command is one subcommand.
type command struct {
	summary string
	usage   string // arguments after the command name
	run     func(ctx context.Context, e *env, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"version":  {"print the version", "", runVersion},
		"nics":     {"list the host's NIC ports and their SR-IOV state", "[NAME]", runNICs},
		"networks": {"list, show, create, change the mode of, or delete networks", "[list | get NAME | create NAME [flags] | mode NAME MODE [flags] | delete NAME]", runNetworks},
		"vnics":    {"list, show, attach or detach vNICs", "[list | get ID | attach ID --network NAME [flags] | detach ID]", runVNICs},
		"flows":    {"print a network's rules with their tier and counters", "[NETWORK] [--switch TARGET | --run-dir DIR]", runFlows},
		"ports":    {"print a network's ports with their counters", "[NETWORK] [--switch TARGET | --run-dir DIR]", runPorts},
		"tables":   {"print a network's OpenFlow tables (from its management socket)", "[NETWORK] [--switch TARGET | --run-dir DIR]", runTables},
	}
}

const requestTimeout = 30 * time.Second

// Run is nicflowctl with its arguments: global flags, a command, its
// arguments and flags.
func Run(args []string, stdout, stderr io.Writer) error {
	e := newEnv(stdout, stderr)
	fs := flag.NewFlagSet("nicflowctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.addGlobalFlags(fs)
	if err := fs.Parse(args); err != nil {
		usage(stderr)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	args = fs.Args()
	if len(args) == 0 || args[0] == "help" {
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
	err := cmd.run(ctx, e, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: nicflowctl [--socket PATH | --url URL] [-o table|json] COMMAND [ARGS]")
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].summary)
		if u := commands[n].usage; u != "" {
			fmt.Fprintf(w, "  %-9s   nicflowctl %s %s\n", "", n, u)
		}
	}
}
