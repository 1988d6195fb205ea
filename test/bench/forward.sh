#!/usr/bin/env bash
# Forwarding benchmark: nicflow's Go fast path against Open vSwitch's
# userspace (netdev) datapath, on the same veth topology and the same flows.
#
#   nfb-tx ns: eth0 ── nfb-tx ┐
#                             ├─ switch under test (OpenFlow ports 1 and 2)
#   nfb-rx ns: eth0 ── nfb-rx ┘
#
# udpblast sends 64-byte UDP frames into port 1 as fast as it can; udpcount
# reads the receive counter of the eth0 on port 2 over a WINDOW-second
# window. Each switch is measured with one flow (in_port=1 actions=output:2)
# and with 1000 flows (999 higher-priority exact 5-tuple flows that do not
# match, plus that one). OVS runs with its own ovsdb-server and ovs-vswitchd,
# database and sockets in a temp dir: a system OVS is never touched.
#
# Run as root after `make build` (or use `make bench`). Environment:
#   WINDOW=5   measurement window in seconds
#   WARMUP=2   seconds of traffic before the window opens
#   SWITCHES="nicflow ovs"   which switches to measure
# Results are indicative: sender, switch and receiver share this machine.
set -euo pipefail

cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH
WINDOW=${WINDOW:-5}
WARMUP=${WARMUP:-2}
SWITCHES=${SWITCHES:-nicflow ovs}
NICFLOWD=${NICFLOWD:-bin/nicflowd}
TX=nfb-tx
RX=nfb-rx
TX_MAC=02:00:00:00:00:01
RX_MAC=02:00:00:00:00:02
BR=nfbbr0

