package main

import (
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/vishvananda/netlink"
)

// netlinkLinks is hostLinks over rtnetlink.
type netlinkLinks struct{}

func (netlinkLinks) addVeth(host, peer, peerMAC string, peerUp bool) error {
	if l, err := netlink.LinkByName(host); err == nil {
		// A leftover of an attach that did not finish: start afresh.
		if err := netlink.LinkDel(l); err != nil {
			return fmt.Errorf("delete leftover %s: %w", host, err)
		}
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: host}, PeerName: peer}
	if peerMAC != "" {
		mac, err := net.ParseMAC(peerMAC)
		if err != nil {
			return fmt.Errorf("mac %q: %w", peerMAC, err)
		}
		v.PeerHardwareAddr = mac
	}
	if err := netlink.LinkAdd(v); err != nil {
		return fmt.Errorf("add veth: %w", err)
	}
	// The host end is a switch port: keep the kernel's own IPv6 traffic
	// (neighbour discovery) out of the network.
	_ = os.WriteFile("/proc/sys/net/ipv6/conf/"+host+"/disable_ipv6", []byte("1"), 0o644)
	up := []string{host}
	if peerUp {
		up = append(up, peer)
	}
	for _, name := range up {
		if err := (netlinkLinks{}).setUp(name); err != nil {
			_ = (netlinkLinks{}).delLink(host)
			return err
		}
	}
	return nil
}

func (netlinkLinks) linkMAC(name string) string {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return ""
	}
	return l.Attrs().HardwareAddr.String()
}

func (netlinkLinks) hasLink(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

func (netlinkLinks) delLink(name string) error {
	l, err := netlink.LinkByName(name)
	var nf netlink.LinkNotFoundError
	if errors.As(err, &nf) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	if err := netlink.LinkDel(l); err != nil {
		return fmt.Errorf("delete %s: %w", name, err)
	}
	return nil
}

func (netlinkLinks) setUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	if err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}
