#!/usr/bin/env bash
# AF_XDP benchmarks of docs/benchmarks.md: on one veth pair (one queue per
# side, each end in its own namespace), 60- and 1500-octet frames, TX and
# RX, nmbench over AF_XDP (-i xdp:) against nmbench's udp: backend
# (sendmmsg/recvmmsg) and against DPDK's testpmd with its af_xdp vdev (a C
# AF_XDP peer), interleaved, ROUNDS times. Three cells: TX, RX from a
# paced generator, and SAT, RX from a kernel-side amplifier's feed.
#
#   [PREFIX=nmxsb] [OUT=FILE] [CELLS="tx rx sat"] [SATCOPIES=64] [SATRATE=0] \
#       [SATXDP=FLAGS] [SATPIN=CMD] [TXPIN=CMD] [TXXDP=FLAGS] [TXUDP=FLAGS] \
#       test/xdp/bench.sh [ROUNDS [SECONDS [RXRATE]]]   (root; Debian: dpdk-dev, which has dpdk-testpmd, librte-net-af-xdp23 ethtool)
#   test/xdp/bench.sh summary FILE                  ratios of a results file again
#
# TX: the sender is on A; every sender's frames go to a MAC that is not B's,
# so B's stack drops them at once, and the rate is B's rx_packets counter
# over SECONDS after one second of warm-up: one meter for all three.
#
# RX: one generator for all three receivers, nmbench -f tx -i xdp:B paced
# at RXRATE frames a second (default 400000) to A's MAC and 198.18.0.1:9,
# running the whole time. A veth does its receiver's kernel work (the XDP
# program and the copy into the UMEM, or the UDP stack) on the sending
# CPU, so an unpaced generator offers each receiver a different rate;
# paced, it offers each about the same, and RXRATE is above what the
# slowest receiver takes. Each receiver runs SECONDS+1 seconds and counts
# what it received in every second (nmbench's -T 1s reports, testpmd's
# --stats-period 1 Rx-pps); its rate is the mean of those seconds but the
# first (start-up). The offered rate is A's rx_packets counter, read every
# second meanwhile, over the same seconds. A paced sender that fell behind
# (its CPU taken) catches up, so the offered rate still moves: the result
# lines give both, and the ratios are those of the fractions received
# (received / offered). nmbench's AF_XDP receiver sleeps in poll(2) when
# its ring is empty (xsk.Idler), testpmd busy-polls on its forwarding
# lcore, the UDP receiver blocks in recvmmsg.
#
# SAT (RX at saturation, the cell "sat"): a feed the receivers cannot
# take whole, from a kernel-side amplifier (test/xdp/amp). A third
# namespace G has a veth G1; its peer G2 sits in B's namespace, and amp's
# XDP program on G2 (native mode) sends every frame G1 sends out of B
# SATCOPIES times (default 64; bpf_redirect_map with BPF_F_BROADCAST over
# a DEVMAP whose entries all hold B), as xdp_frames through the veth's
# ndo_xdp_xmit: no skb on the sending side, so the generator, nmbench -f
# tx -i udp:198.18.0.1:9 in G (unpaced, or -R SATRATE), costs a fraction
# of a frame's work. A needs NAPI to take such frames: its XDP program
# gives it to the AF_XDP receivers, GRO on gives it to the UDP one (A has
# GRO on for the whole cell; G1 checksums in software, tx off, or A's
# stack would drop every datagram as InCsumErrors). The feed still shares
# a CPU with the receiver's kernel work (a veth runs it on the sending
# CPU), so an unpaced feed offers a cheaper receiver more: the result
# lines give, per receiver and over the receiver's seconds but the
# first, what the amplifier offered (G1's tx_packets times SATCOPIES),
# what reached A (rx_packets), what A's veth dropped (rx_dropped: its
# ring full), and A's UDP counters (InDatagrams, RcvbufErrors,
# InErrors): a reader sees what each receiver did not take. The figure
# is the received rate itself, from the receiver's own reports as in RX,
# and the ratios are those rates'. In this cell nmbench's AF_XDP receiver
# runs as testpmd's does, busy-polling with rings of 2048 (the default of
# DPDK's af_xdp driver): -busy -xdp-frames 2048, or SATXDP's flags (empty:
# nmbench's defaults, 16384 frames, sleeping in poll(2) when the ring is
# empty). nmbench's receivers run under SATPIN (default taskset -c 0, the
# core of testpmd's forwarding lcore, which its EAL options fix: SATPIN
# does not move it; empty: unpinned). Pinned to one core, nmbench runs
# with GOMAXPROCS 1, its reports and timers beside the busy loop, where
# testpmd's main lcore is on the other core. TXPIN, TXXDP and TXUDP add
# a command before and flags after the xdp: and udp: senders (trials).
#
# CELLS (default "tx rx sat") picks the cells.
set -euo pipefail
cd "$(dirname "$0")/../.."

