package nic

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Sysfs locations, relative to the root.
const (
	classNetDir  = "sys/class/net"
	sysDir       = "sys"
	virtualDevs  = "sys/devices/virtual"
	attrDevice   = "device"
	attrDriver   = "driver"
	attrSubsys   = "subsystem"
	attrPhysfn   = "physfn"
	virtfnPrefix = "virtfn"
)

// sysfs reads a sysfs tree under root (a host's "/" or a fixture tree). All
// paths given to it are relative to root; symlinks in the tree are relative,
// as the kernel makes them, so they resolve inside root.
type sysfs struct {
	root string
}

func (s sysfs) abs(rel string) string { return filepath.Join(s.root, rel) }

// absent reports whether err means the attribute is not there: the file
// does not exist, or the driver does not implement it (sysfs answers the
// read with EOPNOTSUPP, EINVAL or ENODEV, e.g. phys_port_name on virtio or
// speed on a link that is down).
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.EOPNOTSUPP) ||
		errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENODEV)
}

// optional reads an attribute that may be absent: ok is false without an
// error when it is. Other errors name the file.
func (s sysfs) optional(rel string) (val string, ok bool, err error) {
	b, err := os.ReadFile(s.abs(rel))
	if absent(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read %s: %w", rel, err)
	}
	return strings.TrimSpace(string(b)), true, nil
}

// optionalInt reads an optional integer attribute; def is returned when it
// is absent.
func (s sysfs) optionalInt(rel string, def int) (int, error) {
	v, ok, err := s.optional(rel)
	if err != nil || !ok {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def, fmt.Errorf("read %s: not an integer: %q", rel, v)
	}
	return n, nil
}

// hexID reads a PCI id attribute ("0x15b3") as "15b3"; empty when absent.
func (s sysfs) hexID(rel string) (string, error) {
	v, _, err := s.optional(rel)
	return strings.TrimPrefix(strings.ToLower(v), "0x"), err
}

// linkBase returns the last element of a symlink's target (a driver name,
// a PCI address); ok is false when there is no such link.
func (s sysfs) linkBase(rel string) (string, bool, error) {
	t, err := os.Readlink(s.abs(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read link %s: %w", rel, err)
	}
	return filepath.Base(t), true, nil
}

// resolve follows every symlink of rel and returns the result relative to
// root; ok is false when rel does not exist.
func (s sysfs) resolve(rel string) (string, bool, error) {
	root, err := filepath.EvalSymlinks(s.root)
	if err != nil {
		return "", false, fmt.Errorf("resolve sysfs root %s: %w", s.root, err)
	}
	p, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("resolve %s: %w", rel, err)
	}
	r, err := filepath.Rel(root, p)
	if err != nil || strings.HasPrefix(r, "..") {
		return "", false, fmt.Errorf("resolve %s: %s is outside the sysfs root", rel, p)
	}
	return r, true, nil
}

// names lists the entries of a directory, sorted; a missing directory is
// empty.
func (s sysfs) names(rel string) ([]string, error) {
	ents, err := os.ReadDir(s.abs(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", rel, err)
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out, nil
}
