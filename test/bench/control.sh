#!/usr/bin/env bash
# Control-plane benchmark: how fast nicflowd takes, dumps and deletes many
# rules, and what they cost in memory, next to Open vSwitch's ovs-vswitchd
# (userspace netdev bridge), both driven by the same ovs-ofctl commands as
# a new user would (issue 13's table):
#
#   add-flows         RULES distinct rules in one ovs-ofctl add-flows
#   add-flows --bundle  the same rules in one OpenFlow bundle (atomic)
#   dump-flows        every rule, to /dev/null
#   del-flows         every rule
#   RSS per rule      (RSS after add - RSS before) / RULES
#
# nicflowd runs with --offload off (the fast path only, as on a kernel
# without cls_flower), on the two ports of the shared benchmark topology
# (lib.sh). Each step runs once per switch, in the same run, so the ratios
# compare like with like on this noisy machine.
#
# Run as root after `make build` (or `make bench`). Environment:
#   RULES=100000   rules per step
#   SWITCHES="nicflow ovs"   which switches to measure
set -euo pipefail

cd "$(dirname "$0")/../.."
export PATH=/usr/local/go/bin:$PATH
RULES=${RULES:-100000}
SWITCHES=${SWITCHES:-nicflow ovs}
NICFLOWD=${NICFLOWD:-bin/nicflowd}
TX=ncb-tx
RX=ncb-rx
TX_MAC=02:00:00:00:00:01
RX_MAC=02:00:00:00:00:02
BR=ncbbr0
SUBNET=10.0.3
TMP_PREFIX=nicflow-bench-control

# shellcheck source=test/bench/lib.sh
. test/bench/lib.sh
bench_setup

# RULES distinct 5-tuple rules (the benchmark's traffic matches none).
awk -v n="$RULES" 'BEGIN {
	for (k = 0; k < n; k++)
		printf "priority=%d,udp,in_port=1,nw_src=10.%d.%d.%d,nw_dst=10.200.0.1,tp_src=%d,tp_dst=9,actions=output:2\n",
			100 + k % 7, 1 + int(k / 65536), int(k / 256) % 256, k % 256, 1024 + k % 50000
}' >"$tmp/rules"

declare -A result
now() { date +%s.%N; }

# timed LABEL CMD...: runs CMD, stores its wall time in seconds.
timed() {
	local label=$1 t0 t1
	shift
	t0=$(now)
	"$@"
	t1=$(now)
	result[$label]=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
	printf '  %-34s %8s s\n' "$label" "${result[$label]}"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# count_rules: the rules the switch holds (without the table-miss rules).
count_rules() { ovs-ofctl -O OpenFlow13 dump-aggregate "$sw" | sed -E 's/.*flow_count=([0-9]+).*/\1/'; }

# steps NAME PID: the measurements of one switch, whose process is PID.
steps() {
	local name=$1 pid=$2 before after n
	ovs-ofctl -O OpenFlow13 del-flows "$sw"
	sleep 1
	before=$(rss_kib "$pid")
	timed "$name add-flows" ovs-ofctl -O OpenFlow13 add-flows "$sw" "$tmp/rules"
	n=$(count_rules)
	[ "$n" -eq "$RULES" ] || die "$name holds $n rules after add-flows, want $RULES"
	after=$(rss_kib "$pid")
	result["$name rss"]=$(awk -v a="$before" -v b="$after" -v n="$RULES" 'BEGIN { printf "%.2f", (b - a) / n }')
	printf '  %-34s %8s KiB (RSS %d -> %d KiB)\n' "$name RSS per rule" "${result["$name rss"]}" "$before" "$after"
	timed "$name dump-flows" sh -c "ovs-ofctl -O OpenFlow13 dump-flows '$sw' >/dev/null"
	timed "$name del-flows" ovs-ofctl -O OpenFlow13 del-flows "$sw"
	n=$(count_rules)
	[ "$n" -eq 0 ] || die "$name holds $n rules after del-flows, want 0"
	# ovs-ofctl may print the switch's refusal and still exit 0: the
	# rules held tell.
	timed "$name add-flows --bundle" ovs-ofctl -O OpenFlow13 --bundle add-flows "$sw" "$tmp/rules" 2>"$tmp/bundle.err" || true
	n=$(count_rules)
	if [ "$n" -ne "$RULES" ]; then
		result["$name add-flows --bundle"]=refused
		echo "  $name add-flows --bundle: $n rules held, not $RULES: $(head -c 300 "$tmp/bundle.err")"
	fi
	ovs-ofctl -O OpenFlow13 del-flows "$sw"
}

if want nicflow; then
	echo
	echo "== nicflowd (fast path only) =="
	start_nicflowd ncbench --offload off
	steps nicflow "$daemon_pid"
	stop_nicflowd
fi
if want ovs; then
	echo
	echo "== Open vSwitch $(ovs-vswitchd --version | awk 'NR==1 {print $NF}') (datapath_type=netdev) =="
	start_ovs
	steps ovs "$vswitchd_pid"
	stop_ovs
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && a > 0) printf "%.2f", b / a; else print "n/a" }'; }
echo
echo "== control plane, $RULES rules (seconds; RSS in KiB per rule) =="
printf '  %-22s %10s %10s %14s\n' step nicflowd OVS "OVS/nicflowd"
for step in "add-flows" "add-flows --bundle" "dump-flows" "del-flows" "rss"; do
	label=$step
	[ "$step" = rss ] && label="RSS per rule"
	nf=${result["nicflow $step"]:--}
	ovs=${result["ovs $step"]:--}
	printf '  %-22s %10s %10s %14s\n' "$label" "$nf" "$ovs" "$(ratio "$nf" "$ovs")"
done
echo "  (OVS/nicflowd above 1: nicflowd is faster or smaller)"
