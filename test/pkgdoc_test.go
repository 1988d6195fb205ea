package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"os"
	"os/exec"
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

// Import rules. The last paragraph of every package's doc comment states
// what the package must not import, in one of these forms:
//
//	It imports no other nicflow package.
//	It must not import, directly or indirectly: LIST.
//	It must not import directly: LIST.
//
// LIST is a comma-separated list of import paths; PATH/... stands for PATH
// and every package below it, as in the go command. An item may carry
// exceptions: "PATH/... but P1 and P2" forbids what PATH/... matches except
// what P1 or P2 match. "directly or indirectly" checks the package's whole
// dependency graph (go list's Deps), "directly" only its own imports;
// "no other nicflow package" is github.com/nicflow/nicflow/..., directly or
// indirectly. Test files are never checked: a test may import anything.
//
// A test helper's last paragraph starts with "Only tests and test helpers
// import it." (before its rule): a non-test file of a package that is not a
// helper itself must not import it.

// modulePath is the import path of nicflow's module.
const modulePath = "github.com/nicflow/nicflow"

const (
	helperSentence   = "Only tests and test helpers import it."
	noNicflowRule    = "It imports no other nicflow package."
	indirectPrefix   = "It must not import, directly or indirectly: "
	directPrefix     = "It must not import directly: "
	ruleSentenceStem = "It must not import"
)

// importItem is one item of a rule's list.
type importItem struct {
	pattern string   // an import path, or PATH/...
	except  []string // patterns the item does not forbid
}

// importRule is a package's import rule, parsed from its doc comment.
type importRule struct {
	helper    bool // "Only tests and test helpers import it."
	indirect  bool // the rule covers the whole dependency graph
	forbidden []importItem
}

// errNoImportRule is returned by parseImportRule for a doc comment whose
// last paragraph is no import rule.
var errNoImportRule = errors.New("the doc comment's last paragraph states no import rule")

// lastParagraph returns the last paragraph of a doc comment's text, its
// lines joined by single spaces.
func lastParagraph(doc string) string {
	paras := strings.Split(strings.TrimSpace(doc), "\n\n")
	return strings.Join(strings.Fields(paras[len(paras)-1]), " ")
}

// parseImportRule parses the import rule of a doc comment's text.
func parseImportRule(doc string) (importRule, error) {
	var r importRule
	p := lastParagraph(doc)
	if rest, ok := strings.CutPrefix(p, helperSentence); ok {
		r.helper = true
		p = strings.TrimSpace(rest)
	}
	var list string
	switch {
	case p == noNicflowRule:
		r.indirect = true
		r.forbidden = []importItem{{pattern: modulePath + "/..."}}
		return r, nil
	case strings.HasPrefix(p, indirectPrefix):
		r.indirect = true
		list = strings.TrimPrefix(p, indirectPrefix)
	case strings.HasPrefix(p, directPrefix):
		list = strings.TrimPrefix(p, directPrefix)
	case strings.HasPrefix(p, ruleSentenceStem) || r.helper:
		return r, fmt.Errorf("malformed import rule %q: want %q, %q+LIST or %q+LIST", p, noNicflowRule, indirectPrefix, directPrefix)
	default:
		return r, errNoImportRule
	}
	body, ok := strings.CutSuffix(list, ".")
	if !ok {
		return r, fmt.Errorf("import rule %q does not end with a period", p)
	}
	for _, item := range strings.Split(strings.TrimSpace(body), ", ") {
		pattern, excepts, hasExcept := strings.Cut(item, " but ")
		it := importItem{pattern: pattern}
		if hasExcept {
			it.except = strings.Split(excepts, " and ")
		}
		for _, pat := range append([]string{it.pattern}, it.except...) {
			if err := checkPattern(pat); err != nil {
				return r, fmt.Errorf("import rule %q: item %q: %v", p, item, err)
			}
		}
		for _, e := range it.except {
			if !matchImport(it.pattern, strings.TrimSuffix(e, "/...")) {
				return r, fmt.Errorf("import rule %q: item %q: %s is no exception to %s", p, item, e, it.pattern)
			}
		}
		r.forbidden = append(r.forbidden, it)
	}
	return r, nil
}

// checkPattern reports whether pat is an import path, or one followed by /...
func checkPattern(pat string) error {
	path := strings.TrimSuffix(pat, "/...")
	if path == "" || strings.ContainsAny(path, " ,") || strings.Contains(path, "...") ||
		strings.HasPrefix(path, "/") || strings.HasSuffix(path, "/") {
		return fmt.Errorf("%q is not an import path or PATH/...", pat)
	}
	return nil
}

