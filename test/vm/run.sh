#!/usr/bin/env bash
# Runs the tests that need a kernel with tc flower, 8021q and netdevsim: every
# package whose tests import test/vm/vmtest (test/vm/pkgs.sh) is compiled with
# `go test -c`, packed with the modules into an initramfs whose /init is
# test/vm/init, and run in one boot of Debian's 6.1 kernel under qemu (TCG).
# The console goes to the terminal and to a log; the exit status is non-zero
# when a package failed, a test skipped that test/vm/skips.txt does not
# allow, a package or marker is missing, or the VM timed out.
#
#   test/vm/run.sh                (make vm; scripts/test.sh vm)
#
# Environment:
#   NICFLOW_VM_CACHE     kernel/module cache (test/vm/setup.sh), ~/.cache/nicflow-vm
#   NICFLOW_VM_LOG       console log, default bin/vm/console.log
#   NICFLOW_VM_TIMEOUT   seconds for the whole boot, default 480
#   NICFLOW_VM_PKG_TIMEOUT  go test -timeout per package, default 3m
#   NICFLOW_VM_RUN       go test -run pattern (no spaces)
#   NICFLOW_VM_BENCH     go test -bench pattern (no spaces): benchmarks only
#                        (no tests unless NICFLOW_VM_RUN is set too); their
#                        result lines are printed after the summary
#   NICFLOW_VM_BENCHTIME go test -benchtime with NICFLOW_VM_BENCH (e.g. 1x)
#   NICFLOW_VM_PKGS      only these packages (space-separated, e.g. "sriov/vf offload")
#   NICFLOW_VM_APPEND    extra kernel command line, e.g. nicflow.env=NAME=VALUE
#   NICFLOW_VM_MEM, NICFLOW_VM_SMP   guest memory (MiB, 1024) and CPUs (1)
#   NICFLOW_VM_TOOLS=1   also pack ip, tc, devlink and bridge with
#                        their libraries (for debugging; ovs-ofctl is always packed)
#   NICFLOW_VM_QUIET=1   console only to the log, shown when the run failed
set -euo pipefail
export PATH=/usr/local/go/bin:$PATH
cd "$(dirname "$0")/../.."
repo=$PWD

log=${NICFLOW_VM_LOG:-$repo/bin/vm/console.log}
vm_timeout=${NICFLOW_VM_TIMEOUT:-480}
pkg_timeout=${NICFLOW_VM_PKG_TIMEOUT:-3m}

say() { echo "vm: $*" >&2; }
now() { date +%s.%N; }
since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1fs", e - s }'; }

t0=$(now)
kdir=$(test/vm/setup.sh)
t_setup=$(since "$t0")

