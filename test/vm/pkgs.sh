#!/usr/bin/env bash
# Lists the Go packages (as dir paths relative to the repo, without "./") whose
# tests run in the VM kernel harness: those with a test file importing
# github.com/nicflow/nicflow/test/vm/vmtest. New packages are picked up
# without editing anything.
set -euo pipefail
cd "$(dirname "$0")/../.."

grep -rlF --include='*_test.go' '"github.com/nicflow/nicflow/test/vm/vmtest"' . 2>/dev/null |
	grep -v -e '/testdata/' -e '^\./bin/' |
	xargs -r -n1 dirname | sed 's|^\./||' | sort -u
