package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nicflow/nicflow/api/rest"
	"github.com/nicflow/nicflow/api/rest/resttest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// nic is a NIC as discovery reports it: the summary keys and more.
type nic struct {
	Name        string `json:"name"`
	PCIAddress  string `json:"pci_address"`
	Driver      string `json:"driver"`
	Device      string `json:"device,omitempty"`
	LinkState   string `json:"link_state,omitempty"`
	SpeedMbps   int    `json:"speed_mbps,omitempty"`
	SRIOV       bool   `json:"sriov"`
	TotalVFs    int    `json:"total_vfs"`
	NumVFs      int    `json:"num_vfs"`
	EswitchMode string `json:"eswitch_mode,omitempty"`
	NUMANode    int    `json:"numa_node"`
}

// fixture is a daemon with a ConnectX-6 Dx in switchdev mode, an onboard
// NIC, network blue with a vNIC, two rules (one offloaded, one not) and a
// port.
func fixture() *resttest.Fake {
	f := resttest.NewFake()
	f.NICList = []any{
		nic{Name: "ens1f0np0", PCIAddress: "0000:3b:00.0", Driver: "mlx5_core", Device: "MT2892 Family [ConnectX-6 Dx]", LinkState: "up",
			SpeedMbps: 100000, SRIOV: true, TotalVFs: 8, NumVFs: 4, EswitchMode: "switchdev"},
		nic{Name: "eno1", PCIAddress: "0000:00:1f.6", Driver: "e1000e", LinkState: "up", SpeedMbps: 1000, NUMANode: -1},
	}
	yes, no := true, false
	f.Nets["blue"] = &rest.Network{
		NetworkSpec: rest.NetworkSpec{Name: "blue", Mode: "nic", Uplink: "ens1f0np0", DatapathID: 0xabcd, FailMode: "secure", Offload: "auto",
			Controllers: []string{"tcp:10.0.0.1:6653"}, ControllerRateLimit: 1000, ControllerBurstLimit: 250},
		Status: rest.NetworkStatus{DatapathID: 0xabcd, Offload: "auto", EswitchMode: "switchdev", Origin: rest.OriginAPI, Running: true,
			SwitchingPoint: rest.SwitchEswitch, Switching: "nic: NIC eswitch (switchdev), rules on representors in tc/hw",
			Ports:           []rest.NetworkPort{{No: 1, Name: "ens1f0np0", Kind: "uplink"}, {No: 3, Name: "pf0vf0", Kind: "representor", VNIC: "vm1-eth0"}},
			Controllers:     []rest.ControllerStatus{{Target: "tcp:10.0.0.1:6653", Connected: true, Role: "equal", PacketInRateDrops: 7}},
			InactivityProbe: 5000, Rules: rest.TierCounts{HW: 1, Soft: 1}},
	}
	f.Vnics["vm1-eth0"] = &rest.VNIC{
		VNICSpec: rest.VNICSpec{ID: "vm1-eth0", Network: "blue", MAC: "52:54:00:00:00:01", VLAN: 100, QoS: 3, VLANProto: "802.1Q",
			SpoofCheck: &yes, Trust: &no, MaxTxRate: 1000, LinkState: "auto"},
		VF: "0000:3b:00.2", Uplink: "ens1f0np0", Netdev: "ens1f0v0", Representor: "pf0vf0", OFPort: 3,
	}
	f.FlowList["blue"] = []rest.Flow{
		{Table: 0, Priority: 200, Cookie: 0x1, Match: "in_port=1,dl_type=0x0800,nw_dst=10.0.0.0/8", Actions: "CONTROLLER:65535",
			Tier: "soft", Reason: "output to CONTROLLER has no flower form", Packets: 7, Bytes: 700, Soft: rest.Counts{Packets: 7, Bytes: 700}, DurationSec: 12.5},
		{Table: 0, Priority: 100, Cookie: 0xbeef, Match: "in_port=1", Actions: "output:3", Tier: "hw",
			Packets: 1010, Bytes: 101000, HW: rest.Counts{Packets: 1000, Bytes: 100000}, Soft: rest.Counts{Packets: 10, Bytes: 1000}, DurationSec: 30, IdleTimeout: 60},
		{Table: 0, Priority: 0, Actions: "drop", Tier: "tc", Reason: "policy tc: kernel software only",
			Packets: 2, Bytes: 128, TC: rest.Counts{Packets: 2, Bytes: 128}},
	}
	f.TableList["blue"] = []rest.Table{{Table: 0, Active: 3, Lookups: 1019, Matched: 1019}, {Table: 3, Active: 1, Lookups: 7, Matched: 0}}
	f.PortList["blue"] = []rest.Port{
		{No: 1, Name: "ens1f0np0", Kind: "uplink", LinkUp: true, SpeedMbps: 100000,
			PortCounters: rest.PortCounters{RxPackets: 100, RxBytes: 10000, TxPackets: 90, TxBytes: 9000, RxDropped: 1}},
		{No: 3, Name: "pf0vf0", Kind: "representor", VNIC: "vm1-eth0", AdminDown: true,
			PortCounters: rest.PortCounters{RxPackets: 5, RxBytes: 500, TxErrors: 2}},
	}
	return f
}