work=$(mktemp -d /tmp/nicflow-vm.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/tests" "$root/modules" "$work/bin" "$(dirname "$log")"

# Test binaries, one directory per package with its testdata next to it.
t1=$(now)
if [ -n "${NICFLOW_VM_PKGS:-}" ]; then
	read -r -a pkgs <<<"$NICFLOW_VM_PKGS"
else
	mapfile -t pkgs < <(test/vm/pkgs.sh)
fi
if [ ${#pkgs[@]} -eq 0 ]; then
	say "no packages import test/vm/vmtest"
	exit 1
fi
say "build ${#pkgs[@]} test packages and init (CGO_ENABLED=0)"
export CGO_ENABLED=0
for p in "${pkgs[@]}"; do
	mkdir -p "$root/tests/$p"
	go test -c -o "$root/tests/$p/pkg.test" "./$p"
	if [ -d "$p/testdata" ]; then
		cp -r "$p/testdata" "$root/tests/$p/"
	fi
	echo "$p" >>"$root/tests/manifest"
done
go build -o "$root/init" ./test/vm/init
go build -o "$work/bin/" ./test/vm/cmd/mkinitramfs ./test/vm/cmd/vmreport
unset CGO_ENABLED

cp "$kdir"/modules/*.ko "$root/modules/"
cp "$kdir/modules.load" "$root/modules/load.txt"

# copy_with_libs BINARY: the binary in /bin and its libraries at their paths.
copy_with_libs() {
	local bin=$1 lib
	cp "$bin" "$root/bin/"
	for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
# ovs-ofctl is a peer the tests drive nicflowd with (openvswitch-common,
# installed by make deps); the rest is for debugging.
mkdir -p "$root/bin"
if p=$(command -v ovs-ofctl); then
	copy_with_libs "$p"
else
	say "ovs-ofctl not found (apt-get install openvswitch-common): the tests that drive nicflowd with it fail"
fi
if [ "${NICFLOW_VM_TOOLS:-0}" = 1 ]; then
	for b in ip tc devlink bridge; do
		if p=$(command -v "$b"); then
			copy_with_libs "$p"
		else
			say "tools: $b not found, not packed"
		fi
	done
fi

"$work/bin/mkinitramfs" -o "$work/initramfs.cpio.gz" "$root"
t_build=$(since "$t1")
say "initramfs $(du -h "$work/initramfs.cpio.gz" | cut -f1) (${#pkgs[@]} packages, $(wc -l <"$root/modules/load.txt") modules), built in $t_build"

# Boot. qemu powers off when init is done; a crash of init panics the
# kernel, which (panic=-1, -no-reboot) also ends qemu.
append="console=ttyS0 panic=-1 quiet nicflow.timeout=$pkg_timeout"
[ -n "${NICFLOW_VM_RUN:-}" ] && append+=" nicflow.run=$NICFLOW_VM_RUN"
[ -n "${NICFLOW_VM_BENCH:-}" ] && append+=" nicflow.bench=$NICFLOW_VM_BENCH"
[ -n "${NICFLOW_VM_BENCH:-}" ] && [ -n "${NICFLOW_VM_BENCHTIME:-}" ] && append+=" nicflow.benchtime=$NICFLOW_VM_BENCHTIME"
[ -n "${NICFLOW_VM_APPEND:-}" ] && append+=" $NICFLOW_VM_APPEND"
say "boot $(basename "$kdir") (timeout ${vm_timeout}s), console log $log"
t2=$(now)
set +e
if [ "${NICFLOW_VM_QUIET:-0}" = 1 ]; then
	timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg -cpu max \
		-m "${NICFLOW_VM_MEM:-1024}" -smp "${NICFLOW_VM_SMP:-1}" \
		-nographic -no-reboot -nic none \
		-kernel "$kdir/vmlinuz" -initrd "$work/initramfs.cpio.gz" \
		-append "$append" </dev/null >"$log" 2>&1
	qrc=$?
else
	timeout -k 10 "$vm_timeout" qemu-system-x86_64 -accel tcg -cpu max \
		-m "${NICFLOW_VM_MEM:-1024}" -smp "${NICFLOW_VM_SMP:-1}" \
		-nographic -no-reboot -nic none \
		-kernel "$kdir/vmlinuz" -initrd "$work/initramfs.cpio.gz" \
		-append "$append" </dev/null 2>&1 | tee "$log"
	qrc=${PIPESTATUS[0]}
fi
set -e
t_boot=$(since "$t2")

echo
"$work/bin/vmreport" -manifest "$root/tests/manifest" -skips test/vm/skips.txt "$log" >"$work/report" && rc=0 || rc=$?
if [ "$rc" -ne 0 ] && [ "${NICFLOW_VM_QUIET:-0}" = 1 ]; then
	say "console log ($log):"
	cat "$log"
fi
cat "$work/report"
if [ -n "${NICFLOW_VM_BENCH:-}" ]; then
	# Benchmark lines, and the benchmarks' log lines (-test.v streams them).
	echo "== VM benchmarks (NICFLOW_VM_BENCH=$NICFLOW_VM_BENCH) =="
	tr -d '\r' <"$log" | grep -a -E '^(pkg: |Benchmark|--- (BENCH|FAIL|SKIP): Benchmark| +[^ ]+_test\.go:[0-9]+: )' || true
fi
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	say "qemu timed out after ${vm_timeout}s"
	rc=1
elif [ "$qrc" -ne 0 ]; then
	say "qemu exited with status $qrc"
	rc=1
fi
say "times: setup $t_setup, build+pack $t_build, boot+tests $t_boot, total $(since "$t0")"
exit "$rc"
