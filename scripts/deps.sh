#!/usr/bin/env bash
# Installs what nicflow's build, tests and demo need, and only what is missing.
# Idempotent; meant for a fresh Debian 12 machine, run as root. Quiet: one line
# per step, the full apt/go output only when a step fails.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/.."

# Debian packages: OpenFlow peers (ovs-ofctl, ovs-vswitchd, os-ken), the tools
# the namespace tests and the demo drive, PCI names for NIC discovery, and a
# C toolchain for `go test -race`.
packages=(
	openvswitch-common
	openvswitch-switch
	python3-os-ken
	iproute2
	iputils-ping
	tcpdump
	ethtool
	pci.ids
	gcc
	libc6-dev
)

log=$(mktemp /tmp/nicflow-deps.XXXXXX)
trap 'rm -f "$log"' EXIT

run() { # run DESCRIPTION CMD...: quiet unless it fails
	local what=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		echo "deps: $what failed:" >&2
		cat "$log" >&2
		exit 1
	fi
}

missing=()
for p in "${packages[@]}"; do
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} Debian packages present"
else
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages (${missing[*]}); run 'make deps' as root" >&2
		exit 1
	fi
	echo "deps: apt-get update"
	run "apt-get update" apt-get update -qq
	echo "deps: apt-get install ${missing[*]}"
	run "apt-get install" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null; then
	echo "deps: go not found (expected in /usr/local/go/bin or on PATH)" >&2
	exit 1
fi
echo "deps: go mod download ($(go env GOVERSION))"
run "go mod download" go mod download
