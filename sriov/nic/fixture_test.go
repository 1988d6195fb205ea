package nic

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Sysfs fixtures are txtar archives in testdata (one per machine layout),
// unpacked into a temporary directory by each test. Sysfs is mostly symlinks
// (class/net entries, device, driver, virtfnN, physfn), and a directory of
// small attribute files; storing the trees as real files would scatter a
// layout over hundreds of tiny files and symlinks that some checkouts
// (core.symlinks=false) turn into text. One archive per layout reads top to
// bottom like `ls -l` of the real machine. The notation:
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

// unpackFixture builds the sysfs tree of testdata/<name>.txtar under a
// temporary directory and returns it, to be used as Discoverer.Root.
func unpackFixture(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := unpackTxtar(root, data); err != nil {
		t.Fatalf("unpack %s: %v", name, err)
	}
	return root
}

func unpackTxtar(root string, data []byte) error {
	for _, sec := range splitTxtar(data) {
		var err error
		switch {
		case strings.HasSuffix(sec.name, "/"):
			err = unpackDir(root, sec.name, sec.body)
		case strings.Contains(sec.name, " -> "):
			name, target, _ := strings.Cut(sec.name, " -> ")
			err = symlink(root, name, target)
		default:
			err = writeFile(root, sec.name, sec.body)
		}
		if err != nil {
			return fmt.Errorf("section %q: %w", sec.name, err)
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

type txtarSection struct {
	name string
	body []byte
}

// splitTxtar splits a txtar archive (golang.org/x/tools/txtar format) into
// its sections, dropping the leading comment.
func splitTxtar(data []byte) []txtarSection {
	var out []txtarSection
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		s := strings.TrimRight(string(line), "\n")
		if strings.HasPrefix(s, "-- ") && strings.HasSuffix(s, " --") && len(s) > 6 {
			out = append(out, txtarSection{name: strings.TrimSpace(s[3 : len(s)-3])})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].body = append(out[len(out)-1].body, line...)
		}
	}
	return out
}

// removeFile removes a file of a fixture tree; a missing file is fine.
func removeFile(p string) error {
	if err := os.Remove(p); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
