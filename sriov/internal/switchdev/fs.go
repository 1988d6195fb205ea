package switchdev

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	utilfs "github.com/k8snetworkplumbingwg/sriovnet/pkg/utils/filesystem"
)

// errReadOnly answers every change sriovnet could ask of the filesystem:
// nicflow makes no sriovnet call that writes.
var errReadOnly = errors.New("switchdev: sysfs is read only through sriovnet")

// rootFS is sriovnet's Filesystem over a directory standing for /sys:
// absolute paths under /sys are read under sys instead. Symlinks in sysfs
// are relative, so they resolve inside the tree.
type rootFS struct {
	sys string
}

var _ utilfs.Filesystem = rootFS{}

func (r rootFS) path(name string) string {
	if rest, ok := strings.CutPrefix(filepath.Clean(name), HostSysfs); ok && (rest == "" || rest[0] == '/') {
		return filepath.Join(r.sys, rest)
	}
	return filepath.Join(r.sys, "..", "not-sysfs", name) // sriovnet reads nothing else
}

func (r rootFS) Stat(name string) (os.FileInfo, error)      { return os.Stat(r.path(name)) }
func (r rootFS) Readlink(name string) (string, error)       { return os.Readlink(r.path(name)) }
func (r rootFS) ReadFile(filename string) ([]byte, error)   { return os.ReadFile(r.path(filename)) }
func (r rootFS) Create(string) (utilfs.File, error)         { return nil, errReadOnly }
func (r rootFS) Rename(string, string) error                { return errReadOnly }
func (r rootFS) MkdirAll(string, os.FileMode) error         { return errReadOnly }
func (r rootFS) Chtimes(string, time.Time, time.Time) error { return errReadOnly }
func (r rootFS) RemoveAll(string) error                     { return errReadOnly }
func (r rootFS) Remove(string) error                        { return errReadOnly }
func (r rootFS) Symlink(string, string) error               { return errReadOnly }
func (r rootFS) WriteFile(string, []byte, os.FileMode) error {
	return errReadOnly
}
func (r rootFS) TempDir(string, string) (string, error)       { return "", errReadOnly }
func (r rootFS) TempFile(string, string) (utilfs.File, error) { return nil, errReadOnly }

// ReadDir lists a directory as sriovnet's DefaultFs does (lstat of each
// entry; sriovnet uses only the names).
func (r rootFS) ReadDir(dirname string) ([]os.FileInfo, error) {
	ents, err := os.ReadDir(r.path(dirname))
	if err != nil {
		return nil, err
	}
	infos := make([]fs.FileInfo, 0, len(ents))
	for _, e := range ents {
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		infos = append(infos, info)
	}
	return infos, nil
}

// Walk is not used by the sriovnet calls nicflow makes.
func (r rootFS) Walk(string, filepath.WalkFunc) error { return errors.ErrUnsupported }
