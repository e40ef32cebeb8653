# AF_XDP side by side in the netmap VM's Linux 6.1, in deterministic
# virtual time: nmbench over AF_XDP (-i xdp:) against nmbench's udp:
# backend on one guest veth pair, 60- and 1500-octet frames, TX and RX.
#
#   test/vale/vm/run --icount --script test/xdp/vmbench.sh --out DIR
#   test/xdp/vmreport DIR/xdpbench.txt          # the table, on the host
#
# One vCPU, 1 ns per guest instruction (test/vale/vm/README.md): every rate
# is packets per instruction budget of the whole path (sender, kernel and
# receiver share the vCPU), and runs repeat within a fraction of a percent.
#
# The pair: va (02:00:00:00:00:0a, 10.9.0.1/24) and vb (02:00:00:00:00:0b,
# 10.9.1.2/24), one namespace, IPv6 off (no stray router solicitations).
#
# TX: the sender on va for SECS seconds, its frames (UDP 10.9.0.1:9 ->
# 10.9.0.2:9) to a MAC that is not vb's (10.9.0.2 has a static ARP entry
# to it), so vb's stack drops each at once: the same sink for both
# senders. The rate is the sender's own (its packets over its seconds), and
# vb's rx_packets counter must have moved by exactly what it sent.
#
# RX: one sender for both receivers, nmbench -f tx -i xdp:va (UDP
# 10.9.1.1:9 -> 10.9.1.2:9 to vb's MAC), running SECS+2 seconds; the
# receiver on vb starts one second after it and runs SECS seconds, nmbench
# -i xdp:vb (the redirect program, native mode, copy-mode bind) or -i
# udp:10.9.1.2:9 (recvmmsg). Two cells: at saturation (the sender
# unpaced; "received pps" is what the receiver got over its seconds: on
# one vCPU a cheaper receiver leaves more instructions to the sender and
# the kernel, so more arrives) and at a fixed RATE both receivers take
# whole (-R; the receiver's CPU per packet from nmbench's cpu_ns, its
# threads' CPU time, system calls included).
#
# sat (not run by default): RX at saturation from a kernel-side
# amplifier (test/xdp/amp, given to the guest with test/vale/vm/run
# --bin): a second veth pair ga/gb, amp's XDP program on gb sending every
# frame gb receives out of va XB_COPIES times (64) as xdp_frames, and one
# sender, nmbench -f tx -i xdp:ga (the RX cell's frames, to vb's MAC and
# address), running SECS+2 seconds, unpaced: its own path costs a frame
# once for XB_COPIES frames offered. vb needs NAPI to take frames from
# va's ndo_xdp_xmit: the xdp: receiver's program gives it; for the udp:
# receiver, with no ethtool in the guest to turn GRO on, amp -pass vb
# attaches an XDP_PASS program to vb, so that in this cell the UDP path
# also runs an XDP program on each frame before the stack (the host's
# sat cell uses GRO instead). The line gives what the receiver got over
# its seconds (pps), what the amplifier offered (gb's rx_packets times
# XB_COPIES), what reached vb (rx_packets), vb's rx_dropped and the UDP
# counters, all over the receiver's run.
#
# vrxrate (not run by default): the video receiver, st2110's, at the
# same fixed RATE: nmbench -f vtx -i xdp:va sends 1080p59.94 4:2:2 10-bit
# (1262-octet frames) to 239.21.10.1:5004 on its narrow schedule
# stretched to RATE packets a second (-R), for about SECS seconds of
# frames, to nmbench -f vrx -i xdp:vb or -i udp:239.21.10.1:5004@vb (a
# socket joined to the group); the figure is vrx's CPU per packet, and the
# line has its lost packets.
#
# Settings from the environment (test/vale/vm/run --env NAME=VALUE):
# XB_SECS (3), XB_SIZES ("60 1500"), XB_RX_SIZES (XB_SIZES: the sizes of
# the rx, rxrate and sat cells), XB_RATE (20000), XB_ROUNDS (1),
# XB_CELLS ("tx rx rxrate"; vrxrate and sat too), XB_COPIES (64, sat), XB_PROFILE (1: nmbench
# -cpuprofile of each xdp: sender and of every receiver into /out),
# XB_LINGER (a duration: the xdp: receivers, rx and vrx, run with
# -linger, their sleep after a partial batch).
set -u
secs=${XB_SECS:-3} sizes=${XB_SIZES:-"60 1500"} rate=${XB_RATE:-20000}
rounds=${XB_ROUNDS:-1} cells=${XB_CELLS:-"tx rx rxrate"} profile=${XB_PROFILE:-0}
linger=${XB_LINGER:-} rxsizes=${XB_RX_SIZES:-$sizes} copies=${XB_COPIES:-64}
MACA=02:00:00:00:00:0a MACB=02:00:00:00:00:0b SINK=02:00:00:00:00:99
out=/out/xdpbench.txt
mkdir -p /out
status=0
fail() {
	echo "xdpbench: FAIL: $*"
	status=1
}

