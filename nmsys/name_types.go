package nmsys

import "github.com/nmgo/nmgo/internal/abi"

// Mode selects which rings of a port a registration binds (netmap's
// NR_REG_* values). The zero value means "as the port name says", which
// defaults to all hardware rings.
type Mode uint32

const (
	ModeFromName Mode = 0
	ModeAllNIC   Mode = abi.NR_REG_ALL_NIC // all hardware (NIC) rings
	ModeSW       Mode = abi.NR_REG_SW      // all host rings ("^")
	ModeNICSW    Mode = abi.NR_REG_NIC_SW  // NIC and host rings ("*")
	ModeOneNIC   Mode = abi.NR_REG_ONE_NIC // one NIC ring pair ("-N")
	ModeNull     Mode = abi.NR_REG_NULL    // null port in an existing memory region
	ModeOneSW    Mode = abi.NR_REG_ONE_SW  // one host ring pair ("^N")
)

// String returns the name-syntax form of m.
func (m Mode) String() string {
	switch m {
	case ModeFromName:
		return "from-name"
	case ModeAllNIC:
		return "all-nic"
	case ModeSW:
		return "sw"
	case ModeNICSW:
		return "nic+sw"
	case ModeOneNIC:
		return "one-nic"
	case ModeNull:
		return "null"
	case ModeOneSW:
		return "one-sw"
	}
	return "Mode(invalid)"
}

// Flag is a registration flag (netmap's nr_flags bits) that a port name
// can carry after "/".
type Flag uint64

const (
	FlagMonitorTX       Flag = abi.NR_MONITOR_TX    // "/t": copy monitor of TX
	FlagMonitorRX       Flag = abi.NR_MONITOR_RX    // "/r": copy monitor of RX
	FlagZeroCopyMonitor Flag = abi.NR_ZCOPY_MON     // "/z": zero-copy monitor
	FlagExclusive       Flag = abi.NR_EXCLUSIVE     // "/x": exclusive ring ownership
	FlagRxRingsOnly     Flag = abi.NR_RX_RINGS_ONLY // "/R": bind no TX rings
	FlagTxRingsOnly     Flag = abi.NR_TX_RINGS_ONLY // "/T": bind no RX rings
	FlagNoTxPoll        Flag = abi.NR_NO_TX_POLL    // poll does not txsync
)

// RingConf holds the ring geometry a name can request with "@conf:".
// Zero fields mean "kernel default". The kernel honours them only when the
// open creates the port (VALE ports, pipes).
type RingConf struct {
	TxRings, RxRings         int
	HostTxRings, HostRxRings int
	TxSlots, RxSlots         int
}

// Name is a parsed port name in the libnetmap grammar, see [ParseName].
type Name struct {
	// Port is the name handed to the kernel: "eth0", "vale0:a", "pipe{1".
	Port string
	// Mode and RingID come from the "^", "^N", "*" and "-N" suffixes.
	Mode   Mode
	RingID int
	// Flags come from "/xztrRT".
	Flags Flag
	// MemID comes from "@N"; 0 means none.
	MemID int
	// Share is the port named by "@share=PORT" whose memory region to use.
	Share string
	// Conf comes from "@conf:key=value,...".
	Conf RingConf
}
