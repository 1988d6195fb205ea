package rest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestBadInputChangesNothing sends invalid requests: each is answered
// with a 4xx JSON error naming the field, and the backend is not called.
func TestBadInputChangesNothing(t *testing.T) {
	f := populated()
	hc := httpClient(resttest.Serve(t, f))
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		wantField string
		wantMsg   string // substring of the error
		status    int    // 0: 400
	}{
		// JSON shape, any route with a body.
		{name: "truncated JSON", method: "POST", path: "/v1/networks", body: `{"name":`, wantMsg: "truncated"},
		{name: "not JSON", method: "POST", path: "/v1/networks", body: `hello`, wantMsg: "malformed JSON"},
		{name: "empty body", method: "POST", path: "/v1/vnics", wantMsg: "body is empty"},
		{name: "array body", method: "POST", path: "/v1/networks", body: `[]`, wantMsg: "must be a JSON object"},
		{name: "two values", method: "POST", path: "/v1/networks", body: `{"name":"a"} {}`, wantMsg: "more than one JSON value"},
		{name: "unknown field", method: "POST", path: "/v1/networks", body: `{"name":"a","colour":"red"}`, wantField: "colour", wantMsg: "unknown field"},
		{name: "read-only status", method: "POST", path: "/v1/networks", body: `{"name":"a","status":{}}`, wantField: "status"},
		{name: "body too large", method: "POST", path: "/v1/networks", body: `{"name":"` + strings.Repeat("a", 1<<20) + `"}`, status: 413},
		// Networks.
		{name: "empty network name", method: "POST", path: "/v1/networks", body: `{"name":""}`, wantField: "name", wantMsg: "required"},
		{name: "missing network name", method: "POST", path: "/v1/networks", body: `{"mode":"host"}`, wantField: "name"},
		{name: "bad network name", method: "POST", path: "/v1/networks", body: `{"name":"a/b"}`, wantField: "name"},
		{name: "unknown mode", method: "POST", path: "/v1/networks", body: `{"name":"a","mode":"bridge"}`, wantField: "mode", wantMsg: `"bridge" is not one of host, nic, hairpin`},
		{name: "vnic type outside hairpin", method: "POST", path: "/v1/networks", body: `{"name":"a","mode":"nic","uplink":"eth1","vnic_type":"vf"}`, wantField: "vnic_type", wantMsg: "only mode hairpin"},
		{name: "unknown vnic type", method: "POST", path: "/v1/networks", body: `{"name":"a","mode":"hairpin","uplink":"eth1","vnic_type":"tap"}`, wantField: "vnic_type", wantMsg: `"tap" is not one of vf, macvlan, macvtap`},
		{name: "hairpin without uplink", method: "POST", path: "/v1/networks", body: `{"name":"a","mode":"hairpin"}`, wantField: "uplink"},
		{name: "nic mode without uplink", method: "POST", path: "/v1/networks", body: `{"name":"a","mode":"nic"}`, wantField: "uplink"},
		{name: "bad uplink", method: "POST", path: "/v1/networks", body: `{"name":"a","uplink":"a-very-long-netdev-name"}`, wantField: "uplink"},
		{name: "unknown fail mode", method: "POST", path: "/v1/networks", body: `{"name":"a","fail_mode":"open"}`, wantField: "fail_mode"},
		{name: "unknown offload", method: "POST", path: "/v1/networks", body: `{"name":"a","offload":"always"}`, wantField: "offload"},
		{name: "bad hex dpid", method: "POST", path: "/v1/networks", body: `{"name":"a","datapath_id":"0xzz"}`, wantField: "datapath_id"},
		{name: "dpid too large", method: "POST", path: "/v1/networks", body: `{"name":"a","datapath_id":"0x1ffffffffffffffff"}`, wantField: "datapath_id"},
		{name: "negative dpid", method: "POST", path: "/v1/networks", body: `{"name":"a","datapath_id":-1}`, wantField: "datapath_id"},
		{name: "boolean dpid", method: "POST", path: "/v1/networks", body: `{"name":"a","datapath_id":true}`, wantField: "datapath_id"},
		{name: "bad controller", method: "POST", path: "/v1/networks", body: `{"name":"a","controllers":["tcp:1.2.3.4:6653","http://x"]}`, wantField: "controllers[1]"},
		{name: "controller twice", method: "POST", path: "/v1/networks", body: `{"name":"a","controllers":["tcp:1.2.3.4","tcp:1.2.3.4:6653"]}`, wantField: "controllers[1]", wantMsg: "twice"},
		{name: "tls key without the rest", method: "POST", path: "/v1/networks", body: `{"name":"a","controllers":["pssl:6653"],"private_key":"/etc/nicflow/key.pem"}`, wantField: "certificate", wantMsg: "required with the other two"},
		{name: "tls relative path", method: "POST", path: "/v1/networks", body: `{"name":"a","private_key":"/k","certificate":"c.pem","ca_cert":"/ca"}`, wantField: "certificate", wantMsg: "absolute path"},
		{name: "ssl controller twice", method: "POST", path: "/v1/networks", body: `{"name":"a","controllers":["ssl:1.2.3.4","ssl:1.2.3.4:6653"]}`, wantField: "controllers[1]", wantMsg: "twice"},
		{name: "port twice", method: "POST", path: "/v1/networks", body: `{"name":"a","ports":["veth0","veth0"]}`, wantField: "ports[1]"},
		{name: "ports not a list", method: "POST", path: "/v1/networks", body: `{"name":"a","ports":"veth0"}`, wantField: "ports", wantMsg: "must be an array"},
		{name: "inactivity probe too short", method: "POST", path: "/v1/networks", body: `{"name":"a","inactivity_probe":1000}`, wantField: "inactivity_probe", wantMsg: "at least 5000 ms or 0"},
		{name: "negative inactivity probe", method: "POST", path: "/v1/networks", body: `{"name":"a","inactivity_probe":-1}`, wantField: "inactivity_probe", wantMsg: "at least 5000 ms or 0"},
		{name: "inactivity probe as string", method: "POST", path: "/v1/networks", body: `{"name":"a","inactivity_probe":"5s"}`, wantField: "inactivity_probe", wantMsg: "must be an integer"},
		{name: "rate limit too low", method: "POST", path: "/v1/networks", body: `{"name":"a","controller_rate_limit":99}`, wantField: "controller_rate_limit", wantMsg: "at least 100 packets/s"},
		{name: "burst limit too low", method: "POST", path: "/v1/networks", body: `{"name":"a","controller_rate_limit":1000,"controller_burst_limit":24}`, wantField: "controller_burst_limit", wantMsg: "at least 25 packets"},
		{name: "burst limit without rate", method: "POST", path: "/v1/networks", body: `{"name":"a","controller_burst_limit":50}`, wantField: "controller_burst_limit", wantMsg: "only with controller_rate_limit"},
		{name: "update inactivity probe too short", method: "PUT", path: "/v1/networks/blue", body: `{"inactivity_probe":4999}`, wantField: "inactivity_probe", wantMsg: "at least 5000 ms or 0"},
		{name: "rename", method: "PUT", path: "/v1/networks/blue", body: `{"name":"red"}`, wantField: "name", wantMsg: "cannot be renamed"},
		{name: "update unknown offload", method: "PUT", path: "/v1/networks/blue", body: `{"offload":"yes"}`, wantField: "offload"},
		{name: "update unknown field", method: "PUT", path: "/v1/networks/blue", body: `{"dpid":"1"}`, wantField: "dpid"},
		// vNICs.
		{name: "empty vnic id", method: "POST", path: "/v1/vnics", body: `{"id":"","network":"blue"}`, wantField: "id"},
		{name: "missing network", method: "POST", path: "/v1/vnics", body: `{"id":"v"}`, wantField: "network"},
		{name: "bad mac", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","mac":"52:54:00:zz:00:01"}`, wantField: "mac"},
		{name: "short mac", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","mac":"52:54:00:00:01"}`, wantField: "mac"},
		{name: "multicast mac", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","mac":"01:00:5e:00:00:01"}`, wantField: "mac", wantMsg: "multicast"},
		{name: "vlan 4096", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":4096}`, wantField: "vlan", wantMsg: "0-4094"},
		{name: "negative vlan", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":-1}`, wantField: "vlan"},
		{name: "vlan as string", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":"100"}`, wantField: "vlan", wantMsg: "must be an integer, not a string"},
		{name: "fractional vlan", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":1.5}`, wantField: "vlan", wantMsg: "must be an integer, not 1.5"},
		{name: "qos 8", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":10,"qos":8}`, wantField: "qos", wantMsg: "0-7"},
		{name: "qos without vlan", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","qos":3}`, wantField: "qos"},
		{name: "unknown vlan proto", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","vlan":10,"vlan_proto":"802.1x"}`, wantField: "vlan_proto"},
		{name: "max rate below min", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","min_tx_rate":500,"max_tx_rate":100}`, wantField: "max_tx_rate", wantMsg: "below min_tx_rate"},
		{name: "negative rate", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","min_tx_rate":-5}`, wantField: "min_tx_rate",
			wantMsg: "must be a non-negative integer, not -5"},
		{name: "rate too large", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","max_tx_rate":4294967296}`, wantField: "max_tx_rate",
			wantMsg: "must be a non-negative integer no larger than 4294967295, not 4294967296"},
		{name: "spoof check not bool", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","spoof_check":"yes"}`, wantField: "spoof_check",
			wantMsg: "must be true or false, not a string"},
		{name: "unknown link state", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","link_state":"up"}`, wantField: "link_state"},
		{name: "vnic unknown field", method: "POST", path: "/v1/vnics", body: `{"id":"v","network":"blue","ofport":7}`, wantField: "ofport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ResetCalls()
			before := snapshot(f)
			status, _, body := do(t, hc, tt.method, tt.path, tt.body)
			want := tt.status
			if want == 0 {
				want = 400
			}
			if status != want {
				t.Fatalf("%s %s %s = %d, want %d: %s", tt.method, tt.path, tt.body, status, want, body)
			}
			e := errorBody(t, body)
			if e.Field != tt.wantField {
				t.Errorf("field = %q, want %q (error %q)", e.Field, tt.wantField, e.Error)
			}
			if tt.wantField != "" && !strings.HasPrefix(e.Error, tt.wantField+": ") {
				t.Errorf("error %q does not start with the field name %q", e.Error, tt.wantField)
			}
			if !strings.Contains(e.Error, tt.wantMsg) {
				t.Errorf("error %q lacks %q", e.Error, tt.wantMsg)
			}
			if calls := f.CallLog(); len(calls) != 0 {
				t.Errorf("backend was called for a rejected request: %q", calls)
			}
			if diff := cmp.Diff(before, snapshot(f)); diff != "" {
				t.Errorf("state changed (-before +after):\n%s", diff)
			}
		})
	}
}

// snapshot lists the fake's networks and vNICs.
func snapshot(f *resttest.Fake) [][]string {
	nets, vnics := f.Names()
	return [][]string{nets, vnics}
}

// TestChannelLimits: the inactivity probe and the packet-in limits take
// Open vSwitch's ranges, and the burst defaults to a quarter of the rate.
func TestChannelLimits(t *testing.T) {
	n := func(v int) *int { return &v }
	for _, tt := range []struct {
		name      string
		spec      rest.NetworkSpec
		wantBurst int
	}{
		{"defaults", rest.NetworkSpec{Name: "a"}, 0},
		{"probe off", rest.NetworkSpec{Name: "a", InactivityProbe: n(0)}, 0},
		{"shortest probe", rest.NetworkSpec{Name: "a", InactivityProbe: n(5000)}, 0},
		{"lowest rate", rest.NetworkSpec{Name: "a", ControllerRateLimit: 100}, 25},
		{"burst of the rate", rest.NetworkSpec{Name: "a", ControllerRateLimit: 1000}, 250},
		{"own burst", rest.NetworkSpec{Name: "a", ControllerRateLimit: 1000, ControllerBurstLimit: 25}, 25},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.spec.Validate(); err != nil {
				t.Fatal(err)
			}
			if tt.spec.ControllerBurstLimit != tt.wantBurst {
				t.Errorf("controller_burst_limit = %d, want %d", tt.spec.ControllerBurstLimit, tt.wantBurst)
			}
		})
	}
}
