# How many ST 2110-20 streams one core sends and receives on VALE, next to
# pkt-gen's raw rate for the same frames: in the netmap VM by
#   test/vale/vm/run --icount --script test/vale/videostreams.sh --out DIR
# (deterministic virtual time: one 1 GHz virtual core for sender, receiver
# and kernel, every instruction counted; busybox sh in the guest).
#
# For each format, N of VIDEO_STREAMS and self-check setting, nmbench -f vtx
# sends N streams (the test pattern, ST 2110-21 narrow schedule, one
# goroutine) from vale0:a to nmbench -f vrx on vale0:b (one goroutine,
# 4096-slot ring), VIDEO_FRAMES frames per stream, vtx with its self-check
# (the transmitter's ST 2110-21 analysis of its own send times) on or off.
# A line per run goes to /out/videostreams.txt: the sender's packets,
# seconds, late packets (0: every stream kept its schedule) and CPU time;
# the receiver's frames, lost packets, CPU time and the sender type its
# analysis of the arrival times fits (N: narrow compliance held). The JSON
# final objects are kept as /out/vtx-*.json and /out/vrx-*.json. Then
# pkt-gen sends frames of each format's size (1262 B for 1080p: 1200
# octets of samples a packet; 1433 B for 2160p) from vale0:a to pkt-gen rx
# on the same 4096-slot vale0:b for VIDEO_SECS seconds, in its default
# batches of 512 and in batches of each burst size (a paced sender flushes
# once a burst): the packet-rate bound of the path.
# 1080p59.94 4:2:2 10-bit is 259.2 kpps a stream, 2160p59.94 1036.8 kpps.
#
# Settings (test/vale/vm/run --env NAME=VALUE): VIDEO_FORMATS ("1080 2160"),
# VIDEO_STREAMS ("1 2 3 4"), VIDEO_SELFCHECK ("on off"), VIDEO_BURSTS (4:
# vtx -burst, packets sent together), VIDEO_FRAMES (60), VIDEO_SECS (2),
# VIDEO_RATE (a list; vtx -R: the schedules stretched to that many packets
# a second, to find the rate vtx and vrx keep up with and what they cost
# per packet there; no compliance figure then, the timing is not the
# format's), VIDEO_PKTGEN (1: the pkt-gen runs), VIDEO_TOOLS (nmbench: the
# binaries to run as vtx and vrx, in turn, each against itself, such as
# "nmbench nmbench-old" with --bin DIR/nmbench-old, to compare two builds in
# one run), VIDEO_PROFILE (0; 1: -cpuprofile of each run to
# /out/{vtx,vrx}-TAG.prof), VIDEO_LINGER (0; a list of durations: vrx
# -linger, its sleep after a partial batch, each in turn, such as "0
# 100us" for without and with in one run), VIDEO_TXBATCH (empty: vtx's
# default -b; "burst": -b of the burst size, so that vtx writes and syncs
# one burst at a time, each at its own time, as a narrow sender on VALE
# must, where it would otherwise catch up in one large sync), VIDEO_TXRT
# (0; a priority: vtx -rt, its thread under SCHED_FIFO, so that it takes
# the core from vrx at each burst's time).
set -u
formats=${VIDEO_FORMATS:-"1080 2160"}
streams=${VIDEO_STREAMS:-"1 2 3 4"}
checks=${VIDEO_SELFCHECK:-"on off"}
bursts=${VIDEO_BURSTS:-4}
rates=${VIDEO_RATE:-schedule} # vtx -R: stretch the schedules to these packets a second (costs, not streams)
frames=${VIDEO_FRAMES:-60}
tools=${VIDEO_TOOLS:-nmbench}
lingers=${VIDEO_LINGER:-0}
secs=${VIDEO_SECS:-2}
out=/out/videostreams.txt
mode=realtime
[ "${NMTEST_ICOUNT:-0}" = 1 ] && mode=icount
echo "# mode=$mode cpus=$(nproc) frames=$frames kernel=$(uname -r)" | tee $out
fmtp() { # 1080 or 2160
	case $1 in
	1080) echo "sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001" ;;
	2160) echo "sampling=YCbCr-4:2:2; width=3840; height=2160; depth=10; exactframerate=60000/1001" ;;
	esac
}
# topfield NAME FILE: the value of "NAME" in the JSON object's top level
# (before the per-stream array), "" if absent.
topfield() { sed 's/"streams":.*//' "$2" | sed -n "s/.*\"$1\":\"*\([^,}\"]*\).*/\1/p" | tail -n 1; }
status=0
for f in $formats; do
	for n in $streams; do
		for c in $checks; do
		for b in $bursts; do
		for rate in $rates; do
		for tool in $tools; do
		for lg in $lingers; do
			sc=true
			[ "$c" = off ] && sc=false
			tag=$f-$n-$c-$b-$rate
			[ "$tool" = nmbench ] || tag=$tag-$tool
			[ "$lg" = 0 ] || tag=$tag-linger$lg
			rateflag= lingerflag= batchflag=
			[ "${VIDEO_TXBATCH:-}" = burst ] && batchflag="-b $b"
			[ "${VIDEO_TXRT:-0}" = 0 ] || batchflag="$batchflag -rt $VIDEO_TXRT"
			[ "$rate" = schedule ] || rateflag="-R $rate"
			[ "$lg" = 0 ] || lingerflag="-linger $lg" # a build without -linger still runs with 0
			rxprof= txprof=
			[ "${VIDEO_PROFILE:-0}" = 1 ] && rxprof="-cpuprofile /out/vrx-$tag.prof" txprof="-cpuprofile /out/vtx-$tag.prof"
			echo "== $tool: $n x ${f}p59.94, $frames frames each, self-check $c, bursts of $b, vrx -linger $lg: vtx on vale0:a -> vrx on vale0:b"
			$tool -i vale0:b@conf:slots=4096 -f vrx -fmt "$(fmtp $f)" -streams $n -frames $frames $lingerflag \
				-t $((frames / 10 + 30))s -json -q $rxprof > /out/vrx-$tag.json 2>&1 &
			rx=$!
			sleep 1
			$tool -i vale0:a -f vtx -fmt "$(fmtp $f)" -streams $n -frames $frames -tp N -selfcheck=$sc -burst $b $batchflag $rateflag \
				-json -q $txprof > /out/vtx-$tag.json 2>&1 || status=1
			wait $rx || status=1
			tail -n 1 /out/vtx-$tag.json > /tmp/vtx.json
			tail -n 1 /out/vrx-$tag.json > /tmp/vrx.json
			line="video tool=$tool format=$f streams=$n selfcheck=$c burst=$b rate=$rate linger=$lg txbatch=${VIDEO_TXBATCH:-default} txrt=${VIDEO_TXRT:-0} frames_per_stream=$frames"
			line="$line tx_packets=$(topfield packets /tmp/vtx.json) tx_seconds=$(topfield seconds /tmp/vtx.json)"
			line="$line tx_late=$(topfield late /tmp/vtx.json) tx_cpu_ns=$(topfield cpu_ns /tmp/vtx.json) tx_sender=$(topfield sender_type /tmp/vtx.json)"
			line="$line rx_frames=$(topfield frames /tmp/vrx.json) rx_packets=$(topfield packets /tmp/vrx.json)"
			line="$line tx_spin_ns=$(topfield spin_ns /tmp/vtx.json) tx_cmax=$(topfield cmax /tmp/vtx.json)"
			line="$line rx_lost=$(topfield lost /tmp/vrx.json) rx_cpu_ns=$(topfield cpu_ns /tmp/vrx.json) rx_sender=$(topfield sender_type /tmp/vrx.json) rx_cmax=$(topfield cmax /tmp/vrx.json)"
			echo "$line" | tee -a $out
		done
		done
		done
		done
		done
	done
