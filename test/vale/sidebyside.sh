# Side-by-side: nmbench and netmap's pkt-gen on VALE, in one VM run.
#   test/vale/vm/run --script test/vale/sidebyside.sh --out DIR
#   go run ./test/vale/benchreport DIR/sidebyside.txt   # table + SVG into docs/
# For each frame size, four pairs on vale0:a (sender) -> vale0:b (receiver):
# nmbench -> pkt-gen, pkt-gen -> nmbench, nmbench -> nmbench,
# pkt-gen -> pkt-gen. Each sender runs SECS seconds and is stopped with
# SIGINT like the receiver, so both tools print their own summaries; rates
# are packets / the sender's seconds, for sender and receiver alike.
set -u
secs=${SIDE_SECS:-4}
rounds=${SIDE_ROUNDS:-9} # each pair runs this often, rounds interleaved; the report takes medians
sizes=${SIDE_SIZES:-"60 256 512 1024 1500"}
out=/out/sidebyside.txt
: > $out
tx_cmd() { # tool size
	if [ "$1" = nmbench ]; then echo "nmbench -i vale0:a -f tx -l $2 -q"
	else echo "pkt-gen -i vale0:a -f tx -l $2 -w 0"; fi
}
rx_cmd() {
	if [ "$1" = nmbench ]; then echo "nmbench -i vale0:b -f rx -q"
	else echo "pkt-gen -i vale0:b -f rx -w 0"; fi
}
# counts LOG VERB: prints "packets seconds" from a "VERB N packets ... in T seconds." line
counts() {
	sed -n "s/^$2 \([0-9]*\) packets .* in \([0-9.]*\) seconds\.*$/\1 \2/p" "$1" | tail -n 1
}
# run_pair LABEL_TX LABEL_RX TXCMD RXCMD SIZE: one measured pair, appended to $out.
run_pair() {
	timeout -s INT $((secs + 3)) $4 > /tmp/rx.log 2>&1 &
	rxpid=$!
	sleep 1
	timeout -s INT $secs $3 > /tmp/tx.log 2>&1
	sleep 1
	kill -INT $rxpid 2>/dev/null
	wait $rxpid
	set -- "$1" "$2" "$5" $(counts /tmp/tx.log Sent)
	txp=${4:-0}; txs=${5:-0}
	rxp=$(counts /tmp/rx.log Received | cut -d' ' -f1)
	line="size=$3 tx=$1 rx=$2 round=$round tx_packets=$txp tx_seconds=$txs rx_packets=${rxp:-0}"
	echo "$line" | tee -a $out
	if [ "$txp" = 0 ] || [ "${rxp:-0}" = 0 ]; then
		echo "--- no packets counted; logs:"; cat /tmp/tx.log /tmp/rx.log | tail -20
		status=1
	fi
}
# The pairs' order turns by one each round, so that no pair always runs first
# or last in its size's block when the host speeds up or slows down.
pairs="nmbench:pkt-gen pkt-gen:pkt-gen pkt-gen:nmbench nmbench:nmbench"
status=0
for round in $(seq 1 $rounds); do
	for size in $sizes; do
		for pair in $pairs; do
			txt=${pair%%:*}; rxt=${pair##*:}
			run_pair $txt $rxt "$(tx_cmd $txt $size)" "$(rx_cmd $rxt)" $size
		done
	done
	pairs="${pairs#* } ${pairs%% *}"
done
# The socket baseline: nmbench's udp: backend over loopback, same sizes, once.
round=1
for size in $sizes; do
	run_pair nmbench-udp nmbench-udp "nmbench -i udp:127.0.0.1:9000 -f tx -l $size -q" "nmbench -i udp:127.0.0.1:9000 -f rx -q" $size
done
exit $status
