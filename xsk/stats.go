package xsk

// Stats are a socket's counts: its queues' and the kernel's.
type Stats struct {
	Rx, Tx    QueueStats
	Kicks     uint64 // sendto system calls made by Kick
	KickAgain uint64 // of which the kernel answered EAGAIN, EBUSY or ENOBUFS (more to send)
	Kernel    KernelStats
}

// KernelStats are the kernel's counts of a socket (struct
// xdp_statistics).
type KernelStats struct {
	RxDropped       uint64 // packets dropped for other reasons than the two below
	RxInvalidDescs  uint64 // invalid descriptors on the fill ring
	TxInvalidDescs  uint64 // invalid descriptors on the TX ring
	RxRingFull      uint64 // packets dropped because the RX ring was full
	RxFillRingEmpty uint64 // packets dropped because the fill ring was empty
	TxRingEmpty     uint64 // kicks that found the TX ring empty
}
