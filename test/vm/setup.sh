#!/usr/bin/env bash
# Prepares what the VM kernel harness (test/vm/run.sh) boots: Debian's own 6.1
# kernel, the modules the tests need (with everything they depend on) and
# netdevsim built out of tree from linux-source-6.1 against the matching
# headers, with the simulated SmartNIC patch (netdevsim/smartnic.patch, see
# netdevsim/README.md) applied. Idempotent and cached: a second run with a
# warm cache only checks.
#
#   test/vm/setup.sh            prepare, then print the kernel directory
#
# Cache: $NICFLOW_VM_CACHE (default ~/.cache/nicflow-vm): debs/ (the kernel image
# package), netdevsim/<kver>_<debver>_<patch hash>.ko, and <kver>_<debver>/ with vmlinuz,
# modules/*.ko and modules.load (load order); the link "current" points at the
# directory of the last successful setup.
#
# Needs root (apt) on a machine where something is missing; quiet: one line per
# step, the full output of a step only when it fails.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")" && pwd)
cache=${NICFLOW_VM_CACHE:-$HOME/.cache/nicflow-vm}
mkdir -p "$cache"

# One setup at a time per cache (two test runs may start together).
exec 9>"$cache/.lock"
flock 9

log=$(mktemp /tmp/nicflow-vm-setup.XXXXXX)
work=$(mktemp -d /tmp/nicflow-vm-work.XXXXXX)
trap 'rm -rf "$log" "$work"' EXIT

say() { echo "vm-setup: $*" >&2; }

run() { # run DESCRIPTION CMD...: quiet unless it fails
	local what=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		say "$what failed:"
		cat "$log" >&2
		exit 1
	fi
}

installed() { # installed PKG [VERSION]
	local st
	st=$(dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null) || return 1
	[ "${st% *}" = "install ok installed" ] || return 1
	[ $# -lt 2 ] || [ "${st##* }" = "$2" ]
}

apt_updated=false
apt_update() {
	$apt_updated && return 0
	if [ "$(id -u)" -ne 0 ]; then
		say "packages are missing and this is not root: run 'sudo test/vm/setup.sh'"
		exit 1
	fi
	say "apt-get update"
	run "apt-get update" apt-get -o DPkg::Lock::Timeout=600 update -qq
	apt_updated=true
}

apt_install() { # apt_install PKG[=VER]...: installs those not installed yet
	local missing=() p
	for p in "$@"; do
		if [[ $p == *=* ]]; then
			installed "${p%%=*}" "${p#*=}" || missing+=("$p")
		else
			installed "$p" || missing+=("$p")
		fi
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	apt_update
	say "apt-get install ${missing[*]}"
	run "apt-get install" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
}

has_version() { # has_version PKG VERSION: apt knows that version
	apt-cache madison "$1" | awk -F'|' -v v="$2" '{ gsub(/ /, "", $2) } $2 == v { f = 1 } END { exit !f }'
}

# Tools the harness itself needs.
apt_install qemu-system-x86 kmod xz-utils gzip make gcc patch

# The kernel: the ABI linux-image-amd64 points at, and its Debian version.
abi_of_meta() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(6\.1\.0-[0-9]*\)-amd64$/\1/p' | head -n1
}
abi=$(abi_of_meta)
if [ -z "$abi" ]; then
	apt_update
	abi=$(abi_of_meta)
fi
if [ -z "$abi" ]; then
	say "apt-cache depends linux-image-amd64 names no linux-image-6.1.0-NN-amd64"
	exit 1
