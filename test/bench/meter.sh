#!/usr/bin/env bash
# Meter benchmark: how close nicflow's meters (Go fast path) hold their
# configured rate, next to Open vSwitch's userspace (netdev) datapath on the
# same veth topology and the same traffic.
#
#   nmb-tx ns: eth0 ── nmb-tx ┐
#                             ├─ switch under test (OpenFlow ports 1 and 2)
#   nmb-rx ns: eth0 ── nmb-rx ┘
#
# One meter on the flow in_port=1 actions=meter:1,output:2; udpblast paces
# twice the band's rate of UDP frames (DSCP AF11) into port 1, udpcount
# measures what arrives behind port 2 over a WINDOW after WARMUP (the
# bucket's initial burst is spent by then). For a drop band the delivered
# rate is due to equal the band's rate; for a dscp_remark band every frame
# is delivered and the frames above the rate carry AF12: their rate is due
# to equal offered - rate. Cases: band drop and dscp_remark, kbps (1, 10,
# 100 Mbit/s; 1000-byte frames) and pktps (100, 1000, 10000 packets/s;
# 100-byte frames), without and with a burst size (a tenth of a second at
# the rate). Open vSwitch's userspace datapath has no dscp_remark band
# (add-meter is refused): those rows say n/a.
#
# Run as root after `make build` (or `make bench-meter`). Environment:
#   WINDOW=5   measurement window in seconds
#   WARMUP=2   seconds of traffic before the window opens
#   SWITCHES="nicflow ovs"   which switches to measure
#   BANDS="drop dscp_remark" UNITS="kbps pktps" BURSTS="no yes"
#   KBPS_RATES="1000 10000 100000" PKTPS_RATES="100 1000 10000"   which cases
# Results are indicative: sender, switch and receiver share this machine.
set -euo pipefail

cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH
WINDOW=${WINDOW:-5}
WARMUP=${WARMUP:-2}
SWITCHES=${SWITCHES:-nicflow ovs}
BANDS=${BANDS:-drop dscp_remark}
UNITS=${UNITS:-kbps pktps}
BURSTS=${BURSTS:-no yes}
KBPS_RATES=${KBPS_RATES:-1000 10000 100000}
PKTPS_RATES=${PKTPS_RATES:-100 1000 10000}
NICFLOWD=${NICFLOWD:-bin/nicflowd}
TX=nmb-tx
RX=nmb-rx
TX_MAC=02:00:00:00:01:01
RX_MAC=02:00:00:00:01:02
BR=nmbbr0
AF11=10
AF12=12

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

tmp=$(mktemp -d /tmp/nicflow-meter.XXXXXX)
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
	ip -n "$n" addr add "10.0.1.$i/24" dev eth0
	ip -n "$n" link set eth0 up
	ip link set "$n" up
done

# A case: its meter in ovs-ofctl's syntax, offered frame rate and size, and
# the rate due at the receiver in the band's unit.
# case_spec BAND UNIT BURST RATE sets meter, pps, size.
case_spec() {
	local band=$1 unit=$2 burst=$3 rate=$4 bandspec
	bandspec="type=$band,rate=$rate"
	[ "$band" = dscp_remark ] && bandspec+=",prec_level=1"
	if [ "$burst" = yes ]; then
		bandspec+=",burst_size=$((rate / 10))"
		meter="meter=1,$unit,burst,stats,band=$bandspec"
	else
		meter="meter=1,$unit,stats,band=$bandspec"
	fi
	if [ "$unit" = kbps ]; then
		size=1000
		pps=$((rate * 1000 * 2 / (size * 8)))
	else
		size=100
		pps=$((rate * 2))
	fi
}