for f in /proc/sys/net/ipv6/conf/all/disable_ipv6 /proc/sys/net/ipv6/conf/default/disable_ipv6; do
	[ ! -e $f ] || echo 1 >$f
done
# busybox ip names the peer veth0 whatever "peer name" says.
ip link add va type veth peer name vb || exit 3
[ -e /sys/class/net/vb ] || ip link set veth0 name vb || exit 3
ip link set va address $MACA && ip link set vb address $MACB || exit 3
ip link set va up && ip link set vb up || exit 3
ip addr add 10.9.0.1/24 dev va && ip addr add 10.9.1.2/24 dev vb || exit 3
arp -i va -s 10.9.0.2 $SINK && arp -i vb -s 10.9.1.1 $MACA || exit 3
echo "# mode=$([ "${NMTEST_ICOUNT:-0}" = 1 ] && echo icount || echo realtime) cpus=$(nproc) kernel=$(uname -r) secs=$secs rate=$rate rounds=$rounds copies=$copies" | tee $out

# field NAME FILE: the number of "NAME": in the last JSON line of FILE.
field() { tail -n 1 "$2" | sed -n "s/.*\"$1\":\([0-9.e+]*\).*/\1/p"; }
counter() { cat /sys/class/net/$1/statistics/rx_packets; }
dropped() { cat /sys/class/net/$1/statistics/rx_dropped; }
# attached NAME LOG PID: waits until amp's LOG says its programs are
# attached; false (with the log) if it exits first or takes 10 s.
attached() {
	i=0
	while ! grep -q detaches "$2" 2>/dev/null; do
		if ! kill -0 "$3" 2>/dev/null || [ $i -ge 100 ]; then
			fail "$1 did not attach"
			cat "$2"
			return 1
		fi
		sleep 0.1
		i=$((i + 1))
	done
}
# udpstats: InDatagrams NoPorts InErrors RcvbufErrors of /proc/net/snmp.
udpstats() { awk '/^Udp:/ { n++ } /^Udp:/ && n == 2 { print $2, $3, $4, $6 }' /proc/net/snmp; }

tx_cell() { # impl size
	# The xdp: sender writes the headers the udp: one's kernel writes
	# (nmbench refuses them over udp:): the same frames on the wire.
	case $1 in
	xdp) port=xdp:va hdr="-D $SINK -s 10.9.0.1:9 -d 10.9.0.2:9" ;;
	udp) port=udp:10.9.0.2:9 hdr='' ;;
	esac
	prof=''
	[ "$profile" != 1 ] || [ "$1" != xdp ] || prof="-cpuprofile /out/tx-$2-$1.prof"
	c0=$(counter vb)
	# shellcheck disable=SC2086
	nmbench -i $port -f tx -l "$2" $hdr -t "${secs}s" -q -json $prof >/tmp/tx.json 2>/tmp/tx.err
	rc=$?
	sleep 1
	link=$(($(counter vb) - c0))
	p=$(field packets /tmp/tx.json) pps=$(field pps /tmp/tx.json) cpu=$(field cpu_ns /tmp/tx.json)
	echo "round=$round cell=tx size=$2 impl=$1 pps=${pps:-0} packets=${p:-0} link=$link cpu_ns=${cpu:-0}" | tee -a $out
	if [ $rc != 0 ] || [ "${p:-0}" = 0 ] || [ "$link" != "${p:-0}" ]; then
		fail "tx $1 $2: exit $rc, sent ${p:-0}, the link counted $link"
		cat /tmp/tx.err
	fi
}

