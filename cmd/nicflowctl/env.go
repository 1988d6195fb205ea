package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/client"
)

// env is what every command shares: the output streams and the global
// flags, which may be given before or after the command.
type env struct {
	stdout, stderr io.Writer
	socket         string
	url            string
	tls            mtls.Files // for an https --url
	output         string     // table or json
}

func newEnv(stdout, stderr io.Writer) *env {
	return &env{stdout: stdout, stderr: stderr, socket: rest.DefaultSocket, output: "table"}
}

// addGlobalFlags registers the global flags on fs.
func (e *env) addGlobalFlags(fs *flag.FlagSet) {
	fs.StringVar(&e.socket, "socket", e.socket, "nicflowd's API unix socket `PATH`")
	fs.StringVar(&e.url, "url", e.url, "nicflowd's API `URL` over TCP (instead of --socket)")
	fs.StringVar(&e.tls.PrivateKey, "private-key", e.tls.PrivateKey, "TLS private key `FILE` (PEM) for an https --url")
	fs.StringVar(&e.tls.Certificate, "certificate", e.tls.Certificate, "TLS certificate `FILE` (PEM) for an https --url, signed by nicflowd's --ca-cert")
	fs.StringVar(&e.tls.CACert, "ca-cert", e.tls.CACert, "CA certificate `FILE` (PEM) for an https --url: nicflowd's certificate must chain to it")
	fs.StringVar(&e.output, "o", e.output, "output `FORMAT`: table or json")
	fs.StringVar(&e.output, "output", e.output, "output `FORMAT`: table or json")
}

// flags returns a flag set for a command, with the global flags.
func (e *env) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("nicflowctl "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	e.addGlobalFlags(fs)
	return fs
}

// parse parses flags and positional arguments in any order and returns
// the positional ones.
func (e *env) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%s: %w", strings.TrimPrefix(fs.Name(), "nicflowctl "), err)
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if e.output != "table" && e.output != "json" {
		return nil, fmt.Errorf("-o %q: want table or json", e.output)
	}
	return positional, nil
}

// client returns an API client for the socket or URL given, with the TLS
// files given (relative paths are taken from the working directory).
func (e *env) client() (*client.Client, error) {
	files := e.tls
	for _, p := range []*string{&files.PrivateKey, &files.Certificate, &files.CACert} {
		if *p != "" {
			abs, err := filepath.Abs(*p)
			if err != nil {
				return nil, err
			}
			*p = abs
		}
	}
	c, err := client.New(client.Options{Socket: e.socket, URL: e.url, TLS: files})
	var fe *mtls.FieldError
	if errors.As(err, &fe) { // name the flag, not the configuration key
		return nil, fmt.Errorf("--%s: %s", strings.ReplaceAll(fe.Field, "_", "-"), strings.ReplaceAll(fe.Msg, "_", "-"))
	}
	return c, err
}

// apiError adds a hint to errors that found no daemon.
func apiError(err error) error {
	if errors.Is(err, client.ErrNotRunning) {
		return fmt.Errorf("%w (start nicflowd, or point --socket or --url at it)", err)
	}
	return err
}

func (e *env) json() bool { return e.output == "json" }

// printJSON writes v as indented JSON.
func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// table starts a table with the given tab-separated header.
func (e *env) table(header string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	return tw
}

// dash shows an empty value as "-".
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// wantArgs checks the number of positional arguments.
func wantArgs(cmd string, args []string, min, max int, what string) error {
	if len(args) < min || len(args) > max {
		return fmt.Errorf("%s: want %s, got %q", cmd, what, args)
	}
	return nil
}

// command parses a subcommand's flags, checks it got min..max positional
// arguments (what says which), and opens the API client: the start of
// every subcommand that talks to nicflowd.
func (e *env) command(fs *flag.FlagSet, args []string, min, max int, what string) ([]string, *client.Client, error) {
	args, err := e.parse(fs, args)
	if err != nil {
		return nil, nil, err
	}
	if err := wantArgs(strings.TrimPrefix(fs.Name(), "nicflowctl "), args, min, max, what); err != nil {
		return nil, nil, err
	}
	c, err := e.client()
	return args, c, err
}
