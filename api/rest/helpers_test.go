package rest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

// nic is a NIC value as the discovery package might report it: the
// summary keys plus more.
type nic struct {
	Name       string `json:"name"`
	PCIAddress string `json:"pci_address"`
	Driver     string `json:"driver"`
	SRIOV      bool   `json:"sriov"`
	TotalVFs   int    `json:"total_vfs"`
	NumVFs     int    `json:"num_vfs"`
	Firmware   string `json:"firmware_version"`
}

// populated returns a fake with a NIC, a network "blue" with one vNIC,
// flows, ports and metrics.
func populated() *resttest.Fake {
	f := resttest.NewFake()
	f.NICList = []any{
		nic{Name: "ens1f0", PCIAddress: "0000:3b:00.0", Driver: "mlx5_core", SRIOV: true, TotalVFs: 8, NumVFs: 4, Firmware: "22.36.1010"},
		nic{Name: "eno1", PCIAddress: "0000:00:19.0", Driver: "e1000e"},
	}
	f.Nets["blue"] = &rest.Network{
		NetworkSpec: rest.NetworkSpec{Name: "blue", Mode: "nic", Uplink: "ens1f0", DatapathID: 0xabcd, FailMode: "secure", Offload: "auto"},
		Status:      rest.NetworkStatus{DatapathID: 0xabcd, Offload: "auto", Rules: rest.TierCounts{HW: 1, Soft: 1}},
	}
	f.Vnics["vm1-eth0"] = &rest.VNIC{VNICSpec: rest.VNICSpec{ID: "vm1-eth0", Network: "blue"}, VF: "0000:3b:00.2", Uplink: "ens1f0", OFPort: 3}
	f.FlowList["blue"] = []rest.Flow{
		{Table: 0, Priority: 100, Cookie: 0xbeef, Match: "in_port=1", Actions: "output:2", Tier: "hw", Packets: 10, Bytes: 1000, HW: rest.Counts{Packets: 10, Bytes: 1000}},
		{Table: 0, Priority: 0, Actions: "CONTROLLER:65535", Tier: "soft", Reason: "output to CONTROLLER has no flower form", Packets: 2, Bytes: 120, Soft: rest.Counts{Packets: 2, Bytes: 120}},
	}
	f.TableList["blue"] = []rest.Table{{Table: 0, Active: 3, Lookups: 40, Matched: 38}, {Table: 4, Active: 1, Lookups: 2, Matched: 2}}
	f.PortList["blue"] = []rest.Port{{No: 1, Name: "ens1f0", Kind: "uplink", LinkUp: true, PortCounters: rest.PortCounters{RxPackets: 5, TxPackets: 6}}}
	f.Figures = &rest.Metrics{
		Networks: []rest.NetworkMetrics{{Network: "blue", Mode: "hairpin", Switching: "external", Rules: rest.TierCounts{HW: 1, Soft: 1}, OffloadRefusals: 3}},
		Ports:    []rest.PortMetrics{{Network: "blue", Port: "ens1f0", No: 1, PortCounters: rest.PortCounters{RxPackets: 5, RxBytes: 500}}},
		VFs:      []rest.VFMetrics{{Uplink: "ens1f0", VF: 0, PCI: "0000:3b:00.2", VNIC: `vm"1`, PortCounters: rest.PortCounters{TxBytes: 1 << 40}}},
		Controllers: []rest.ControllerMetrics{{Network: "blue", Controller: "tcp:192.0.2.1:6653", PacketInRateDrops: 42},
			{Network: "blue", Controller: "ptcp:6653"}},
	}
	return f
}

// httpClient returns a plain net/http client dialling the unix socket.
func httpClient(sock string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

// do sends one request with a raw body ("" for none) and returns the
// status, the Content-Type and the body.
func do(t *testing.T, hc *http.Client, method, path, body string) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://nicflowd"+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), data
}

// errorBody decodes an error answer, failing the test when it is not one.
func errorBody(t *testing.T, data []byte) rest.ErrorBody {
	t.Helper()
	var e rest.ErrorBody
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Error == "" {
		t.Fatalf("answer is not a JSON error (%v): %s", err, data)
	}
	return e
}
