package abi

import (
	"structs"
	"unsafe"
)

// API versions (netmap.h NETMAP_API, NETMAP_MIN_API, NETMAP_MAX_API).
const (
	NETMAP_API     = 14
	NETMAP_MIN_API = 14
	NETMAP_MAX_API = 15
)

// Linux _IOC encoding.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

func ioc(dir, typ, nr, size uintptr) uintptr {
	return dir<<iocDirShift | size<<iocSizeShift | typ<<iocTypeShift | nr<<iocNRShift
}

// Ioc returns the Linux _IOC(dir, type, nr, size) request number. It is
// exported for the golden test and for tools that print request numbers.
func Ioc(dir, typ, nr, size uintptr) uintptr { return ioc(dir, typ, nr, size) }

// Direction values for Ioc.
const (
	IOC_NONE  = iocNone
	IOC_WRITE = iocWrite
	IOC_READ  = iocRead
)

// ioctl request numbers with a struct argument. Linux and FreeBSD agree on
// these: FreeBSD's _IOWR is IOC_INOUT (0xc0000000) with a 13-bit size field,
// which gives the same numbers for structs below 8 KiB. The argument-less
// NIOCTXSYNC and NIOCRXSYNC differ (FreeBSD's _IO sets IOC_VOID) and live in
// the per-OS ioctl_*.go files.
const (
	NIOCGINFO  = 0xC03C6991 // _IOWR('i', 145, struct nmreq), legacy
	NIOCREGIF  = 0xC03C6992 // _IOWR('i', 146, struct nmreq), legacy
	NIOCCONFIG = 0xC1106996 // _IOWR('i', 150, struct nm_ifreq)
	NIOCCTRL   = 0xC0586997 // _IOWR('i', 151, struct nmreq_header)
)

// NETMAP_REQ_* request types (nmreq_header.nr_reqtype).
const (
	NETMAP_REQ_REGISTER             = 1
	NETMAP_REQ_PORT_INFO_GET        = 2
	NETMAP_REQ_VALE_ATTACH          = 3
	NETMAP_REQ_VALE_DETACH          = 4
	NETMAP_REQ_VALE_LIST            = 5
	NETMAP_REQ_PORT_HDR_SET         = 6
	NETMAP_REQ_PORT_HDR_GET         = 7
	NETMAP_REQ_VALE_NEWIF           = 8
	NETMAP_REQ_VALE_DELIF           = 9
	NETMAP_REQ_VALE_POLLING_ENABLE  = 10
	NETMAP_REQ_VALE_POLLING_DISABLE = 11
	NETMAP_REQ_POOLS_INFO_GET       = 12
	NETMAP_REQ_SYNC_KLOOP_START     = 13
	NETMAP_REQ_SYNC_KLOOP_STOP      = 14
	NETMAP_REQ_CSB_ENABLE           = 15
)

// NETMAP_REQ_OPT_* option types (nmreq_option.nro_reqtype).
const (
	NETMAP_REQ_OPT_EXTMEM              = 1
	NETMAP_REQ_OPT_SYNC_KLOOP_EVENTFDS = 2
	NETMAP_REQ_OPT_CSB                 = 3
	NETMAP_REQ_OPT_SYNC_KLOOP_MODE     = 4
	NETMAP_REQ_OPT_OFFSETS             = 5
	NETMAP_REQ_OPT_MAX                 = 6
)

// NR_REG_* registration modes (nmreq_register.nr_mode).
const (
	NR_REG_DEFAULT     = 0 // legacy only; NIOCCTRL rejects it
	NR_REG_ALL_NIC     = 1
	NR_REG_SW          = 2
	NR_REG_NIC_SW      = 3
	NR_REG_ONE_NIC     = 4
	NR_REG_PIPE_MASTER = 5 // deprecated
	NR_REG_PIPE_SLAVE  = 6 // deprecated
	NR_REG_NULL        = 7
	NR_REG_ONE_SW      = 8
)

// nmreq_register.nr_flags.
const (
	NR_MONITOR_TX      = 0x100
	NR_MONITOR_RX      = 0x200
	NR_ZCOPY_MON       = 0x400
	NR_EXCLUSIVE       = 0x800
	NR_RX_RINGS_ONLY   = 0x2000
	NR_TX_RINGS_ONLY   = 0x4000
	NR_ACCEPT_VNET_HDR = 0x8000
	NR_DO_RX_POLL      = 0x10000
	NR_NO_TX_POLL      = 0x20000
)

