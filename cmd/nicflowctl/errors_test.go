package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestMissingSocket: every API command says the daemon is not running
// and which socket it tried.
func TestMissingSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "nicflowd.sock")
	for _, args := range [][]string{
		{"nics"}, {"networks"}, {"networks", "get", "blue"}, {"networks", "create", "blue"}, {"networks", "delete", "blue"},
		{"vnics"}, {"vnics", "attach", "v", "--network", "blue"}, {"vnics", "detach", "v"}, {"flows", "blue"}, {"flows"}, {"ports", "blue"},
	} {
		var out bytes.Buffer
		err := Run(append([]string{"--socket", sock}, args...), &out, &out)
		if err == nil || !strings.Contains(err.Error(), "nicflowd is not running: no API socket at "+sock) {
			t.Errorf("Run(%q) = %v, want an error saying nicflowd is not running at %s", args, err, sock)
		}
	}
}

func TestErrorsNameTheProblem(t *testing.T) {
	f := fixture()
	sock := resttest.Serve(t, f)
	tests := []struct {
		args      []string
		want      string
		wantCalls bool // the request reached the backend
	}{
		{nil, "no command", false},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`, false},
		{[]string{"version", "x"}, "no arguments", false},
		{[]string{"nics", "-o", "yaml"}, `-o "yaml": want table or json`, false},
		{[]string{"nics", "a", "b"}, "at most one NIC name", false},
		{[]string{"nics", "eth9"}, "nic eth9: not found", true},
		{[]string{"networks", "frob"}, `unknown verb "frob"`, false},
		{[]string{"networks", "get"}, "one network name", false},
		{[]string{"networks", "get", "red"}, "network red: not found", true},
		{[]string{"networks", "create", "x", "--dpid", "0xzz"}, "--dpid", false},
		{[]string{"networks", "create", "x", "--mode", "bridge"}, `mode: "bridge" is not one of host, nic, hairpin`, false},
		{[]string{"networks", "create", "blue"}, "name: a network with this name exists", true},
		{[]string{"networks", "create", "x", "--controller", "http://c"}, "controllers[0]", false},
		{[]string{"networks", "delete", "blue"}, "vnic vm1-eth0 is attached", true},
		{[]string{"networks", "create", "x", "--bogus"}, "flag provided but not defined: -bogus", false},
		{[]string{"vnics", "attach", "v"}, "--network is required", false},
		{[]string{"vnics", "attach", "v", "--network", "blue", "--vlan", "4096"}, "vlan: 4096 is out of range 0-4094", false},
		{[]string{"vnics", "attach", "v", "--network", "blue", "--mac", "nope"}, `mac: "nope" is not a MAC address`, false},
		{[]string{"vnics", "attach", "v", "--network", "blue", "--min-tx-rate", "100", "--max-tx-rate", "10"}, "max_tx_rate: 10 Mbit/s is below min_tx_rate", false},
		{[]string{"vnics", "attach", "v", "--network", "blue", "--qos", "9", "--vlan", "1"}, "qos: 9 is out of range 0-7", false},
		{[]string{"vnics", "attach", "v", "--network", "red"}, `network: no network "red"`, true},
		{[]string{"vnics", "attach", "v", "--network", "blue", "--trust=maybe"}, `invalid boolean value "maybe" for -trust`, false},
		{[]string{"vnics", "get", "nope"}, "vnic nope: not found", true},
		{[]string{"flows", "red"}, "flows of network red: not found", true},
		{[]string{"flows", "a", "b"}, "one network name expected", false},
		{[]string{"ports", "red"}, "ports of network red: not found", true},
	}
	for _, tt := range tests {
		f.ResetCalls()
		var out bytes.Buffer
		err := Run(append([]string{"--socket", sock}, tt.args...), &out, &out)
		if tt.args == nil {
			err = Run(nil, &out, &out)
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Run(%q) = %v, want an error containing %q", tt.args, err, tt.want)
		}
		if got := len(f.CallLog()) > 0; got != tt.wantCalls {
			t.Errorf("Run(%q): backend called = %v (%q), want %v", tt.args, got, f.CallLog(), tt.wantCalls)
		}
	}
	nets, vnics := f.Names()
	if len(nets) != 1 || len(vnics) != 1 {
		t.Errorf("failed commands changed the daemon: networks %q, vnics %q", nets, vnics)
	}
}

func TestFlowsNeedsANameWithSeveralNetworks(t *testing.T) {
	f := fixture()
	sock := resttest.Serve(t, f)
	var out bytes.Buffer
	if err := Run([]string{"--socket", sock, "networks", "create", "red"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	err := Run([]string{"--socket", sock, "flows"}, &out, &out)
	if err == nil || !strings.Contains(err.Error(), "name a network (one of blue, red)") {
		t.Errorf("flows with two networks = %v, want an error listing them", err)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"flows", "-h"}, {"vnics", "attach", "--help"}} {
		var stdout, stderr bytes.Buffer
		if err := Run(args, &stdout, &stderr); err != nil {
			t.Errorf("Run(%q) = %v, want help and no error", args, err)
		}
		if !strings.Contains(stderr.String(), "sage") {
			t.Errorf("Run(%q) printed no usage: %q", args, stderr.String())
		}
	}
}
