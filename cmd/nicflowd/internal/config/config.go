// Package config is nicflowd's configuration: its command-line flags and
// its YAML file, validated (a network as the REST API validates a network
// spec), each error naming the flag or the file's key at fault and its
// line.
//
// It must not import, directly or indirectly:
// github.com/nicflow/nicflow/offload/manager,
// github.com/nicflow/nicflow/cmd/nicflowctl,
// github.com/nicflow/nicflow/api/rest/client.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/nicflow/nicflow/api/mtls"
	"github.com/nicflow/nicflow/api/openflow/oftarget"
	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/offload"
)

// Config is nicflowd's configuration file.
type Config struct {
	LogLevel string `yaml:"log_level"`
	RunDir   string `yaml:"run_dir"`
	// APISocket is the REST API's unix socket (default RUN_DIR/nicflowd.sock).
	APISocket string `yaml:"api_socket"`
	// APIListen also serves the REST API on TCP HOST:PORT: over TLS with
	// mutual authentication when the TLS files are given (then on any
	// address), else on a loopback address only.
	APIListen string `yaml:"api_listen"`
	// Files (private_key, certificate, ca_cert) are nicflowd's TLS
	// material: the default of the networks' ssl: and pssl: targets, and
	// the REST API's on api_listen.
	mtls.Files `yaml:",inline"`
	// StatePath is the state store (bbolt file) that keeps the networks
	// created through the API and every vNIC (default
	// /var/lib/nicflow/state.db).
	StatePath string `yaml:"state_path"`
	// ReconcileDelay is how long, after a start, the tc filters of an
	// earlier run keep forwarding while the controllers re-send their
	// rules; those no re-sent rule adopted are then removed (default 30s).
	ReconcileDelay time.Duration `yaml:"reconcile_delay"`
	// InactivityProbe is the inactivity probe, in milliseconds, of the
	// networks that set none (file, flags and API networks alike): 0
	// disables it, else at least 5000; absent: 5000 (--inactivity-probe).
	InactivityProbe *int `yaml:"inactivity_probe"`
	// Networks are started at start and cannot be changed through the
	// API; more can be created through the API. May be empty.
	Networks []NetworkConfig `yaml:"networks"`
}

// NetworkConfig is one network of the configuration file.
type NetworkConfig struct {
	Name string `yaml:"name"`
	// DPID is the datapath id; accepts decimal or 0x-prefixed hex. Zero: derived
	// from the first port's MAC address, as Open vSwitch does.
	DPID        string   `yaml:"dpid"`
	Mode        string   `yaml:"mode"`
	Ports       []string `yaml:"ports"`
	Controllers []string `yaml:"controllers"`
	Listeners   []string `yaml:"listeners"`
	FailMode    string   `yaml:"fail_mode"`
	// Offload is the offload policy: auto (default), hw, tc or off.
	Offload string `yaml:"offload"`
	// Files (private_key, certificate, ca_cert) are the TLS material of
	// the network's ssl: and pssl: targets; none: the global ones.
	mtls.Files `yaml:",inline"`
	// InactivityProbe, ControllerRateLimit and ControllerBurstLimit are
	// Open vSwitch's inactivity_probe (ms; absent: the global one),
	// controller_rate_limit and controller_burst_limit (see
	// rest.NetworkSpec).
	InactivityProbe      *int `yaml:"inactivity_probe"`
	ControllerRateLimit  int  `yaml:"controller_rate_limit"`
	ControllerBurstLimit int  `yaml:"controller_burst_limit"`
}

const (
	defaultRunDir  = "/run/nicflow"
	defaultState   = "/var/lib/nicflow/state.db"
	defaultNetwork = "nf0"
	defaultLevel   = "info"
)

// Load reads and validates a YAML configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data)
}

// Parse parses and validates a YAML configuration; unknown keys are errors.
func Parse(data []byte) (*Config, error) {
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse config: %w", yamlError(data, err))
	}
	if err := c.normalize(); err != nil {
		return nil, withLine(data, err)
	}
	return &c, nil
}

