# How many 1080p59.94 streams one core sends and receives, next to
# pkt-gen's raw rate for the same frame size; in the netmap VM by
#   test/vale/vm/run --script test/vale/videostreams.sh --out DIR
# (busybox sh in the guest; nmbench and pkt-gen are in /bin).
#
# For each N of VIDEO_STREAMS, nmbench -f vtx sends N streams of 1080p59.94
# 4:2:2 10-bit (the test pattern, ST 2110-21 narrow schedule, one goroutine)
# from vale0:a to nmbench -f vrx on vale0:b (one goroutine, 4096-slot ring),
# VIDEO_FRAMES frames per stream. A line per N goes to /out/videostreams.txt:
# the sender's packets, its late packets (0: it kept every stream on
# schedule), the frames and lost packets the receiver counted over all
# streams and per stream. The JSON final objects are kept as
# /out/vtx-N.json and /out/vrx-N.json. Then pkt-gen sends 1262-byte frames
# (the Ethernet frames of 1080p 4:2:2 10-bit single-line GPM packets:
# 1200 octets of samples) to pkt-gen rx for VIDEO_SECS seconds, the raw
# rate to set the streams against (one stream is 259 kpps).
set -u
streams=${VIDEO_STREAMS:-"1 2 4 8"}
frames=${VIDEO_FRAMES:-120}
secs=${VIDEO_SECS:-4}
fmt="sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001"
out=/out/videostreams.txt
: > $out
# field NAME FILE: the first "NAME":value of a JSON object, top-level first.
field() { sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" "$2" | head -n 1; }
# topfield NAME FILE: the value of "NAME" before the per-stream array.
topfield() { sed 's/"streams":.*//' "$2" | sed -n "s/.*\"$1\":\([^,}]*\).*/\1/p" | tail -n 1; }
status=0
for n in $streams; do
	echo "== $n x 1080p59.94, $frames frames each: nmbench -f vtx on vale0:a -> nmbench -f vrx on vale0:b"
	nmbench -i vale0:b@conf:slots=4096 -f vrx -fmt "$fmt" -streams $n -frames $frames \
		-t $((frames / 50 + 30))s -json -q > /out/vrx-$n.json 2>&1 &
	rx=$!
	sleep 2
	nmbench -i vale0:a -f vtx -fmt "$fmt" -streams $n -frames $frames -tp N -json -q > /out/vtx-$n.json 2>&1 || status=1
	wait $rx || status=1
	tail -n 1 /out/vtx-$n.json > /tmp/vtx.json
	tail -n 1 /out/vrx-$n.json > /tmp/vrx.json
	perlost=$(sed 's/.*"streams":\[//' /tmp/vrx.json | grep -o '"lost":[0-9]*' | cut -d: -f2 | tr '\n' ',')
	line="streams=$n frames_per_stream=$frames tx_packets=$(topfield packets /tmp/vtx.json) tx_seconds=$(topfield seconds /tmp/vtx.json)"
	line="$line tx_late=$(topfield late /tmp/vtx.json) rx_frames=$(topfield frames /tmp/vrx.json)"
	line="$line rx_packets=$(topfield packets /tmp/vrx.json) rx_lost=$(topfield lost /tmp/vrx.json) rx_lost_per_stream=${perlost%,}"
	echo "$line" | tee -a $out
done
echo "== pkt-gen -f tx -l 1262 on vale0:a -> pkt-gen -f rx on vale0:b, ${secs}s"
timeout -s INT $((secs + 3)) pkt-gen -i vale0:b -f rx -w 0 > /tmp/pgrx.log 2>&1 &
rx=$!
sleep 1
timeout -s INT $secs pkt-gen -i vale0:a -f tx -l 1262 -w 0 > /tmp/pgtx.log 2>&1
sleep 1
kill -INT $rx 2>/dev/null
wait $rx
sent=$(sed -n 's/^Sent \([0-9]*\) packets .* in \([0-9.]*\) seconds\.*$/\1 \2/p' /tmp/pgtx.log | tail -n 1)
got=$(sed -n 's/^Received \([0-9]*\) packets .*$/\1/p' /tmp/pgrx.log | tail -n 1)
echo "pktgen_1262 tx_packets=${sent% *} tx_seconds=${sent#* } rx_packets=${got:-0}" | tee -a $out
exit $status