// TestCommands runs every subcommand against a served fake, in order
// (create and attach change the fake), comparing with golden files.
func TestCommands(t *testing.T) {
	f := fixture()
	sock := resttest.Serve(t, f)
	tests := []struct {
		golden string
		args   []string
		calls  []string // backend calls the command makes
	}{
		{"nics", []string{"nics"}, []string{"NICs"}},
		{"nics_json", []string{"nics", "-o", "json"}, []string{"NICs"}},
		{"nic_one", []string{"nics", "eno1"}, []string{"NIC eno1"}},
		{"nic_one_json", []string{"-o", "json", "nics", "0000:3b:00.0"}, []string{"NIC 0000:3b:00.0"}},
		{"networks", []string{"networks"}, []string{"Networks"}},
		{"networks_json", []string{"networks", "list", "-o", "json"}, []string{"Networks"}},
		{"network_get", []string{"networks", "get", "blue"}, []string{"Network blue"}},
		{"network_get_json", []string{"networks", "get", "blue", "--output", "json"}, []string{"Network blue"}},
		{"network_create", []string{"networks", "create", "green", "--mode", "hairpin", "--uplink", "ens1f1", "--dpid", "0x10",
			"--controller", "tcp:127.0.0.1:6653", "--controller", "ptcp:6654", "--port", "veth0", "--offload", "tc", "--fail-mode", "standalone"},
			[]string{"CreateNetwork green"}},
		{"network_create_json", []string{"networks", "create", "red", "-o", "json"}, []string{"CreateNetwork red"}},
		{"network_mode", []string{"networks", "mode", "green", "host"}, []string{"Network green", "UpdateNetwork green"}},
		{"network_delete", []string{"networks", "delete", "red"}, []string{"DeleteNetwork red"}},
		{"network_delete_json", []string{"networks", "delete", "green", "-o", "json"}, []string{"DeleteNetwork green"}},
		{"vnics", []string{"vnics"}, []string{"VNICs"}},
		{"vnics_json", []string{"vnics", "list", "-o", "json"}, []string{"VNICs"}},
		{"vnic_get", []string{"vnics", "get", "vm1-eth0"}, []string{"VNIC vm1-eth0"}},
		{"vnic_attach", []string{"vnics", "attach", "vm2-eth0", "--network", "blue", "--mac", "52:54:00:00:00:02", "--vlan", "200",
			"--vlan-proto", "802.1ad", "--trust", "--spoof-check=false", "--min-tx-rate", "10", "--max-tx-rate", "100", "--link-state", "enable"},
			[]string{"AttachVNIC vm2-eth0"}},
		{"vnic_attach_again", []string{"vnics", "attach", "vm2-eth0", "--network", "blue", "--mac", "52:54:00:00:00:02", "--vlan", "200",
			"--vlan-proto", "802.1ad", "--trust", "--spoof-check=false", "--min-tx-rate", "10", "--max-tx-rate", "100", "--link-state", "enable"},
			[]string{"AttachVNIC vm2-eth0"}},
		{"vnic_get_json", []string{"vnics", "get", "vm2-eth0", "-o", "json"}, []string{"VNIC vm2-eth0"}},
		{"vnic_detach", []string{"vnics", "detach", "vm2-eth0"}, []string{"VNIC vm2-eth0", "DetachVNIC vm2-eth0"}},
		{"vnic_detach_typo", []string{"vnics", "detach", "vm2-eht0"}, []string{"VNIC vm2-eht0"}},
		{"vnic_attach_json", []string{"vnics", "attach", "vm3", "--network", "blue", "-o", "json"}, []string{"AttachVNIC vm3"}},
		{"vnic_detach_json", []string{"vnics", "detach", "vm3", "-o", "json"}, []string{"VNIC vm3", "DetachVNIC vm3"}},
		{"flows", []string{"flows", "blue"}, []string{"Flows blue"}},
		{"flows_only_network", []string{"flows"}, []string{"Networks", "Flows blue"}},
		{"flows_json", []string{"flows", "-o", "json", "blue"}, []string{"Flows blue"}},
		{"ports", []string{"ports", "blue"}, []string{"Ports blue"}},
		{"ports_json", []string{"ports", "blue", "-o", "json"}, []string{"Ports blue"}},
		{"tables", []string{"tables", "blue"}, []string{"Tables blue"}},
		{"tables_json", []string{"tables", "-o", "json"}, []string{"Networks", "Tables blue"}},
		{"network_create_channel_json", []string{"networks", "create", "gold", "--inactivity-probe", "0", "--controller-rate-limit", "200",
			"--controller-burst-limit", "30", "-o", "json"}, []string{"CreateNetwork gold"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			f.ResetCalls()
			var stdout, stderr bytes.Buffer
			args := append([]string{"--socket", sock}, tt.args...)
			if err := Run(args, &stdout, &stderr); err != nil {
				t.Fatalf("Run(%q): %v\nstderr: %s", tt.args, err, stderr.String())
			}
			if stderr.Len() > 0 {
				t.Errorf("stderr: %s", stderr.String())
			}
			if diff := cmp.Diff(tt.calls, f.CallLog()); diff != "" {
				t.Errorf("backend calls (-want +got):\n%s", diff)
			}
			checkGolden(t, tt.golden, stdout.String())
		})
	}
}