# summary FILE: ratios within each round, then their median (and range)
# over the rounds.
summary() {
	local out=$1 tmp
	tmp=$(mktemp /tmp/nmxs-ratios.XXXXXX)
	awk '$1 == "round" { v[$2" "$3"_"$4" "$5] = $6; key[$3"_"$4] = 1; r[$2] = 1 }
	$1 == "round" && $3 == "rx" && $8 > 0 { f[$2" "$3"_"$4" "$5] = $6 / $8 }
	END {
		for (k in key) for (i in r) {
			x = v[i" "k" xdp"]; u = v[i" "k" udp"]; d = v[i" "k" dpdk"]
			if (k ~ /^rx_/) { x = f[i" "k" xdp"]; u = f[i" "k" udp"]; d = f[i" "k" dpdk"] }
			if (u > 0 && d > 0) printf "%s %s %.6f %.6f\n", k, i, x / u, x / d # rounded once, by med
		}
	}' "$out" >"$tmp"
	med() { sort -n | awk '{ a[NR] = $1 } END { if (NR) printf "%.2f (%.2f..%.2f)", a[int((NR + 1) / 2)], a[1], a[NR] }'; }
	echo "# ratios per round, median (min..max) over the rounds" | tee -a "$out"
	for k in tx_60 tx_1500 rx_60 rx_1500 sat_60 sat_1500; do
		n=$(awk -v k="$k" '$1 == k' "$tmp" | wc -l)
		xu=$(awk -v k="$k" '$1 == k { print $3 }' "$tmp" | med)
		xd=$(awk -v k="$k" '$1 == k { print $4 }' "$tmp" | med)
		[ "$n" = 0 ] || echo "$k: xdp/udp $xu, xdp/dpdk $xd, $n rounds" | tee -a "$out"
	done
	rm -f "$tmp"
}
if [ "${1:-}" = summary ]; then
	summary "$2"
	exit