rx_cell() { # cell impl size
	pace=''
	[ "$1" = rx ] || pace="-R $rate"
	case $2 in
	xdp) port=xdp:vb ;;
	udp) port=udp:10.9.1.2:9 ;;
	esac
	lflag=''
	[ "$2" != xdp ] || [ -z "$linger" ] || lflag="-linger $linger"
	c0=$(counter vb) u0=$(udpstats)
	# shellcheck disable=SC2086
	nmbench -i xdp:va -f tx -l "$3" -D $MACB -s 10.9.1.1:9 -d 10.9.1.2:9 -t "$((secs + 2))s" $pace -q -json >/tmp/gen.json 2>/tmp/gen.err &
	gpid=$!
	sleep 1
	prof=''
	[ "$profile" != 1 ] || prof="-cpuprofile /out/$1-$3-$2.prof"
	# shellcheck disable=SC2086
	nmbench -i $port -f rx -t "${secs}s" -q -json $prof $lflag >/tmp/rx.json 2>/tmp/rx.err
	rc=$?
	wait $gpid
	grc=$?
	p=$(field packets /tmp/rx.json) s=$(field seconds /tmp/rx.json) cpu=$(field cpu_ns /tmp/rx.json)
	gpps=$(field pps /tmp/gen.json)
	link=$(($(counter vb) - c0))
	u1=$(udpstats)
	# busybox awk: parentheses, or "> 0" is a redirection.
	pps=$(awk -v p="${p:-0}" -v s="${s:-0}" 'BEGIN { printf "%.0f", (s > 0 ? p / s : 0) }')
	per=$(awk -v c="${cpu:-0}" -v p="${p:-0}" 'BEGIN { printf "%.0f", (p > 0 ? c / p : 0) }')
	udp=$(echo "$u0 $u1" | awk '{ printf "udp_in=%d udp_noports=%d udp_inerrors=%d udp_rcvbuferrors=%d", $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')
	echo "round=$round cell=$1 size=$3 impl=$2 pps=$pps packets=${p:-0} seconds=${s:-0} cpu_ns=${cpu:-0} cpu_per_pkt=$per sender_pps=${gpps:-0} link=$link $udp" | tee -a $out
	if [ $rc != 0 ] || [ $grc != 0 ] || [ "${p:-0}" = 0 ]; then
		fail "$1 $2 $3: receiver exit $rc, sender exit $grc, received ${p:-0}"
		cat /tmp/rx.err /tmp/gen.err
	fi
}

sat_cell() { # impl size
	case $1 in
	xdp) port=xdp:vb ;;
	udp) port=udp:10.9.1.2:9 ;;
	esac
	lflag='' ppid=''
	[ "$1" != xdp ] || [ -z "$linger" ] || lflag="-linger $linger"
	if [ "$1" = udp ]; then
		amp -pass vb >/tmp/pass.log 2>&1 &
		ppid=$!
		attached "amp -pass" /tmp/pass.log $ppid || return
	fi
	nmbench -i xdp:ga -f tx -l "$2" -D $MACB -s 10.9.1.1:9 -d 10.9.1.2:9 -t "$((secs + 2))s" -q -json >/tmp/gen.json 2>/tmp/gen.err &
	gpid=$!
	sleep 1
	g0=$(counter gb) c0=$(counter vb) d0=$(dropped vb) u0=$(udpstats)
	prof=''
	[ "$profile" != 1 ] || prof="-cpuprofile /out/sat-$2-$1.prof"
	# shellcheck disable=SC2086
	nmbench -i $port -f rx -t "${secs}s" -q -json $prof $lflag >/tmp/rx.json 2>/tmp/rx.err
	rc=$?
	g1=$(counter gb) c1=$(counter vb) d1=$(dropped vb) u1=$(udpstats)
	wait $gpid
	grc=$?
	[ -z "$ppid" ] || { kill $ppid; wait $ppid; }
	p=$(field packets /tmp/rx.json) s=$(field seconds /tmp/rx.json) cpu=$(field cpu_ns /tmp/rx.json)
	gpps=$(field pps /tmp/gen.json)
	# Rates over the receiver's seconds (busybox date has no %N).
	rates=$(awk -v s="${s:-0}" -v n="$copies" -v g=$((g1 - g0)) -v c=$((c1 - c0)) -v d=$((d1 - d0)) -v p="${p:-0}" \
		'BEGIN { if (!(s > 0)) s = 1e99; printf "pps=%.0f offered=%.0f arrived=%.0f rx_dropped=%.0f", p / s, g * n / s, c / s, d / s }')
	udp=$(echo "$u0 $u1" | awk '{ printf "udp_in=%d udp_noports=%d udp_inerrors=%d udp_rcvbuferrors=%d", $5 - $1, $6 - $2, $7 - $3, $8 - $4 }')
	echo "round=$round cell=sat size=$2 impl=$1 $rates packets=${p:-0} seconds=${s:-0} cpu_ns=${cpu:-0} sender_pps=${gpps:-0} copies=$copies $udp" | tee -a $out
	if [ $rc != 0 ] || [ $grc != 0 ] || [ "${p:-0}" = 0 ]; then
		fail "sat $1 $2: receiver exit $rc, sender exit $grc, received ${p:-0}"
		cat /tmp/rx.err /tmp/gen.err
	fi
}

