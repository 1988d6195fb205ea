package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nicflow/nicflow/api/rest/resttest"
)

// TestBrokenVNICSaysWhy: a vNIC whose port's netdev was deleted under its
// network is listed with why, and what to do, below the table.
func TestBrokenVNICSaysWhy(t *testing.T) {
	f := fixture()
	f.Vnics["vm1-eth0"].Broken = "its port's netdev pf0vf0 was deleted under network blue; attach it again to re-create it"
	sock := resttest.Serve(t, f)
	for _, args := range [][]string{{"vnics"}, {"vnics", "get", "vm1-eth0"}} {
		var stdout, stderr bytes.Buffer
		if err := Run(append([]string{"--socket", sock}, args...), &stdout, &stderr); err != nil {
			t.Fatalf("Run(%q): %v\nstderr: %s", args, err, stderr.String())
		}
		if want := "vm1-eth0 is broken: " + f.Vnics["vm1-eth0"].Broken; !strings.Contains(stdout.String(), want) {
			t.Errorf("Run(%q) does not say %q:\n%s", args, want, stdout.String())
		}
		checkGolden(t, "vnics_broken", stdout.String())
	}
}
