package marker

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// AllowedSkips are the tests allowed to skip inside the VM, by package:
// tests of another tier that share a package with VM tests (they need a
// tool the VM does not pack) and tests that run only on demand. The list
// is test/vm/skips.txt; every other skip in the VM fails the run.
type AllowedSkips map[string]map[string]string // package -> test -> why

// ParseAllowedSkips reads a skip list: one entry a line, "package test
// why...", blank lines and lines starting with # ignored. An entry for a
// test covers its subtests. Every entry must say why.
func ParseAllowedSkips(r io.Reader) (AllowedSkips, error) {
	a := AllowedSkips{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("skip list line %d: want \"package test why...\", got %q", n, line)
		}
		pkg, test := f[0], f[1]
		if a[pkg] == nil {
			a[pkg] = map[string]string{}
		}
		if _, dup := a[pkg][test]; dup {
			return nil, fmt.Errorf("skip list line %d: %s %s listed twice", n, pkg, test)
		}
		a[pkg][test] = strings.Join(f[2:], " ")
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read skip list: %w", err)
	}
	return a, nil
}

// Allows reports whether test (a name as go test prints it, subtests with
// their parents: TestA/sub) of package pkg may skip in the VM.
func (a AllowedSkips) Allows(pkg, test string) bool {
	for {
		if _, ok := a[pkg][test]; ok {
			return true
		}
		i := strings.LastIndexByte(test, '/')
		if i < 0 {
			return false
		}
		test = test[:i]
	}
}