fi
rounds=${1:-3}
secs=${2:-4}
rxrate=${3:-400000}
cells=" ${CELLS:-tx rx sat} "
satcopies=${SATCOPIES:-64} satrate=${SATRATE:-0}
satxdp=${SATXDP--busy -xdp-frames 2048} xdprx=''
satpin=${SATPIN-taskset -c 0} rxpin=''
txpin=${TXPIN-} txxdp=${TXXDP-} txudp=${TXUDP-}
A=${PREFIX:-nmxsb}A B=${PREFIX:-nmxsb}B G=${PREFIX:-nmxsb}G # PREFIX: the names of the namespaces and links
MACA=02:00:00:00:00:0a MACB=02:00:00:00:00:0b SINK=02:00:00:00:00:99
IPA=198.18.0.1 IPB=198.18.0.2 IPG=198.18.0.3
out=${OUT:-/tmp/nmxs-bench.txt}
bin=$(mktemp -d /tmp/nmxs-bench.XXXXXX)
cleanup() {
	[ -z "${apid:-}" ] || { kill -TERM "$apid" 2>/dev/null || true; wait "$apid" 2>/dev/null || true; }
	[ -z "${anchor:-}" ] || { kill "$anchor" 2>/dev/null || true; wait "$anchor" 2>/dev/null || true; }
	for n in $A $B $G; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$bin"
}
trap cleanup EXIT
cleanup; bin=$(mktemp -d /tmp/nmxs-bench.XXXXXX)
command -v dpdk-testpmd >/dev/null || { echo "bench: dpdk-testpmd missing (apt-get install dpdk-dev librte-net-af-xdp23: Debian 12 ships dpdk-testpmd in dpdk-dev)" >&2; exit 1; }
# has CELL: whether CELLS has it.
has() { case $cells in *" $1 "*) ;; *) return 1 ;; esac; }
if has sat; then command -v ethtool >/dev/null || { echo "bench: ethtool missing (apt-get install ethtool)" >&2; exit 1; }; fi
for t in "$satpin" "$txpin"; do # the pinning commands (taskset: util-linux)
	[ -z "$t" ] || command -v "${t%% *}" >/dev/null || { echo "bench: ${t%% *} missing" >&2; exit 1; }
done
CGO_ENABLED=0 go build -o "$bin/nmbench" ./cmd/nmbench
CGO_ENABLED=0 go build -o "$bin/amp" ./test/xdp/amp

ip netns add $A; ip netns add $B
ip link add $A netns $A address $MACA numtxqueues 1 numrxqueues 1 type veth peer name $B netns $B address $MACB numtxqueues 1 numrxqueues 1
for n in $A $B; do
	ip -n $n link set lo up; ip -n $n link set $n addrgenmode none; ip -n $n link set $n up
done
ip -n $A addr add $IPA/24 dev $A; ip -n $B addr add $IPB/24 dev $B
ip -n $A neigh replace $IPB lladdr $SINK dev $A nud permanent # TX frames: dropped by B's stack
ip -n $B neigh replace $IPA lladdr $MACA dev $B nud permanent
if has sat; then
	# The amplifier's feed: G1 (in G) -> G2 (in B) -> SATCOPIES times out of B.
	ip netns add $G
	ip link add ${G}1 netns $G address 02:00:00:00:00:c1 numtxqueues 1 numrxqueues 1 type veth peer name ${G}2 netns $B address 02:00:00:00:00:c2 numtxqueues 1 numrxqueues 1
	for x in "$G ${G}1" "$B ${G}2"; do
		set -- $x
		ip -n "$1" link set lo up; ip -n "$1" link set "$2" addrgenmode none; ip -n "$1" link set "$2" up
	done
	ip -n $G addr add $IPG/24 dev ${G}1
	ip -n $G neigh replace $IPA lladdr $MACA dev ${G}1 nud permanent
	ip netns exec $G ethtool -K ${G}1 tx off >/dev/null
	ip netns exec $B "$bin/amp" -i ${G}2 -o $B -n "$satcopies" >"$bin/amp.log" 2>&1 &
	apid=$!
	for i in $(seq 100); do grep -q 'detaches' "$bin/amp.log" && break; kill -0 $apid 2>/dev/null || break; sleep 0.05; done
	grep -q 'detaches' "$bin/amp.log" || { cat "$bin/amp.log" >&2; echo "bench: the amplifier did not attach" >&2; exit 1; }
	ip netns exec $A sleep infinity & # satsampler reads A's counters through it
	anchor=$!
fi