// normalize fills defaults and validates every field, naming the one that
// is wrong. A network is validated as the API validates a network spec
// (its spec, rest.NetworkSpec.Validate); what only a file says is checked
// here: names and ports unique across the file, mode host only, at least
// one port, controllers active and listeners passive.
func (c *Config) normalize() error {
	if c.LogLevel == "" {
		c.LogLevel = defaultLevel
	}
	if c.RunDir == "" {
		c.RunDir = defaultRunDir
	}
	if c.StatePath == "" {
		c.StatePath = defaultState
	}
	if c.ReconcileDelay < 0 {
		return fmt.Errorf("reconcile_delay: %s is negative", c.ReconcileDelay)
	}
	if err := c.Files.Check(); err != nil {
		return err
	}
	if err := CheckAPIListen(c.APIListen, !c.Files.IsZero()); err != nil {
		return fmt.Errorf("api_listen: %w", err)
	}
	if c.InactivityProbe != nil {
		if err := rest.CheckInactivityProbe(*c.InactivityProbe); err != nil {
			return err
		}
	}
	names := map[string]bool{}
	ports := map[string]string{}
	for i := range c.Networks {
		n := &c.Networks[i]
		where := fmt.Sprintf("networks[%d]", i)
		if err := n.normalize(); err != nil {
			return fmt.Errorf("%s.%w", where, err)
		}
		if key := n.tlsTarget(); key != "" && n.Files.IsZero() && c.Files.IsZero() {
			return fmt.Errorf("%s.%s: %w", where, key, mtls.ErrNoMaterial)
		}
		if names[n.Name] {
			return fmt.Errorf("%s.name: %q is used twice", where, n.Name)
		}
		names[n.Name] = true
		for j, p := range n.Ports {
			if other, ok := ports[p]; ok {
				return fmt.Errorf("%s.ports[%d]: %s is already a port of network %s", where, j, p, other)
			}
			ports[p] = n.Name
		}
	}
	return nil
}

// normalize validates one network of the file through its spec and fills
// its defaults from it; errors start with the file's key.
func (n *NetworkConfig) normalize() error {
	if n.Mode == "" {
		n.Mode = rest.ModeHost
	}
	if n.Mode != rest.ModeHost {
		return fmt.Errorf("mode: %q is not supported in the configuration file (only host; create networks in modes nic and hairpin through the API)", n.Mode)
	}
	spec, err := n.Spec()
	if err != nil {
		return err
	}
	if err := spec.Validate(); err != nil {
		var e *rest.Error
		if errors.As(err, &e) {
			return fmt.Errorf("%s: %s", n.key(e.Field), strings.TrimPrefix(e.Error(), e.Field+": "))
		}
		return err
	}
	n.FailMode, n.Offload, n.ControllerBurstLimit = spec.FailMode, spec.Offload, spec.ControllerBurstLimit
	if len(n.Ports) == 0 {
		return errors.New("ports: at least one port is required")
	}
	for j, t := range spec.Controllers {
		target, _ := oftarget.Parse(t) // validated
		if listener := j >= len(n.Controllers); target.Passive != listener {
			want := "tcp:HOST[:PORT], ssl:HOST[:PORT] or unix:PATH"
			if listener {
				want = "ptcp:[PORT][:IP], pssl:[PORT][:IP] or punix:PATH"
			}
			return fmt.Errorf("%s: %q must be %s", n.key(fmt.Sprintf("controllers[%d]", j)), t, want)
		}
	}
	return nil
}

// tlsTarget is the file's key of the network's first ssl: or pssl:
// target, "" when it has none.
func (n *NetworkConfig) tlsTarget() string {
	for j, t := range append(append([]string{}, n.Controllers...), n.Listeners...) {
		if target, err := oftarget.Parse(t); err == nil && target.TLS {
			return n.key(fmt.Sprintf("controllers[%d]", j))
		}
	}
	return ""
}

// Spec is the network as the API's network spec: the file's controllers
// and then its listeners (passive targets) are the spec's controllers.
func (n *NetworkConfig) Spec() (rest.NetworkSpec, error) {
	var dpid rest.DatapathID
	if n.DPID != "" {
		var err error
		if dpid, err = rest.ParseDatapathID(n.DPID); err != nil {
			return rest.NetworkSpec{}, fmt.Errorf("dpid: %w", err)
		}
	}
	targets := append(append([]string{}, n.Controllers...), n.Listeners...)
	return rest.NetworkSpec{Name: n.Name, Mode: n.Mode, DatapathID: dpid, Controllers: targets,
		FailMode: n.FailMode, Offload: n.Offload, Ports: append([]string(nil), n.Ports...), Files: n.Files,
		InactivityProbe: n.InactivityProbe, ControllerRateLimit: n.ControllerRateLimit, ControllerBurstLimit: n.ControllerBurstLimit}, nil
}

// Specs are the networks' specs, for the manager to start.
func (c *Config) Specs() ([]rest.NetworkSpec, error) {
	out := make([]rest.NetworkSpec, len(c.Networks))
	for i := range c.Networks {
		spec, err := c.Networks[i].Spec()
		if err != nil {
			return nil, fmt.Errorf("networks[%d].%w", i, err)
		}
		out[i] = spec
	}
	return out, nil
}

