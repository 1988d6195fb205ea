package config

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
)

func TestParse(t *testing.T) {
	c, err := Parse([]byte(`
log_level: debug
reconcile_delay: 5s
networks:
  - name: blue
    dpid: "0x2a"
    ports: [veth1, veth2]
    controllers: [tcp:127.0.0.1:6653]
    listeners: [ptcp:6634]
    fail_mode: standalone
    offload: tc
  - name: red
    ports: [veth3]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		LogLevel:       "debug",
		RunDir:         defaultRunDir,
		StatePath:      defaultState,
		ReconcileDelay: 5 * time.Second,
		Networks: []NetworkConfig{
			{Name: "blue", DPID: "0x2a", Mode: "host", Ports: []string{"veth1", "veth2"},
				Controllers: []string{"tcp:127.0.0.1:6653"}, Listeners: []string{"ptcp:6634"}, FailMode: "standalone", Offload: "tc"},
			{Name: "red", Mode: "host", Ports: []string{"veth3"}, FailMode: "secure", Offload: "auto"},
		},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestParseConfigErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name, yaml, field string
	}{
		{"bad api_listen", "api_listen: \"10.0.0.1:80\"\n", "api_listen"},
		{"negative reconcile_delay", "reconcile_delay: -1s\n", "reconcile_delay"},
		{"reconcile_delay without a unit", "reconcile_delay: 30\n", "reconcile_delay"},
		{"unknown key", "networks: [{name: a, ports: [x], colour: red}]", "colour"},
		{"no name", "networks: [{ports: [x]}]", "networks[0].name"},
		{"dup name", "networks: [{name: a, ports: [x]}, {name: a, ports: [y]}]", "networks[1].name"},
		{"no ports", "networks: [{name: a}]", "networks[0].ports"},
		{"port twice", "networks: [{name: a, ports: [x]}, {name: b, ports: [x]}]", "networks[1].ports[0]"},
		{"bad fail mode", "networks: [{name: a, ports: [x], fail_mode: open}]", "networks[0].fail_mode"},
		{"bad offload", "networks: [{name: a, ports: [x], offload: fast}]", "networks[0].offload"},
		{"bad dpid", "networks: [{name: a, ports: [x], dpid: zz}]", "networks[0].dpid"},
		{"bad controller", "networks: [{name: a, ports: [x], controllers: [\"1.2.3.4:6653\"]}]", "networks[0].controllers[0]"},
		{"bad listener", "networks: [{name: a, ports: [x], listeners: [\"tcp:6653\"]}]", "networks[0].listeners[0]"},
		{"unsupported mode", "networks: [{name: a, ports: [x], mode: nic}]", "networks[0].mode"},
		// Validated as the API validates a network spec:
		{"controller without a port number", "networks: [{name: a, ports: [x], controllers: [\"tcp:127.0.0.1:http\"]}]", "networks[0].controllers[0]"},
		{"controller without a host", "networks: [{name: a, ports: [x], controllers: [tcp:]}]", "networks[0].controllers[0]"},
		{"listener with a bad address", "networks: [{name: a, ports: [x], listeners: [\"ptcp:6634:not-an-ip\"]}]", "networks[0].listeners[0]"},
		{"second listener bad", "networks: [{name: a, ports: [x], controllers: [\"tcp:10.0.0.1\"], listeners: [ptcp:6634, \"ptcp:99999\"]}]", "networks[0].listeners[1]"},
		{"listener twice", "networks: [{name: a, ports: [x], listeners: [ptcp:6634, ptcp:6634]}]", "networks[0].listeners[1]"},
		{"port name of 16 characters", "networks: [{name: a, ports: [abcdefghijklmnop]}]", "networks[0].ports[0]"},
		{"port name with a slash", "networks: [{name: a, ports: [x, a/b]}]", "networks[0].ports[1]"},
		{"port twice in one network", "networks: [{name: a, ports: [x, x]}]", "networks[0].ports[1]"},
		{"bad name", "networks: [{name: \"-a\", ports: [x]}]", "networks[0].name"},
		{"short inactivity probe", "networks: [{name: a, ports: [x], inactivity_probe: 1000}]", "networks[0].inactivity_probe: 1000 must be at least 5000 ms or 0"},
		{"short global inactivity probe", "inactivity_probe: 4999\n", "inactivity_probe: 4999 must be at least 5000 ms or 0"},
		{"low rate limit", "networks: [{name: a, ports: [x], controller_rate_limit: 10}]", "networks[0].controller_rate_limit: 10 must be at least 100"},
		{"burst without rate", "networks: [{name: a, ports: [x], controller_burst_limit: 30}]", "networks[0].controller_burst_limit: only with controller_rate_limit"},
		{"inactivity probe not a number", "networks:\n- name: a\n  ports: [x]\n  inactivity_probe: 5s\n", "line 4: networks[0].inactivity_probe: want an integer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("ParseConfig succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.field) {
				t.Errorf("error %q does not name field %q", err, tt.field)
			}
		})
	}
}

func TestFlagsBuildOneNetwork(t *testing.T) {
	o, fs, err := ParseFlags([]string{"--port", "a", "--port", "b", "--listen", "ptcp:6634",
		"--fail-mode", "standalone", "--dpid", "7", "--controller", "tcp:127.0.0.1:6653", "--offload", "off", "--reconcile-delay", "2s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err := o.Config(fs)
	if err != nil {
		t.Fatal(err)
	}
	want := NetworkConfig{Name: defaultNetwork, DPID: "7", Mode: "host", Ports: []string{"a", "b"},
		Listeners: []string{"ptcp:6634"}, Controllers: []string{"tcp:127.0.0.1:6653"}, FailMode: "standalone", Offload: "off"}
	if diff := cmp.Diff([]NetworkConfig{want}, c.Networks); diff != "" {
		t.Errorf("networks (-want +got):\n%s", diff)
	}
	if c.ReconcileDelay != 2*time.Second {
		t.Errorf("reconcile delay %s, want 2s", c.ReconcileDelay)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--fail-mode", "standalone"},         // network flags without --port
		{"--port", "a", "--fail-mode", "x"},   // bad fail mode
		{"--port", "a", "--offload", "x"},     // bad offload policy
		{"--config", "f.yaml", "--port", "a"}, // conflict
		{"--port", "a", "extra"},              // stray argument
		{"--reconcile-delay", "-1s"},          // negative
	} {
		o, fs, err := ParseFlags(args, io.Discard)
		if err == nil {
			_, err = o.Config(fs)
		}
		if err == nil {
			t.Errorf("flags %q: no error", args)
		}
	}
}

func TestDPIDs(t *testing.T) {
	for in, want := range map[string]rest.DatapathID{"": 0, "42": 42, "0x2a": 42, "000000000000002a": 42} {
		spec, err := (&NetworkConfig{Name: "a", DPID: in}).Spec()
		if err != nil || spec.DatapathID != want {
			t.Errorf("dpid %q = %d, %v; want %d", in, spec.DatapathID, err, want)
		}
	}
}

func TestNoNetworksServesTheAPIOnly(t *testing.T) {
	c, err := Parse([]byte("state_path: /tmp/x/state.db\n"))
	if err != nil {
		t.Fatalf("ParseConfig without networks: %v", err)
	}
	if len(c.Networks) != 0 || c.StatePath != "/tmp/x/state.db" {
		t.Errorf("config = %+v, want no networks and the state path", c)
	}
	o, fs, err := ParseFlags([]string{"--state", "/tmp/y.db", "--run-dir", "/tmp/run"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	c, err = o.Config(fs)
	if err != nil {
		t.Fatalf("flags without --port: %v", err)
	}
	if len(c.Networks) != 0 || c.StatePath != "/tmp/y.db" || c.RunDir != "/tmp/run" {
		t.Errorf("config = %+v, want no networks, state /tmp/y.db, run dir /tmp/run", c)
	}
}

// TestChannelKeys: inactivity_probe (per network and global),
// controller_rate_limit and controller_burst_limit go from the file and
// the flags into the networks' specs and the daemon's default probe.
func TestChannelKeys(t *testing.T) {
	c, err := Parse([]byte(`
inactivity_probe: 0
networks:
  - name: a
    ports: [x]
    inactivity_probe: 10000
    controller_rate_limit: 1000
  - name: b
    ports: [y]
    controller_rate_limit: 100
    controller_burst_limit: 40
`))
	if err != nil {
		t.Fatal(err)
	}
	specs, err := c.Specs()
	if err != nil {
		t.Fatal(err)
	}
	type limits struct {
		Probe       *int
		Rate, Burst int
	}
	got := []limits{}
	for _, s := range specs {
		got = append(got, limits{s.InactivityProbe, s.ControllerRateLimit, s.ControllerBurstLimit})
	}
	ms := 10000
	if diff := cmp.Diff([]limits{{&ms, 1000, 250}, {nil, 100, 40}}, got); diff != "" {
		t.Errorf("specs' limits (-want +got):\n%s", diff)
	}
	if d := c.DefaultInactivityProbe(); d >= 0 {
		t.Errorf("inactivity_probe 0: default probe %v, want disabled (negative)", d)
	}

	for _, tt := range []struct {
		args  []string
		probe time.Duration
		rate  int
		burst int
		err   string
	}{
		{args: []string{"--port", "a"}, probe: 0},
		{args: []string{"--port", "a", "--inactivity-probe", "0"}, probe: -1},
		{args: []string{"--port", "a", "--inactivity-probe", "30000", "--controller-rate-limit", "200"}, probe: 30 * time.Second, rate: 200, burst: 50},
		{args: []string{"--port", "a", "--controller-rate-limit", "200", "--controller-burst-limit", "30"}, rate: 200, burst: 30},
		{args: []string{"--inactivity-probe", "20000"}, probe: 20 * time.Second}, // no network: the API's get it
		{args: []string{"--port", "a", "--inactivity-probe", "1000"}, err: "--inactivity-probe 1000 must be at least 5000 ms or 0"},
		{args: []string{"--port", "a", "--inactivity-probe", "5s"}, err: "not a number of milliseconds"},
		{args: []string{"--port", "a", "--controller-rate-limit", "50"}, err: "networks[0].controller_rate_limit: 50 must be at least 100"},
		{args: []string{"--config", "/nonexistent", "--controller-rate-limit", "200"}, err: "--controller-rate-limit cannot be combined with --config"},
		{args: []string{"--controller-burst-limit", "30"}, err: "--controller-burst-limit without --port"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			o, fs, err := ParseFlags(tt.args, io.Discard)
			var c *Config
			if err == nil {
				c, err = o.Config(fs)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := c.DefaultInactivityProbe(); d != tt.probe {
				t.Errorf("default probe %v, want %v", d, tt.probe)
			}
			if len(c.Networks) > 0 {
				if n := c.Networks[0]; n.ControllerRateLimit != tt.rate || n.ControllerBurstLimit != tt.burst {
					t.Errorf("rate %d burst %d, want %d %d", n.ControllerRateLimit, n.ControllerBurstLimit, tt.rate, tt.burst)
				}
			}
		})
	}
}
