#!/usr/bin/env bash
# AF_XDP benchmarks of docs/benchmarks.md: on one veth pair (one queue per
# side, each end in its own namespace), 60- and 1500-octet frames, TX and
# RX, nmgo's AF_XDP path (xdpbench -mode xsk-*) against the kernel's UDP
# socket path (xdpbench -mode udp-*, sendmmsg/recvmmsg) and against DPDK's
# testpmd with its af_xdp vdev (a C AF_XDP peer), interleaved, ROUNDS times.
#
#   test/xdp/bench.sh [ROUNDS [SECONDS]]      (root; Debian: dpdk librte-net-af-xdp23)
#   test/xdp/bench.sh summary FILE            ratios of a results file again
#
# TX: the sender is on A; every sender's frames go to a MAC that is not B's,
# so B's stack drops them at once, and the rate is B's rx_packets counter
# over SECONDS after one second of warm-up: one meter for all three.
# RX: testpmd txonly on B blasts frames to A (A's MAC, 198.18.0.1:9) the
# whole time; each receiver on A counts what it received over SECONDS after
# one second of warm-up (xdpbench itself; testpmd rxonly: its final
# RX-packets over the time from "forwards packets" to SIGTERM). The AF_XDP
# receiver sleeps in poll(2) as soon as its ring is empty (xsk.Idler with
# Spin 0: spinning left the kernel's receive work too little CPU here, 40
# against 528 kpps in one run); testpmd busy-polls on its forwarding lcore
# (core 1 for txonly, core 0 for rxonly); the UDP receiver blocks in
# recvmmsg. The blaster's offered rate is A's rx_packets counter over the
# same time.
set -euo pipefail
cd "$(dirname "$0")/../.."

