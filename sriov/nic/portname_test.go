package nic

import "testing"

func TestParsePortName(t *testing.T) {
	tests := []struct {
		name      string
		switchdev bool
		want      portName
		rep       bool
	}{
		{"p0", true, portName{kind: portPhysical, pf: 0}, false},
		{"p1", false, portName{kind: portPhysical, pf: 1}, false},
		{"pf0vf3", true, portName{kind: portVFRep, pf: 0, fn: 3}, true},
		{"pf1vf12", true, portName{kind: portVFRep, pf: 1, fn: 12}, true},
		{"c1pf0vf2", true, portName{kind: portVFRep, pf: 0, fn: 2}, true},
		{"pf0sf88", true, portName{kind: portSFRep, pf: 0, fn: 88}, true},
		{"pf1", true, portName{kind: portPFRep, pf: 1}, true},
		{"3", true, portName{kind: portVFRep, pf: -1, fn: 3}, true},
		{"3", false, portName{kind: portNone}, false},
		{"", false, portName{kind: portNone}, false},
		{"eth0", true, portName{kind: portNone}, false},
	}
	for _, tt := range tests {
		got := parsePortName(tt.name, tt.switchdev)
		if got != tt.want || got.isRepresentor() != tt.rep {
			t.Errorf("parsePortName(%q, %v) = %+v (representor %v), want %+v (representor %v)",
				tt.name, tt.switchdev, got, got.isRepresentor(), tt.want, tt.rep)
		}
	}
}