done
speed() { # LOG: the last "Speed: X [KMG]pps" in packets per second
	sed -n 's/^Speed: \([0-9.]*\) \([KMG]*\)pps.*$/\1 \2/p' "$1" | tail -n 1 |
		awk '{ m = 1; if ($2 == "K") m = 1e3; if ($2 == "M") m = 1e6; if ($2 == "G") m = 1e9; printf "%.0f", $1 * m }'
}
[ "${VIDEO_PKTGEN:-1}" = 1 ] || formats=
for f in $formats; do
	case $f in
	1080) len=1262 ;; # 1200 octets of samples a packet
	2160) len=1433 ;; # 1371 on average (seven packets a line)
	esac
	# pkt-gen's default batches (512), then batches of vtx's bursts: a
	# paced sender flushes once a burst.
	for pb in 512 $bursts; do
		echo "== pkt-gen -f tx -l $len -b $pb on vale0:a -> pkt-gen -f rx on vale0:b (4096 slots), ${secs}s"
		timeout -s INT $((secs + 3)) pkt-gen -i vale0:b@conf:slots=4096 -f rx -w 0 > /tmp/pgrx.log 2>&1 &
		rx=$!
		sleep 1
		timeout -s INT $secs pkt-gen -i vale0:a -f tx -l $len -b $pb -w 0 > /tmp/pgtx.log 2>&1
		sleep 1
		kill -INT $rx 2>/dev/null
		wait $rx
		sent=$(sed -n 's/^Sent \([0-9]*\) packets .*$/\1/p' /tmp/pgtx.log | tail -n 1)
		got=$(sed -n 's/^Received \([0-9]*\) packets .*$/\1/p' /tmp/pgrx.log | tail -n 1)
		echo "pktgen format=$f size=$len batch=$pb tx_packets=${sent:-0} tx_pps=$(speed /tmp/pgtx.log) rx_packets=${got:-0}" | tee -a $out
		[ -n "$sent" ] && [ -n "$got" ] || status=1
	done
done
exit $status