// key is the file's key of a field of the network's spec.
func (n *NetworkConfig) key(field string) string {
	var j int
	if _, err := fmt.Sscanf(field, "controllers[%d]", &j); err == nil && j >= len(n.Controllers) {
		return fmt.Sprintf("listeners[%d]", j-len(n.Controllers))
	}
	if field == "datapath_id" {
		return "dpid"
	}
	return field
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// Options are nicflowd's command-line flags.
type Options struct {
	// Version: print the version and exit.
	Version bool

	configPath      string
	ports           stringList
	listeners       stringList
	controllers     stringList
	failMode        string
	offload         string
	dpid            string
	network         string
	runDir          string
	apiSocket       string
	apiListen       string
	statePath       string
	logLevel        string
	reconcile       time.Duration
	tls             mtls.Files
	inactivityProbe *int
	rateLimit       int
	burstLimit      int
}

// ParseFlags parses nicflowd's arguments; the flag set's usage goes to
// stderr (flag.ErrHelp after --help).
func ParseFlags(args []string, stderr io.Writer) (*Options, *flag.FlagSet, error) {
	var o Options
	fs := flag.NewFlagSet("nicflowd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "YAML configuration `file` (networks, ports, controllers); excludes the per-network flags")
	fs.Var(&o.ports, "port", "add `NETDEV` as the next OpenFlow port (1, 2, ...); repeat")
	fs.Var(&o.listeners, "listen", "passive OpenFlow listener `ptcp:PORT[:IP]|pssl:PORT[:IP]|punix:PATH`; repeat")
	fs.Var(&o.controllers, "controller", "controller to connect to, `tcp:HOST:PORT|ssl:HOST:PORT`; repeat")
	fs.StringVar(&o.tls.PrivateKey, "private-key", "", "TLS private key `FILE` (PEM) of ssl:/pssl: targets and of --api-listen")
	fs.StringVar(&o.tls.Certificate, "certificate", "", "TLS certificate `FILE` (PEM) of that key")
	fs.StringVar(&o.tls.CACert, "ca-cert", "", "CA certificate `FILE` (PEM): peers must present a certificate it signed")
	fs.StringVar(&o.failMode, "fail-mode", string(offload.FailSecure), "`secure|standalone`: what to do with no controller")
	fs.StringVar(&o.offload, "offload", string(offload.PolicyAuto), "offload `POLICY`: auto (the driver decides, read back), hw (hardware only), tc (kernel software tc), off (Go fast path only)")
	fs.StringVar(&o.dpid, "dpid", "", "datapath id `N` (decimal or 0x-hex; default: from the first port's MAC)")
	fs.StringVar(&o.network, "network", defaultNetwork, "network `NAME`")
	fs.StringVar(&o.apiSocket, "api-socket", "", "REST API unix socket `PATH` (default RUN_DIR/nicflowd.sock)")
	fs.StringVar(&o.apiListen, "api-listen", "", "also serve the REST API on TCP `HOST:PORT`: with --private-key, --certificate and --ca-cert over mutual TLS, on any address; without them plain HTTP on loopback only")
	fs.StringVar(&o.statePath, "state", "", "state store `FILE` keeping API-created networks and vNICs (default "+defaultState+")")
	fs.StringVar(&o.runDir, "run-dir", "", "`DIR` for the management sockets (default "+defaultRunDir+")")
	fs.DurationVar(&o.reconcile, "reconcile-delay", 0, "how long after a controller's first rule since the start the tc filters of an earlier run keep forwarding while controllers re-send their rules, `DURATION` (default 30s; ten times it from the start when no rule comes)")
	fs.StringVar(&o.logLevel, "log-level", "", "`debug|info|warn|error` (default info)")
	fs.Func("inactivity-probe", "inactivity probe `MS` of networks that set none (Open vSwitch's inactivity_probe): ECHO_REQUEST after MS milliseconds without a message from a controller, the channel dropped after twice that; 0 disables it, else at least 5000 (default 5000)", func(v string) error {
		ms, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("%q is not a number of milliseconds", v)
		}
		o.inactivityProbe = &ms
		return nil
	})
	fs.IntVar(&o.rateLimit, "controller-rate-limit", 0, "at most `N` packet-ins a second per controller channel for table misses, and N for other reasons; the rest are dropped and counted (Open vSwitch's controller_rate_limit, at least 100; default no limit)")
	fs.IntVar(&o.burstLimit, "controller-burst-limit", 0, "how many packet-ins of each kind may go at once above --controller-rate-limit, `N` (at least 25; default a quarter of the rate)")
	fs.BoolVar(&o.Version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return nil, fs, err
	}
	if o.reconcile < 0 {
		return nil, fs, fmt.Errorf("--reconcile-delay %s is negative", o.reconcile)
	}
	if p := o.inactivityProbe; p != nil {
		if err := rest.CheckInactivityProbe(*p); err != nil {
			return nil, fs, fmt.Errorf("--inactivity-probe %s", strings.TrimPrefix(err.Error(), "inactivity_probe: "))
		}
	}
	if fs.NArg() > 0 {
		return nil, fs, fmt.Errorf("unexpected argument %q (ports are given with --port)", fs.Arg(0))
	}
	return &o, fs, nil
}

// Config builds the configuration from the flags: from --config, or one
// network from --port and friends.
func (o *Options) Config(fs *flag.FlagSet) (*Config, error) {
	if o.configPath != "" {
		var conflict []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "port", "listen", "controller", "fail-mode", "offload", "dpid", "network", "controller-rate-limit", "controller-burst-limit":
				conflict = append(conflict, "--"+f.Name)
			}
		})
		if len(conflict) > 0 {
			return nil, fmt.Errorf("%s cannot be combined with --config (put them in the file)", strings.Join(conflict, ", "))
		}
		c, err := Load(o.configPath)
		if err != nil {
			return nil, err
		}
		o.override(c)
		return c, nil
	}
	c := &Config{}
	if len(o.ports) == 0 {
		// No network from flags: the networks come from the API (and
		// the state store).
		var given []string
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "listen", "controller", "fail-mode", "offload", "dpid", "network", "controller-rate-limit", "controller-burst-limit":
				given = append(given, "--"+f.Name)
			}
		})
		if len(given) > 0 {
			return nil, fmt.Errorf("%s without --port: give the network's ports with --port NETDEV (or use --config FILE)", strings.Join(given, ", "))
		}
		o.override(c)
		if err := c.normalize(); err != nil {
			return nil, fmt.Errorf("flags: %w", err)
		}
		return c, nil
	}
	c = &Config{Networks: []NetworkConfig{{
		Name:        o.network,
		DPID:        o.dpid,
		Ports:       o.ports,
		Listeners:   o.listeners,
		Controllers: o.controllers,
		FailMode:    o.failMode,
		Offload:     o.offload,

		ControllerRateLimit:  o.rateLimit,
		ControllerBurstLimit: o.burstLimit,
	}}}
	o.override(c)
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	return c, nil
}

