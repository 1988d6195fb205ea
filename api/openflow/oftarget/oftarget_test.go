package oftarget

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want Target
		err  string
	}{
		{in: "tcp:10.0.0.1:6633", want: Target{Network: "tcp", Address: "10.0.0.1:6633"}},
		{in: "tcp:ctl.example", want: Target{Network: "tcp", Address: "ctl.example:6653"}},
		{in: "tcp:[::1]:6653", want: Target{Network: "tcp", Address: "[::1]:6653"}},
		{in: "tcp:[fe80::1]", want: Target{Network: "tcp", Address: "[fe80::1]:6653"}},
		{in: "ptcp:6653", want: Target{Passive: true, Network: "tcp", Address: ":6653"}},
		{in: "ptcp:", want: Target{Passive: true, Network: "tcp", Address: ":6653"}},
		{in: "ptcp:0:127.0.0.1", want: Target{Passive: true, Network: "tcp", Address: "127.0.0.1:0"}},
		{in: "ptcp:6653:[::1]", want: Target{Passive: true, Network: "tcp", Address: "[::1]:6653"}},
		{in: "punix:/run/nicflow/br0.sock", want: Target{Passive: true, Network: "unix", Address: "/run/nicflow/br0.sock"}},
		{in: "unix:/tmp/ctl", want: Target{Network: "unix", Address: "/tmp/ctl"}},
		{in: "ssl:1.2.3.4:6653", want: Target{Network: "tcp", Address: "1.2.3.4:6653", TLS: true}},
		{in: "ssl:ctl.example", want: Target{Network: "tcp", Address: "ctl.example:6653", TLS: true}},
		{in: "ssl:[::1]:6633", want: Target{Network: "tcp", Address: "[::1]:6633", TLS: true}},
		{in: "pssl:", want: Target{Passive: true, Network: "tcp", Address: ":6653", TLS: true}},
		{in: "pssl:6654", want: Target{Passive: true, Network: "tcp", Address: ":6654", TLS: true}},
		{in: "pssl:0:127.0.0.1", want: Target{Passive: true, Network: "tcp", Address: "127.0.0.1:0", TLS: true}},
		{in: "pssl:6653:[::1]", want: Target{Passive: true, Network: "tcp", Address: "[::1]:6653", TLS: true}},
		{in: "ssl:", err: "missing host"},
		{in: "pssl:6653:nope", err: "not an IP"},
		{in: "tls:1.2.3.4:6653", err: "unknown kind"},
		{in: "10.0.0.1:6653", err: "unknown kind"},
		{in: "nonsense", err: "want tcp:"},
		{in: "tcp:", err: "missing host"},
		{in: "tcp:1.2.3.4:99999", err: "port"},
		{in: "tcp:fe80::1:6653", err: "brackets"},
		{in: "ptcp:abc", err: "port"},
		{in: "ptcp:6653:not-an-ip", err: "not an IP"},
		{in: "punix:", err: "missing socket path"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Parse(%q) = %+v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if again, err := Parse(got.String()); err != nil || again != got {
				t.Errorf("Parse(%q.String() = %q) = %+v, %v", tt.in, got.String(), again, err)
			}
		})
	}
}