// matchImport reports whether the import path matches pattern.
func matchImport(pattern, path string) bool {
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return path == base || strings.HasPrefix(path, base+"/")
	}
	return path == pattern
}

// forbids returns the item of r that forbids importing path, if any.
func (r importRule) forbids(path string) (importItem, bool) {
	for _, it := range r.forbidden {
		if !matchImport(it.pattern, path) {
			continue
		}
		excepted := false
		for _, e := range it.except {
			excepted = excepted || matchImport(e, path)
		}
		if !excepted {
			return it, true
		}
	}
	return importItem{}, false
}

// docPackage is what the import rules need of one package of the module.
type docPackage struct {
	Path    string   // import path
	Doc     []string // the texts of its package doc comments (non-test files)
	Imports []string // its non-test imports
	Deps    []string // everything its non-test files depend on, transitively
}

// importChain returns a chain of non-test imports from one package of pkgs
// to the package to, both ends included, or nil when the chain leaves the
// module (a third-party or standard package importing to).
func importChain(pkgs map[string]docPackage, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range pkgs[p].Imports {
			if _, seen := prev[imp]; seen {
				continue
			}
			prev[imp] = p
			if imp == to {
				var chain []string
				for q := to; q != ""; q = prev[q] {
					chain = append([]string{q}, chain...)
				}
				return chain
			}
			queue = append(queue, imp)
		}
	}
	return nil
}

// checkImportRules checks every package of pkgs against the import rule of
// its doc comment and returns what is wrong, one line each, sorted.
func checkImportRules(pkgs []docPackage) []string {
	var problems []string
	report := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	byPath := map[string]docPackage{}
	for _, p := range pkgs {
		byPath[p.Path] = p
	}
	rules := map[string]importRule{}
	for _, p := range pkgs {
		var found []importRule
		for _, doc := range p.Doc {
			r, err := parseImportRule(doc)
			if errors.Is(err, errNoImportRule) {
				continue
			}
			if err != nil {
				report("%s: %v", p.Path, err)
				found = append(found, importRule{}) // counts as stated
				continue
			}
			found = append(found, r)
		}
		switch {
		case len(found) > 1:
			report("%s: %d doc comments state an import rule; keep one", p.Path, len(found))
		case len(found) == 1:
			rules[p.Path] = found[0]
		default:
			report("%s: the doc comment does not end with an import rule (%q, %q... or %q...)",
				p.Path, noNicflowRule, indirectPrefix, directPrefix)
		}
	}
	for _, p := range pkgs {
		r, ok := rules[p.Path]
		if !ok {
			continue
		}
		for _, it := range r.forbidden {
			for _, pat := range append([]string{it.pattern}, it.except...) {
				if !matchImport(modulePath+"/...", strings.TrimSuffix(pat, "/...")) {
					continue // outside the module: cannot tell a typo
				}
				matched := false
				for _, q := range pkgs {
					matched = matched || matchImport(pat, q.Path)
				}
				if !matched {
					report("%s: import rule names %s, which matches no package of the module", p.Path, pat)
				}
			}
		}
		imports, how := p.Imports, "imports"
		if r.indirect {
			imports, how = p.Deps, "depends on"
		}
		for _, imp := range imports {
			it, bad := r.forbids(imp)
			if !bad {
				continue
			}
			via := ""
			if chain := importChain(byPath, p.Path, imp); len(chain) > 2 {
				via = " (" + strings.Join(chain, " -> ") + ")"
			}
			report("%s %s %s%s, which its import rule forbids (%s)", p.Path, how, imp, via, it.pattern)
		}
	}
	for _, p := range pkgs {
		if rules[p.Path].helper {
			continue
		}
		for _, imp := range p.Imports {
			if rules[imp].helper {
				report("%s imports test helper %s, which only tests and test helpers may import", p.Path, imp)
			}
		}
	}
	sort.Strings(problems)
	return problems
}

