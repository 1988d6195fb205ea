package rest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

func TestRoutes(t *testing.T) {
	f := populated()
	hc := httpClient(resttest.Serve(t, f))
	yes := true

	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		wantCalls  []string
		// want, when set, is compared with the answer decoded into a
		// value of the same type.
		want any
		// wantBody are substrings of the raw answer.
		wantBody []string
	}{
		{name: "health", method: "GET", path: "/healthz", wantStatus: 200,
			want: rest.Health{Status: "ok", Version: "test"}},
		{name: "openapi", method: "GET", path: "/openapi.yaml", wantStatus: 200,
			wantBody: []string{"openapi: 3.0.3"}},
		{name: "metrics", method: "GET", path: "/metrics", wantStatus: 200, wantCalls: []string{"Metrics"},
			wantBody: []string{`nicflow_rules{network="blue",tier="hw"} 1`}},
		{name: "list nics", method: "GET", path: "/v1/nics", wantStatus: 200, wantCalls: []string{"NICs"},
			wantBody: []string{`"firmware_version": "22.36.1010"`, `"name": "eno1"`}},
		{name: "get nic by name", method: "GET", path: "/v1/nics/ens1f0", wantStatus: 200, wantCalls: []string{"NIC ens1f0"},
			want: rest.NICSummary{Name: "ens1f0", PCIAddress: "0000:3b:00.0", Driver: "mlx5_core", SRIOV: true, TotalVFs: 8, NumVFs: 4}},
		{name: "get nic by pci address", method: "GET", path: "/v1/nics/0000:3b:00.0", wantStatus: 200, wantCalls: []string{"NIC 0000:3b:00.0"},
			wantBody: []string{`"name": "ens1f0"`}},
		{name: "unknown nic", method: "GET", path: "/v1/nics/eth9", wantStatus: 404, wantCalls: []string{"NIC eth9"},
			want: rest.ErrorBody{Error: "nic eth9: not found"}},
		{name: "list networks", method: "GET", path: "/v1/networks", wantStatus: 200, wantCalls: []string{"Networks"},
			wantBody: []string{`"datapath_id": "0x000000000000abcd"`, `"rules": {`}},
		{name: "get network", method: "GET", path: "/v1/networks/blue", wantStatus: 200, wantCalls: []string{"Network blue"},
			want: *f.Nets["blue"]},
		{name: "unknown network", method: "GET", path: "/v1/networks/red", wantStatus: 404, wantCalls: []string{"Network red"},
			want: rest.ErrorBody{Error: "network red: not found"}},
		{name: "create network with defaults", method: "POST", path: "/v1/networks", body: `{"name":"green","datapath_id":"0x10","controllers":["tcp:127.0.0.1:6653","ptcp:6654"]}`,
			wantStatus: 201, wantCalls: []string{"CreateNetwork green"},
			want: rest.Network{
				NetworkSpec: rest.NetworkSpec{Name: "green", Mode: "host", DatapathID: 16, FailMode: "secure", Offload: "auto", Controllers: []string{"tcp:127.0.0.1:6653", "ptcp:6654"}},
				Status: rest.NetworkStatus{DatapathID: 16, Offload: "auto", Ports: []rest.NetworkPort{},
					Controllers:    []rest.ControllerStatus{{Target: "tcp:127.0.0.1:6653"}, {Target: "ptcp:6654"}},
					SwitchingPoint: rest.SwitchNicflow, Switching: "host: nicflow (tc in kernel software + fast path)", InactivityProbe: 5000},
			}},
		{name: "create network decimal dpid", method: "POST", path: "/v1/networks", body: `{"name":"gold","mode":"hairpin","uplink":"ens1f1","datapath_id":43981,"fail_mode":"standalone","offload":"off","ports":["veth0"]}`,
			wantStatus: 201, wantCalls: []string{"CreateNetwork gold"},
			wantBody: []string{`"datapath_id": "0x000000000000abcd"`, `"mode": "hairpin"`, `"fail_mode": "standalone"`}},
		{name: "create taken name", method: "POST", path: "/v1/networks", body: `{"name":"blue"}`,
			wantStatus: 409, wantCalls: []string{"CreateNetwork blue"},
			want: rest.ErrorBody{Error: "create network blue: name: a network with this name exists", Field: "name"}},
		{name: "update network", method: "PUT", path: "/v1/networks/green", body: `{"offload":"tc","datapath_id":"0000000000000020"}`,
			wantStatus: 200, wantCalls: []string{"UpdateNetwork green"},
			wantBody: []string{`"offload": "tc"`, `"datapath_id": "0x0000000000000020"`}},
		{name: "update unknown network", method: "PUT", path: "/v1/networks/red", body: `{}`,
			wantStatus: 404, wantCalls: []string{"UpdateNetwork red"}},
		{name: "delete network in use", method: "DELETE", path: "/v1/networks/blue", wantStatus: 409, wantCalls: []string{"DeleteNetwork blue"},
			want: rest.ErrorBody{Error: "delete network blue: vnic vm1-eth0 is attached: conflict"}},
		{name: "delete network", method: "DELETE", path: "/v1/networks/gold", wantStatus: 204, wantCalls: []string{"DeleteNetwork gold"}},
		{name: "list vnics", method: "GET", path: "/v1/vnics", wantStatus: 200, wantCalls: []string{"VNICs"},
			wantBody: []string{`"id": "vm1-eth0"`, `"vf": "0000:3b:00.2"`, `"ofport": 3`}},
		{name: "attach vnic", method: "POST", path: "/v1/vnics",
			body:       `{"id":"vm2-eth0","network":"blue","mac":"52:54:00:AB:CD:EF","vlan":100,"qos":5,"min_tx_rate":100,"max_tx_rate":1000,"trust":true}`,
			wantStatus: 201, wantCalls: []string{"AttachVNIC vm2-eth0"},
			want: rest.VNIC{
				VNICSpec: rest.VNICSpec{ID: "vm2-eth0", Network: "blue", MAC: "52:54:00:ab:cd:ef", VLAN: 100, QoS: 5, VLANProto: "802.1Q",
					SpoofCheck: &yes, Trust: &yes, MinTxRate: 100, MaxTxRate: 1000, LinkState: "auto"},
				VF: "0000:3b:00.3", VFIndex: 1, Uplink: "ens1f0", Netdev: "ens1f0v1", Representor: "ens1f0_1", OFPort: 11,
			}},
		{name: "attach vnic again", method: "POST", path: "/v1/vnics",
			body:       `{"id":"vm2-eth0","network":"blue","mac":"52:54:00:ab:cd:ef","vlan":100,"qos":5,"min_tx_rate":100,"max_tx_rate":1000,"trust":true,"spoof_check":true}`,
			wantStatus: 200, wantCalls: []string{"AttachVNIC vm2-eth0"}, wantBody: []string{`"ofport": 11`}},
		{name: "attach vnic other settings", method: "POST", path: "/v1/vnics", body: `{"id":"vm2-eth0","network":"blue","vlan":200}`,
			wantStatus: 409, wantCalls: []string{"AttachVNIC vm2-eth0"},
			want: rest.ErrorBody{Error: "attach vnic vm2-eth0 to network blue: id: attached with other settings", Field: "id"}},
		{name: "attach vnic unknown network", method: "POST", path: "/v1/vnics", body: `{"id":"vm3","network":"red","spoof_check":false}`,
			wantStatus: 404, wantCalls: []string{"AttachVNIC vm3"},
			want: rest.ErrorBody{Error: `attach vnic vm3 to network red: network: no network "red"`, Field: "network"}},
		{name: "get vnic", method: "GET", path: "/v1/vnics/vm1-eth0", wantStatus: 200, wantCalls: []string{"VNIC vm1-eth0"},
			want: *f.Vnics["vm1-eth0"]},
		{name: "get unknown vnic", method: "GET", path: "/v1/vnics/nope", wantStatus: 404, wantCalls: []string{"VNIC nope"}},
		{name: "detach vnic", method: "DELETE", path: "/v1/vnics/vm2-eth0", wantStatus: 204, wantCalls: []string{"DetachVNIC vm2-eth0"}},
		{name: "detach a detached vnic (idempotent)", method: "DELETE", path: "/v1/vnics/vm2-eth0", wantStatus: 204, wantCalls: []string{"DetachVNIC vm2-eth0"}},
		{name: "flows", method: "GET", path: "/v1/networks/blue/flows", wantStatus: 200, wantCalls: []string{"Flows blue"},
			want: f.FlowList["blue"], wantBody: []string{`"cookie": "0xbeef"`, `"tier": "soft"`, `"reason": "output to CONTROLLER has no flower form"`}},
		{name: "flows of unknown network", method: "GET", path: "/v1/networks/red/flows", wantStatus: 404, wantCalls: []string{"Flows red"}},
		{name: "ports", method: "GET", path: "/v1/networks/blue/ports", wantStatus: 200, wantCalls: []string{"Ports blue"},
			want: f.PortList["blue"]},
		{name: "tables", method: "GET", path: "/v1/networks/blue/tables", wantStatus: 200, wantCalls: []string{"Tables blue"},
			want: f.TableList["blue"], wantBody: []string{`"lookups": 40`}},
		{name: "tables of unknown network", method: "GET", path: "/v1/networks/red/tables", wantStatus: 404, wantCalls: []string{"Tables red"}},
		{name: "ports of unknown network", method: "GET", path: "/v1/networks/red/ports", wantStatus: 404, wantCalls: []string{"Ports red"}},
		{name: "unknown path", method: "GET", path: "/v2/things", wantStatus: 404,
			want: rest.ErrorBody{Error: "no route for GET /v2/things"}},
		{name: "wrong method", method: "PATCH", path: "/v1/networks/blue", body: `{}`, wantStatus: 405,
			wantBody: []string{`"error": "method PATCH is not allowed on /v1/networks/blue (allowed: `}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.ResetCalls()
			status, ctype, body := do(t, hc, tt.method, tt.path, tt.body)
			if status != tt.wantStatus {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, status, tt.wantStatus, body)
			}
			if diff := cmp.Diff(tt.wantCalls, f.CallLog()); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
			if status >= 400 {
				errorBody(t, body)
			}
			if status != 204 && tt.path != "/metrics" && tt.path != "/openapi.yaml" && ctype != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ctype)
			}
			for _, w := range tt.wantBody {
				if !strings.Contains(string(body), w) {
					t.Errorf("answer lacks %q:\n%s", w, body)
				}
			}
			if tt.want != nil {
				got := newLike(tt.want)
				if err := json.Unmarshal(body, got); err != nil {
					t.Fatalf("decode answer: %v\n%s", err, body)
				}
				if diff := cmp.Diff(tt.want, deref(got)); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestHealthFailing(t *testing.T) {
	b := &unhealthy{Fake: resttest.NewFake()}
	hc := httpClient(resttest.Serve(t, b))
	status, _, body := do(t, hc, "GET", "/healthz", "")
	if status != http.StatusServiceUnavailable || !strings.Contains(string(body), `"error": "tc tier lost"`) {
		t.Errorf("GET /healthz = %d %s, want 503 naming the failure", status, body)
	}
}

type unhealthy struct{ *resttest.Fake }

func (unhealthy) Health(context.Context) error { return errors.New("tc tier lost") }

// newLike returns a pointer to a new zero value of v's type.
func newLike(v any) any { return reflect.New(reflect.TypeOf(v)).Interface() }

// deref returns what p points to.
func deref(p any) any { return reflect.ValueOf(p).Elem().Interface() }