die() {
	echo "bench: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veth pairs)"
want() { [[ " $SWITCHES " == *" $1 "* ]]; }
! want nicflow || [ -x "$NICFLOWD" ] || die "$NICFLOWD not found: run 'make build' first"
for tool in ip ovs-ofctl ovs-vsctl ovsdb-tool ovsdb-server ovs-vswitchd; do
	command -v "$tool" >/dev/null || die "$tool not found: run 'make deps' first"
done
for n in $TX $RX; do
	[ -e "/run/netns/$n" ] && die "network namespace $n already exists (ip netns del $n)"
	ip link show "$n" >/dev/null 2>&1 && die "interface $n already exists (ip link del $n)"
done
ip link show "$BR" >/dev/null 2>&1 && die "interface $BR already exists"

tmp=$(mktemp -d /tmp/nicflow-bench.XXXXXX)
created_ns=()
created_links=()
daemon_pid=
ovsdb_pid=
vswitchd_pid=
ovs_up=false

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	stop_nicflowd
	stop_ovs
	for l in "${created_links[@]}"; do ip link del "$l" 2>/dev/null || true; done
	for ns in "${created_ns[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "bench: building udpblast and udpcount"
go build -o "$tmp/" ./test/bench/cmd/udpblast ./test/bench/cmd/udpcount

echo "bench: topology $TX <-> port 1, $RX <-> port 2"
i=0
for n in $TX $RX; do
	i=$((i + 1))
	mac=$TX_MAC
	[ "$n" = $RX ] && mac=$RX_MAC
	ip netns add "$n"
	created_ns+=("$n")
	ip link add "$n" type veth peer name "$n-p"
	created_links+=("$n")
	sysctl -qw "net.ipv6.conf.$n.disable_ipv6=1"
	ip link set "$n-p" netns "$n"
	ip -n "$n" link set "$n-p" name eth0
	ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip -n "$n" link set eth0 address "$mac"
	ip -n "$n" addr add "10.0.0.$i/24" dev eth0
	ip -n "$n" link set eth0 up
	ip link set "$n" up
done

# The 999 exact flows that never match the benchmark traffic (its source is
# 10.0.0.1): above the forwarding flow, so a linear classifier pays for them.
for k in $(seq 1 999); do
	echo "priority=100,udp,in_port=1,nw_src=10.1.$((k / 250)).$((k % 250 + 1)),nw_dst=10.2.0.1,tp_src=$((1000 + k)),tp_dst=9,actions=output:2"
done >"$tmp/flows999"

# measure LABEL: prints and stores the received rate in Mpps.
declare -A result
measure() {
	local label=$1 rxline blastline pps
	ip netns exec $RX "$tmp/udpcount" -i eth0 -warmup "${WARMUP}s" -d "${WINDOW}s" >"$tmp/rx.out" &
	local rxpid=$!
	blastline=$(ip netns exec $TX "$tmp/udpblast" -i eth0 -dst-mac $RX_MAC -d "$((WARMUP + WINDOW + 1))s")
	wait "$rxpid"
	rxline=$(cat "$tmp/rx.out")
	pps=$(sed -E 's/.*rx_pps=([0-9.]+).*/\1/' <<<"$rxline")
	result[$label]=$(awk -v p="$pps" 'BEGIN { printf "%.3f", p / 1e6 }')
	printf '  %-28s %8s Mpps received   (%s)\n' "$label" "${result[$label]}" "${blastline#udpblast: }"
}

stop_nicflowd() {
	if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
		kill -TERM "$daemon_pid" 2>/dev/null || true
		wait "$daemon_pid" 2>/dev/null || true
	fi
	daemon_pid=
}

# wait_for_socket PATH PID NAME: waits up to 10 s for a daemon's socket.
wait_for_socket() {
	for _ in $(seq 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || die "$3 exited: $(cat "$tmp/ovs/console.err" "$tmp/ovs/$3.log" 2>/dev/null)"
		sleep 0.1
	done
	die "$3: no socket $1 after 10s"
}

stop_ovs() {
	$ovs_up || return 0
	ovs_up=false
	ovs-vsctl --db="unix:$tmp/ovs/db.sock" --timeout=5 -- --if-exists del-br $BR >/dev/null 2>&1 || true
	local pid
	for pid in $vswitchd_pid $ovsdb_pid; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	vswitchd_pid=''
	ovsdb_pid=''
}

bench_nicflow() {
	echo
	echo "== nicflow (Go fast path) =="
	mkdir -p "$tmp/run"
	"$NICFLOWD" --port $TX --port $RX --fail-mode secure --network nfbench --run-dir "$tmp/run" \
		--log-level info 2>"$tmp/nicflowd.log" &
	daemon_pid=$!
	for _ in $(seq 150); do
		grep -q ready "$tmp/nicflowd.log" && break
		kill -0 "$daemon_pid" 2>/dev/null || {
			cat "$tmp/nicflowd.log" >&2
			die "nicflowd exited before it was ready"
		}
		sleep 0.1
	done
	grep -q ready "$tmp/nicflowd.log" || die "nicflowd not ready after 15s"
	sw=unix:$tmp/run/nfbench.mgmt
	ovs-ofctl -O OpenFlow13 add-flow "$sw" "priority=1,in_port=1,actions=output:2"
	measure "nicflow, 1 flow"
	ovs-ofctl -O OpenFlow13 add-flows "$sw" "$tmp/flows999"
	echo "  flows installed: $(ovs-ofctl -O OpenFlow13 dump-flows "$sw" | grep -c n_packets)"
	measure "nicflow, 1000 flows"
	stop_nicflowd
}

bench_ovs() {
	echo
	echo "== Open vSwitch $(ovs-vswitchd --version | awk 'NR==1 {print $NF}') (datapath_type=netdev) =="
	mkdir -p "$tmp/ovs"
	export OVS_RUNDIR=$tmp/ovs OVS_LOGDIR=$tmp/ovs OVS_DBDIR=$tmp/ovs
	ovsdb-tool create "$tmp/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ovs_up=true
	# Both run as children of this script (no --detach), so it knows and
	# reaps exactly the processes it started.
	ovsdb-server "$tmp/ovs/conf.db" --remote="punix:$tmp/ovs/db.sock" \
		--unixctl="$tmp/ovs/ovsdb-server.ctl" --log-file="$tmp/ovs/ovsdb-server.log" \
		-vconsole:off --no-chdir 2>>"$tmp/ovs/console.err" &
	ovsdb_pid=$!
	wait_for_socket "$tmp/ovs/db.sock" "$ovsdb_pid" ovsdb-server
	vsctl() { ovs-vsctl --db="unix:$tmp/ovs/db.sock" --timeout=20 "$@"; }
	vsctl --no-wait init
	ovs-vswitchd "unix:$tmp/ovs/db.sock" --unixctl="$tmp/ovs/ovs-vswitchd.ctl" \
		--log-file="$tmp/ovs/ovs-vswitchd.log" -vconsole:off --no-chdir 2>>"$tmp/ovs/console.err" &
	vswitchd_pid=$!
	wait_for_socket "$tmp/ovs/ovs-vswitchd.ctl" "$vswitchd_pid" ovs-vswitchd
	vsctl add-br $BR -- set bridge $BR datapath_type=netdev fail-mode=secure \
		-- add-port $BR $TX -- set interface $TX ofport_request=1 \
		-- add-port $BR $RX -- set interface $RX ofport_request=2
	sw=unix:$tmp/ovs/$BR.mgmt
	ovs-ofctl -O OpenFlow13 del-flows "$sw"
	ovs-ofctl -O OpenFlow13 add-flow "$sw" "priority=1,in_port=1,actions=output:2"
	measure "OVS netdev, 1 flow"
	ovs-ofctl -O OpenFlow13 add-flows "$sw" "$tmp/flows999"
	echo "  flows installed: $(ovs-ofctl -O OpenFlow13 dump-flows "$sw" | grep -c n_packets)"
	measure "OVS netdev, 1000 flows"
	stop_ovs
}

if want nicflow; then bench_nicflow; fi
if want ovs; then bench_ovs; fi

echo
echo "== result (received Mpps, 64-byte frames, ${WINDOW}s window) =="
printf '  %-12s %10s %10s %8s\n' flows nicflow OVS ratio
for n in 1 1000; do
	unit=flows
	[ $n = 1 ] && unit=flow
	nf=${result["nicflow, $n $unit"]:--}
	ovs=${result["OVS netdev, $n $unit"]:--}
	printf '  %-12s %10s %10s %8s\n' "$n" "$nf" "$ovs" \
		"$(awk -v a="$nf" -v b="$ovs" 'BEGIN { if (a != "-" && b != "-" && b > 0) printf "%.2f", a / b; else print "n/a" }')"
done
