package config

import (
	"strings"
	"testing"
)

// TestConfigErrorsNameKeyAndLine: a malformed configuration file's error
// names the key path at fault and its line.
func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	for _, tt := range []struct {
		name, yaml string
		want       []string
	}{
		{"ports not a list", "networks:\n  - name: a\n    ports: eth0\n", []string{"line 3", "networks[0].ports", "want a list of strings", "`eth0`"}},
		{"unknown network key", "networks:\n  - name: a\n    ports: [eth0]\n    fail_mod: secure\n", []string{"line 4", "networks[0].fail_mod", `unknown key "fail_mod"`}},
		{"unknown top key", "log_level: info\nstate: /x\n", []string{"line 2", `unknown key "state"`}},
		{"networks a mapping", "networks:\n  name: a\n", []string{"line 2", "networks", "want a list of networks"}},
		{"bad value", "networks:\n  - name: a\n    ports: [eth0]\n    fail_mode: maybe\n", []string{"line 4", "networks[0].fail_mode"}},
		{"bad listener", "networks:\n  - name: a\n    ports: [eth0]\n    listeners:\n      - tcp:1.2.3.4\n", []string{"line 5", "networks[0].listeners[0]"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml))
			if err == nil {
				t.Fatal("parsed")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
