package nic

import (
	"regexp"
	"strconv"
)

// portKind classifies a netdev by its phys_port_name.
type portKind int

const (
	portNone     portKind = iota // no or unrecognised port name
	portPhysical                 // pN: a physical port (PF or uplink representor)
	portPFRep                    // pfN: a PF representor (SmartNIC/DPU side)
	portVFRep                    // pfNvfM: a VF representor
	portSFRep                    // pfNsfM: a sub-function representor
)

// portName is a parsed phys_port_name.
type portName struct {
	kind portKind
	pf   int // port number for portPhysical, PF number otherwise
	fn   int // VF or SF number
}

// The patterns of github.com/k8snetworkplumbingwg/sriovnet
// (sriovnet_switchdev.go), whose parser is unexported: an optional
// controller prefix cN is used by BlueField DPUs for host PFs.
var (
	physPortRe = regexp.MustCompile(`^p(\d+)$`)
	pfRepRe    = regexp.MustCompile(`^(?:c\d+)?pf(\d+)$`)
	vfRepRe    = regexp.MustCompile(`^(?:c\d+)?pf(\d+)vf(\d+)$`)
	sfRepRe    = regexp.MustCompile(`^(?:c\d+)?pf(\d+)sf(\d+)$`)
	oldVFRepRe = regexp.MustCompile(`^(\d+)$`)
)

// parsePortName parses a phys_port_name. switchdev tells whether the netdev
// has a phys_switch_id: old kernels named VF representors by the bare VF
// number, which only means a representor on a switch port.
func parsePortName(s string, switchdev bool) portName {
	atoi := func(v string) int { n, _ := strconv.Atoi(v); return n }
	if m := physPortRe.FindStringSubmatch(s); m != nil {
		return portName{kind: portPhysical, pf: atoi(m[1])}
	}
	if m := vfRepRe.FindStringSubmatch(s); m != nil {
		return portName{kind: portVFRep, pf: atoi(m[1]), fn: atoi(m[2])}
	}
	if m := sfRepRe.FindStringSubmatch(s); m != nil {
		return portName{kind: portSFRep, pf: atoi(m[1]), fn: atoi(m[2])}
	}
	if m := pfRepRe.FindStringSubmatch(s); m != nil {
		return portName{kind: portPFRep, pf: atoi(m[1])}
	}
	if m := oldVFRepRe.FindStringSubmatch(s); m != nil && switchdev {
		return portName{kind: portVFRep, pf: -1, fn: atoi(m[1])}
	}
	return portName{kind: portNone}
}

// isRepresentor reports whether the port name is that of a representor of a
// function (not of a physical port).
func (p portName) isRepresentor() bool {
	return p.kind == portPFRep || p.kind == portVFRep || p.kind == portSFRep
}