# measure_case SW LABEL BAND UNIT RATE: offers traffic, prints and stores
# the ratio measured/due.
declare -A result
measure_case() {
	local sw=$1 label=$2 band=$3 unit=$4 rate=$5 rxline got due
	local dscp_arg=()
	[ "$band" = dscp_remark ] && dscp_arg=(-dscp $AF12)
	ip netns exec $RX "$tmp/udpcount" -i eth0 -warmup "${WARMUP}s" -d "${WINDOW}s" "${dscp_arg[@]}" >"$tmp/rx.out" 2>&1 &
	local rxpid=$!
	ip netns exec $TX "$tmp/udpblast" -i eth0 -dst-mac $RX_MAC -src-ip 10.0.1.1 -dst-ip 10.0.1.99 \
		-pps "$pps" -size "$size" -dscp $AF11 -d "$((WARMUP + WINDOW + 1))s" >/dev/null
	if ! wait "$rxpid"; then
		result[$label]=err
		printf '  %-34s no measurement (%s)\n' "$label" "$(cat "$tmp/rx.out" 2>/dev/null)"
		return 0
	fi
	rxline=$(cat "$tmp/rx.out")
	# What is due: a drop band delivers the rate; a remark band remarks what
	# exceeds it (offered twice the rate: the rate again).
	if [ "$band" = dscp_remark ]; then
		pfx=dscp_
	else
		pfx=rx_
	fi
	if [ "$unit" = kbps ]; then
		got=$(sed -E "s/.*${pfx}bps=([0-9.]+).*/\1/" <<<"$rxline")
		due=$((rate * 1000))
	else
		got=$(sed -E "s/.*${pfx}pps=([0-9.]+).*/\1/" <<<"$rxline")
		due=$rate
	fi
	result[$label]=$(awk -v g="$got" -v d="$due" 'BEGIN { printf "%.3f", g / d }')
	# Everything a remark band is offered is due at the receiver: what
	# is missing was lost on the way (the switch or the receiver fell
	# behind), and the remarked count is low by as much.
	local fwd
	fwd=$(sed -E 's/.*rx_pps=([0-9.]+).*/\1/' <<<"$rxline")
	printf '  %-34s due %9s %s, got %11.0f: ratio %s (forwarded %s of %s frames/s)\n' "$label" "$due" \
		"$([ "$unit" = kbps ] && echo bit/s || echo pkt/s)" "$got" "${result[$label]}" "$fwd" "$pps"
}

ofctl() { ovs-ofctl -O OpenFlow13 "$@"; }

# run_cases SW NAME: every case on switch SW (an ovs-ofctl target).
run_cases() {
	local sw=$1 name=$2 band unit burst rate
	for band in $BANDS; do
		for unit in $UNITS; do
			for burst in $BURSTS; do
				local rates=$KBPS_RATES
				[ "$unit" = pktps ] && rates=$PKTPS_RATES
				for rate in $rates; do
					local label="$name $band $unit burst=$burst $rate"
					case_spec "$band" "$unit" "$burst" "$rate"
					ofctl del-flows "$sw"
					ofctl del-meters "$sw" 2>/dev/null || ofctl del-meter "$sw" meter=1 2>/dev/null || true
					if ! ofctl add-meter "$sw" "$meter" 2>"$tmp/ofctl.err"; then
						result[$label]=n/a
						printf '  %-34s n/a (%s)\n' "$label" "$(head -1 "$tmp/ofctl.err")"
						continue
					fi
					ofctl add-flow "$sw" "priority=1,in_port=1,actions=meter:1,output:2"
					measure_case "$sw" "$label" "$band" "$unit" "$rate"
				done
			done
		done
	done
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
	"$NICFLOWD" --port $TX --port $RX --fail-mode secure --network nmbench --run-dir "$tmp/run" \
		--state "$tmp/state.db" --log-level info 2>"$tmp/nicflowd.log" &
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
	run_cases "unix:$tmp/run/nmbench.mgmt" nicflow
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
	vsctl add-br $BR -- set bridge $BR datapath_type=netdev fail-mode=secure protocols=OpenFlow13 \
		-- add-port $BR $TX -- set interface $TX ofport_request=1 \
		-- add-port $BR $RX -- set interface $RX ofport_request=2
	run_cases "unix:$tmp/ovs/$BR.mgmt" ovs
	stop_ovs
}

if want nicflow; then bench_nicflow; fi
if want ovs; then bench_ovs; fi

echo
echo "== result (delivered / due, ${WINDOW}s window after ${WARMUP}s; 1.000 is exact) =="
printf '  %-34s %9s %9s\n' case nicflow OVS
for band in $BANDS; do
	for unit in $UNITS; do
		for burst in $BURSTS; do
			rates=$KBPS_RATES
			[ "$unit" = pktps ] && rates=$PKTPS_RATES
			for rate in $rates; do
				k="$band $unit burst=$burst $rate"
				printf '  %-34s %9s %9s\n' "$k" "${result["nicflow $k"]:--}" "${result["ovs $k"]:--}"
			done
		done
	done
done