# summary FILE: ratios within each round, then their median (and range)
# over the rounds.
summary() {
	local out=$1 tmp
	tmp=$(mktemp /tmp/nmxs-ratios.XXXXXX)
	awk '$1 == "round" { v[$2" "$3"_"$4" "$5] = $6; key[$3"_"$4] = 1; r[$2] = 1 }
	END {
		for (k in key) for (i in r) {
			x = v[i" "k" xsk"]; u = v[i" "k" udp"]; d = v[i" "k" dpdk"]
			if (u > 0 && d > 0) printf "%s %s %.3f %.3f\n", k, i, x / u, x / d
		}
	}' "$out" >"$tmp"
	med() { sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f (%.2f..%.2f)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
	echo "# ratios per round, median (min..max) over the rounds" | tee -a "$out"
	for k in tx_60 tx_1500 rx_60 rx_1500; do
		n=$(awk -v k="$k" '$1 == k' "$tmp" | wc -l)
		xu=$(awk -v k="$k" '$1 == k { print $3 }' "$tmp" | med)
		xd=$(awk -v k="$k" '$1 == k { print $4 }' "$tmp" | med)
		echo "$k: xsk/udp $xu, xsk/dpdk $xd, $n rounds" | tee -a "$out"
	done
	rm -f "$tmp"
}
if [ "${1:-}" = summary ]; then
	summary "$2"
	exit
fi
rounds=${1:-3}
secs=${2:-4}
A=nmxsbA B=nmxsbB
MACA=02:00:00:00:00:0a MACB=02:00:00:00:00:0b SINK=02:00:00:00:00:99
IPA=198.18.0.1 IPB=198.18.0.2
out=${OUT:-/tmp/nmxs-bench.txt}
bin=$(mktemp -d /tmp/nmxs-bench.XXXXXX)
cleanup() { ip netns del $A 2>/dev/null || true; ip netns del $B 2>/dev/null || true; rm -rf "$bin"; }
trap cleanup EXIT
cleanup; bin=$(mktemp -d /tmp/nmxs-bench.XXXXXX)
command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd missing (apt-get install dpdk librte-net-af-xdp23)" >&2; exit 1; }
CGO_ENABLED=0 go build -o "$bin/xdpbench" ./test/xdp/xdpbench

ip netns add $A; ip netns add $B
ip link add $A netns $A address $MACA numtxqueues 1 numrxqueues 1 type veth peer name $B netns $B address $MACB numtxqueues 1 numrxqueues 1
for n in $A $B; do
	ip -n $n link set lo up; ip -n $n link set $n addrgenmode none; ip -n $n link set $n up
done
ip -n $A addr add $IPA/24 dev $A; ip -n $B addr add $IPB/24 dev $B
ip -n $A neigh replace $IPB lladdr $SINK dev $A nud permanent # TX frames: dropped by B's stack
ip -n $B neigh replace $IPA lladdr $MACA dev $B nud permanent

counter() { ip netns exec "$1" cat "/sys/class/net/$1/statistics/rx_packets"; }
rate() { awk -v a="$1" -v b="$2" -v s="$3" -v e="$4" 'BEGIN { printf "%.0f", (b-a)/(e-s) }'; }
# peer_rate NS METER CMD...: runs CMD in the background in namespace NS,
# waits until the rx_packets counter of link METER (in namespace METER)
# moves, then one second more, and prints its rate over secs; then stops
# CMD with SIGTERM (xdpbench exits, testpmd prints its counts and exits).
peer_rate() {
	local ns=$1 meter=$2; shift 2
	ip netns exec "$ns" "$@" >"$bin/run.log" 2>&1 &
	local pid=$! c0 c1 t1 c2 t2 i
	c0=$(counter "$meter")
	for i in $(seq 200); do
		sleep 0.1
		[ "$(counter "$meter")" = "$c0" ] || break
	done
	sleep 1
	c1=$(counter "$meter"); t1=$(date +%s.%N)
	sleep "$secs"
	c2=$(counter "$meter"); t2=$(date +%s.%N)
	kill -TERM $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true
	rate "$c1" "$c2" "$t1" "$t2"
}
# testpmd NS PREFIX MODE SIZE [options]: the command line of a testpmd on
# link NS with its af_xdp vdev (busy_budget=0: without it rxonly receives
# almost nothing on veth here), its forwarding lcore on core 1, or on core
# 0 with "--main-lcore 1" among the EAL options (mode rxonly).
testpmd() {
	local ns=$1 pfx=$2 mode=$3 size=$4; shift 4
	local eal=(-l 0,1)
	[ "$mode" = rxonly ] && eal=(-l 0,1 --main-lcore 1)
	echo dpdk-testpmd "${eal[@]}" --no-huge -m 1024 --no-pci --file-prefix "$pfx" \
		--vdev "net_af_xdp0,iface=$ns,start_queue=0,queue_count=1,busy_budget=0" -- \
		--forward-mode="$mode" --txpkts="$size" --mbuf-size=2560 --total-num-mbufs=16384 --stats-period 1 --auto-start "$@"
}

: >"$out"
echo "# $(date -u +%FT%TZ) $(uname -r) rounds=$rounds secs=$secs" | tee -a "$out"
for r in $(seq 1 "$rounds"); do
	for size in 60 1500; do
		# TX, in an order that rotates with the round.
		for impl in $(case $((r % 3)) in 1) echo xsk udp dpdk;; 2) echo udp dpdk xsk;; 0) echo dpdk xsk udp;; esac); do
			case $impl in
			xsk) cmd=("$bin/xdpbench" -mode xsk-tx -i $A -size "$size" -dmac $SINK -src $IPA -dst $IPB -dur 1h);;
			udp) cmd=("$bin/xdpbench" -mode udp-tx -size "$size" -src $IPA -dst $IPB -dur 1h);;
			dpdk) read -ra cmd <<<"$(testpmd $A nmxsa txonly "$size" --eth-peer=0,$SINK --tx-ip=$IPA,$IPB --tx-udp=9,9)";;
			esac
			pps=$(peer_rate $A $B "${cmd[@]}")
			echo "round $r tx $size $impl $pps" | tee -a "$out"
		done
		# RX: the blaster runs on B for the whole of this size's receivers.
		read -ra blast <<<"$(testpmd $B nmxsb txonly "$size" --eth-peer=0,$MACA --tx-ip=$IPB,$IPA --tx-udp=9,9)"
		ip netns exec $B "${blast[@]}" >"$bin/blast.log" 2>&1 &
		bpid=$!
		c0=$(counter $A)
		for i in $(seq 200); do sleep 0.1; [ "$(counter $A)" = "$c0" ] || break; done
		sleep 1
		for impl in $(case $((r % 3)) in 1) echo xsk udp dpdk;; 2) echo udp dpdk xsk;; 0) echo dpdk xsk udp;; esac); do
			c1=$(counter $A); t1=$(date +%s.%N)
			case $impl in
			xsk) pps=$(ip netns exec $A "$bin/xdpbench" -mode xsk-rx -i $A -size "$size" -dur "${secs}s" | sed 's/.*"pps":\([0-9.]*\).*/\1/');;
			udp) pps=$(ip netns exec $A "$bin/xdpbench" -mode udp-rx -size "$size" -dst $IPA -dur "${secs}s" | sed 's/.*"pps":\([0-9.]*\).*/\1/');;
			dpdk)
				# Counted from the moment it starts forwarding to SIGTERM:
				# its final RX-packets over that time.
				read -ra cmd <<<"$(testpmd $A nmxsa rxonly "$size")"
				ip netns exec $A "${cmd[@]}" >"$bin/rx.log" 2>&1 &
				rpid=$!
				for i in $(seq 200); do sleep 0.05; grep -q 'forwards packets on' "$bin/rx.log" && break; done
				r0=$(date +%s.%N); c1=$(counter $A); t1=$r0
				sleep "$secs"
				kill -TERM $rpid; r1=$(date +%s.%N)
				wait $rpid || true
				n=$(awk '/Accumulated forward statistics/ { f = 1 } f && /RX-packets:/ { print $2; exit }' "$bin/rx.log")
				pps=$(rate 0 "${n:-0}" "$r0" "$r1");;
			esac
			c2=$(counter $A); t2=$(date +%s.%N)
			offered=$(awk -v a="$c1" -v b="$c2" -v s="$t1" -v e="$t2" 'BEGIN { printf "%.0f", (b-a)/(e-s) }')
			printf 'round %s rx %s %s %.0f offered %s\n' "$r" "$size" "$impl" "$pps" "$offered" | tee -a "$out"
		done
		kill -INT $bpid 2>/dev/null || true
		wait $bpid 2>/dev/null || true
	done
done

summary "$out"