// listPackages returns the packages of the module rooted at dir, as built
// for Linux (nicflow's only platform), with the doc comments of their
// non-test files.
func listPackages(dir string) ([]docPackage, error) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Dir,GoFiles,CgoFiles,Imports,Deps", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=linux")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, stderr.Bytes())
	}
	var pkgs []docPackage
	fset := token.NewFileSet()
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var l struct {
			ImportPath, Dir                  string
			GoFiles, CgoFiles, Imports, Deps []string
		}
		if err := dec.Decode(&l); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %v", err)
		}
		p := docPackage{Path: l.ImportPath, Imports: l.Imports, Deps: l.Deps}
		for _, name := range append(l.GoFiles, l.CgoFiles...) {
			f, err := parser.ParseFile(fset, filepath.Join(l.Dir, name), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				return nil, err
			}
			if f.Doc != nil {
				p.Doc = append(p.Doc, f.Doc.Text())
			}
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

// TestPackageDocImportRules checks the real module: every package's doc
// comment ends with its import rule, and the rule holds.
func TestPackageDocImportRules(t *testing.T) {
	pkgs, err := listPackages("..")
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages; want the whole module", len(pkgs))
	}
	for _, problem := range checkImportRules(pkgs) {
		t.Error(problem)
	}
}

// TestPackageDocImportRuleParse checks parseImportRule on doc comments.
func TestPackageDocImportRuleParse(t *testing.T) {
	m := modulePath
	tests := []struct {
		name    string
		doc     string
		want    importRule
		wantErr string // a substring of the error; "" for none
	}{
		{
			name: "no other nicflow package",
			doc:  "Package a does a.\n\nIt imports no other nicflow\npackage.\n",
			want: importRule{indirect: true, forbidden: []importItem{{pattern: m + "/..."}}},
		},
		{
			name: "indirect list with exceptions, period after a space",
			doc: "Package a does a.\n\nIt must not import, directly or indirectly: " + m + "/api/..., " +
				m + "/offload/... but " + m + "/offload/pipeline and " + m + "/offload/store, go.uber.org/zap, " + m + "/cmd/... .\n",
			want: importRule{indirect: true, forbidden: []importItem{
				{pattern: m + "/api/..."},
				{pattern: m + "/offload/...", except: []string{m + "/offload/pipeline", m + "/offload/store"}},
				{pattern: "go.uber.org/zap"},
				{pattern: m + "/cmd/..."},
			}},
		},
		{
			name: "direct list, period after a pattern",
			doc:  "Package a does a.\n\nIt must not import directly: net/http, " + m + "/cmd/....",
			want: importRule{forbidden: []importItem{{pattern: "net/http"}, {pattern: m + "/cmd/..."}}},
		},
		{
			name: "test helper",
			doc:  "Package a helps tests.\n\nOnly tests and test helpers import it. It imports no other nicflow package.",
			want: importRule{helper: true, indirect: true, forbidden: []importItem{{pattern: m + "/..."}}},
		},
		{
			name:    "no rule",
			doc:     "Package a does a.\n\nIt imports no other nicflow package.\n\nIt is safe for concurrent use.",
			wantErr: errNoImportRule.Error(),
		},
		{
			name:    "rule in prose",
			doc:     "Package a does a.\n\nIt must not import tcflower or vepa.",
			wantErr: "malformed import rule",
		},
		{
			name:    "helper without a rule",
			doc:     "Package a does a.\n\nOnly tests and test helpers import it.",
			wantErr: "malformed import rule",
		},
		{
			name:    "no period",
			doc:     "Package a does a.\n\nIt must not import directly: net/http",
			wantErr: "does not end with a period",
		},
		{
			name:    "and instead of a comma",
			doc:     "Package a does a.\n\nIt must not import directly: net/http and log.",
			wantErr: "is not an import path",
		},
		{
			name:    "exception outside its pattern",
			doc:     "Package a does a.\n\nIt must not import directly: " + m + "/api/... but " + m + "/offload.",
			wantErr: "is no exception to",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseImportRule(tt.doc)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseImportRule error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseImportRule: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(importRule{}, importItem{})); diff != "" {
				t.Errorf("parseImportRule (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPackageDocImportRuleCheck checks checkImportRules on small module
// graphs.
func TestPackageDocImportRuleCheck(t *testing.T) {
	m := modulePath
	low := docPackage{ // a low-level package, as tcflower
		Path:    m + "/low",
		Doc:     []string{"Package low is low.\n\nIt must not import, directly or indirectly: " + m + "/... but " + m + "/model, go.uber.org/zap."},
		Imports: []string{m + "/model", "fmt"},
		Deps:    []string{"errors", "fmt", m + "/model"},
	}
	model := docPackage{Path: m + "/model", Doc: []string{"Package model.\n\nIt imports no other nicflow package."}, Deps: []string{"errors"}}
	core := docPackage{
		Path:    m + "/core",
		Doc:     []string{"Package core.\n\nIt must not import directly: " + m + "/model/..., net/http."},
		Imports: []string{m + "/low", "go.uber.org/zap"},
		Deps:    []string{m + "/low", m + "/model", "go.uber.org/zap", "net/http"},
	}
	helper := docPackage{Path: m + "/helper", Doc: []string{"Package helper.\n\nOnly tests and test helpers import it. It imports no other nicflow package."}, Imports: []string{"testing"}, Deps: []string{"testing"}}
	helper2 := docPackage{Path: m + "/helper2", Doc: []string{"Package helper2.\n\nOnly tests and test helpers import it. It must not import, directly or indirectly: " + m + "/core."}, Imports: []string{m + "/helper"}, Deps: []string{m + "/helper", "testing"}}
	api := docPackage{Path: m + "/api", Doc: []string{"Package api.\n\nIt must not import directly: " + m + "/low."}, Imports: []string{m + "/core"}}
	with := func(p docPackage, f func(*docPackage)) docPackage { f(&p); return p }

	tests := []struct {
		name string
		pkgs []docPackage
		want []string
	}{
		{
			name: "rules hold (direct rule ignores indirect model and net/http; helper imported by a helper)",
			pkgs: []docPackage{low, model, core, helper, helper2, api},
		},
		{
			name: "forbidden direct import",
			pkgs: []docPackage{model, with(low, func(p *docPackage) {
				p.Imports = append(p.Imports, m+"/core")
				p.Deps = append(p.Deps, m+"/core")
			}), core},
			want: []string{m + "/low depends on " + m + "/core, which its import rule forbids (" + m + "/...)"},
		},
		{
			name: "forbidden indirect import, with its chain",
			pkgs: []docPackage{low, core, with(model, func(p *docPackage) {
				p.Doc = []string{"Package model.\n\nIt must not import, directly or indirectly: go.uber.org/zap, " + m + "/core."}
				p.Imports = []string{m + "/helper"}
				p.Deps = []string{m + "/core", m + "/helper"}
			}), with(helper, func(p *docPackage) { p.Imports = []string{m + "/core"} })},
			want: []string{
				m + "/model depends on " + m + "/core (" + m + "/model -> " + m + "/helper -> " + m + "/core), which its import rule forbids (" + m + "/core)",
				m + "/model imports test helper " + m + "/helper, which only tests and test helpers may import",
			},
		},
		{
			name: "forbidden non-module import",
			pkgs: []docPackage{model, with(low, func(p *docPackage) { p.Deps = append(p.Deps, "go.uber.org/zap") })},
			want: []string{m + "/low depends on go.uber.org/zap, which its import rule forbids (go.uber.org/zap)"},
		},
		{
			name: "no rule",
			pkgs: []docPackage{low, model, with(api, func(p *docPackage) { p.Doc = []string{"Package api."} })},
			want: []string{m + `/api: the doc comment does not end with an import rule ("It imports no other nicflow package.", "It must not import, directly or indirectly: "... or "It must not import directly: "...)`},
		},
		{
			name: "direct rule broken",
			pkgs: []docPackage{low, model, core, with(api, func(p *docPackage) {
				p.Doc = []string{"Package api.\n\nIt must not import directly: " + m + "/core."}
			})},
			want: []string{m + "/api imports " + m + "/core, which its import rule forbids (" + m + "/core)"},
		},
		{
			name: "typo in a module path",
			pkgs: []docPackage{model, with(low, func(p *docPackage) {
				p.Doc = []string{"Package low.\n\nIt must not import, directly or indirectly: " + m + "/cor."}
			})},
			want: []string{m + "/low: import rule names " + m + "/cor, which matches no package of the module"},
		},
		{
			name: "helper imported by a non-test package",
			pkgs: []docPackage{model, helper, with(low, func(p *docPackage) {
				p.Imports = append(p.Imports, m+"/helper")
				p.Doc = []string{"Package low.\n\nIt must not import, directly or indirectly: " + m + "/core."}
			}), core},
			want: []string{m + "/low imports test helper " + m + "/helper, which only tests and test helpers may import"},
		},
		{
			name: "two rules",
			pkgs: []docPackage{with(model, func(p *docPackage) { p.Doc = append(p.Doc, p.Doc[0]) })},
			want: []string{m + "/model: 2 doc comments state an import rule; keep one"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkImportRules(tt.pkgs)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("checkImportRules (-want +got):\n%s", diff)
			}
		})
	}
}
