#!/usr/bin/env bash
# Lists the Go packages (as ./dir paths) that have namespace tests: tests that
# need root, found by their test files using package test/netns or
# test/daemontest or checking os.Geteuid(). New packages are picked up
# without editing this script.
set -euo pipefail
cd "$(dirname "$0")/.."

grep -rlE --include='*_test.go' \
	-e '"github.com/nicflow/nicflow/test/netns"' -e '"github.com/nicflow/nicflow/test/daemontest"' \
	-e 'os\.Geteuid\(\)' . 2>/dev/null |
	grep -v -e '/testdata/' -e '^\./bin/' |
	xargs -r -n1 dirname | sort -u
