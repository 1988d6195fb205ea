package cpio

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// AddTree adds everything below the host directory root (not root itself)
// under the same relative names, in lexical order: directories, regular files
// with their permissions, and symlinks as links. Other file types are an
// error.
func (w *Writer) AddTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		name, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		name = filepath.ToSlash(name)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return w.Dir(name, info.Mode())
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return w.Symlink(name, target)
		case info.Mode().IsRegular():
			f, err := os.Open(path)
			if err != nil {
				return err
			}
			defer f.Close()
			return w.File(name, info.Mode(), info.Size(), f)
		default:
			return fmt.Errorf("cpio: %s: unsupported file type %s", path, info.Mode().Type())
		}
	})
}
