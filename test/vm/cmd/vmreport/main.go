// Command vmreport turns the serial console log of one VM test run into a
// summary and an exit status: non-zero when a package failed, a package of
// the manifest never ran or never ended, a test skipped that the skip list
// does not allow, init reported a harness error, or the boot did not reach
// its end marker (crash or timeout).
//
//	vmreport -manifest tests/manifest -skips test/vm/skips.txt console.log
//
// It must not import, directly or indirectly: github.com/nicflow/nicflow/...
// but github.com/nicflow/nicflow/test/vm/internal/marker.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nicflow/nicflow/test/vm/internal/marker"
)

func main() {
	ok, err := run(os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "vmreport:", err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}

func run(args []string, out io.Writer) (bool, error) {
	fl := flag.NewFlagSet("vmreport", flag.ContinueOnError)
	manifest := fl.String("manifest", "", "file listing the packages that must run, one a line")
	skips := fl.String("skips", "", "file listing the tests allowed to skip in the VM (test/vm/skips.txt); without it no test may skip")
	if err := fl.Parse(args); err != nil {
		return false, err
	}
	if fl.NArg() != 1 {
		return false, fmt.Errorf("usage: vmreport -manifest FILE [-skips FILE] CONSOLE_LOG")
	}
	var want []string
	if *manifest != "" {
		var err error
		if want, err = readLines(*manifest); err != nil {
			return false, err
		}
	}
	var allowed marker.AllowedSkips
	if *skips != "" {
		sf, err := os.Open(*skips)
		if err != nil {
			return false, err
		}
		allowed, err = marker.ParseAllowedSkips(sf)
		sf.Close()
		if err != nil {
			return false, fmt.Errorf("%s: %w", *skips, err)
		}
	}
	f, err := os.Open(fl.Arg(0))
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, err := marker.Parse(f)
	if err != nil {
		return false, err
	}
	problems := r.Problems(want, allowed)
	summarize(out, r, allowed, problems)
	return len(problems) == 0, nil
}

func summarize(out io.Writer, r *marker.Run, allowed marker.AllowedSkips, problems []string) {
	kernel := r.Kernel
	if kernel == "" {
		kernel = "(init did not start)"
	}
	fmt.Fprintf(out, "== VM test summary (kernel %s) ==\n", kernel)
	for _, p := range r.Packages {
		status := "ok"
		switch {
		case !p.Ended:
			status = "NO END"
		case p.RC != 0:
			status = fmt.Sprintf("FAIL rc=%d", p.RC)
		default:
			for _, test := range p.Skipped {
				if !allowed.Allows(p.Name, test) {
					status = "SKIP"
				}
			}
		}
		skipped := ""
		if n := len(p.Skipped); n > 0 {
			skipped = fmt.Sprintf(" (%d skipped)", n)
		}
		fmt.Fprintf(out, "%-10s %-40s %s%s\n", status, p.Name, p.Elapsed, skipped)
	}
	if len(problems) == 0 {
		fmt.Fprintf(out, "vm: %d packages passed\n", len(r.Packages))
		return
	}
	fmt.Fprintf(out, "vm: FAILED:\n  %s\n", strings.Join(problems, "\n  "))
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return lines, nil
}
