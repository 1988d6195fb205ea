package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		cmdline string
		args    []string
		wantErr bool
		env     []string
	}{{
		cmdline: "console=ttyS0 panic=-1 quiet",
		args:    []string{"-test.v", "-test.timeout=3m0s", "-test.count=1"},
	}, {
		cmdline: "quiet nicflow.timeout=90s nicflow.run=^TestSmoke nicflow.count=2",
		args:    []string{"-test.v", "-test.timeout=1m30s", "-test.count=2", "-test.run=^TestSmoke"},
	}, {
		cmdline: "nicflow.timeout=soon nicflow.run=X",
		args:    []string{"-test.v", "-test.timeout=3m0s", "-test.count=1", "-test.run=X"},
		wantErr: true,
	}, {
		cmdline: "nicflow.env=A=1 nicflow.env=B=x=y nicflow.env=novalue",
		args:    []string{"-test.v", "-test.timeout=3m0s", "-test.count=1"},
		env:     []string{"A=1", "B=x=y"},
		wantErr: true,
	}, {
		cmdline: "nicflow.bench=Install10k nicflow.benchtime=1x",
		args: []string{"-test.v", "-test.timeout=3m0s", "-test.count=1",
			"-test.bench=Install10k", "-test.benchmem", "-test.benchtime=1x", "-test.run=^$"},
	}, {
		cmdline: "nicflow.bench=. nicflow.run=^TestSmoke$",
		args:    []string{"-test.v", "-test.timeout=3m0s", "-test.count=1", "-test.bench=.", "-test.benchmem", "-test.run=^TestSmoke$"},
	}, {
		cmdline: "nicflow.colour=blue",
		args:    []string{"-test.v", "-test.timeout=3m0s", "-test.count=1"},
		wantErr: true,
	}}
	for _, tt := range tests {
		o, err := parseOptions(tt.cmdline)
		if (err != nil) != tt.wantErr {
			t.Errorf("parseOptions(%q) error = %v, want error %v", tt.cmdline, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.args, o.args()); diff != "" {
			t.Errorf("parseOptions(%q).args() (-want +got):\n%s", tt.cmdline, diff)
		}
		if diff := cmp.Diff(tt.env, o.env); diff != "" {
			t.Errorf("parseOptions(%q).env (-want +got):\n%s", tt.cmdline, diff)
		}
	}
	if o, _ := parseOptions(""); o.timeout != 3*time.Minute {
		t.Errorf("default timeout = %v, want 3m", o.timeout)
	}
}