// Legacy nmreq.nr_ringid bits.
const (
	NETMAP_RING_MASK    = 0x0fff
	NETMAP_NO_TX_POLL   = 0x1000
	NETMAP_SW_RING      = 0x2000
	NETMAP_HW_RING      = 0x4000
	NETMAP_DO_RX_POLL   = 0x8000
	NR_REG_MASK         = 0xf
	NETMAP_BDG_NOPORT   = 255 // NM_BDG_NOPORT
	NM_BDG_MAXPORTS     = 254
	NM_BDG_MAXRINGS     = 16
	NM_BDG_MAXSLOTS     = 4096
	NETMAP_MAX_FRAGS    = 64
	NM_CACHE_ALIGN      = 128
	IFNAMSIZ            = 16
	NETMAP_REQ_IFNAMSIZ = 64
	NETMAP_REQ_MAXSIZE  = 4096
)

// Slot flags (netmap_slot.flags).
const (
	NS_BUF_CHANGED = 0x0001
	NS_REPORT      = 0x0002
	NS_FORWARD     = 0x0004
	NS_NO_LEARN    = 0x0008
	NS_INDIRECT    = 0x0010
	NS_MOREFRAG    = 0x0020
	NS_TXMON       = 0x0040
	NS_PORT_SHIFT  = 8
	NS_PORT_MASK   = 0xff00
)

// Ring flags (netmap_ring.flags) and netmap_if flags.
const (
	NR_TIMESTAMP = 0x0002
	NR_FORWARD   = 0x0004
	NI_PRIV_MEM  = 0x1
)

// Names.
const (
	NETMAP_DEVICE_NAME = "/dev/netmap"
	NM_BDG_NAME        = "vale"
)

// Pointer is a user-space pointer field of a netmap control struct
// (nr_body, nr_options, nro_next). In C these are uint64_t on every
// platform, so a 32-bit process speaks the same layout as a 64-bit one.
// Pointer is those 8 bytes: the pointer itself, kept as an unsafe.Pointer so
// the garbage collector sees the reference (and the pointee lives on the
// heap, where objects never move), plus, where pointers are 4 bytes, the
// zero upper half on the side the byte order asks for (pointer_32le.go,
// pointer_32be.go). Callers still keep the pointee alive across the ioctl
// with runtime.KeepAlive.
type Pointer struct {
	_ structs.HostLayout
	pointer
}

// NewPointer returns a Pointer to p.
func NewPointer(p unsafe.Pointer) Pointer { return Pointer{pointer: pointer{ptr: p}} }

// Get returns the pointer.
func (p Pointer) Get() unsafe.Pointer { return p.ptr }

// ReqHeader is struct nmreq_header (88 bytes).
type ReqHeader struct {
	_        structs.HostLayout
	Version  uint16
	ReqType  uint16
	Reserved uint32
	Name     [NETMAP_REQ_IFNAMSIZ]byte
	Options  Pointer
	Body     Pointer
}

// ReqOption is struct nmreq_option (24 bytes), the header every option
// body starts with.
type ReqOption struct {
	_       structs.HostLayout
	Next    Pointer
	ReqType uint32
	Status  uint32
	Size    uint64
}

// ReqRegister is struct nmreq_register (56 bytes).
type ReqRegister struct {
	_           structs.HostLayout
	Offset      uint64
	MemSize     uint64
	TxSlots     uint32
	RxSlots     uint32
	TxRings     uint16
	RxRings     uint16
	HostTxRings uint16
	HostRxRings uint16
	MemID       uint16
	RingID      uint16
	Mode        uint32
	ExtraBufs   uint32
	_           [4]byte
	Flags       uint64
}

// ReqPortInfoGet is struct nmreq_port_info_get (32 bytes).
type ReqPortInfoGet struct {
	_           structs.HostLayout
	MemSize     uint64
	TxSlots     uint32
	RxSlots     uint32
	TxRings     uint16
	RxRings     uint16
	HostTxRings uint16
	HostRxRings uint16
	MemID       uint16
	_           [3]uint16
}

