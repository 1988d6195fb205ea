package vmtest

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nicflow/nicflow/sriov/devlink"
	"github.com/nicflow/nicflow/test/waitfor"
)

// The VM's netdevsim is a simulated SmartNIC (test/vm/netdevsim/smartnic.patch,
// described in its README.md): in switchdev mode the PF and every VF
// representor offload a subset of tc flower the way mlx5 does, keep the
// filters in a table per netdev and report hardware counters that a test
// sets through debugfs. These helpers read and write that interface.

const (
	nsimDebugfs = "/sys/kernel/debug/netdevsim"
	nsimParams  = "/sys/module/netdevsim/parameters"
	// tcFiltersFile is the per-port debugfs file of held filters.
	tcFiltersFile = "tc_filters"
)

// SmartNICUncountedBytes is what the simulated device leaves out of its byte
// counters per packet: the 14-byte Ethernet header, as some hardware
// (mlx5-class) counts frames.
const SmartNICUncountedBytes = 14

// SmartNICFilter is one filter a port of the simulated SmartNIC holds, as
// its debugfs file ports/<port>/tc_filters lists it.
type SmartNICFilter struct {
	// ID is the port's sequence number of the filter (from 1).
	ID uint32
	// Chain and Prio are the filter's tc chain and pref.
	Chain, Prio uint32
	// Cookie is the tc action cookie of the filter's first action (nil
	// when it has none): nicflow's rule identity.
	Cookie []byte
	// Packets and Bytes are the wire counters last set (bytes with the
	// Ethernet header); zero until SetSmartNICCounters.
	Packets, Bytes uint64
}

// SmartNICPortDir returns the debugfs directory of the netdevsim port whose
// netdev is netdev (a PF or a VF representor):
// /sys/kernel/debug/netdevsim/netdevsim<ID>/ports/<devlink port index>.
func SmartNICPortDir(netdev string) (string, error) {
	var dir string
	err := waitfor.Until(waitTimeout, func() error {
		var ports []devlink.Port
		if err := devlink.Do(func(c *devlink.Conn) (err error) {
			ports, err = c.Ports(devlink.Handle{})
			return err
		}); err != nil {
			return err
		}
		for _, p := range ports {
			if p.Bus == devlinkBus && p.Netdev == netdev {
				dir = filepath.Join(nsimDebugfs, p.Dev, "ports", strconv.FormatUint(uint64(p.Index), 10))
				return nil
			}
		}
		return fmt.Errorf("%s is not a netdevsim port", netdev)
	})
	return dir, err
}

// SmartNICFilters lists the filters the port netdev holds in its simulated
// hardware, in the order they were offloaded.
func SmartNICFilters(netdev string) ([]SmartNICFilter, error) {
	dir, err := SmartNICPortDir(netdev)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, tcFiltersFile)
	b, err := readSysfs(path)
	if err != nil {
		return nil, err
	}
	filters, err := parseSmartNICFilters(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return filters, nil
}

// parseSmartNICFilters parses the lines "ID CHAIN PRIO COOKIE PACKETS BYTES"
// of a tc_filters file (COOKIE hex, or "-").
func parseSmartNICFilters(text string) ([]SmartNICFilter, error) {
	var out []SmartNICFilter
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 6 {
			return nil, fmt.Errorf("line %q: want 6 fields (ID CHAIN PRIO COOKIE PACKETS BYTES)", line)
		}
		var nums [5]uint64
		for i, s := range []string{fields[0], fields[1], fields[2], fields[4], fields[5]} {
			bits := 32
			if i >= 3 {
				bits = 64
			}
			n, err := strconv.ParseUint(s, 10, bits)
			if err != nil {
				return nil, fmt.Errorf("line %q: %w", line, err)
			}
			nums[i] = n
		}
		f := SmartNICFilter{ID: uint32(nums[0]), Chain: uint32(nums[1]), Prio: uint32(nums[2]), Packets: nums[3], Bytes: nums[4]}
		if fields[3] != "-" {
			c, err := hex.DecodeString(fields[3])
			if err != nil {
				return nil, fmt.Errorf("line %q: cookie: %w", line, err)
			}
			f.Cookie = c
		}
		out = append(out, f)
	}
	return out, sc.Err()
}

// SmartNICFilterByCookie returns the one filter the port netdev holds whose
// action cookie is cookie; none or several are an error.
func SmartNICFilterByCookie(netdev string, cookie []byte) (SmartNICFilter, error) {
	all, err := SmartNICFilters(netdev)
	if err != nil {
		return SmartNICFilter{}, err
	}
	var found []SmartNICFilter
	for _, f := range all {
		if bytes.Equal(f.Cookie, cookie) {
			found = append(found, f)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return SmartNICFilter{}, fmt.Errorf("%s holds no filter with cookie %x (%d filters)", netdev, cookie, len(all))
	default:
		return SmartNICFilter{}, fmt.Errorf("%s holds %d filters with cookie %x", netdev, len(found), cookie)
	}
}

// SetSmartNICCounters sets the cumulative hardware counters of the filter
// with action cookie cookie on port netdev: packets and wireBytes as they
// passed on the wire (frame bytes with the Ethernet header), the last one
// lastUsedAgo ago. The device reports wireBytes - SmartNICUncountedBytes x
// packets, as deltas since its last report. Counters cannot go down.
func SetSmartNICCounters(netdev string, cookie []byte, packets, wireBytes uint64, lastUsedAgo time.Duration) error {
	f, err := SmartNICFilterByCookie(netdev, cookie)
	if err != nil {
		return err
	}
	dir, err := SmartNICPortDir(netdev)
	if err != nil {
		return err
	}
	line := fmt.Sprintf("%d %d %d %d", f.ID, packets, wireBytes, lastUsedAgo.Milliseconds())
	return writeSysfs(filepath.Join(dir, tcFiltersFile), line)
}

// SetSmartNICCapacity sets the module parameter tc_max_filters, the filters
// each port holds, until the test ends.
func SetSmartNICCapacity(t testing.TB, filters int) {
	t.Helper()
	setNsimParam(t, "tc_max_filters", filters)
}

// SetSmartNICChains sets the module parameter tc_max_chains (chains 0 ..
// chains-1 exist) until the test ends.
func SetSmartNICChains(t testing.TB, chains int) {
	t.Helper()
	setNsimParam(t, "tc_max_chains", chains)
}

// setNsimParam writes a netdevsim module parameter and restores its value
// when the test ends.
func setNsimParam(t testing.TB, name string, v int) {
	t.Helper()
	Require(t)
	path := filepath.Join(nsimParams, name)
	old, err := readSysfs(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("netdevsim has no parameter %s: is the SmartNIC patch built in (test/vm/setup.sh)? %v", name, err)
		}
		t.Fatalf("read %s: %v", path, err)
	}
	if err := writeSysfs(path, strconv.Itoa(v)); err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := writeSysfs(path, old); err != nil {
			t.Errorf("restore %s to %s: %v", name, old, err)
		}
	})
}
