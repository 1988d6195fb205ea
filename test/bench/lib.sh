# Shared by the benchmarks (forward.sh, meter.sh): two namespaces $TX and
# $RX whose eth0 is joined by a veth pair to the host ports $TX and $RX
# (OpenFlow ports 1 and 2 of the switch under test), udpblast/udpcount
# built into $tmp, and nicflowd or Open vSwitch's userspace (netdev)
# datapath started and stopped as children of the script, so it knows and
# reaps exactly the processes it started.
#
# The sourcing script sets SWITCHES, NICFLOWD, TX, RX, TX_MAC, RX_MAC, BR,
# SUBNET (the namespaces get SUBNET.1 and SUBNET.2/24) and TMP_PREFIX, then
# calls bench_setup; start_nicflowd NAME [FLAGS...] and start_ovs
# [BRIDGE-OPTIONS...] set sw to the switch's management target.

die() {
	echo "bench: $*" >&2
	exit 1
}

want() { [[ " $SWITCHES " == *" $1 "* ]]; }

daemon_pid=
ovsdb_pid=
vswitchd_pid=
ovs_up=false
created_ns=()
created_links=()

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

# bench_setup checks what the benchmark needs, builds the traffic tools and
# makes the topology; everything it made goes at exit.
bench_setup() {
	[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, veth pairs)"
	! want nicflow || [ -x "$NICFLOWD" ] || die "$NICFLOWD not found: run 'make build' first"
	local tool n i mac
	for tool in ip ovs-ofctl ovs-vsctl ovsdb-tool ovsdb-server ovs-vswitchd; do
		command -v "$tool" >/dev/null || die "$tool not found: run 'make deps' first"
	done
	for n in $TX $RX; do
		[ -e "/run/netns/$n" ] && die "network namespace $n already exists (ip netns del $n)"
		ip link show "$n" >/dev/null 2>&1 && die "interface $n already exists (ip link del $n)"
	done
	ip link show "$BR" >/dev/null 2>&1 && die "interface $BR already exists"

	tmp=$(mktemp -d "/tmp/$TMP_PREFIX.XXXXXX")
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
		[ "$n" = "$RX" ] && mac=$RX_MAC
		ip netns add "$n"
		created_ns+=("$n")
		ip link add "$n" type veth peer name "$n-p"
		created_links+=("$n")
		sysctl -qw "net.ipv6.conf.$n.disable_ipv6=1"
		ip link set "$n-p" netns "$n"
		ip -n "$n" link set "$n-p" name eth0
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		ip -n "$n" link set eth0 address "$mac"
		ip -n "$n" addr add "$SUBNET.$i/24" dev eth0
		ip -n "$n" link set eth0 up
		ip link set "$n" up
	done
}

# start_nicflowd NAME [FLAGS...]: nicflowd on ports $TX and $RX as network
# NAME, fail-mode secure; waits for its ready line (15 s).
start_nicflowd() {
	local name=$1
	shift
	mkdir -p "$tmp/run"
	"$NICFLOWD" --port "$TX" --port "$RX" --fail-mode secure --network "$name" --run-dir "$tmp/run" \
		--state "$tmp/state.db" --log-level info "$@" 2>"$tmp/nicflowd.log" &
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
	sw=unix:$tmp/run/$name.mgmt
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

# start_ovs [BRIDGE-OPTIONS...]: ovsdb-server and ovs-vswitchd, bridge $BR
# (datapath_type=netdev, fail-mode secure, and the options given) with
# ports $TX and $RX as OpenFlow ports 1 and 2.
start_ovs() {
	mkdir -p "$tmp/ovs"
	export OVS_RUNDIR=$tmp/ovs OVS_LOGDIR=$tmp/ovs OVS_DBDIR=$tmp/ovs
	ovsdb-tool create "$tmp/ovs/conf.db" /usr/share/openvswitch/vswitch.ovsschema
	ovs_up=true
	ovsdb-server "$tmp/ovs/conf.db" --remote="punix:$tmp/ovs/db.sock" \
		--unixctl="$tmp/ovs/ovsdb-server.ctl" --log-file="$tmp/ovs/ovsdb-server.log" \
		-vconsole:off --no-chdir 2>>"$tmp/ovs/console.err" &
	ovsdb_pid=$!
	wait_for_socket "$tmp/ovs/db.sock" "$ovsdb_pid" ovsdb-server
	ovs-vsctl --db="unix:$tmp/ovs/db.sock" --timeout=20 --no-wait init
	ovs-vswitchd "unix:$tmp/ovs/db.sock" --unixctl="$tmp/ovs/ovs-vswitchd.ctl" \
		--log-file="$tmp/ovs/ovs-vswitchd.log" -vconsole:off --no-chdir 2>>"$tmp/ovs/console.err" &
	vswitchd_pid=$!
	wait_for_socket "$tmp/ovs/ovs-vswitchd.ctl" "$vswitchd_pid" ovs-vswitchd
	ovs-vsctl --db="unix:$tmp/ovs/db.sock" --timeout=20 add-br "$BR" \
		-- set bridge "$BR" datapath_type=netdev fail-mode=secure "$@" \
		-- add-port "$BR" "$TX" -- set interface "$TX" ofport_request=1 \
		-- add-port "$BR" "$RX" -- set interface "$RX" ofport_request=2
	sw=unix:$tmp/ovs/$BR.mgmt
}

stop_ovs() {
	$ovs_up || return 0
	ovs_up=false
	ovs-vsctl --db="unix:$tmp/ovs/db.sock" --timeout=5 -- --if-exists del-br "$BR" >/dev/null 2>&1 || true
	local pid
	for pid in $vswitchd_pid $ovsdb_pid; do
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	vswitchd_pid=''
	ovsdb_pid=''
}
