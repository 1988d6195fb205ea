package marker

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Package is what the log says about one test package.
type Package struct {
	Name    string
	Begun   bool
	Ended   bool
	RC      int
	Elapsed time.Duration
	// Skipped names the tests (and subtests, benchmarks) whose "--- SKIP:"
	// line go test -v wrote while the package ran, in order.
	Skipped []string
}

// skipLine starts go test -v's line for a skipped test.
const skipLine = "--- SKIP: "

// Run is what a console log says about one boot of the VM.
type Run struct {
	Kernel   string    // from INIT BEGIN; empty when init never got that far
	Planned  int       // packages init announced
	Packages []Package // in the order they began
	Errors   []string  // ERROR lines, without the marker
	Done     bool      // INIT END seen
}

// Parse reads a console log. Markers may be preceded on their line by other
// output (a test that did not end its last line, a kernel message), and lines
// may end in CRLF as serial consoles write them.
func Parse(r io.Reader) (*Run, error) {
	run := &Run{}
	index := map[string]int{}
	current := -1 // index of the package running, -1 between packages
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if j := strings.Index(line, skipLine); j >= 0 && current >= 0 {
			if f := strings.Fields(line[j+len(skipLine):]); len(f) > 0 {
				run.Packages[current].Skipped = append(run.Packages[current].Skipped, f[0])
			}
		}
		i := strings.Index(line, Prefix)
		if i < 0 {
			continue
		}
		f := strings.Fields(line[i+len(Prefix):])
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "INIT" && len(f) >= 2 && f[1] == "BEGIN":
			for _, kv := range f[2:] {
				k, v, _ := strings.Cut(kv, "=")
				switch k {
				case "kernel":
					run.Kernel = v
				case "packages":
					n, err := strconv.Atoi(v)
					if err != nil {
						return nil, fmt.Errorf("parse %q: packages: %w", line, err)
					}
					run.Planned = n
				}
			}
		case f[0] == "INIT" && len(f) >= 2 && f[1] == "END":
			run.Done = true
		case f[0] == "ERROR":
			run.Errors = append(run.Errors, strings.TrimSpace(strings.TrimPrefix(line[i+len(Prefix):], "ERROR")))
		case f[0] == "PKG" && len(f) >= 3:
			name := f[1]
			j, ok := index[name]
			if !ok {
				j = len(run.Packages)
				index[name] = j
				run.Packages = append(run.Packages, Package{Name: name})
			}
			p := &run.Packages[j]
			switch f[2] {
			case "BEGIN":
				p.Begun = true
				current = j
			case "END":
				p.Ended = true
				current = -1
				for _, kv := range f[3:] {
					k, v, _ := strings.Cut(kv, "=")
					switch k {
					case "rc":
						rc, err := strconv.Atoi(v)
						if err != nil {
							return nil, fmt.Errorf("parse %q: rc: %w", line, err)
						}
						p.RC = rc
					case "elapsed":
						d, err := time.ParseDuration(v)
						if err != nil {
							return nil, fmt.Errorf("parse %q: elapsed: %w", line, err)
						}
						p.Elapsed = d
					}
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read console log: %w", err)
	}
	return run, nil
}

// Problems lists, in words, every reason the run failed: harness errors, a
// boot that did not finish, each package of want that did not begin, did
// not end or ended with a non-zero status, and each test that skipped
// without allowed's leave: in the VM a test has the kernel and devices it
// needs (vmtest.Require never skips there), so a skip is a test the tier
// was meant to run and did not. An empty result means success.
func (r *Run) Problems(want []string, allowed AllowedSkips) []string {
	var out []string
	for _, e := range r.Errors {
		out = append(out, "harness error: "+e)
	}
	seen := map[string]bool{}
	for _, p := range r.Packages {
		seen[p.Name] = true
		switch {
		case !p.Ended:
			out = append(out, fmt.Sprintf("%s: began but never ended (crash or timeout)", p.Name))
		case p.RC != 0:
			out = append(out, fmt.Sprintf("%s: failed (rc=%d)", p.Name, p.RC))
		}
		for _, test := range p.Skipped {
			if !allowed.Allows(p.Name, test) {
				out = append(out, fmt.Sprintf("%s: %s skipped in the VM, which is not among the allowed skips", p.Name, test))
			}
		}
	}
	for _, w := range want {
		if !seen[w] {
			out = append(out, fmt.Sprintf("%s: never ran", w))
		}
	}
	if r.Kernel == "" {
		out = append(out, "init never started (no INIT BEGIN marker)")
	}
	if !r.Done {
		out = append(out, "init never finished (no INIT END marker)")
	}
	return out
}