fi
kver=$abi-amd64
image=linux-image-$kver-unsigned
ver=$(apt-cache policy "$image" | sed -n 's/^ *Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	say "no candidate for $image"
	exit 1
fi
kdir=$cache/${kver}_$ver
# The netdevsim patch: its hash names the built module, so a changed patch
# is never served from a stale cache.
nsim_patch=$here/netdevsim/smartnic.patch
nsim_hash=$(sha256sum "$nsim_patch" | cut -c1-16)
# The stamp changes with the module list, the patch and this script.
stamp="kver=$kver debver=$ver inputs=$(cat "$here/modules.txt" "$nsim_patch" "$0" | sha256sum | cut -c1-16) netdevsim=$nsim_hash"

if [ "$(cat "$kdir/ready" 2>/dev/null)" = "$stamp" ]; then
	ln -sfn "$(basename "$kdir")" "$cache/current"
	say "cached: $kver ($ver) in $kdir"
	echo "$kdir"
	exit 0
fi

# The image is unpacked, not installed: installing it would run the host's
# initramfs and boot loader hooks for a kernel the host never boots.
deb=$cache/debs/${image}_${ver}_amd64.deb
if [ ! -f "$deb" ]; then
	say "apt-get download $image=$ver"
	mkdir -p "$cache/debs"
	rm -f "$cache/debs/"*.deb
	run "apt-get download" bash -c "cd '$work' && apt-get download -qq '$image=$ver'"
	mv "$work"/"$image"_*.deb "$deb"
fi
say "unpack $image"
run "unpack $image" dpkg-deb -x "$deb" "$work/root"
mods=$work/root/lib/modules/$kver
run "depmod" depmod -b "$work/root" "$kver"

# netdevsim, out of tree. linux-source must be the same 6.1.x release as the
# image so that the module matches the kernel it is loaded into; the headers
# (same ABI) carry the kernel's config and symbol versions.
nsim=$cache/netdevsim/${kver}_${ver}_$nsim_hash.ko
if [ ! -f "$nsim" ]; then
	if ! has_version linux-source-6.1 "$ver"; then
		apt_update
	fi
	if ! has_version linux-source-6.1 "$ver"; then
		say "linux-source-6.1 $ver is not available (image $image $ver): cannot build a matching netdevsim"
		exit 1
	fi
	apt_install "linux-headers-$kver=$ver" "linux-source-6.1=$ver"
	say "build netdevsim for $kver (smartnic.patch $nsim_hash)"
	run "extract netdevsim source" tar -C "$work" -xJf /usr/src/linux-source-6.1.tar.xz \
		linux-source-6.1/drivers/net/netdevsim
	src=$work/linux-source-6.1/drivers/net/netdevsim
	run "patch netdevsim (simulated SmartNIC)" patch -p1 --forward --no-backup-if-mismatch \
		-d "$src" -i "$nsim_patch"
	run "build netdevsim" make -C "/usr/src/linux-headers-$kver" M="$src" CONFIG_NETDEVSIM=m \
		-j"$(nproc)" modules
	if ! modinfo -F vermagic "$src/netdevsim.ko" | grep -q "^$kver "; then
		say "netdevsim.ko vermagic $(modinfo -F vermagic "$src/netdevsim.ko") does not match $kver"
		exit 1
	fi
	mkdir -p "$cache/netdevsim"
	cp "$src/netdevsim.ko" "$nsim.tmp"
	mv "$nsim.tmp" "$nsim"
fi

rm -rf "$kdir.tmp"
mkdir -p "$kdir.tmp/modules"
cp "$work/root/boot/vmlinuz-$kver" "$kdir.tmp/vmlinuz"

# Resolve the wanted modules and their dependencies, dependencies first:
# hard ones from modules.dep, and soft "pre:" ones (libcrc32c needs crc32c),
# which, like modprobe, may name an alias from modules.alias.
declare -A seen=()
order=()
module_path() { # module_path NAME: its path in modules.dep, or nothing
	awk -F: -v n="$1" '{
		f = $1; sub(/.*\//, "", f); sub(/\.ko(\.[a-z]+)?$/, "", f); gsub(/-/, "_", f)
		if (f == n) { print $1; exit }
	}' "$mods/modules.dep"
}
resolve_name() { # resolve_name NAME-OR-ALIAS
	local name=${1//-/_} rel alias aliases found=false
	rel=$(module_path "$name")
	if [ -n "$rel" ]; then
		resolve "$rel"
		return
	fi
	mapfile -t aliases < <(awk -v a="$1" '$1 == "alias" && $2 == a { print $3 }' "$mods/modules.alias")
	for alias in "${aliases[@]}"; do
		rel=$(module_path "${alias//-/_}")
		if [ -n "$rel" ]; then
			resolve "$rel"
			found=true
		fi
	done
	$found && return
	if grep -q "/$1.ko" "$mods/modules.builtin" 2>/dev/null; then
		return
	fi
	say "$1: no such module or alias in $kver"
	exit 1
}
resolve() { # resolve RELPATH
	local rel=$1 line dep soft
	[ -n "${seen[$rel]:-}" ] && return 0
	seen[$rel]=1
	line=$(grep -m1 "^$rel:" "$mods/modules.dep") || {
		say "modules.dep has no $rel"
		exit 1
	}
	# modprobe loads a module's dependencies from the end of the list.
	for dep in $(tr ' ' '\n' <<<"${line#*:}" | tac); do
		resolve "$dep"
	done
	soft=$(modinfo -F softdep "$mods/$rel" | sed -n 's/.*pre:\([^:]*\)\( post:.*\)\{0,1\}$/\1/p')
	for dep in $soft; do
		resolve_name "$dep"
	done
	order+=("$rel")
}
while read -r name; do
	name=${name%%#*}
	name=${name//[[:space:]]/}
	[ -n "$name" ] || continue
	resolve_name "$name"
done < <(cat "$here/modules.txt"; modinfo -F depends "$nsim" | tr ',' '\n')

: >"$kdir.tmp/modules.load"
for rel in "${order[@]}"; do
	base=$(basename "$rel")
	case $base in
	*.ko.xz) xz -dc "$mods/$rel" >"$kdir.tmp/modules/${base%.xz}" ;;
	*.ko.zst) zstd -qdc "$mods/$rel" >"$kdir.tmp/modules/${base%.zst}" ;;
	*.ko.gz) gzip -dc "$mods/$rel" >"$kdir.tmp/modules/${base%.gz}" ;;
	*) cp "$mods/$rel" "$kdir.tmp/modules/$base" ;;
	esac
	echo "${base%.ko*}.ko" >>"$kdir.tmp/modules.load"
done
say "collected ${#order[@]} modules"

cp "$nsim" "$kdir.tmp/modules/netdevsim.ko"
echo netdevsim.ko >>"$kdir.tmp/modules.load"
echo "$stamp" >"$kdir.tmp/ready"

rm -rf "$kdir"
mv "$kdir.tmp" "$kdir"
ln -sfn "$(basename "$kdir")" "$cache/current"
# Kernels of older ABIs are not booted again.
for old in "$cache"/6.1.0-*_* "$cache"/netdevsim/*.ko; do
	case $old in
	"$kdir" | "$nsim") ;;
	*) rm -rf "$old" ;;
	esac
done
say "ready: $kver ($ver) in $kdir"
echo "$kdir"
