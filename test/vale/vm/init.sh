#!/bin/busybox sh
# /init of the initramfs that test/vale/vm/run builds: it sets the guest up,
# loads netmap.ko, runs the test binaries (or /script.sh) and powers off.
# The runner writes /etc/vmrun.conf (MODS, TESTS, WANT_OUT, ICOUNT) and
# /etc/vmrun.args (a "set --" line with the test binaries' arguments).
# The host reads the console: NMGO-VM-RESULT <binary> <status> per binary,
# NMGO-VM-EXIT <status> last, and /out as base64 between NMGO-VM-OUT-BEGIN
# <sha256> and NMGO-VM-OUT-END.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp

say() { echo "vmrun-guest: $*"; }
finish() {
	printf '\nNMGO-VM-EXIT %s\n' "$1"
	sync
	poweroff -f
	sleep 60
}

# shellcheck source=/dev/null
. /etc/vmrun.conf
echo # the firmware leaves its last line open
say "init running at $(cut -d' ' -f1 /proc/uptime)s after kernel start; $(nproc) CPUs, kernel $(uname -r)"

for m in $MODS; do
	if ! err=$(insmod "/mods/$m" 2>&1); then
		say "FATAL: insmod $m failed: $err"
		dmesg | tail -n 15
		finish 3
	fi
done
if [ ! -c /dev/netmap ]; then
	say "FATAL: /dev/netmap missing after insmod netmap.ko"
	dmesg | tail -n 15
	finish 3
fi

ip link set lo up
for d in /sys/class/net/eth*; do
	[ -e "$d" ] || continue
	ip link set "${d##*/}" up || say "warning: ip link set ${d##*/} up failed"
done

export NMTEST_REQUIRE=1 HOME=/tmp
# NMTEST_ICOUNT=1: the guest runs in deterministic virtual time (--icount),
# so scripts and tests may say so in their results.
export NMTEST_ICOUNT="${ICOUNT:-0}"
[ ! -x /bin/pkt-gen ] || export NMTEST_PKTGEN=/bin/pkt-gen
[ ! -x /bin/vale-ctl ] || export NMTEST_VALECTL=/bin/vale-ctl
[ ! -x /bin/nmbench ] || export NMTEST_NMBENCH=/bin/nmbench

status=0
if [ -f /script.sh ]; then
	{ mkdir -p /tmp/work && cd /tmp/work; } || finish 3
	sh /script.sh </dev/null
	status=$?
	printf '\nNMGO-VM-RESULT script %s\n' "$status"
else
	# shellcheck source=/dev/null
	. /etc/vmrun.args
	for t in $TESTS; do
		{ mkdir -p "/tmp/work/$t" && cd "/tmp/work/$t"; } || finish 3
		"/tests/$t" -test.v "$@" </dev/null
		rc=$?
		printf '\nNMGO-VM-RESULT %s %s\n' "$t" "$rc"
		[ "$rc" = 0 ] || status=1
	done
fi
cd /

if [ "$WANT_OUT" = 1 ] && [ -n "$(ls -A /out)" ]; then
	# Kernel messages must not land in the middle of the payload.
	echo 1 >/proc/sys/kernel/printk
	# pipefail (in a subshell, for this pipeline alone): a tar that fails
	# must not pass as gzip's success, with a partial archive sent.
	if (set -o pipefail && tar -C /out -cf - . | gzip -1 >/tmp/out.tar.gz); then
		echo "NMGO-VM-OUT-BEGIN $(sha256sum /tmp/out.tar.gz | cut -d' ' -f1)"
		base64 /tmp/out.tar.gz
		echo "NMGO-VM-OUT-END"
	else
		say "packing /out failed"
		[ "$status" != 0 ] || status=3
	fi
fi
finish "$status"