// ReqValeAttach is struct nmreq_vale_attach (64 bytes).
type ReqValeAttach struct {
	_         structs.HostLayout
	Reg       ReqRegister
	PortIndex uint32
	_         uint32
}

// ReqValeDetach is struct nmreq_vale_detach (8 bytes).
type ReqValeDetach struct {
	_         structs.HostLayout
	PortIndex uint32
	_         uint32
}

// ReqValeList is struct nmreq_vale_list (8 bytes).
type ReqValeList struct {
	_         structs.HostLayout
	BridgeIdx uint16
	_         uint16
	PortIdx   uint32
}

// ReqPortHdr is struct nmreq_port_hdr (8 bytes).
type ReqPortHdr struct {
	_      structs.HostLayout
	HdrLen uint32
	_      uint32
}

// ReqValeNewif is struct nmreq_vale_newif (16 bytes).
type ReqValeNewif struct {
	_       structs.HostLayout
	TxSlots uint32
	RxSlots uint32
	TxRings uint16
	RxRings uint16
	MemID   uint16
	_       uint16
}

// ReqValePolling is struct nmreq_vale_polling (16 bytes).
type ReqValePolling struct {
	_              structs.HostLayout
	Mode           uint32
	FirstCPUID     uint32
	NumPollingCPUs uint32
	_              uint32
}

// ReqPoolsInfo is struct nmreq_pools_info (64 bytes).
type ReqPoolsInfo struct {
	_                structs.HostLayout
	MemSize          uint64
	MemID            uint16
	_                [3]uint16
	IfPoolOffset     uint64
	IfPoolObjTotal   uint32
	IfPoolObjSize    uint32
	RingPoolOffset   uint64
	RingPoolObjTotal uint32
	RingPoolObjSize  uint32
	BufPoolOffset    uint64
	BufPoolObjTotal  uint32
	BufPoolObjSize   uint32
}

// ReqOptOffsets is struct nmreq_opt_offsets (56 bytes, option header included).
type ReqOptOffsets struct {
	_             structs.HostLayout
	Opt           ReqOption
	MaxOffset     uint64
	InitialOffset uint64
	OffsetBits    uint32
	TxAlign       uint32
	MinGap        uint64
}

// LegacyReq is the legacy struct nmreq (60 bytes) of NIOCREGIF/NIOCGINFO.
// nmgo uses it only to recognise a kernel that does not speak NIOCCTRL.
type LegacyReq struct {
	_       structs.HostLayout
	Name    [IFNAMSIZ]byte
	Version uint32
	Offset  uint32
	MemSize uint32
	TxSlots uint32
	RxSlots uint32
	TxRings uint16
	RxRings uint16
	RingID  uint16
	Cmd     uint16
	Arg1    uint16
	Arg2    uint16
	Arg3    uint32
	Flags   uint32
	Spare2  uint32
}

// Slot is struct netmap_slot (16 bytes), in shared memory.
type Slot struct {
	_      structs.HostLayout
	BufIdx uint32
	Len    uint16
	Flags  uint16
	Ptr    uint64
}

// RingHeader is the fixed part of struct netmap_ring (256 bytes); the slot
// array follows at offset [RingSlots]. Fields that user space writes
// concurrently with the kernel (Head, Cur, Tail) must be accessed
// atomically; the rings package does so through their offsets.
type RingHeader struct {
	_          structs.HostLayout
	BufOfs     int64
	NumSlots   uint32
	NrBufSize  uint32
	RingID     uint16
	Dir        uint16
	Head       uint32
	Cur        uint32
	Tail       uint32
	Flags      uint32
	_          [4]byte
	TsSec      int64
	TsUsec     int64
	OffsetMask uint64
	BufAlign   uint64
	_          [56]byte
	Sem        [128]byte
}

// If is the fixed part of struct netmap_if (56 bytes); the ring_ofs array
// of int64 offsets (relative to the netmap_if) follows at [IfRingOfs].
type If struct {
	_           structs.HostLayout
	Name        [IFNAMSIZ]byte
	Version     uint32
	Flags       uint32
	TxRings     uint32
	RxRings     uint32
	BufsHead    uint32
	HostTxRings uint32
	HostRxRings uint32
	_           [3]uint32
}

