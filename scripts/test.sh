#!/usr/bin/env bash
# Runs nicflow's test tiers and prints which ran, which were skipped and why.
#
#   scripts/test.sh [deps] [check] [unit] [netns] [vm]
#
# Tiers:
#   deps   install missing Debian packages and Go modules (scripts/deps.sh)
#   check  gofmt, go vet, package doc comments and the import rules they
#          end with (test/pkgdoc_test.go)
#   unit   go test -race on everything that does not need root, then every
#          fuzz target for a few seconds (scripts/fuzz.sh)
#   netns  as root: the packages with namespace tests (scripts/netns-pkgs.sh),
#          one package at a time (-p 1), including test/interop
#   vm     the packages whose tests import test/vm/vmtest, in one boot of
#          Debian's 6.1 kernel under qemu (test/vm/run.sh)
#
# A failing tier does not stop the later ones (except deps); the exit status
# is non-zero when any tier failed. With CI=true every tier must run: a tier
# that would be skipped for lack of root is a failure.
# The tier_* functions are called as "tier_$t".
# shellcheck disable=SC2317
set -uo pipefail
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/.." || exit 1

ci=${CI:-false}
root=false
[ "$(id -u)" -eq 0 ] && root=true

summary=()
failed=0

note() { # note TIER RESULT SECONDS
	summary+=("$(printf '%-6s %-8s %s' "$1" "$2" "$3")")
}

tier_deps() {
	scripts/deps.sh
}

tier_check() { # every check runs; the tier fails if any did
	local out rc=0
	echo "check: gofmt"
	out=$(find . -name '*.go' -not -path '*/testdata/*' -not -path './bin/*' -not -path './.git/*' -print0 | xargs -0 -r gofmt -l)
	if [ -n "$out" ]; then
		echo "check: gofmt -l lists files that need formatting:" >&2
		echo "$out" >&2
		rc=1
	fi
	echo "check: go vet ./..."
	go vet ./... || rc=1
	echo "check: package doc comments and import rules"
	go test -count=1 -run '^TestPackageDoc' ./test/ || rc=1
	return "$rc"
}

unit_pkgs() { # every package but those run by the netns tier (when root)
	local all netns
	all=$(go list -f '{{.Dir}}' ./... | sed "s|^$PWD|.|")
	netns=$(scripts/netns-pkgs.sh)
	if $root; then
		grep -vxF -f <(echo "$netns") <<<"$all" || true
	else
		echo "$all"
	fi
}

tier_unit() {
	local pkgs rc=0
	pkgs=$(unit_pkgs)
	if [ -n "$pkgs" ]; then
		echo "unit: go test -race ($(wc -l <<<"$pkgs") packages)"
		# shellcheck disable=SC2086
		go test -race $pkgs || rc=1
	fi
	# The placement model runs 300,000 cases under -race (its time budget
	# there) and its full 1,000,000 without it.
	echo "unit: offload placement model, 1,000,000 cases without -race"
	go test -count=1 -run '^TestPlacementModel$' ./offload || rc=1
	scripts/fuzz.sh || rc=1
	return "$rc"
}

tier_netns() {
	local pkgs
	pkgs=$(scripts/netns-pkgs.sh)
	if [ -z "$pkgs" ]; then
		echo "netns: no packages with namespace tests"
		return 0
	fi
	echo "netns: go test -race -p 1 ($(tr '\n' ' ' <<<"$pkgs"))"
	# shellcheck disable=SC2086
	go test -race -p 1 -count=1 -timeout 20m $pkgs || return 1
}

tier_vm() {
	NICFLOW_VM_QUIET=${NICFLOW_VM_QUIET:-1} test/vm/run.sh
}

run_tier() {
	local t=$1 start rc
	case $t in
	netns)
		if ! $root; then
			if [ "$ci" = true ]; then
				echo "netns: CI=true but not root: CI must run every tier" >&2
				note netns FAILED "not root under CI=true"
				failed=1
			else
				echo "netns: skipped: needs root (run 'sudo make netns')"
				note netns skipped "needs root"
			fi
			return
		fi
		;;
	vm)
		# Without root, run only where test/vm/setup.sh has nothing to install.
		if ! $root && ! command -v qemu-system-x86_64 >/dev/null; then
			if [ "$ci" = true ]; then
				echo "vm: CI=true but not root and qemu is missing" >&2
				note vm FAILED "not root under CI=true"
				failed=1
			else
				echo "vm: skipped: needs root to install qemu and the kernel (run 'sudo test/vm/setup.sh')"
				note vm skipped "needs root"
			fi
			return
		fi
		;;
	deps | check | unit) ;;
	*)
		echo "unknown tier $t" >&2
		exit 2
		;;
	esac
	echo "== $t =="
	start=$(date +%s)
	"tier_$t"
	rc=$?
	if [ $rc -eq 0 ]; then
		note "$t" ok "$(($(date +%s) - start))s"
	else
		note "$t" FAILED "$(($(date +%s) - start))s"
		failed=1
		if [ "$t" = deps ]; then
			print_summary
			exit 1
		fi
	fi
}

print_summary() {
	echo
	echo "== test summary =="
	printf '%s\n' "${summary[@]}"
}

for t in "$@"; do
	run_tier "$t"
done
[ $# -gt 1 ] && print_summary
exit $failed
