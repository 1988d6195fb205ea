package test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// missingDocs walks the Go module rooted at root and returns, sorted and
// relative to root, the directories holding a non-test Go package none of
// whose files carries a package doc comment. Hidden directories, testdata,
// vendor and bin are not walked.
func missingDocs(root string) ([]string, error) {
	type pkg struct{ files, documented int }
	pkgs := map[string]*pkg{}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") ||
				name == "testdata" || name == "vendor" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		p := pkgs[dir]
		if p == nil {
			p = &pkg{}
			pkgs[dir] = p
		}
		p.files++
		if f.Doc != nil && strings.TrimSpace(f.Doc.Text()) != "" {
			p.documented++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var missing []string
	for dir, p := range pkgs {
		if p.documented == 0 {
			missing = append(missing, filepath.ToSlash(dir))
		}
	}
	sort.Strings(missing)
	return missing, nil
}

// TestPackageDocModule checks the real module: every package has a doc comment.
func TestPackageDocModule(t *testing.T) {
	missing, err := missingDocs("..")
	if err != nil {
		t.Fatalf("walk module: %v", err)
	}
	for _, dir := range missing {
		t.Errorf("package in %s has no package doc comment (add one, e.g. in doc.go)", dir)
	}
}

// TestPackageDocFinder checks missingDocs itself on small module trees.
func TestPackageDocFinder(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name:  "documented",
			files: map[string]string{"a/a.go": "// Package a does a.\npackage a\n"},
		},
		{
			name:  "undocumented",
			files: map[string]string{"a/a.go": "package a\n"},
			want:  []string{"a"},
		},
		{
			name: "one documented file is enough",
			files: map[string]string{
				"a/doc.go": "// Package a does a.\npackage a\n",
				"a/b.go":   "package a\n",
			},
		},
		{
			name: "detached comment is not a doc comment",
			files: map[string]string{
				"a/a.go":      "// Copyright.\n\npackage a\n",
				"cmd/x/x.go":  "// Command x does x.\npackage main\n",
				"cmd/y/y.go":  "package main\n",
				"root.go":     "package root\n",
				"a/a_test.go": "// Package a tests.\npackage a\n",
			},
			want: []string{".", "a", "cmd/y"},
		},
		{
			name: "testdata, hidden and test-only directories are skipped",
			files: map[string]string{
				"a/testdata/x.go": "package x\n",
				".git/x.go":       "package x\n",
				"t/t_test.go":     "package t\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			for name, body := range tt.files {
				path := filepath.Join(root, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := missingDocs(root)
			if err != nil {
				t.Fatalf("missingDocs: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("missingDocs (-want +got):\n%s", diff)
			}
		})
	}
}