func (o *Options) override(c *Config) {
	if o.runDir != "" {
		c.RunDir = o.runDir
	}
	if o.apiSocket != "" {
		c.APISocket = o.apiSocket
	}
	if o.apiListen != "" {
		c.APIListen = o.apiListen
	}
	if o.logLevel != "" {
		c.LogLevel = o.logLevel
	}
	for _, f := range []struct{ flag, to *string }{
		{&o.tls.PrivateKey, &c.PrivateKey}, {&o.tls.Certificate, &c.Certificate}, {&o.tls.CACert, &c.CACert},
	} {
		if *f.flag != "" {
			*f.to = *f.flag
			if abs, err := filepath.Abs(*f.flag); err == nil {
				*f.to = abs // the daemon reads them again later
			}
		}
	}
	if o.statePath != "" {
		c.StatePath = o.statePath
	}
	if o.reconcile != 0 {
		c.ReconcileDelay = o.reconcile
	}
	if o.inactivityProbe != nil {
		c.InactivityProbe = o.inactivityProbe
	}
}

// CheckAPIListen accepts "", a loopback HOST:PORT, or with mutual TLS
// (withTLS) any HOST:PORT.
func CheckAPIListen(addr string, withTLS bool) error {
	if addr == "" {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not HOST:PORT: %w", addr, err)
	}
	if ip := net.ParseIP(host); !withTLS && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q is not a loopback address: the REST API serves beyond loopback only over mutual TLS; give --private-key, --certificate and --ca-cert (private_key, certificate and ca_cert in the configuration file), or listen on 127.0.0.1", addr)
	}
	return nil
}

// APISocketPath is the REST API's unix socket path.
func (c *Config) APISocketPath() string {
	if c.APISocket != "" {
		return c.APISocket
	}
	return filepath.Join(c.RunDir, "nicflowd.sock")
}

// DefaultInactivityProbe is the inactivity probe of networks that set
// none, as manager.Config takes it: 0 for the default (5 s), negative
// when disabled.
func (c *Config) DefaultInactivityProbe() time.Duration {
	switch {
	case c.InactivityProbe == nil:
		return 0
	case *c.InactivityProbe == 0:
		return -1
	}
	return time.Duration(*c.InactivityProbe) * time.Millisecond
}
