# Side-by-side: nmbench and netmap's pkt-gen, each against the same peer,
# on a VALE switch and on a netmap pipe, in one VM run.
#   test/vale/vm/run --icount --script test/vale/sidebyside.sh --out DIR   # deterministic
#   test/vale/vm/run --script test/vale/sidebyside.sh --out DIR            # real time, 2 vCPUs
#   go run ./test/vale/benchreport DIR/sidebyside.txt   # tables (+ SVG) into docs/
# For each path and frame size, four pairs, sender -> receiver:
# nmbench -> pkt-gen, pkt-gen -> pkt-gen, pkt-gen -> nmbench,
# nmbench -> nmbench. Paths: vale (vale0:a -> vale0:b, VALE copies each
# frame and drops what a full receiver ring cannot take) and pipe
# (netmap:sbp{1 -> netmap:sbp}1, zero-copy: the sender waits for the
# receiver instead). Each sender runs SECS seconds and is stopped with SIGINT
# like the receiver, so both tools print their own summaries: the sender's
# rate is its own "Speed:" figure, the receiver's is its packets over the
# sender's seconds, and what the receiver did not get is counted as lost.
# Every pkt-gen runs with -w 0 (its default waits 2 s before it starts).
#
# Settings, from the environment (test/vale/vm/run --env NAME=VALUE):
# SIDE_PAIRS (sender:receiver ...), SIDE_SECS and SIDE_ROUNDS
# (deterministic time: 2 s and 1 round, real time: 4 s and 9 rounds; rounds
# interleave and the pairs' order turns each round), SIDE_SIZES, SIDE_PATHS ("vale pipe"), SIDE_UDP
# (1: also nmbench's udp: backend over loopback, once per size).
set -u
icount=${NMTEST_ICOUNT:-0}
if [ "$icount" = 1 ]; then
	secs=${SIDE_SECS:-2} rounds=${SIDE_ROUNDS:-1}
else
	secs=${SIDE_SECS:-4} rounds=${SIDE_ROUNDS:-9}
fi
sizes=${SIDE_SIZES:-"60 256 512 1024 1500"}
paths=${SIDE_PATHS:-"vale pipe"}
udp=${SIDE_UDP:-1}
out=/out/sidebyside.txt
mode=realtime
[ "$icount" = 1 ] && mode=icount
echo "# mode=$mode cpus=$(nproc) secs=$secs rounds=$rounds kernel=$(uname -r)" | tee $out
tx_port() { # path
	case $1 in
	vale) echo vale0:a ;;
	pipe) echo "netmap:sbp{1" ;;
	esac
}
rx_port() {
	case $1 in
	vale) echo vale0:b ;;
	pipe) echo "netmap:sbp}1" ;;
	esac
}
# Tools: pkt-gen, or nmbench and any binary named nmbench-* (another
# build given with --bin, taking nmbench's flags).
tx_cmd() { # tool port size
	case $1 in
	nmbench*) echo "$1 -i $2 -f tx -l $3 -q" ;;
	*) echo "$1 -i $2 -f tx -l $3 -w 0" ;;
	esac
}
rx_cmd() { # tool port
	case $1 in
	nmbench*) echo "$1 -i $2 -f rx -q" ;;
	*) echo "$1 -i $2 -f rx -w 0" ;;
	esac
}
# packets LOG VERB: N of the last "VERB N packets ..." line
packets() {
	sed -n "s/^$2 \([0-9]*\) packets .*$/\1/p" "$1" | tail -n 1
}
# speed LOG: the last "Speed: X [KMG]pps" figure in packets per second
speed() {
	sed -n 's/^Speed: \([0-9.]*\) \([KMG]*\)pps.*$/\1 \2/p' "$1" | tail -n 1 |
		awk '{ m = 1; if ($2 == "K") m = 1e3; if ($2 == "M") m = 1e6; if ($2 == "G") m = 1e9; printf "%.0f", $1 * m }'
}
# run_pair PATH TXTOOL RXTOOL TXCMD RXCMD SIZE: one measured pair, appended to $out.
run_pair() {
	timeout -s INT $((secs + 3)) $5 > /tmp/rx.log 2>&1 &
	rxpid=$!
	sleep 1
	timeout -s INT $secs $4 > /tmp/tx.log 2>&1
	txrc=$?
	sleep 1
	kill -INT $rxpid 2>/dev/null
	wait $rxpid
	rxrc=$?
	txp=$(packets /tmp/tx.log Sent)
	txr=$(speed /tmp/tx.log)
	rxp=$(packets /tmp/rx.log Received)
	line="path=$1 size=$6 tx=$2 rx=$3 round=$round tx_packets=${txp:-0} tx_pps=${txr:-0} rx_packets=${rxp:-0} lost=$((${txp:-0} - ${rxp:-0}))"
	echo "$line" | tee -a $out
	if [ "${txp:-0}" = 0 ] || [ "${rxp:-0}" = 0 ] || [ "${txr:-0}" = 0 ]; then
		echo "--- no packets counted; logs:"; tail -20 /tmp/tx.log /tmp/rx.log
		status=1
	fi
	# Both tools end on SIGINT with their summary and status 0 (busybox's
	# timeout execs the tool and signals it, so its status is the tool's):
	# anything else (a crash, a port that did not open, a tool that died
	# by the signal) fails the run, whatever its counts.
	if [ "$txrc" != 0 ] || [ "$rxrc" != 0 ]; then
		echo "--- $2 -> $3 on $1 at $6 B: sender exit $txrc, receiver exit $rxrc, want 0 and 0; logs:"; tail -20 /tmp/tx.log /tmp/rx.log
		status=1
	fi
}
pairs=${SIDE_PAIRS:-"nmbench:pkt-gen pkt-gen:pkt-gen pkt-gen:nmbench nmbench:nmbench"}
status=0
for round in $(seq 1 $rounds); do
	for path in $paths; do
		for size in $sizes; do
			for pair in $pairs; do
				txt=${pair%%:*} rxt=${pair##*:}
				run_pair $path $txt $rxt "$(tx_cmd $txt $(tx_port $path) $size)" "$(rx_cmd $rxt $(rx_port $path))" $size
			done
		done
	done
	# The pairs' order turns by one each round, so that no pair always runs
	# first or last in its block when a real-time host speeds up or slows down.
	pairs="${pairs#* } ${pairs%% *}"
done
# The socket baseline: nmbench's udp: backend over loopback, once per size.
if [ "$udp" = 1 ]; then
	round=1
	for size in $sizes; do
		run_pair udp nmbench nmbench "nmbench -i udp:127.0.0.1:9000 -f tx -l $size -q" "nmbench -i udp:127.0.0.1:9000 -f rx -q" $size
	done
fi
exit $status
