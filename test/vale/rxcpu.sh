# Receivers' CPU time: pkt-gen sends on vale0:a, each receiver in turn
# takes it on vale0:b, and the script reads the receiver's CPU ticks (user
# and system, all threads, 100 a second) over the sender's run from /proc.
# It asks whether a receiver slows the sender it shares the host with.
#   test/vale/vm/run --script test/vale/rxcpu.sh --out DIR [--bin OTHER]
# The runner passes no environment: to compare another receiver, a static
# binary taking nmbench's flags, give it with --bin and add its name to rxs.
# Output: DIR/rxcpu.txt, one line per run; rates are tx_packets / tx_seconds.
set -u
secs=4
rounds=6
sizes="1500 60"
rxs="pkt-gen nmbench"
out=/out/rxcpu.txt
: > $out
ticks() { # PID: its utime+stime so far, or -1 once it is gone
	[ -r /proc/$1/stat ] || { echo -1; return; }
	set -- $(cat /proc/$1/stat)
	echo $((${14} + ${15}))
}
counts() { # LOG VERB: "packets seconds" from a "VERB N packets ... in T seconds." line
	sed -n "s/^$2 \([0-9]*\) packets .* in \([0-9.]*\) seconds\.*$/\1 \2/p" "$1" | tail -n 1
}
rx_cmd() {
	if [ "$1" = pkt-gen ]; then echo "pkt-gen -i vale0:b -f rx -w 0"
	else echo "$1 -i vale0:b -f rx -q"; fi
}
status=0
run() { # RXTOOL SIZE
	$(rx_cmd $1) > /tmp/rx.log 2>&1 &
	rxpid=$!
	sleep 1
	r0=$(ticks $rxpid)
	pkt-gen -i vale0:a -f tx -l $2 -w 0 > /tmp/tx.log 2>&1 &
	txpid=$!
	sleep $secs
	r1=$(ticks $rxpid) t1=$(ticks $txpid)
	kill -INT $txpid
	wait $txpid
	sleep 1
	kill -INT $rxpid
	wait $rxpid
	set -- "$1" "$2" $(counts /tmp/tx.log Sent)
	rxp=$(counts /tmp/rx.log Received | cut -d' ' -f1)
	echo "size=$2 rx=$1 round=$round tx_packets=${3:-0} tx_seconds=${4:-0} rx_packets=${rxp:-0} rx_ticks=$((r1 - r0)) tx_ticks=$t1" | tee -a $out
	if [ "${3:-0}" = 0 ] || [ "${rxp:-0}" = 0 ] || [ "$r0" = -1 ] || [ "$r1" = -1 ]; then
		echo "--- a run counted nothing; logs:"; tail -20 /tmp/tx.log /tmp/rx.log
		status=1
	fi
}
for round in $(seq 1 $rounds); do
	for size in $sizes; do
		for rx in $rxs; do run $rx $size; done
	done
	rxs="${rxs#* } ${rxs%% *}" # turn the order each round
done
exit $status
