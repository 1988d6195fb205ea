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
SUBNET=10.0.0
TMP_PREFIX=nicflow-bench

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh
bench_setup

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

bench_nicflow() {
	echo
	echo "== nicflow (Go fast path) =="
	start_nicflowd nfbench
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
	start_ovs
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
