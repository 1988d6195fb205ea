#!/usr/bin/env bash
# nicflow demo: three "VMs" (network namespaces vm1, vm2, vm3) on one
# nicflow switch.
#
#   vm1 eth0 10.0.0.1 ── nf-vm1 ┐
#   vm2 eth0 10.0.0.2 ── nf-vm2 ├─ nicflowd (network nf0, OpenFlow ports 1,2,3)
#   vm3 eth0 10.0.0.3 ── nf-vm3 ┘
#
# Starts bin/nicflowd in fail-mode standalone, installs a few flows with
# ovs-ofctl over its management socket (IPv4 steered per destination, ARP
# through NORMAL), pings every ordered pair, prints the flow table with its
# counters and the port stats, and removes everything it created. Exits
# non-zero if a ping failed. Run as root after `make build` (or `make demo`).
set -euo pipefail

cd "$(dirname "$0")/../.."
NICFLOWD=${NICFLOWD:-bin/nicflowd}
NICFLOWCTL=${NICFLOWCTL:-bin/nicflowctl}
RUN_DIR=${RUN_DIR:-/run/nicflow}
NETWORK=nf0
MGMT=unix:$RUN_DIR/$NETWORK.mgmt
VMS=(vm1 vm2 vm3)

die() {
	echo "demo: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veth pairs): sudo make demo"
for b in "$NICFLOWD" "$NICFLOWCTL"; do
	[ -x "$b" ] || die "$b not found: run 'make build' first"
done
for tool in ip ping ovs-ofctl; do
	command -v "$tool" >/dev/null || die "$tool not found: run 'make deps' first"
done
for vm in "${VMS[@]}"; do
	if [ -e "/run/netns/$vm" ] || ip netns list | awk '{print $1}' | grep -qx "$vm"; then
		die "network namespace $vm already exists; remove it (ip netns del $vm) or run the demo elsewhere"
	fi
	if ip link show "nf-$vm" >/dev/null 2>&1; then
		die "interface nf-$vm already exists; remove it (ip link del nf-$vm)"
	fi
done
if [ -S "$RUN_DIR/$NETWORK.mgmt" ] && ovs-ofctl -O OpenFlow13 show "$MGMT" >/dev/null 2>&1; then
	die "a switch already answers on $MGMT (another nicflowd running?)"
fi

# Everything created is recorded here and removed on exit.
created_ns=()
created_links=()
daemon_pid=
log=$(mktemp /tmp/nicflow-demo.XXXXXX.log)
state=$(mktemp -d /tmp/nicflow-demo-state.XXXXXX) # the demo's own state store, not the host's

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$daemon_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	for l in "${created_links[@]}"; do ip link del "$l" 2>/dev/null || true; done
	for ns in "${created_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -f "$log"
	rm -rf "$state"
	echo "demo: cleaned up"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== topology =="
ports=()
for i in 1 2 3; do
	vm=vm$i
	ip netns add "$vm"
	created_ns+=("$vm")
	ip link add "nf-$vm" type veth peer name "nf-$vm-p"
	created_links+=("nf-$vm")
	sysctl -qw "net.ipv6.conf.nf-$vm.disable_ipv6=1"
	ip link set "nf-$vm-p" netns "$vm"
	ip -n "$vm" link set "nf-$vm-p" name eth0
	ip netns exec "$vm" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$vm" addr add "10.0.0.$i/24" dev eth0
	# The fast path reads MTU-sized frames: no segmentation offloads on the vNIC.
	ip netns exec "$vm" ethtool -K eth0 tso off gso off gro off >/dev/null 2>&1 || true
	ip -n "$vm" link set eth0 up
	ip -n "$vm" link set lo up
	ip link set "nf-$vm" up
	ports+=(--port "nf-$vm")
	echo "$vm: eth0 10.0.0.$i/24 $(ip -n "$vm" -br link show eth0 | awk '{print $3}')  <->  nf-$vm (OpenFlow port $i)"
done

echo
echo "== nicflowd =="
echo "$NICFLOWD ${ports[*]} --fail-mode standalone --run-dir $RUN_DIR --state $state/state.db"
"$NICFLOWD" "${ports[@]}" --fail-mode standalone --network "$NETWORK" --run-dir "$RUN_DIR" --state "$state/state.db" 2>"$log" &
daemon_pid=$!
for _ in $(seq 150); do
	grep -q ready "$log" && break
	if ! kill -0 "$daemon_pid" 2>/dev/null; then
		cat "$log" >&2
		die "nicflowd exited before it was ready"
	fi
	sleep 0.1
done
grep -q ready "$log" || {
	cat "$log" >&2
	die "nicflowd not ready after 15s"
}
echo "nicflowd is ready (pid $daemon_pid)"

echo
echo "== flows (ovs-ofctl -O OpenFlow13 add-flows $MGMT) =="
flows="priority=20,ip,nw_dst=10.0.0.1,actions=output:1
priority=20,ip,nw_dst=10.0.0.2,actions=output:2
priority=20,ip,nw_dst=10.0.0.3,actions=output:3
priority=10,arp,actions=NORMAL"
echo "$flows"
echo "$flows" | ovs-ofctl -O OpenFlow13 add-flows "$MGMT" -

echo
echo "== ping every ordered pair (3 packets each) =="
failures=0
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		if out=$(ip netns exec "vm$i" ping -n -q -c 3 -i 0.2 -W 1 "10.0.0.$j" 2>&1); then
			result=OK
		else
			result=FAIL
			failures=$((failures + 1))
		fi
		printf 'vm%s -> vm%s (10.0.0.%s): %-4s %s\n' "$i" "$j" "$j" "$result" \
			"$(grep -o '[0-9]* received' <<<"$out" || true)"
	done
done

echo
echo "== flow table, OpenFlow view ($NICFLOWCTL flows $NETWORK --run-dir $RUN_DIR) =="
"$NICFLOWCTL" flows "$NETWORK" --run-dir "$RUN_DIR"

echo
echo "== flow table with tiers, REST API ($NICFLOWCTL --socket $RUN_DIR/nicflowd.sock flows $NETWORK) =="
"$NICFLOWCTL" --socket "$RUN_DIR/nicflowd.sock" flows "$NETWORK"

echo
echo "== port stats ($NICFLOWCTL ports $NETWORK) =="
"$NICFLOWCTL" ports "$NETWORK" --run-dir "$RUN_DIR"

echo
if [ "$failures" -gt 0 ]; then
	echo "demo: $failures of 6 pings FAILED"
	echo "--- nicflowd log ---"
	cat "$log"
	exit 1
fi
echo "demo: all 6 pings OK"
