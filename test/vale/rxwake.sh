# Does a receiver keep up with pkt-gen on VALE, and how fast does its
# thread run when the switch wakes it? pkt-gen tx on vale0:a, each receiver
# in turn on vale0:b; lost = sent - received. With RXWAKE_TRACE=1 the
# kernel's scheduler events (tracefs) time every wake-up of the receiver's
# threads: sched_wakeup to sched_switch onto the CPU.
#   test/vale/vm/run --icount --script test/vale/rxwake.sh [--bin OTHER] [--env NAME=VALUE]
# Settings: RXWAKE_SECS (2), RXWAKE_ROUNDS (1), RXWAKE_SIZES ("60 1500"),
# RXWAKE_RX (receivers: pkt-gen, nmbench, or another build given with --bin
# that takes nmbench's flags), RXWAKE_ARGS (more nmbench flags),
# RXWAKE_TRACE (1).
set -u
secs=${RXWAKE_SECS:-2}
T=/sys/kernel/tracing
trace=${RXWAKE_TRACE:-1}
if [ "$trace" = 1 ]; then
	mount -t tracefs nodev $T 2>/dev/null
	echo 65536 > $T/buffer_size_kb || trace=0
fi
status=0
for round in $(seq 1 ${RXWAKE_ROUNDS:-1}); do
for size in ${RXWAKE_SIZES:-60 1500}; do
for rx in ${RXWAKE_RX:-pkt-gen nmbench}; do
	case $rx in
	pkt-gen) cmd="pkt-gen -i vale0:b -f rx -w 0" ;;
	*) cmd="$rx -i vale0:b -f rx -q ${RXWAKE_ARGS:-}" ;;
	esac
	$cmd > /tmp/rx.log 2>&1 &
	rxpid=$!
	sleep 1
	tids=$(ls /proc/$rxpid/task | tr '\n' ' ')
	if [ "$trace" = 1 ]; then
		echo > $T/trace
		echo 0 > $T/events/enable
		echo 1 > $T/events/sched/sched_wakeup/enable
		echo 1 > $T/events/sched/sched_switch/enable
		echo 1 > $T/tracing_on
	fi
	timeout -s INT $secs pkt-gen -i vale0:a -f tx -l $size -w 0 > /tmp/tx.log 2>&1
	[ "$trace" = 1 ] && echo 0 > $T/tracing_on
	sleep 1
	kill -INT $rxpid
	wait $rxpid
	s=$(sed -n 's/^Sent \([0-9]*\) packets.*/\1/p' /tmp/tx.log | tail -n 1)
	r=$(sed -n 's/^Received \([0-9]*\) packets.*/\1/p' /tmp/rx.log | tail -n 1)
	echo "rxwake round=$round size=$size rx=$rx sent=${s:-0} received=${r:-0} lost=$((${s:-0} - ${r:-0})) threads=$(echo $tids | tr ' ' ,)"
	[ -n "$s" ] && [ -n "$r" ] || status=1
	[ "$trace" = 1 ] || continue
	# Per thread of the receiver: wake-ups, and the time from wake-up to
	# running, mean, largest, and how many took over 100/200/400/1000 µs.
	awk -v tids="$tids" '
		BEGIN { n = split(tids, a, " "); for (i = 1; i <= n; i++) mine[a[i]] = 1 }
		{
			ts = 0
			for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1) + 0; break }
			if ($0 ~ /sched_wakeup:/) {
				if (match($0, /pid=[0-9]+/)) { p = substr($0, RSTART + 4, RLENGTH - 4); if (p in mine) w[p] = ts }
			} else if ($0 ~ /sched_switch:/ && match($0, /next_pid=[0-9]+/)) {
				p = substr($0, RSTART + 9, RLENGTH - 9)
				if ((p in mine) && (p in w)) {
					l = (ts - w[p]) * 1e6; delete w[p]
					cnt[p]++; sum[p] += l; if (l > mx[p]) mx[p] = l
					if (l > 100) o1[p]++; if (l > 200) o2[p]++; if (l > 400) o4[p]++; if (l > 1000) o10[p]++
				}
			}
		}
		END {
			for (p in cnt) printf "  tid %s: %d wake-ups, to running %.1f us on average, at most %.1f us; over 100/200/400/1000 us: %d/%d/%d/%d\n",
				p, cnt[p], sum[p] / cnt[p], mx[p], o1[p], o2[p], o4[p], o10[p]
		}
	' $T/trace
done
done
done
exit $status
