package nmsys

// Config tunes a registration. A nil *Config means defaults: the rings and
// flags the port name asks for, kernel-chosen ring and slot counts.
//
// Ring and slot counts are honoured only when the open creates the port
// (an ephemeral VALE port, a pipe); an existing port keeps its geometry and
// [Port.Info] reports what the kernel actually gave.
type Config struct {
	// Mode overrides the mode the name selects ("^", "*", "-N"); RingID
	// is the ring for ModeOneNIC and ModeOneSW.
	Mode   Mode
	RingID int

	// Ring geometry requests; 0 means the kernel's default. They override
	// "@conf:" options of the name.
	TxRings, RxRings         int
	HostTxRings, HostRxRings int
	TxSlots, RxSlots         int

	// ExtraBuffers asks for this many extra buffers, returned as a free
	// list (see Info.ExtraBuffers for how many were allocated).
	ExtraBuffers int

	// MemID selects the memory region (allocator); 0 lets the kernel pick.
	MemID int

	// TxOnly binds no RX rings, RxOnly binds no TX rings.
	TxOnly, RxOnly bool

	// NoTxPoll keeps poll (and so WaitRx) from running txsync on the TX
	// rings; TX rings are then synced only by TxSync and WaitTx.
	NoTxPoll bool

	// Exclusive asks for exclusive ownership of the bound rings: a second
	// registration of the same rings fails with EBUSY.
	Exclusive bool

	// AcceptVnetHdr must be set for ports with a virtio-net header.
	AcceptVnetHdr bool

	// ThreadWait makes WaitRx and WaitTx block the calling OS thread in
	// poll(2), as netmap's own tools do, instead of parking the goroutine
	// in Go's netpoller; the descriptor is then never registered with
	// epoll. An epoll registration costs a thread wake-up for every batch
	// the kernel delivers: each delivery readies the descriptor, and the
	// thread waiting in epoll runs netmap's poll, which syncs the rings,
	// even while the owning goroutine is busy with them. For a goroutine
	// locked to its thread (runtime.LockOSThread) that only drives this
	// port, ThreadWait is cheaper; for many ports per thread or goroutines
	// that should not hold a thread while waiting, keep the default.
	// Waits return [ErrClosed] within about 20 ms of Close (except on a
	// NIC whose link is down: see [Port.Close]).
	//
	// Such a loop never blocks in Go, so it should give the scheduler a
	// turn every few milliseconds ([osthread.Yielder]; [Idler] does it for
	// a receive loop): otherwise the runtime preempts it every 10 ms,
	// taking its P while it is in a sync or wait, and its monitor thread
	// then wakes every 20 µs for a while (in a test VM that cost a fifth of
	// a CPU, and frames dropped for want of it).
	ThreadWait bool
}

// Info describes a registered port, as the kernel reported it.
type Info struct {
	// Name is the name given to the kernel ("vale0:a", "eth0", "p{1").
	Name string
	// IfName is the adapter name in the netmap_if (at most 15 bytes).
	IfName string

	// Adapter geometry: NIC rings and host rings per direction, slots per
	// ring. Non-host-ring ports still report one host ring per direction.
	TxRings, RxRings         int
	HostTxRings, HostRxRings int
	TxSlots, RxSlots         int

	// Bound rings of this registration as half-open ranges of ring
	// indices: TX rings [FirstTx, LastTx) and RX rings [FirstRx, LastRx),
	// where indices >= TxRings (RxRings) are host rings.
	FirstTx, LastTx int
	FirstRx, LastRx int

	// Memory region.
	MemID      int
	MemSize    int // bytes mapped
	BufSize    int // bytes per buffer
	BufCount   int // buffers in the region's pool
	PrivateMem bool

	// ExtraBuffers is the number of extra buffers actually allocated.
	ExtraBuffers int
}