// Offsets of shared-memory fields, for code that works on a []byte view of
// the region rather than on Go structs.
const (
	SlotSize = 16

	SlotBufIdx = 0
	SlotLen    = 4
	SlotFlags  = 6
	SlotPtr    = 8

	RingBufOfs     = 0
	RingNumSlots   = 8
	RingBufSize    = 12
	RingRingID     = 16
	RingDir        = 18
	RingHead       = 20
	RingCur        = 24
	RingTail       = 28
	RingFlags      = 32
	RingTsSec      = 40
	RingTsUsec     = 48
	RingOffsetMask = 56
	RingBufAlign   = 64
	RingSem        = 128
	RingSlots      = 256 // offset of slot[0]

	IfName        = 0
	IfVersion     = 16
	IfFlags       = 20
	IfTxRings     = 24
	IfRxRings     = 28
	IfBufsHead    = 32
	IfHostTxRings = 36
	IfHostRxRings = 40
	IfRingOfs     = 56 // offset of ring_ofs[0]
)

// Compile-time size guards: each pair fails to build if the Go struct is
// larger or smaller than the C struct.
var (
	_ [88 - unsafe.Sizeof(ReqHeader{})]byte
	_ [unsafe.Sizeof(ReqHeader{}) - 88]byte
	_ [24 - unsafe.Sizeof(ReqOption{})]byte
	_ [unsafe.Sizeof(ReqOption{}) - 24]byte
	_ [56 - unsafe.Sizeof(ReqRegister{})]byte
	_ [unsafe.Sizeof(ReqRegister{}) - 56]byte
	_ [32 - unsafe.Sizeof(ReqPortInfoGet{})]byte
	_ [unsafe.Sizeof(ReqPortInfoGet{}) - 32]byte
	_ [64 - unsafe.Sizeof(ReqValeAttach{})]byte
	_ [unsafe.Sizeof(ReqValeAttach{}) - 64]byte
	_ [8 - unsafe.Sizeof(ReqValeDetach{})]byte
	_ [unsafe.Sizeof(ReqValeDetach{}) - 8]byte
	_ [8 - unsafe.Sizeof(ReqValeList{})]byte
	_ [unsafe.Sizeof(ReqValeList{}) - 8]byte
	_ [8 - unsafe.Sizeof(ReqPortHdr{})]byte
	_ [unsafe.Sizeof(ReqPortHdr{}) - 8]byte
	_ [16 - unsafe.Sizeof(ReqValeNewif{})]byte
	_ [unsafe.Sizeof(ReqValeNewif{}) - 16]byte
	_ [16 - unsafe.Sizeof(ReqValePolling{})]byte
	_ [unsafe.Sizeof(ReqValePolling{}) - 16]byte
	_ [64 - unsafe.Sizeof(ReqPoolsInfo{})]byte
	_ [unsafe.Sizeof(ReqPoolsInfo{}) - 64]byte
	_ [56 - unsafe.Sizeof(ReqOptOffsets{})]byte
	_ [unsafe.Sizeof(ReqOptOffsets{}) - 56]byte
	_ [60 - unsafe.Sizeof(LegacyReq{})]byte
	_ [unsafe.Sizeof(LegacyReq{}) - 60]byte
	_ [16 - unsafe.Sizeof(Slot{})]byte
	_ [unsafe.Sizeof(Slot{}) - 16]byte
	_ [256 - unsafe.Sizeof(RingHeader{})]byte
	_ [unsafe.Sizeof(RingHeader{}) - 256]byte
	_ [56 - unsafe.Sizeof(If{})]byte
	_ [unsafe.Sizeof(If{}) - 56]byte
	_ [8 - unsafe.Sizeof(Pointer{})]byte
	_ [unsafe.Sizeof(Pointer{}) - 8]byte
)

// CursorsInOrder tells whether a ring's head, cur and tail are as the ring
// rules keep them: each below the ring's n slots, and cur no further from
// head than tail, in ring order (head <= cur <= tail, cyclically).
func CursorsInOrder(head, cur, tail, n uint32) bool {
	return head < n && cur < n && tail < n && ringDist(head, cur, n) <= ringDist(head, tail, n)
}

// ringDist is the number of slots from a forward to b in a ring of n,
// a and b below n.
func ringDist(a, b, n uint32) uint32 {
	if b >= a {
		return b - a
	}
	return b + n - a
}
