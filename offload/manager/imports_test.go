package manager

import (
	"embed"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
)

// sources are the package's files, embedded so that the check runs in
// every tier (the VM has no source tree).
//
//go:embed *.go
var sources embed.FS

// TestImports holds the package to what its doc comment says it must not
// import: net/http (the HTTP layer maps kinds to statuses), nicflowd's
// cmd/... and the components' internal packages.
func TestImports(t *testing.T) {
	files, err := sources.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, f := range files {
		name := f.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := sources.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		af, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, is := range af.Imports {
			path, _ := strconv.Unquote(is.Path.Value)
			if path == "net/http" || strings.HasPrefix(path, "github.com/nicflow/nicflow/cmd/") || strings.Contains(path, "/internal/") {
				t.Errorf("%s imports %s", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no source files checked")
	}
}
