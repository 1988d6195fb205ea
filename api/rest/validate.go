package rest

import (
	"fmt"
	"net"
	"regexp"
	"strings"
)

// namePattern is what network names and vNIC ids look like: they name
// sockets, store keys and URL path segments.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$`)

// checkName validates a network name or vNIC id.
func checkName(field, s string) error {
	if s == "" {
		return Invalid(field, "required")
	}
	if !namePattern.MatchString(s) {
		return Invalid(field, fmt.Sprintf("%q must be 1-64 letters, digits, '_', '.', ':' or '-', starting with a letter or digit", s))
	}
	return nil
}

// maxIfName is the longest Linux netdev name (IFNAMSIZ - 1).
const maxIfName = 15

// checkNetdev validates a netdev name.
func checkNetdev(field, s string) error {
	if s == "" {
		return Invalid(field, "empty netdev name")
	}
	if len(s) > maxIfName || strings.ContainsAny(s, "/ \t\n:") || s == "." || s == ".." {
		return Invalid(field, fmt.Sprintf("%q is not a netdev name (at most %d characters, no '/', ':' or spaces)", s, maxIfName))
	}
	return nil
}

// normalizeMAC checks a unicast MAC address and returns it in canonical
// form (lower case, colons). Empty stays empty.
func normalizeMAC(field, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", Invalid(field, fmt.Sprintf("%q is not a MAC address (like 52:54:00:12:34:56)", s))
	}
	if hw[0]&1 != 0 {
		return "", Invalid(field, fmt.Sprintf("%s is a multicast address; a vNIC needs a unicast one", hw))
	}
	if hw.String() == "00:00:00:00:00:00" {
		return "", Invalid(field, "00:00:00:00:00:00 is not a usable address (omit the field to let the NIC pick one)")
	}
	return hw.String(), nil
}

// oneOf checks that s is one of allowed, or fills def when s is empty.
func oneOf(field string, s *string, def string, allowed ...string) error {
	if *s == "" {
		*s = def
		return nil
	}
	for _, a := range allowed {
		if *s == a {
			return nil
		}
	}
	return Invalid(field, fmt.Sprintf("%q is not one of %s", *s, strings.Join(allowed, ", ")))
}

// checkChannelLimits checks the inactivity probe and the packet-in rate
// limits as Open vSwitch's schema does, and fills the burst's default (a
// quarter of the rate, as Open vSwitch).
func (n *NetworkSpec) checkChannelLimits() error {
	if p := n.InactivityProbe; p != nil {
		if err := CheckInactivityProbe(*p); err != nil {
			return err
		}
	}
	rate, burst := n.ControllerRateLimit, n.ControllerBurstLimit
	if rate != 0 && (rate < MinControllerRateLimit || rate > maxChannelLimit) {
		return Invalid("controller_rate_limit", fmt.Sprintf("%d must be at least %d packets/s (omit it or 0 for no limit), at most %d", rate, MinControllerRateLimit, maxChannelLimit))
	}
	switch {
	case burst != 0 && rate == 0:
		return Invalid("controller_burst_limit", "only with controller_rate_limit (the burst of a rate limit)")
	case burst != 0 && (burst < MinControllerBurstLimit || burst > maxChannelLimit):
		return Invalid("controller_burst_limit", fmt.Sprintf("%d must be at least %d packets, at most %d (omit it for a quarter of the rate)", burst, MinControllerBurstLimit, maxChannelLimit))
	case burst == 0 && rate != 0:
		n.ControllerBurstLimit = rate / 4
	}
	return nil
}

// CheckInactivityProbe checks an inactivity probe of ms milliseconds as
// Open vSwitch takes it: 0 (disabled) or at least MinInactivityProbe.
// The error names the field inactivity_probe.
func CheckInactivityProbe(ms int) error {
	if ms != 0 && (ms < MinInactivityProbe || ms > maxChannelLimit) {
		return Invalid("inactivity_probe", fmt.Sprintf("%d must be at least %d ms or 0 (0 disables the probe), at most %d", ms, MinInactivityProbe, maxChannelLimit))
	}
	return nil
}