counter() { ip netns exec "$1" cat "/sys/class/net/$1/statistics/rx_packets"; }
rate() { awk -v a="$1" -v b="$2" -v s="$3" -v e="$4" 'BEGIN { printf "%.0f", (b-a)/(e-s) }'; }
# steady: the mean of per-second rates on stdin, one a line, but the first.
steady() { awk 'NR > 1 { s += $1; n++ } END { printf "%.0f", n ? s / n : 0 }'; }
# nmbench_rx ARGS...: an nmbench receiver's steady rate from its -T 1s
# reports.
nmbench_rx() { ip netns exec $A $rxpin "$bin/nmbench" -f rx -T 1s -t "$((secs + 1))s" -json "$@" | sed -n 's/.*"final":false.*"pps":\([0-9.]*\).*/\1/p' | steady; }
# peer_rate NS METER CMD...: runs CMD in the background in namespace NS,
# waits until the rx_packets counter of link METER (in namespace METER)
# moves, then one second more, and prints its rate over secs; then stops
# CMD with SIGTERM (nmbench and testpmd print their counts and exit).
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
# sampler: A's counter every second, from now until $spid is killed.
sampler() {
	(while :; do echo "$(date +%s.%N) $(counter $A)"; sleep 1; done) >"$bin/offered" &
	spid=$!
}
# satsampler: every second, from now until $spid is killed, one line:
# the time, G2's rx_packets (the frames the amplifier took), B's
# tx_dropped (copies B's ndo_xdp_xmit could not put in A's ring), A's
# rx_packets and rx_dropped, and A's namespace's UDP InDatagrams,
# InErrors and RcvbufErrors. All read at once through /proc/PID/net of
# a process in each namespace (amp's in B, a sleep in A).
satsampler() {
	(while :; do
		awk -v t="$(date +%s.%N)" -v g="${G}2:" -v b="$B:" -v a="$A:" '
			FILENAME ~ /snmp$/ { if ($1 == "Udp:" && ++n == 2) udp = $2 " " $4 " " $6; next }
			{ sub(/:/, ": ") }
			$1 == g { gin = $3 } $1 == b { btxd = $13 } $1 == a { arx = $3; ard = $5 }
			END { print t, gin, btxd, arx, ard, udp }' "/proc/$apid/net/dev" "/proc/$anchor/net/dev" "/proc/$anchor/net/snmp"
		sleep 1
	done) >"$bin/offered" &
	spid=$!
}
# receive SIZE IMPL SAMPLER: one receiver on A, SAMPLER (which sets
# spid) running meanwhile; sets p to the receiver's rate from its own
# per-second reports.
receive() {
	local size=$1 impl=$2 sampler=$3 cmd rpid i
	case $impl in
	xdp) $sampler; p=$(nmbench_rx -i xdp:$A $xdprx);;
	udp) $sampler; p=$(nmbench_rx -i udp:$IPA:9);;
	dpdk)
		# Its per-second Rx-pps from the moment it forwards.
		read -ra cmd <<<"$(testpmd $A nmxsa rxonly "$size")"
		ip netns exec $A "${cmd[@]}" >"$bin/rx.log" 2>&1 &
		rpid=$!
		for i in $(seq 200); do sleep 0.05; grep -q 'forwards packets on' "$bin/rx.log" && break; done
		$sampler
		sleep "$((secs + 1))"
		kill -TERM $rpid
		wait $rpid || true
		p=$(awk '/Rx-pps:/ { print $2 }' "$bin/rx.log" | steady);;
	esac
}
# feed NS CMD...: starts a generator in namespace NS (its pid in gpid),
# waits until A's rx_packets counter moves, then one second more.
feed() {
	local ns=$1 i c0; shift
	ip netns exec "$ns" "$@" >"$bin/gen.log" 2>&1 &
	gpid=$!
	c0=$(counter $A)
	for i in $(seq 200); do sleep 0.1; [ "$(counter $A)" = "$c0" ] || break; done
	sleep 1
}
order() { case $(($1 % 3)) in 1) echo xdp udp dpdk;; 2) echo udp dpdk xdp;; 0) echo dpdk xdp udp;; esac; }

