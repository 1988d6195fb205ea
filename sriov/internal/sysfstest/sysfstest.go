// Package sysfstest builds sysfs fixture trees for the tests of the sriov
// tree: txtar archives in its testdata (one per machine layout, embedded so
// that test binaries in the VM carry them), unpacked into a temporary
// directory.
//
// Sysfs is mostly symlinks (class/net entries, device, driver, virtfnN,
// physfn), and a directory of small attribute files; storing the trees as
// real files would scatter a layout over hundreds of tiny files and symlinks
// that some checkouts (core.symlinks=false) turn into text. One archive per
// layout reads top to bottom like `ls -l` of the real machine. The notation:
//
//	-- dir/ --            a directory; each line of its body is one entry:
//	name=value            a file holding value and a newline
//	name -> target        a symlink (targets are relative, as in sysfs)
//	name/                 an empty subdirectory
//	# comment             ignored
//	-- path -> target --  a symlink on its own
//	-- path --            a file with the body as its content
//
// Parent directories are created as needed.
//
// Only tests and test helpers import it. It imports no other nicflow
// package.
package sysfstest

import (
	"bytes"
	"embed"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed testdata/*.txtar
var fixtures embed.FS

// Unpack builds the tree of testdata/<name>.txtar under a temporary
// directory and returns that directory (the root holding sys/).
func Unpack(t testing.TB, name string) string {
	t.Helper()
	data, err := fixtures.ReadFile("testdata/" + name + ".txtar")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := UnpackTxtar(root, data); err != nil {
		t.Fatalf("unpack %s: %v", name, err)
	}
	return root
}

// UnpackTxtar builds the tree of a txtar archive under root.
func UnpackTxtar(root string, data []byte) error {
	for _, sec := range Sections(data) {
		var err error
		switch {
		case strings.HasSuffix(sec.Name, "/"):
			err = unpackDir(root, sec.Name, sec.Body)
		case strings.Contains(sec.Name, " -> "):
			name, target, _ := strings.Cut(sec.Name, " -> ")
			err = symlink(root, name, target)
		default:
			err = writeFile(root, sec.Name, sec.Body)
		}
		if err != nil {
			return fmt.Errorf("section %q: %w", sec.Name, err)
		}
	}
	return nil
}

func unpackDir(root, dir string, body []byte) error {
	if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
		return err
	}
	for _, line := range strings.Split(string(body), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.Contains(line, " -> "):
			name, target, _ := strings.Cut(line, " -> ")
			if err := symlink(root, filepath.Join(dir, name), target); err != nil {
				return err
			}
		case strings.HasSuffix(line, "/"):
			if err := os.MkdirAll(filepath.Join(root, dir, line), 0o755); err != nil {
				return err
			}
		case strings.Contains(line, "="):
			name, val, _ := strings.Cut(line, "=")
			if err := writeFile(root, filepath.Join(dir, name), []byte(val+"\n")); err != nil {
				return err
			}
		default:
			return fmt.Errorf("line %q: want name=value, name -> target or name/", line)
		}
	}
	return nil
}

func symlink(root, name, target string) error {
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, p)
}

func writeFile(root, name string, data []byte) error {
	p := filepath.Join(root, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, data, 0o644)
}

// Section is one section of a txtar archive.
type Section struct {
	Name string
	Body []byte
}

// Sections splits a txtar archive (golang.org/x/tools/txtar format) into
// its sections, dropping the leading comment.
func Sections(data []byte) []Section {
	var out []Section
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		s := strings.TrimRight(string(line), "\n")
		if strings.HasPrefix(s, "-- ") && strings.HasSuffix(s, " --") && len(s) > 6 {
			out = append(out, Section{Name: strings.TrimSpace(s[3 : len(s)-3])})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].Body = append(out[len(out)-1].Body, line...)
		}
	}
	return out
}

// Replace writes the sections of a txtar archive into the tree at root,
// removing first whatever each section's path held (a file written by the
// fixture that a test wants to be a directory, say).
func Replace(root string, data []byte) error {
	for _, sec := range Sections(data) {
		name, _, _ := strings.Cut(sec.Name, " -> ")
		p := filepath.Join(root, strings.TrimSuffix(name, "/"))
		if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return UnpackTxtar(root, data)
}