vrx_cell() { # impl
	case $1 in
	xdp) port=xdp:vb dflag="-d 239.21.10.1:5004" ;;
	udp) port=udp:239.21.10.1:5004@vb dflag='' ;;
	esac
	lflag=''
	[ "$1" != xdp ] || [ -z "$linger" ] || lflag="-linger $linger"
	fmtp="sampling=YCbCr-4:2:2; width=1920; height=1080; depth=10; exactframerate=60000/1001"
	frames=$((secs * rate / 4320 + 1)) # 4320 packets a frame
	prof=''
	[ "$profile" != 1 ] || prof="-cpuprofile /out/vrxrate-$1.prof"
	# shellcheck disable=SC2086
	nmbench -i $port -f vrx -fmt "$fmtp" $dflag -frames $frames -t "$((secs + 20))s" -q -json $prof $lflag >/tmp/vrx.json 2>/tmp/vrx.err &
	rpid=$!
	sleep 1
	nmbench -i xdp:va -f vtx -fmt "$fmtp" -d 239.21.10.1:5004 -s 10.9.1.1:5004 -frames $frames -R "$rate" -q -json >/tmp/vtx.json 2>/tmp/vtx.err
	grc=$?
	wait $rpid
	rc=$?
	p=$(field packets /tmp/vrx.json) s=$(field seconds /tmp/vrx.json) cpu=$(field cpu_ns /tmp/vrx.json)
	lost=$(field lost /tmp/vrx.json) sent=$(field packets /tmp/vtx.json) ab=$(field avg_batch /tmp/vrx.json)
	per=$(awk -v c="${cpu:-0}" -v p="${p:-0}" 'BEGIN { printf "%.0f", (p > 0 ? c / p : 0) }')
	echo "round=$round cell=vrxrate size=1262 impl=$1 packets=${p:-0} sent=${sent:-0} lost=${lost:-0} seconds=${s:-0} cpu_ns=${cpu:-0} cpu_per_pkt=$per avg_batch=${ab:-0} linger=${lflag#-linger }" | tee -a $out
	if [ $rc != 0 ] || [ $grc != 0 ] || [ "${p:-0}" = 0 ] || [ "${p:-0}" != "${sent:-0}" ]; then
		fail "vrxrate $1: vrx exit $rc, vtx exit $grc, received ${p:-0} of ${sent:-0}"
		cat /tmp/vrx.err /tmp/vtx.err
	fi
}

case " $cells " in
*" sat "*)
	# The amplifier's pair: ga -> gb, amp on gb sending out of va.
	ip link add ga type veth peer name gb || exit 3
	[ -e /sys/class/net/gb ] || ip link set veth0 name gb || exit 3
	ip link set ga address 02:00:00:00:00:c1 && ip link set gb address 02:00:00:00:00:c2 || exit 3
	ip link set ga up && ip link set gb up || exit 3
	command -v amp >/dev/null || { echo "xdpbench: no amp in the guest (test/vale/vm/run --bin AMP)"; exit 3; }
	amp -i gb -o va -n "$copies" >/tmp/amp.log 2>&1 &
	apid=$!
	attached amp /tmp/amp.log $apid || exit 3
	;;
esac
for round in $(seq 1 "$rounds"); do
	case " $cells " in
	*" vrxrate "*) for impl in xdp udp; do vrx_cell $impl; done ;;
	esac
	for size in $sizes; do
		for cell in $cells; do
			for impl in xdp udp; do
				case $cell in
				tx) tx_cell $impl "$size" ;;
				rx | rxrate | sat)
					case " $rxsizes " in
					*" $size "*) if [ $cell = sat ]; then sat_cell $impl "$size"; else rx_cell $cell $impl "$size"; fi ;;
					esac
					;;
				vrxrate) ;; # once a round, above
				esac
			done
		done
	done
done
[ -z "${apid:-}" ] || { kill $apid; wait $apid; }
exit $status