: >"$out"
echo "# $(date -u +%FT%TZ) $(uname -r) $(go version | cut -d' ' -f3) rounds=$rounds secs=$secs rxrate=$rxrate cells=${cells# } satcopies=$satcopies satrate=$satrate satxdp='$satxdp' satpin='$satpin' txpin='$txpin' txxdp='$txxdp' txudp='$txudp' load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
for r in $(seq 1 "$rounds"); do
	for size in 60 1500; do
		# TX, in an order that rotates with the round.
		if has tx; then
			for impl in $(order "$r"); do
				case $impl in
				xdp) cmd=($txpin "$bin/nmbench" -i xdp:$A -f tx -l "$size" -D $SINK -s $IPA:9 -d $IPB:9 -q $txxdp);;
				udp) cmd=($txpin "$bin/nmbench" -i udp:$IPB:9 -f tx -l "$size" -q $txudp);;
				dpdk) read -ra cmd <<<"$(testpmd $A nmxsa txonly "$size" --eth-peer=0,$SINK --tx-ip=$IPA,$IPB --tx-udp=9,9)";;
				esac
				p=$(peer_rate $A $B "${cmd[@]}")
				echo "round $r tx $size $impl $p" | tee -a "$out"
			done
		fi
		# RX: the paced generator runs on B for the whole of this size's
		# receivers.
		if has rx; then
			feed $B "$bin/nmbench" -i xdp:$B -f tx -l "$size" -R "$rxrate" -D $MACA -s $IPB:9 -d $IPA:9 -q
			for impl in $(order "$r"); do
				receive "$size" "$impl" sampler
				kill $spid; wait $spid 2>/dev/null || true
				# Over the samples but the first (the receiver's start-up).
				offered=$(awk 'NR == 2 { t0 = $1; c0 = $2 } NR > 2 { t1 = $1; c1 = $2 } END { printf "%.0f", (t1 > t0 ? (c1 - c0) / (t1 - t0) : 0) }' "$bin/offered")
				printf 'round %s rx %s %s %.0f offered %s\n' "$r" "$size" "$impl" "${p:-0}" "$offered" | tee -a "$out"
			done
			kill -INT $gpid 2>/dev/null || true
			wait $gpid 2>/dev/null || true
		fi
		# SAT: the amplified feed runs for the whole of this size's
		# receivers, A's GRO on meanwhile.
		has sat || continue
		ip netns exec $A ethtool -K $A gro on >/dev/null
		gen=("$bin/nmbench" -i udp:$IPA:9 -f tx -l "$size" -q)
		[ "$satrate" = 0 ] || gen+=(-R "$satrate")
		feed $G "${gen[@]}"
		for impl in $(order "$r"); do
			xdprx=$satxdp rxpin=$satpin
			receive "$size" "$impl" satsampler
			xdprx='' rxpin=''
			kill $spid; wait $spid 2>/dev/null || true
			# Rates over the samples but the first (the receiver's start-up).
			rates=$(awk -v n="$satcopies" 'NR == 2 { t0 = $1; for (i = 2; i <= 8; i++) a[i] = $i }
				NR > 2 { t1 = $1; for (i = 2; i <= 8; i++) b[i] = $i }
				END {
					d = t1 - t0; if (d <= 0) d = 1e99
					printf "offered %.0f xmit_dropped %.0f arrived %.0f rx_dropped %.0f udp_in %.0f udp_inerrors %.0f udp_rcvbuferrors %.0f samples %d",
						(b[2] - a[2]) * n / d, (b[3] - a[3]) / d, (b[4] - a[4]) / d, (b[5] - a[5]) / d, (b[6] - a[6]) / d, (b[7] - a[7]) / d, (b[8] - a[8]) / d, NR
				}' "$bin/offered")
			printf 'round %s sat %s %s %.0f %s\n' "$r" "$size" "$impl" "${p:-0}" "$rates" | tee -a "$out"
		done
		kill -INT $gpid 2>/dev/null || true
		wait $gpid 2>/dev/null || true
		ip netns exec $A ethtool -K $A gro off >/dev/null
	done
done

echo "# $(date -u +%FT%TZ) done, load=$(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
summary "$out"
