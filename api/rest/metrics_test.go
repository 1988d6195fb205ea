package rest_test

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// sampleLine is a sample of the text exposition format: a name, labels
// with escaped values, a value.
var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*)\})? (\S+)$`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"`)
	metricType = map[string]bool{"counter": true, "gauge": true, "untyped": true}
)

// parseMetrics checks exposition text line by line and returns its
// samples as "name{k=v,...}" -> value, with label values unescaped.
func parseMetrics(text string) (map[string]float64, error) {
	typed := map[string]bool{}
	samples := map[string]float64{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
			if len(strings.Fields(line)) < 4 {
				return nil, fmt.Errorf("line %d: HELP without text: %q", i+1, line)
			}
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || !metricType[f[3]] {
				return nil, fmt.Errorf("line %d: bad TYPE: %q", i+1, line)
			}
			if typed[f[2]] {
				return nil, fmt.Errorf("line %d: %s typed twice", i+1, f[2])
			}
			typed[f[2]] = true
		default:
			m := sampleLine.FindStringSubmatch(line)
			if m == nil {
				return nil, fmt.Errorf("line %d: not a sample: %q", i+1, line)
			}
			if !typed[m[1]] {
				return nil, fmt.Errorf("line %d: %s has no TYPE before it", i+1, m[1])
			}
			v, err := strconv.ParseFloat(m[4], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: value %q: %v", i+1, m[4], err)
			}
			var labels []string
			for _, p := range labelPair.FindAllStringSubmatch(m[3], -1) {
				val := strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n").Replace(p[2])
				labels = append(labels, p[1]+"="+val)
			}
			key := m[1] + "{" + strings.Join(labels, ",") + "}"
			if _, dup := samples[key]; dup {
				return nil, fmt.Errorf("line %d: sample %s twice", i+1, key)
			}
			samples[key] = v
		}
	}
	return samples, nil
}

func TestMetricsExposition(t *testing.T) {
	f := populated()
	hc := httpClient(resttest.Serve(t, f))
	status, ctype, body := do(t, hc, "GET", "/metrics", "")
	if status != 200 || !strings.HasPrefix(ctype, "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics = %d %q", status, ctype)
	}
	samples, err := parseMetrics(string(body))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	want := map[string]float64{
		"nicflow_build_info{version=test}":                                                          1,
		"nicflow_network_info{network=blue,mode=hairpin,switching=external}":                        1,
		"nicflow_rules{network=blue,tier=hw}":                                                       1,
		"nicflow_rules{network=blue,tier=tc}":                                                       0,
		"nicflow_rules{network=blue,tier=soft}":                                                     1,
		"nicflow_offload_refusals_total{network=blue}":                                              3,
		"nicflow_port_rx_packets_total{network=blue,port=ens1f0,port_no=1}":                         5,
		"nicflow_port_rx_bytes_total{network=blue,port=ens1f0,port_no=1}":                           500,
		"nicflow_vf_tx_bytes_total{uplink=ens1f0,vf=0,pci=0000:3b:00.2,vnic=vm\"1}":                 1 << 40,
		"nicflow_vf_rx_packets_total{uplink=ens1f0,vf=0,pci=0000:3b:00.2,vnic=vm\"1}":               0,
		"nicflow_controller_packet_in_rate_drops_total{network=blue,controller=tcp:192.0.2.1:6653}": 42,
		"nicflow_controller_packet_in_rate_drops_total{network=blue,controller=ptcp:6653}":          0,
	}
	for k, v := range want {
		got, ok := samples[k]
		if !ok {
			t.Errorf("no sample %s in\n%s", k, body)
			continue
		}
		if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	if got := samples["go_goroutines{}"]; got < 1 {
		t.Errorf("go_goroutines = %v, want at least 1", got)
	}
	// 1 build + 1 goroutines + 1 network info + 3 rules + 1 refusals + 8 port + 8 VF counters
	// + 2 controllers' rate-limit drops.
	if len(samples) != 25 {
		t.Errorf("%d samples, want 25:\n%s", len(samples), body)
	}
}

func TestMetricsWithoutFigures(t *testing.T) {
	var b bytes.Buffer
	if err := rest.WriteMetrics(&b, nil, "v1"); err != nil {
		t.Fatal(err)
	}
	samples, err := parseMetrics(b.String())
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, b.String())
	}
	if samples["go_goroutines{}"] < 1 {
		t.Errorf("go_goroutines = %v, want at least 1", samples["go_goroutines{}"])
	}
	delete(samples, "go_goroutines{}")
	if diff := cmp.Diff(map[string]float64{"nicflow_build_info{version=v1}": 1}, samples); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

func TestMetricsParserRejectsBadText(t *testing.T) {
	for _, text := range []string{
		"nicflow_x 1\n",                                // no TYPE
		"# TYPE a counter\na{l=\"x} 1\n",               // unterminated label
		"# TYPE a counter\na 1 2 3\n",                  // junk
		"# TYPE a sometype\na 1\n",                     // bad type
		"# TYPE a gauge\na{l=\"x\"} 1\na{l=\"x\"} 2\n", // duplicate
	} {
		if _, err := parseMetrics(text); err == nil {
			t.Errorf("parseMetrics(%q) = nil error, want one", text)
		}
	}
}