// checkGolden compares got with testdata/NAME.golden, or writes it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestNICsWithoutSRIOV is the newcomer's check: a host with no SR-IOV
// NIC gets a table and a line saying so.
func TestNICsWithoutSRIOV(t *testing.T) {
	f := resttest.NewFake()
	f.NICList = []any{
		nic{Name: "eno1", PCIAddress: "0000:00:1f.6", Driver: "e1000e", LinkState: "up", SpeedMbps: 1000},
		nic{Name: "ens3", PCIAddress: "0000:00:03.0", Driver: "virtio_net", LinkState: "up"},
	}
	sock := resttest.Serve(t, f)
	var out bytes.Buffer
	if err := Run([]string{"nics", "--socket", sock}, &out, &out); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "nics_no_sriov", out.String())

	f.NICList = nil
	out.Reset()
	if err := Run([]string{"nics", "--socket", sock}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "NAME") || !strings.Contains(out.String(), "no NIC found") {
		t.Errorf("nics with no NIC at all:\n%s", out.String())
	}
	out.Reset()
	if err := Run([]string{"nics", "--socket", sock, "-o", "json"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(out.String()) != "[]" {
		t.Errorf("nics -o json with no NIC = %q, want []", out.String())
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"version", "-o", "json"}, {"-o", "json", "version"}} {
		var out bytes.Buffer
		if err := Run(args, &out, &out); err != nil {
			t.Fatalf("Run(%q): %v", args, err)
		}
		if !strings.Contains(out.String(), "nicflow ") {
			t.Errorf("Run(%q) = %q, want the version", args, out.String())
		}
		if strings.Contains(strings.Join(args, " "), "json") {
			if !strings.HasPrefix(out.String(), `{`) || !strings.Contains(out.String(), `"version": "nicflow `) {
				t.Errorf("Run(%q) = %q, want a JSON object", args, out.String())
			}
		}
	}
}

// TestNoNetworks: with no network, the table gives way to a hint.
func TestNoNetworks(t *testing.T) {
	sock := resttest.Serve(t, resttest.NewFake())
	var stdout, stderr bytes.Buffer
	if err := Run([]string{"--socket", sock, "networks"}, &stdout, &stderr); err != nil {
		t.Fatalf("networks: %v\nstderr: %s", err, stderr.String())
	}
	if want := "no networks: create one with 'nicflowctl networks create NAME'"; !strings.HasPrefix(stdout.String(), want) {
		t.Errorf("networks with none = %q, want it to start %q", stdout.String(), want)
	}
}
