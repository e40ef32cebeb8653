// Package rings is the user side of netmap's packet rings: TX and RX
// cursors, batch and zero-copy operations, over a region of memory laid
// out as netmap lays it out (netmap_if, netmap_ring objects with their
// slots, the buffer pool).
//
// # What it is
//
// A [TxRing] or [RxRing] is a view of one netmap_ring inside a []byte
// region plus the ring's byte offset: the region nmsys maps from
// /dev/netmap in production, or a heap region with the same layout in
// tests. It follows netmap's ring rules: slots in [head, tail) belong to
// the user, the rest to the kernel; tail is read once per batch (one
// atomic load), a private cursor moves through the batch, and head and cur
// are published once per batch (two atomic stores). num_slots may be any
// value; cursors advance by compare, never by mask.
//
//	TX: n, err := tx.Reserve(max)   fill slots 0..n-1 (Buf+SetLen, SetLens, WritePacket, Swap)
//	    tx.Publish(n)               then the port's TxSync
//	RX: n, err := rx.View(pkts)     pkts[:n] alias the received packets
//	    (or rx.Acquire(max)         and Packet, ReadPacket on slots 0..n-1; tx.Swap(i, rx, j) moves one)
//	    rx.Release(n)               then the port's RxSync
//
// Slices returned by Buf and Packet alias ring memory; each method says how
// long its slice stays valid (in short: until the slot is handed back to
// the kernel). Zero-copy forwarding swaps buffer indices between an RX and
// a TX slot ([TxRing.Swap]), a batch at a time with [Forward], which also
// lets the caller keep some packets (a NIC's host-stack passthrough);
// extra buffers ([ExtraBufs]) can be swapped
// into slots too. Packets larger than a buffer span several slots chained
// with NS_MOREFRAG ([TxRing.WritePacket], [RxRing.ReadPacket]).
//
// # Hostile memory
//
// Every value read from shared memory is checked before it is used:
// ring offsets, num_slots, nr_buf_size and buf_ofs once, at construction;
// tail on every batch (in range, never moving backwards); buf_idx and len
// on every slot access. Each value is read once per decision: the check
// and the use (or the error) that follows rest on the same read, so a
// value changing underneath cannot pass a check it failed, nor turn an
// error into a wrong result. A bad value gives an [*IntegrityError]
// (errors.Is(err, [ErrIntegrity])); nothing panics because of ring state
// and nothing is read or written outside the region. Methods do panic on
// caller mistakes, such as a slot index outside the current batch, as
// slice indexing does.
//
// # What it is not
//
// rings makes no system calls and has no build tags: syncing with the
// kernel (NIOCTXSYNC, NIOCRXSYNC, poll) is nmsys's job, and the region's
// lifetime (mmap, munmap) is nmsys's too; a ring must not be used after
// its region is unmapped. Slot offsets (NETMAP_REQ_OPT_OFFSETS),
// NS_INDIRECT and the NR_FORWARD machinery are not supported, and cur is
// published equal to head, except by [RxRing.ReleaseHold] ("wake me only
// for packets after these").
//
// Tests and fuzzing run the same code over a region built in memory with
// netmap's layout and a simulation of the kernel's side; package
// rings/ringstest offers that to users, for testing code that drives rings
// without /dev/netmap.
//
// # Privilege
//
// None: it only reads and writes memory it is given.
//
// # Concurrency
//
// A ring is owned by one goroutine at a time (netmap allows one thread per
// ring); TxRing, RxRing and ExtraBufs are not safe for concurrent use.
// Different rings, even of the same region, may be used concurrently.
// Per-packet and per-batch methods do not allocate.
package rings
