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
SUBNET=10.0.1
TMP_PREFIX=nicflow-meter
AF11=10
AF12=12

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh
bench_setup

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


bench_nicflow() {
	echo
	echo "== nicflow (Go fast path) =="
	start_nicflowd nmbench
	run_cases "$sw" nicflow
	stop_nicflowd
}

bench_ovs() {
	echo
	echo "== Open vSwitch $(ovs-vswitchd --version | awk 'NR==1 {print $NF}') (datapath_type=netdev) =="
	start_ovs protocols=OpenFlow13
	run_cases "$sw" ovs
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
