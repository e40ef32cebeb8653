# Multi-ring scaling, in real time (two vCPUs; not for --icount, which runs
# one): one sender thread per ring on a 2-ring VALE port, against pkt-gen
# doing the same with -p 2, and each with one ring (-p 1) for the scaling.
#   test/vale/vm/run --script test/vale/multiring.sh --out DIR
#   go run ./test/vale/benchreport -section multiring DIR/multiring.txt
# Paths: vale (vale1:a -> vale1:b, each created with 2 TX and 2 RX rings
# by @conf:rings=2: a port takes the ring count of the open that creates
# it; VALE hands ring i's frames to the receiver's ring i) and pipe
# (netmap:mr{1 -> netmap:mr}1@conf:rings=2, created by the receiver with 2
# ring pairs; zero-copy, the sender waits for the receiver). With -p 2
# each thread of either tool opens its own ring (NR_REG_ONE_NIC). Pairs per
# round, path, size and ring count: nmbench -> pkt-gen, pkt-gen -> pkt-gen,
# pkt-gen -> nmbench. Rounds interleave and the pairs' order turns each
# round; the host is shared, so compare ratios of one run.
# Settings (test/vale/vm/run --env): MR_SECS (4), MR_ROUNDS (5), MR_SIZES
# ("60 1500"), MR_PATHS ("vale pipe").
set -u
secs=${MR_SECS:-4}
rounds=${MR_ROUNDS:-5}
sizes=${MR_SIZES:-"60 1500"}
out=/out/multiring.txt
echo "# mode=realtime cpus=$(nproc) secs=$secs rounds=$rounds kernel=$(uname -r) multiring" | tee $out
[ "$(nproc)" -ge 2 ] || echo "warning: $(nproc) CPU: the threads of -p 2 share it"
paths=${MR_PATHS:-"vale pipe"}
ports() { # path: sets txp and rxp
	case $1 in
	vale) txp=vale1:a@conf:rings=2 rxp=vale1:b@conf:rings=2 ;;
	pipe) txp="netmap:mr{1" rxp="netmap:mr}1@conf:rings=2" ;;
	esac
}
tx_cmd() { # tool rings size
	if [ "$1" = nmbench ]; then echo "nmbench -i $txp -f tx -p $2 -l $3 -q"
	else echo "pkt-gen -i $txp -f tx -p $2 -l $3 -w 0"; fi
}
rx_cmd() { # tool rings
	if [ "$1" = nmbench ]; then echo "nmbench -i $rxp -f rx -p $2 -q"
	else echo "pkt-gen -i $rxp -f rx -p $2 -w 0"; fi
}
packets() { sed -n "s/^$2 \([0-9]*\) packets .*$/\1/p" "$1" | tail -n 1; }
speed() {
	sed -n 's/^Speed: \([0-9.]*\) \([KMG]*\)pps.*$/\1 \2/p' "$1" | tail -n 1 |
		awk '{ m = 1; if ($2 == "K") m = 1e3; if ($2 == "M") m = 1e6; if ($2 == "G") m = 1e9; printf "%.0f", $1 * m }'
}
status=0
pairs="nmbench:pkt-gen pkt-gen:pkt-gen pkt-gen:nmbench"
for round in $(seq 1 $rounds); do
	for path in $paths; do
	ports $path
	for size in $sizes; do
		for p in 1 2; do
			for pair in $pairs; do
				txt=${pair%%:*} rxt=${pair##*:}
				timeout -s INT $((secs + 3)) $(rx_cmd $rxt $p) > /tmp/rx.log 2>&1 &
				rxpid=$!
				sleep 1
				timeout -s INT $secs $(tx_cmd $txt $p $size) > /tmp/tx.log 2>&1
				sleep 1
				kill -INT $rxpid 2>/dev/null
				wait $rxpid
				tp=$(packets /tmp/tx.log Sent) tr=$(speed /tmp/tx.log) rp=$(packets /tmp/rx.log Received)
				echo "path=$path-rings$p size=$size tx=$txt rx=$rxt round=$round tx_packets=${tp:-0} tx_pps=${tr:-0} rx_packets=${rp:-0} lost=$((${tp:-0} - ${rp:-0}))" | tee -a $out
				if [ "${tp:-0}" = 0 ] || [ "${rp:-0}" = 0 ]; then
					echo "--- no packets counted; logs:"; tail -20 /tmp/tx.log /tmp/rx.log
					status=1
				fi
			done
		done
	done
	done
	pairs="${pairs#* } ${pairs%% *}"
done
exit $status
