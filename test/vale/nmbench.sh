# nmbench's main job, run in the netmap VM by
#   test/vale/vm/run --script test/vale/nmbench.sh [--out DIR]
# (busybox sh in the guest; nmbench, pkt-gen and vale-ctl are in /bin).
# nmbench sends 60-byte frames from vale0:a to nmbench receiving on vale0:b,
# then the same with 1500-byte frames; the summaries also go to /out.
set -u
secs=${NMBENCH_SECS:-5}
status=0
for len in 60 1500; do
	echo "== nmbench -f tx -l $len on vale0:a -> nmbench -f rx on vale0:b, ${secs}s"
	nmbench -i vale0:b -f rx -t $((secs + 2))s -json -q > /out/rx-$len.json &
	rx=$!
	sleep 1
	nmbench -i vale0:a -f tx -l $len -t ${secs}s -T 1s | tee /out/tx-$len.txt || status=1
	wait $rx || status=1
	echo "rx: $(cat /out/rx-$len.json)"
done
exit $status
