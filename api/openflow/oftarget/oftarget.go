// Package oftarget parses and prints OpenFlow connection targets in Open
// vSwitch's syntax (tcp:, ssl:, unix:, ptcp:, pssl:, punix:). It is apart from
// api/openflow so that what only checks a target (the REST API's
// validation, its clients) does not link the switch.
//
// It imports no other nicflow package.
package oftarget

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// DefaultPort is the IANA OpenFlow port.
const DefaultPort = 6653

// Target is a parsed controller connection target.
type Target struct {
	// Passive targets (ptcp:, pssl:, punix:) listen and accept any number
	// of controllers; active ones (tcp:, ssl:, unix:) connect and
	// reconnect.
	Passive bool
	Network string // "tcp" or "unix"
	Address string // host:port or a socket path
	// TLS is set for ssl: and pssl: (Network "tcp"): the channel runs
	// over TLS with mutual authentication.
	TLS bool
}

func (t Target) String() string {
	p := ""
	if t.Passive {
		p = "p"
	}
	if t.Network == "unix" {
		return p + "unix:" + t.Address
	}
	kind := "tcp"
	if t.TLS {
		kind = "ssl"
	}
	if t.Passive {
		host, port, _ := net.SplitHostPort(t.Address)
		if host == "" {
			return p + kind + ":" + port
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		return p + kind + ":" + port + ":" + host
	}
	return kind + ":" + t.Address
}

// Parse parses a controller target in Open vSwitch syntax:
//
//	tcp:HOST[:PORT]    connect to a controller (PORT defaults to 6653)
//	ssl:HOST[:PORT]    the same over TLS
//	unix:PATH          connect to a controller on a Unix socket
//	ptcp:[PORT][:IP]   listen for controllers (PORT defaults to 6653, IP to all)
//	pssl:[PORT][:IP]   the same over TLS
//	punix:PATH         listen for controllers on a Unix socket
//
// IPv6 addresses go in brackets: tcp:[::1]:6653, ptcp:6653:[::1].
func Parse(s string) (Target, error) {
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		return Target{}, fmt.Errorf("parse target %q: want tcp:, ssl:, unix:, ptcp:, pssl: or punix: followed by an address", s)
	}
	tls := kind == "ssl" || kind == "pssl"
	switch kind {
	case "tcp", "ssl":
		host, port, err := splitHostPort(rest)
		if err != nil {
			return Target{}, fmt.Errorf("parse target %q: %w", s, err)
		}
		if host == "" {
			return Target{}, fmt.Errorf("parse target %q: missing host", s)
		}
		return Target{Network: "tcp", Address: net.JoinHostPort(host, port), TLS: tls}, nil
	case "ptcp", "pssl":
		portStr, ip, _ := strings.Cut(rest, ":")
		port := strconv.Itoa(DefaultPort)
		if portStr != "" {
			if _, err := parsePort(portStr); err != nil {
				return Target{}, fmt.Errorf("parse target %q: %w", s, err)
			}
			port = portStr
		}
		ip = strings.TrimSuffix(strings.TrimPrefix(ip, "["), "]")
		if ip != "" && net.ParseIP(ip) == nil {
			return Target{}, fmt.Errorf("parse target %q: %q is not an IP address", s, ip)
		}
		return Target{Passive: true, Network: "tcp", Address: net.JoinHostPort(ip, port), TLS: tls}, nil
	case "unix", "punix":
		if rest == "" {
			return Target{}, fmt.Errorf("parse target %q: missing socket path", s)
		}
		return Target{Passive: kind == "punix", Network: "unix", Address: rest}, nil
	}
	return Target{}, fmt.Errorf("parse target %q: unknown kind %q: want tcp, ssl, unix, ptcp, pssl or punix", s, kind)
}

// splitHostPort splits HOST[:PORT], HOST being a name, an IPv4 address or
// a bracketed IPv6 address.
func splitHostPort(s string) (host, port string, err error) {
	port = strconv.Itoa(DefaultPort)
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", "", fmt.Errorf("missing ] in %q", s)
		}
		host, rest := s[1:end], s[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return "", "", fmt.Errorf("unexpected %q after the address", rest)
			}
			port = rest[1:]
		}
		if _, err := parsePort(port); err != nil {
			return "", "", err
		}
		return host, port, nil
	}
	switch strings.Count(s, ":") {
	case 0:
		host = s
	case 1:
		host, port, _ = strings.Cut(s, ":")
	default:
		return "", "", fmt.Errorf("IPv6 address %q must be in brackets", s)
	}
	if _, err := parsePort(port); err != nil {
		return "", "", err
	}
	return host, port, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("port %q is not a number from 0 to 65535", s)
	}
	return p, nil
}
